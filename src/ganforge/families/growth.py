"""Progressive growing (ProGAN / StyleGAN1) as training phases: one pair of phases per resolution.

``4px`` (stabilise), then for every resolution r = 8 .. target: ``<r>px-fade`` (alpha = the phase's
progress, 0 -> 1) and ``<r>px`` (alpha = 1; the last one runs until training ends). Lengths are in
generator steps or in images (``length_unit``); images become steps with the batch of that resolution
(``batch_sizes``, rounded up). Since phases are a pure function of the step counters
(ganforge.families.phases), the resolution and alpha of any step, also after a resume mid-fade, follow
from ``gen_step`` with nothing else to store. ``progressive=False`` is one phase at the target resolution.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from ganforge.errors import ConfigError
from ganforge.families.phases import Phase, PhaseState

LENGTH_UNITS = ("steps", "images")


@dataclass(frozen=True)
class Growth:
    resolution: int
    fading: bool


class GrowthSchedule:
    def __init__(
        self,
        target: int,
        progressive: bool,
        fade_length: int,
        stable_length: int,
        length_unit: str,
        batch_sizes: Mapping[int, int],
        default_batch: int,
    ):
        if length_unit not in LENGTH_UNITS:
            raise ConfigError(
                f"model.length_unit={length_unit!r} is unknown; use one of {list(LENGTH_UNITS)}."
            )
        if progressive and (fade_length < 1 or stable_length < 1):
            raise ConfigError(
                f"model.fade_length={fade_length} and model.stable_length={stable_length} must be >= 1 "
                f"({length_unit}) for progressive growing; set model.progressive=false to train at "
                "the full resolution from the start."
            )
        self.target, self.progressive = target, progressive
        self.resolutions = [2**k for k in range(2, int(math.log2(target)) + 1)]
        unknown = sorted(set(batch_sizes) - set(self.resolutions))
        bad = {r: n for r, n in batch_sizes.items() if int(n) < 1}
        if unknown or bad:
            raise ConfigError(
                f"model.batch_sizes={dict(batch_sizes)}: keys must be resolutions of this run "
                f"{self.resolutions} and values >= 1 (missing resolutions use data.batch_size)."
            )
        self.batch_sizes = {r: int(batch_sizes.get(r, default_batch)) for r in self.resolutions}
        self.fade_length, self.stable_length, self.length_unit = fade_length, stable_length, length_unit
        self.growth: dict[str, Growth] = {}
        self.phases: list[Phase] = []
        if not progressive:
            self._add(f"{target}px", None, Growth(target, False))
            return
        for r in self.resolutions:
            if r > 4:
                self._add(f"{r}px-fade", self._steps(fade_length, r), Growth(r, True))
            self._add(f"{r}px", None if r == target else self._steps(stable_length, r), Growth(r, False))

    def _add(self, name: str, steps: int | None, growth: Growth) -> None:
        self.phases.append(Phase(name, steps=steps))
        self.growth[name] = growth

    def _steps(self, length: int, resolution: int) -> int:
        if self.length_unit == "steps":
            return int(length)
        return max(1, math.ceil(length / self.batch_sizes[resolution]))

    def at(self, state: PhaseState) -> tuple[int, float]:
        """(resolution, fade-in alpha) during the phase ``state``."""
        growth = self.growth[state.name]
        return growth.resolution, float(state.progress) if growth.fading else 1.0

    def check_batch(self, loader_batch: int) -> None:
        too_big = {r: n for r, n in self.batch_sizes.items() if n > loader_batch}
        if too_big:
            raise ConfigError(
                f"model.batch_sizes asks for {too_big} images per step, but the loader's batch is "
                f"data.batch_size={loader_batch}: each phase takes the first n rows of the loader's batch. "
                f"Raise data.batch_size to {max(too_big.values())} or lower those batch sizes."
            )

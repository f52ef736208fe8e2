"""Training phases: a family's schedule of what trains when, by generator step.

A family returns its phases from :meth:`AdversarialModule.phases` (default: one open-ended phase). Each
phase says how many generator steps it lasts, how many discriminator updates come before each generator
update (k; 0 skips the discriminator entirely, e.g. SRGAN's pixel-loss pre-training) and which networks
are frozen (StackGAN's stage II keeps stage I fixed). Where training stands in the schedule,
:class:`PhaseState`, is a pure function of the generator step, so a resume continues in the same phase at
the same position without extra state; the checkpoint still records it and a resume checks it.

Inside a phase, position-dependent behaviour (a fade-in alpha, a regulariser every N discriminator
updates as in stylegan2-ada's lazy regularisation) reads :class:`PhaseState`: ``progress`` (0 -> 1),
``step`` (generator steps done in the phase) and ``d_update`` (discriminator updates done in the phase).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ganforge.errors import ConfigError


@dataclass(frozen=True)
class Phase:
    #: shown in logs and checkpoints (e.g. "pretrain", "adversarial", "stage1", "res16")
    name: str
    #: length in generator steps; None only for the last phase. The last phase always runs until training
    #: ends; its ``steps``, if given, only scales ``PhaseState.progress``.
    steps: int | None = None
    #: k, discriminator updates per generator update: None = the family's model.d_steps; 0 = none
    d_steps: int | None = None
    #: names of networks (of either side) not trained during this phase
    frozen: tuple[str, ...] = ()


@dataclass(frozen=True)
class PhaseState:
    """Where training stands: which phase, since when, how far in."""

    index: int
    phase: Phase
    #: generator step at which the phase began
    start: int
    #: generator steps completed within the phase
    step: int
    #: the phase's k, resolved (the family's default where the phase leaves it open)
    d_steps: int
    #: discriminator updates completed within the phase (counts the current generator step's as well)
    d_update: int = 0

    @property
    def name(self) -> str:
        return self.phase.name

    @property
    def progress(self) -> float | None:
        """Fraction of the phase done, clamped to [0, 1] (a fade-in alpha); None for an open-ended phase."""
        if not self.phase.steps:
            return None
        return min(1.0, self.step / self.phase.steps)

    def record(self) -> dict[str, object]:
        """What a checkpoint stores."""
        return {"index": self.index, "name": self.name, "step": self.step}


class PhaseSchedule:
    def __init__(self, phases: Sequence[Phase], default_d_steps: int, networks: Iterable[str]):
        phases = tuple(phases)
        if not phases:
            raise ConfigError("A family must declare at least one training phase.")
        names = [p.name for p in phases]
        if len(set(names)) != len(names):
            raise ConfigError(f"Training phase names must be unique; got {names}.")
        known = set(networks)
        for i, p in enumerate(phases):
            last = i == len(phases) - 1
            if (p.steps is None and not last) or (p.steps is not None and p.steps < 1):
                raise ConfigError(
                    f"Training phase {p.name!r} has steps={p.steps}: every phase but the last needs a "
                    "length of at least 1 generator step."
                )
            if p.d_steps is not None and p.d_steps < 0:
                raise ConfigError(f"Training phase {p.name!r} has d_steps={p.d_steps}; it must be >= 0.")
            unknown = sorted(set(p.frozen) - known)
            if unknown:
                raise ConfigError(
                    f"Training phase {p.name!r} freezes unknown network(s) {unknown}; the family's networks "
                    f"are {sorted(known)}."
                )
        self.phases = phases
        self.default_d_steps = default_d_steps
        self.starts = [0]
        for p in phases[:-1]:
            self.starts.append(self.starts[-1] + int(p.steps))  # type: ignore[arg-type]

    def __len__(self) -> int:
        return len(self.phases)

    def d_steps(self, phase: Phase) -> int:
        return self.default_d_steps if phase.d_steps is None else int(phase.d_steps)

    def at(self, gen_step: int, d_updates_in_cycle: int = 0) -> PhaseState:
        """The phase the next generator step belongs to."""
        index = max(i for i, s in enumerate(self.starts) if s <= gen_step)
        phase, start = self.phases[index], self.starts[index]
        k = self.d_steps(phase)
        step = gen_step - start
        return PhaseState(index, phase, start, step, k, step * k + d_updates_in_cycle)

    @property
    def freezes(self) -> bool:
        return any(p.frozen for p in self.phases)

"""Options a family accepts at sampling time (``ganforge-sample ckpt=... truncation=0.7``).

A family declares them in :meth:`AdversarialModule.sampling_options` (name -> :class:`SamplingOption`:
type, range or choices, one line of help); the sample CLI passes every ``key=value`` it does not know
itself to :meth:`AdversarialModule.configure_sampling`, which checks them with :func:`check_options`
before any sample is drawn. A family that declares none refuses them all, naming the ones it would take.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ganforge.errors import GanforgeError


@dataclass(frozen=True)
class SamplingOption:
    #: float, int, str or bool; ints are accepted for floats
    kind: type
    help: str
    minimum: float | None = None
    maximum: float | None = None
    choices: tuple[Any, ...] | None = None
    #: None is an accepted value (e.g. "no cutoff")
    nullable: bool = False

    def describe(self) -> str:
        if self.choices is not None:
            allowed = "|".join(map(str, self.choices))
        elif self.minimum is not None or self.maximum is not None:
            lo = "-inf" if self.minimum is None else f"{self.minimum:g}"
            hi = "inf" if self.maximum is None else f"{self.maximum:g}"
            allowed = f"{self.kind.__name__} in [{lo}, {hi}]"
        else:
            allowed = self.kind.__name__
        return allowed + (" or null" if self.nullable else "")

    def check(self, name: str, value: Any, model: str, error: type[GanforgeError] = GanforgeError) -> Any:
        """``value`` (ints widened for floats), or ``error`` naming the option, the value and the range."""
        if value is None and self.nullable:
            return None
        ok_type = isinstance(value, self.kind) and not (isinstance(value, bool) and self.kind is not bool)
        if self.kind is float and isinstance(value, int) and not isinstance(value, bool):
            value, ok_type = float(value), True
        in_range = ok_type and (
            (self.choices is None or value in self.choices)
            and (self.minimum is None or value >= self.minimum)
            and (self.maximum is None or value <= self.maximum)
            and not (isinstance(value, float) and math.isnan(value))
        )
        if not in_range:
            raise error(
                f"{name}={value!r} is invalid for model={model}: it must be {self.describe()} ({self.help})."
            )
        return value


def check_options(
    model: str, declared: Mapping[str, SamplingOption], values: Mapping[str, Any]
) -> dict[str, Any]:
    """``values`` checked against the family's ``declared`` options (GanforgeError on the first bad one)."""
    unknown = sorted(set(values) - set(declared))
    if unknown:
        takes = (
            "; it takes " + ", ".join(f"{k}=<{o.describe()}>" for k, o in declared.items())
            if declared
            else "; it takes no sampling options"
        )
        raise GanforgeError(
            f"model={model} does not accept the sampling option(s) {unknown}{takes}. Drop them, or sample a "
            "family that has them (e.g. truncation= for model=stylegan)."
        )
    return {k: declared[k].check(k, v, model) for k, v in values.items()}

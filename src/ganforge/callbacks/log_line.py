"""One concise INFO line per log interval, for the console and ``train.log``.

``step 20/300  loss/d 1.234  loss/g 0.987  d/real 0.61  d/fake 0.38  fid 123.4  4.2 steps/s``: the same
values MetricLogger sends to the loggers at that step (learning rates left out), the generator steps per
second since the previous line, and the evaluation metrics when they were computed at this step. A family
with several training phases gets the phase's name after the step (``step 20/300  phase 16px-fade  ...``).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import lightning as L

from ganforge.callbacks.metrics import MetricsCallback
from ganforge.callbacks.step_callback import GeneratorStepCallback

log = logging.getLogger(__name__)


def format_line(
    step: int,
    max_steps: int,
    metrics: dict[str, float],
    steps_per_s: float | None,
    phase: str | None = None,
) -> str:
    parts = [f"step {step}/{max_steps}", *([f"phase {phase}"] if phase else [])]
    parts += [f"{k} {v:.4g}" for k, v in metrics.items()]
    if steps_per_s is not None:
        parts.append(f"{steps_per_s:.3g} steps/s")
    return "  ".join(parts)


def _losses_first(name: str) -> int:
    return 0 if name.startswith("loss/") else 1  # sorted() is stable: the family's order within each


class LogLine(GeneratorStepCallback):
    """Placed after the metrics callback, so an evaluation at the same step is already scored."""

    def __init__(self, every_n_steps: int, max_steps: int):
        super().__init__(every_n_steps, final_step=max_steps)
        self.max_steps = max_steps
        self._since: tuple[int, float] | None = None

    def on_train_start(self, trainer: L.Trainer, pl_module: Any) -> None:
        super().on_train_start(trainer, pl_module)
        self._since = (pl_module.gen_step, time.monotonic())

    def on_generator_step(self, trainer: L.Trainer, pl_module: Any, step: int) -> None:
        if not trainer.is_global_zero:
            return  # every rank holds the same logged values; one line per run
        now = time.monotonic()
        rate = None
        if self._since is not None and now > self._since[1]:
            rate = (step - self._since[0]) / (now - self._since[1])
        self._since = (step, now)
        logged = pl_module.step_metrics
        names = sorted((k for k in logged if not k.startswith("lr/") and k != "phase"), key=_losses_first)
        metrics = {k: float(logged[k]) for k in names}
        for callback in trainer.callbacks:
            if isinstance(callback, MetricsCallback) and callback.last_step == step:
                metrics.update(callback.last)
        label = getattr(pl_module, "phase_label", lambda: None)()
        log.info("%s", format_line(step, self.max_steps, metrics, rate, label))

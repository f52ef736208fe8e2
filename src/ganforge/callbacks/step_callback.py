"""Callbacks that fire on the generator-step counter (``module.gen_step``), not Lightning's global_step."""

from __future__ import annotations

from typing import Any

import lightning as L

from ganforge.families.base import CHECKPOINT_KEY


class GeneratorStepCallback(L.Callback):
    """Calls :meth:`on_generator_step` every ``every_n_steps`` generator steps and at ``final_step``."""

    def __init__(self, every_n_steps: int, final_step: int | None = None):
        self.every_n_steps = every_n_steps
        self.final_step = final_step
        self._last_step: int | None = None

    def on_train_start(self, trainer: L.Trainer, pl_module: Any) -> None:
        self._last_step = pl_module.gen_step  # a resumed run does not fire again for its first step

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: Any, outputs: Any, batch: Any, batch_idx: int
    ):
        step = pl_module.gen_step
        if step == self._last_step:
            return  # a discriminator-only batch
        self._last_step = step
        due = self.every_n_steps > 0 and step % self.every_n_steps == 0
        if due or (self.final_step is not None and step >= self.final_step):
            self.on_generator_step(trainer, pl_module, step)

    def on_generator_step(self, trainer: L.Trainer, pl_module: Any, step: int) -> None:
        raise NotImplementedError


class StepBudget(GeneratorStepCallback):
    """Stops training after ``max_steps`` generator steps."""

    def __init__(self, max_steps: int):
        super().__init__(every_n_steps=0, final_step=max_steps)

    def on_train_start(self, trainer: L.Trainer, pl_module: Any) -> None:
        super().on_train_start(trainer, pl_module)
        if pl_module.gen_step >= self.final_step:
            trainer.should_stop = True

    def on_generator_step(self, trainer: L.Trainer, pl_module: Any, step: int) -> None:
        trainer.should_stop = True


class MetricLogger(GeneratorStepCallback):
    """Sends the module's latest step metrics to every logger, at step = generator step.

    On resume, loggers that keep their own files (``truncate_after``: ganforge's CSV logger) first drop
    the rows past the checkpoint's step: a run killed after its last checkpoint logs those steps again.
    """

    def on_load_checkpoint(self, trainer: L.Trainer, pl_module: Any, checkpoint: dict[str, Any]) -> None:
        step = int(checkpoint[CHECKPOINT_KEY]["gen_step"])
        for logger in trainer.loggers:
            truncate = getattr(logger, "truncate_after", None)
            if callable(truncate):
                truncate(step)

    def on_generator_step(self, trainer: L.Trainer, pl_module: Any, step: int) -> None:
        metrics = {k: float(v) for k, v in pl_module.step_metrics.items()}
        metrics["epoch"] = float(trainer.current_epoch)
        for logger in trainer.loggers:
            logger.log_metrics(metrics, step=step)

"""The console progress bar in generator steps: ``train ━━━━ 40/300 0:00:10 • 0:01:05 3.9 steps/s loss/d: …``.

Lightning's bar counts discriminator batches of the current epoch, while a ganforge run is a budget of
generator steps (k discriminator batches each) across as many epochs as that takes. This keeps Lightning's
RichProgressBar (what Lightning picks when rich is installed, as it is with ganforge) and changes only what
it counts: one task for the whole run, total ``trainer.max_steps``, advanced by ``module.gen_step``, so
Rich's elapsed/remaining time and speed are in generator steps. The metrics shown are the latest losses
and the last training-time evaluation, not Lightning's ``v_num``. A family with several training phases
shows the current one's name after ``train`` (``train 16px-fade ━━━━ ...``: ``module.phase_label()``).

:class:`StepProgressBar` is the same bar for a module trained by optimizer steps (``trainer.global_step``;
the evaluator classifier), showing what the module logs with ``prog_bar=True``.
"""

from __future__ import annotations

import time
from typing import Any

import lightning as L
from lightning.pytorch.callbacks import RichProgressBar
from lightning.pytorch.callbacks.progress.rich_progress import RichProgressBarTheme
from rich.progress import ProgressColumn, Task
from rich.text import Text

from ganforge.callbacks.metrics import MetricsCallback

# Reading the losses copies them from the device (a sync on GPU): at most this often, and at the last step.
METRICS_EVERY_S = 0.5


class StepsPerSecondColumn(ProgressColumn):
    """Rich's task speed, labelled in generator steps (Lightning's column says ``it/s``)."""

    def __init__(self, style: Any):
        self.style = style
        super().__init__()

    def render(self, task: Task) -> Text:
        return Text(f"{task.speed or 0.0:.2f} steps/s", style=self.style)


class StepProgressBar(RichProgressBar):
    """One task for the whole run (``description``, total ``max_steps``), advanced by :meth:`current_step`."""

    description = "train"

    def __init__(self, max_steps: int, refresh_rate: int = 10):
        super().__init__(refresh_rate=refresh_rate, theme=RichProgressBarTheme(metrics_format=".4g"))
        self.max_steps = max_steps
        self._shown_step: int | None = None
        self._shown_label: str | None = None
        self._metrics_at = 0.0

    def current_step(self, trainer: L.Trainer, pl_module: Any) -> int:
        return trainer.global_step

    def configure_columns(self, trainer: L.Trainer) -> list:
        columns = super().configure_columns(trainer)
        return [*columns[:-1], StepsPerSecondColumn(self.theme.processing_speed)]  # replaces it/s

    def _start_task(self, trainer: L.Trainer, pl_module: Any) -> None:
        # ``completed`` starts at the checkpoint's step on resume; Rich's speed counts only what advances.
        self.train_progress_bar_id = self.progress.add_task(
            self.description, total=self.max_steps, completed=self.current_step(trainer, pl_module)
        )

    def on_train_epoch_start(self, trainer: L.Trainer, pl_module: Any) -> None:
        # One task for the whole run: epochs only mark passes over a finite dataset.
        if self.is_disabled or self.progress is None:
            return
        if self.train_progress_bar_id is None:
            self._start_task(trainer, pl_module)
        self.refresh()

    def on_train_batch_end(
        self, trainer: L.Trainer, pl_module: Any, outputs: Any, batch: Any, batch_idx: int
    ) -> None:
        if self.is_disabled or self.progress is None:
            return
        if self.train_progress_bar_id is None:
            self._start_task(trainer, pl_module)
        step = self.current_step(trainer, pl_module)
        if step == self._shown_step:
            return  # e.g. a discriminator-only batch: nothing the bar shows has changed
        self._shown_step = step
        label = getattr(pl_module, "phase_label", lambda: None)()
        if label != self._shown_label:
            self._shown_label = label
            description = f"{self.description} {label}" if label else self.description
            self.progress.update(self.train_progress_bar_id, description=description)
        self._update(self.train_progress_bar_id, step)
        now = time.monotonic()
        if now - self._metrics_at >= METRICS_EVERY_S or step >= self.max_steps:
            self._metrics_at = now
            self._update_metrics(trainer, pl_module)
        self.refresh()

    def on_train_epoch_end(self, trainer: L.Trainer, pl_module: Any) -> None:
        pass  # the metrics are updated per step above

    def get_metrics(self, trainer: L.Trainer, pl_module: Any) -> dict[str, Any]:
        metrics = super().get_metrics(trainer, pl_module)
        metrics.pop("v_num", None)  # the logger's version is not a metric
        return metrics


class GeneratorStepProgressBar(StepProgressBar):
    """Counts ``module.gen_step`` (k discriminator batches each) and shows the GAN's latest losses."""

    def current_step(self, trainer: L.Trainer, pl_module: Any) -> int:
        return pl_module.gen_step

    def get_metrics(self, trainer: L.Trainer, pl_module: Any) -> dict[str, float]:
        metrics = {k: float(v) for k, v in pl_module.step_metrics.items() if k.startswith("loss/")}
        for callback in trainer.callbacks:
            if isinstance(callback, MetricsCallback):
                metrics.update(callback.last)  # the last evaluation's values (fid, kid, ...), if any ran
        return metrics

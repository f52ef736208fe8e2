"""A one-time warning when the discriminator saturates: D(real) ~ 1 and D(fake) ~ 0 for many log intervals.

A saturated D (e.g. after a learning rate far too high) separates real from fake perfectly, its loss is ~0
and the generator learns nothing useful, yet every logged number is finite. Only losses whose readout is a
probability (the logistic losses) have a scale on which "saturated" is defined; for raw scores (hinge,
least squares, Wasserstein) this callback stays silent. It reads the two logged means at the log interval
(one copy of two scalars, which MetricLogger reads at the same steps anyway).
"""

from __future__ import annotations

import logging
from typing import Any

import lightning as L
import torch

from ganforge.callbacks.step_callback import GeneratorStepCallback

log = logging.getLogger(__name__)

# Healthy training keeps the batch means well inside (0.001, 0.999): both thresholds together, for PATIENCE
# consecutive log intervals, avoid warning about a discriminator that is merely winning for a while.
EPSILON = 1e-3
PATIENCE = 10


class SaturationWarning(GeneratorStepCallback):
    def __init__(self, every_n_steps: int, patience: int = PATIENCE, epsilon: float = EPSILON):
        super().__init__(every_n_steps)
        self.patience = patience
        self.epsilon = epsilon
        self.streak = 0
        self.streak_start: int | None = None
        self.warned_at: int | None = None

    def on_generator_step(self, trainer: L.Trainer, pl_module: Any, step: int) -> None:
        metrics = pl_module.step_metrics
        loss = getattr(pl_module, "loss", None)
        if self.warned_at is not None or not getattr(loss, "readout_is_probability", False):
            return
        if "d/real" not in metrics or "d/fake" not in metrics:
            return
        real, fake = torch.stack([torch.as_tensor(metrics[k]).float() for k in ("d/real", "d/fake")]).tolist()
        if real > 1 - self.epsilon and fake < self.epsilon:
            self.streak += 1
            self.streak_start = step if self.streak == 1 else self.streak_start
        else:
            self.streak, self.streak_start = 0, None
        if self.streak >= self.patience:
            self.warned_at = step
            if trainer.is_global_zero:
                log.warning(
                    "the discriminator has saturated since generator step %d: D(real) > %.3g and D(fake) "
                    "< %.3g at %d consecutive log intervals (now step %d), so the generator gets no useful "
                    "signal. Likely a learning rate too high (model.d_optimizer.lr) or a discriminator much "
                    "stronger than the generator; samples from this run will not improve. (Warned once.)",
                    self.streak_start,
                    1 - self.epsilon,
                    self.epsilon,
                    self.streak,
                    step,
                )

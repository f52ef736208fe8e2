"""Metrics during training, every N generator steps, with best-FID checkpointing.

Under DDP every rank generates its share of the samples (fixed noise per rank), the shares are gathered,
and every rank scores the full set: all ranks hold the same numbers, so they agree on when to save
``best.ckpt`` (``trainer.save_checkpoint`` is collective and writes on rank zero).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import lightning as L
import torch

from ganforge.callbacks.nonfinite import checkpoint_allowed
from ganforge.callbacks.step_callback import GeneratorStepCallback
from ganforge.data.base import take
from ganforge.errors import EvaluationError
from ganforge.metrics.evaluate import EvalSettings, MetricSuite, generate, sample_in_chunks, to_storage
from ganforge.metrics.registry import parse_metrics

log = logging.getLogger(__name__)
BEST = "best.ckpt"


def pick_best_metric(names: list[str], best_metric: str | None) -> str | None:
    """The lower-is-better metric that decides best.ckpt: as configured, or the first fid/kid one."""
    if best_metric in ("none", ""):
        return None
    specs = parse_metrics(names)
    if best_metric is None:
        return next((s.name for s in specs if s.lower_is_better), None)
    if best_metric not in {s.name for s in specs if s.lower_is_better}:
        raise EvaluationError(
            f"eval.best_metric={best_metric!r} must be one of the fid/kid metrics in eval.metrics {names}, "
            "or none."
        )
    return best_metric


class MetricsCallback(GeneratorStepCallback):
    def __init__(
        self,
        metrics: list[str],
        settings: EvalSettings,
        every_n_steps: int,
        final_step: int,
        checkpoint_dir: str | Path,
        best_metric: str | None = None,
        log_every_n_steps: int = 0,
    ):
        super().__init__(every_n_steps, final_step)
        self.log_every_n_steps = log_every_n_steps  # the cadence of LogLine, which prints our scores then
        self.names = list(metrics)
        self.settings = settings
        self.checkpoint_dir = Path(checkpoint_dir)
        self.best_metric = pick_best_metric(self.names, best_metric)
        self.best_value: float | None = None
        self.last: dict[str, float] = {}
        self.last_step: int | None = None  # the generator step ``last`` was scored at
        self._suite: MetricSuite | None = None

    def setup(self, trainer: L.Trainer, pl_module: Any, stage: str) -> None:
        # Fail before training, not at the first evaluation: evaluator and real features load now.
        if self._suite is None:
            pl_module.bind_data(trainer.datamodule)
            self._suite = MetricSuite(
                self.names, trainer.datamodule, self.settings, field=pl_module.sample_field
            )
            self._suite.prepare()

    def _samples(self, trainer: L.Trainer, pl_module: Any) -> torch.Tensor:
        """The same n samples as one process (and ganforge-eval with the same seed) would generate.

        Every rank builds the same n inputs and generates the strided share ``rank::world``; the shares
        are gathered and interleaved back into the original order.
        """
        n, world, rank = self._suite.num_samples, trainer.world_size, trainer.global_rank
        if world == 1:
            return to_storage(generate(pl_module, n, self.settings.seed, trainer.datamodule))
        sync_buffers = getattr(trainer.strategy, "sync_buffers", None)
        if callable(sync_buffers):
            sync_buffers()  # eval-mode BatchNorm must use the same running statistics on every rank
        inputs = pl_module.sampling_inputs(n, self.settings.seed, trainer.datamodule)
        share = -(-n // world)
        idx = torch.arange(rank, share * world, world).clamp(max=n - 1)  # equal shares: pad with a repeat
        local = to_storage(sample_in_chunks(pl_module, take(inputs, idx)))
        gathered = pl_module.all_gather(local.to(pl_module.device)).cpu()  # [world, share, ...]
        return gathered.transpose(0, 1).reshape(-1, *local.shape[1:])[:n]

    def on_generator_step(self, trainer: L.Trainer, pl_module: Any, step: int) -> None:
        self._suite.to(pl_module.device)  # extract features where the model runs (a GPU if any)
        samples = self._samples(trainer, pl_module)
        with torch.inference_mode():
            self.last = self._suite.score(samples)
        self.last_step = step
        values = {f"eval/{k}": v for k, v in self.last.items()}
        for logger in trainer.loggers:
            logger.log_metrics(values, step=step)
        every = self.log_every_n_steps
        if not (step >= self.final_step or (every and step % every == 0)):  # else on LogLine's line
            log.info("step %d: %s", step, ", ".join(f"{k}={v:.4g}" for k, v in self.last.items()))
        if self.best_metric is not None:
            value = self.last[self.best_metric]
            better = self.best_value is None or value < self.best_value
            if better and checkpoint_allowed(trainer, self.checkpoint_dir / BEST):
                self.best_value = value
                trainer.save_checkpoint(self.checkpoint_dir / BEST, weights_only=False)

    def state_dict(self) -> dict[str, Any]:
        return {"best_metric": self.best_metric, "best_value": self.best_value}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        if state_dict.get("best_metric") == self.best_metric:
            self.best_value = state_dict.get("best_value")


def metric_callbacks(cfg: Any, run_dir: str | Path) -> list[L.Callback]:
    """The training-time metrics callback configured by ``cfg.eval``; none when eval.metrics is empty."""
    ev = cfg.get("eval")
    if ev is None or not ev.metrics:
        return []
    return [
        MetricsCallback(
            list(ev.metrics),
            EvalSettings.from_config(ev),
            ev.every_n_steps,
            cfg.trainer.max_steps,
            Path(run_dir) / "checkpoints",
            ev.best_metric,
            cfg.trainer.log_every_n_steps,
        )
    ]

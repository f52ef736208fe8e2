"""Records what a run is, once per job (rank zero): resolved config, effective batch size, and when each
fit started and ended (``run_time.json``, see ganforge.tracking.run_time)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import lightning as L
from omegaconf import OmegaConf

from ganforge.io import atomic_write_text
from ganforge.tracking.run_time import record_end, record_start

log = logging.getLogger(__name__)


class RunRecord(L.Callback):
    def __init__(self, run_dir: str | Path, config: dict[str, Any]):
        self.run_dir = Path(run_dir)
        self.config = config

    def on_fit_start(self, trainer: L.Trainer, pl_module: Any) -> None:
        batch = trainer.datamodule.batch_size
        # Each process draws its own batch of this size: the effective batch is per device x processes.
        effective = batch * trainer.world_size
        if not trainer.is_global_zero:
            return
        atomic_write_text(self.run_dir / "config.yaml", OmegaConf.to_yaml(self.config))
        record_start(self.run_dir, _step(trainer, pl_module))
        log.info(
            "batch size %d per device x %d device(s) x %d node(s) = effective batch size %d",
            batch,
            trainer.num_devices,
            trainer.num_nodes,
            effective,
        )
        for logger in trainer.loggers:
            logger.log_hyperparams(
                {**self.config, "effective_batch_size": effective, "world_size": trainer.world_size}
            )

    def on_fit_end(self, trainer: L.Trainer, pl_module: Any) -> None:
        if trainer.is_global_zero:
            record_end(self.run_dir, _step(trainer, pl_module))

    def on_exception(self, trainer: L.Trainer, pl_module: Any, exception: BaseException) -> None:
        if trainer.is_global_zero:
            record_end(self.run_dir, _step(trainer, pl_module), f"failed: {type(exception).__name__}")


def _step(trainer: L.Trainer, pl_module: Any) -> int:
    # Generator steps (ganforge's step counter); Lightning's global_step for a module without one.
    return int(getattr(pl_module, "gen_step", trainer.global_step))

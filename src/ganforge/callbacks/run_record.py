"""Records what a run is, once per job (rank zero): resolved config, effective batch size."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import lightning as L
from omegaconf import OmegaConf

from ganforge.io import atomic_write_text

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

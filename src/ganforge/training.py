"""Run one training job from a composed config (the CLI and the tests call this)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import lightning as L
import torch
from omegaconf import DictConfig

from ganforge.build import build_datamodule, build_module, build_trainer
from ganforge.checkpoints import check_resume_matches, load_checkpoint
from ganforge.config.validate import validate
from ganforge.tracking.wandb_logger import finish_loggers

log = logging.getLogger(__name__)


def train(cfg: DictConfig, run_dir: str | Path, extra_callbacks: list[L.Callback] = ()) -> dict[str, Any]:
    """Validate, build everything (failing early on bad input), train, and return a summary."""
    run_dir = Path(run_dir)
    validate(cfg)
    if cfg.hardware.num_threads:
        torch.set_num_threads(cfg.hardware.num_threads)
    # Same seed in every process: identical initial weights. Each process then reseeds its noise by rank
    # once the strategy knows it (AdversarialModule.setup).
    L.seed_everything(cfg.trainer.seed, workers=True, verbose=False)

    datamodule = build_datamodule(cfg)
    datamodule.setup("fit")  # a missing or corrupt dataset fails here, before any training
    module = build_module(cfg)
    module.bind_data(datamodule)  # fields the family reads must exist; phases are checked here too
    if cfg.ckpt_path:
        check_resume_matches(load_checkpoint(cfg.ckpt_path), module.run_config, cfg.ckpt_path)

    run_dir.mkdir(parents=True, exist_ok=True)
    trainer = build_trainer(cfg, run_dir, list(extra_callbacks))
    log.info("run directory: %s", run_dir)
    failed = True
    try:
        trainer.fit(module, datamodule=datamodule, ckpt_path=cfg.ckpt_path)
        failed = False
    finally:
        # Exactly one W&B run per job: close it here, also when training fails.
        finish_loggers(trainer.loggers, failed=failed)
    preempted = [c.preempted_at for c in trainer.callbacks if getattr(c, "preempted_at", None) is not None]
    return {
        "run_dir": str(run_dir),
        "gen_step": module.gen_step,
        "preempted_at": preempted[0] if preempted else None,
        "metrics": {k: float(v) for k, v in module.step_metrics.items()},
        "module": module,
        "trainer": trainer,
    }

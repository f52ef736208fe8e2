"""Periodic and last checkpoints at generator steps, and the cleanup of interrupted writes at start.

Lightning's ModelCheckpoint counts ``global_step`` (every optimizer step), which would put k + 1 into
every file name; this callback names and times checkpoints by generator step instead and still uses
``trainer.save_checkpoint`` (rank-zero writing through ganforge.checkpoint_io.AtomicCheckpointIO: a
temporary next to the target, fsynced, then renamed over it).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import lightning as L

from ganforge.callbacks.nonfinite import checkpoint_allowed
from ganforge.callbacks.step_callback import GeneratorStepCallback
from ganforge.io import remove_stale_temporaries

log = logging.getLogger(__name__)
LAST = "last.ckpt"


class PeriodicCheckpoint(GeneratorStepCallback):
    def __init__(self, dirpath: str | Path, every_n_steps: int, final_step: int):
        super().__init__(every_n_steps, final_step)
        self.dirpath = Path(dirpath)

    def on_generator_step(self, trainer: L.Trainer, pl_module: Any, step: int) -> None:
        if not checkpoint_allowed(trainer, self.dirpath / LAST):
            return  # non-finite weights: keep the last finite checkpoints as they are
        trainer.save_checkpoint(self.dirpath / f"step_{step:07d}.ckpt", weights_only=False)
        trainer.save_checkpoint(self.dirpath / LAST, weights_only=False)


class RemoveStaleTemporaries(L.Callback):
    """Removes what a killed run's atomic writes left in its run directory (rank zero, before training).

    Only this run writes into its directory (run directories are never shared), so any temporary found
    there at start belongs to an earlier, interrupted process of the same run.
    """

    SUBDIRS = (".", "checkpoints", "samples")

    def __init__(self, run_dir: str | Path):
        self.run_dir = Path(run_dir)

    def setup(self, trainer: L.Trainer, pl_module: Any, stage: str) -> None:
        if not trainer.is_global_zero:
            return
        for sub in self.SUBDIRS:
            for path in remove_stale_temporaries(self.run_dir / sub):
                log.info("removed %s, left by an interrupted write", path)

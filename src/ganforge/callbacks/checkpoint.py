"""Periodic and last checkpoints at generator steps, written atomically by Lightning.

Lightning's ModelCheckpoint counts ``global_step`` (every optimizer step), which would put k + 1 into
every file name; this callback names and times checkpoints by generator step instead and still uses
``trainer.save_checkpoint`` (rank-zero writing, atomic fsspec transaction).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L

from ganforge.callbacks.nonfinite import checkpoint_allowed
from ganforge.callbacks.step_callback import GeneratorStepCallback

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

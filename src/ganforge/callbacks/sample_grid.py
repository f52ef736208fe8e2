"""Sample grids from a fixed noise batch, saved as PNG in the run directory (rank zero only)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.utilities import rank_zero_only

from ganforge.callbacks.step_callback import GeneratorStepCallback


class SampleGrid(GeneratorStepCallback):
    def __init__(self, dirpath: str | Path, every_n_steps: int, num_images: int, seed: int, final_step: int):
        super().__init__(every_n_steps, final_step)
        self.dirpath = Path(dirpath)
        self.num_images = num_images
        self.seed = seed
        self.last_path: Path | None = None

    @rank_zero_only
    def on_generator_step(self, trainer: L.Trainer, pl_module: Any, step: int) -> None:
        z, labels = pl_module.grid_inputs(self.num_images, self.seed)
        samples = pl_module.sample(z, labels)
        path = self.dirpath / f"step_{step:07d}.png"
        trainer.datamodule.render(samples, path, nrow=getattr(pl_module, "grid_nrow", None))
        self.last_path = path
        for logger in trainer.loggers:
            log_image = getattr(logger, "log_image", None)
            if callable(log_image):
                log_image(key="samples", images=[str(path)], step=step)

"""Sample pictures from fixed inputs, saved as PNG in the run directory and sent to loggers (rank zero).

What the picture shows is the family's business: the callback asks the module for its fixed sampling
inputs (noise, labels, test-split images), its samples for them, and a rendering of both
(``render_samples``: a grid by default, input | output panels for image-to-image families).
"""

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
        datamodule = trainer.datamodule
        inputs = pl_module.sampling_inputs(self.num_images, self.seed, datamodule)
        samples = pl_module.sample_inputs(inputs)
        path = self.dirpath / f"step_{step:07d}.png"
        pl_module.render_samples(path, inputs, samples, datamodule)
        self.last_path = path
        for logger in trainer.loggers:
            log_image = getattr(logger, "log_image", None)
            if callable(log_image):
                log_image(key="samples", images=[str(path)], step=step)

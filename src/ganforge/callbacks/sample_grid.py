"""Sample pictures from fixed inputs, saved as PNG in the run directory and sent to loggers (rank zero).

What the picture shows is the family's business: the callback asks the module for its fixed sampling
inputs (noise, labels, test-split images), its samples for them, and a rendering of both
(``render_samples``: a grid by default, input | output panels for image-to-image families), plus any
further figures the family draws at each sample step (``extra_figures``: a style-mixing figure, say),
written next to the grid as ``step_<N>_<name>.png`` and sent to the loggers under ``samples/<name>``.
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
        figures = {"samples": path}
        extra = pl_module.extra_figures(self.dirpath / f"step_{step:07d}", datamodule)
        figures.update({f"samples/{name}": p for name, p in extra.items()})
        for logger in trainer.loggers:
            log_image = getattr(logger, "log_image", None)
            if callable(log_image):
                for key, figure in figures.items():
                    log_image(key=key, images=[str(figure)], step=step)

"""Sample pictures from fixed inputs, saved as PNG in the run directory and sent to loggers (rank zero).

What the picture shows is the family's business: the callback asks the module for its fixed sampling
inputs (noise, labels, test-split images), its samples for them, and a rendering of both
(``render_samples``: a grid by default, input | output panels for image-to-image families), plus any
further figures the family draws at each sample step (``extra_figures``: a style-mixing figure, say),
written next to the grid as ``step_<N>_<name>.png`` and sent to the loggers under ``samples/<name>``, and
any other files it makes of the samples (``extra_media``: an audio family's WAVs in ``step_<N>_audio/``,
sent to loggers with ``log_audio``).
The callback then labels whatever was drawn (``ganforge.data.render.label_picture``: scaled up with
nearest neighbours to >= 512 px, a header with the step and the run name), so every family's pictures
read on their own without any family code here.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
from lightning.pytorch.utilities import rank_zero_only

from ganforge.callbacks.step_callback import GeneratorStepCallback
from ganforge.data.render import label_picture


def picture_sample_count(requested: int, datamodule: Any) -> int:
    """``requested`` samples, or more where the data's picture needs more to say anything
    (``datamodule.picture_samples``: a 2-D scatter of 64 points shows no modes)."""
    return max(requested, getattr(datamodule, "picture_samples", None) or 0)


class SampleGrid(GeneratorStepCallback):
    def __init__(
        self,
        dirpath: str | Path,
        every_n_steps: int,
        num_images: int,
        seed: int,
        final_step: int,
        run_name: str | None = None,
    ):
        super().__init__(every_n_steps, final_step)
        self.dirpath = Path(dirpath)
        self.num_images = num_images
        self.seed = seed
        # The run directory's name: what ganforge-compare and the sweep's job directories call the run.
        self.run_name = run_name or self.dirpath.resolve().parent.name
        self.last_path: Path | None = None

    @rank_zero_only
    def on_generator_step(self, trainer: L.Trainer, pl_module: Any, step: int) -> None:
        datamodule = trainer.datamodule
        inputs = pl_module.sampling_inputs(
            picture_sample_count(self.num_images, datamodule), self.seed, datamodule
        )
        samples = pl_module.sample_inputs(inputs)
        path = self.dirpath / f"step_{step:07d}.png"
        pl_module.render_samples(path, inputs, samples, datamodule)
        # The labelled picture is also the one the loggers get: a W&B panel or a downloaded image then
        # says which run and step it is, and W&B shows a 242-px grid small and blurred.
        label_picture(path, [f"step {step}", self.run_name])
        self.last_path = path
        figures = {"samples": path}
        extra = pl_module.extra_figures(self.dirpath / f"step_{step:07d}", datamodule)
        for name, figure in extra.items():
            label_picture(figure, [f"step {step}  {name}", self.run_name])
            figures[f"samples/{name}"] = figure
        captions = {"samples": pl_module.picture_caption(inputs, len(samples))}
        # Non-picture files of the same samples (an audio family's WAVs), beside the grid.
        media = pl_module.extra_media(self.dirpath / f"step_{step:07d}", samples, datamodule)
        for logger in trainer.loggers:
            log_image = getattr(logger, "log_image", None)
            if callable(log_image):
                for key, figure in figures.items():
                    caption = captions.get(key)
                    kwargs = {"caption": [caption]} if caption else {}
                    log_image(key=key, images=[str(figure)], step=step, **kwargs)
            log_audio = getattr(logger, "log_audio", None)
            if callable(log_audio):
                for name, (kind, paths) in media.items():
                    if kind == "audio" and paths:
                        log_audio(key=f"samples/{name}", audios=[str(p) for p in paths], step=step)

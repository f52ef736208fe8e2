"""Pictures of samples: a grid of generated images, or panels side by side (input | output | ...).

Both take model-space images ([-1, 1], ``[N, C, H, W]``) and write a PNG atomically.
:func:`save_panels` is for families whose samples are best shown next to what they came from: CycleGAN's
input | translated | reconstructed, SRGAN's LR | bicubic | SR | HR. Panels of different sizes are scaled
to the largest with nearest-neighbour interpolation, so a low-resolution input shows its real pixels.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

import torch
import torch.nn.functional as F
from torchvision.utils import make_grid, save_image

from ganforge.io import atomic_path

PADDING = 2
HEADER = 12  # pixels of the strip with the panel names (PIL's default bitmap font is ~11 px tall)


def save_image_grid(samples: torch.Tensor, path: Path, nrow: int | None = None) -> None:
    nrow = nrow or max(1, int(len(samples) ** 0.5))
    grid = make_grid(
        samples.detach().float().cpu(), nrow=nrow, normalize=True, value_range=(-1, 1), padding=PADDING
    )
    with atomic_path(path) as tmp:
        save_image(grid, tmp, format="png")


def panel_grid(panels: Mapping[str, torch.Tensor], samples_per_row: int | None = None) -> torch.Tensor:
    """One image [3, H, W] in [0, 1]: each sample's panels side by side, several samples per row."""
    names = list(panels)
    if not names:
        raise ValueError("save_panels needs at least one panel")
    images = [panels[k].detach().float().cpu() for k in names]
    n = len(images[0])
    if any(len(x) != n for x in images):
        raise ValueError(
            f"panels must hold the same number of samples; got { {k: len(panels[k]) for k in names} }"
        )
    height = max(x.shape[-2] for x in images)
    width = max(x.shape[-1] for x in images)
    fitted = []
    for x in images:
        if x.shape[-2:] != (height, width):
            x = F.interpolate(x, size=(height, width), mode="nearest")
        fitted.append(x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x)
    k = len(fitted)
    per_row = samples_per_row or max(1, math.ceil(math.sqrt(n / k)))
    tiles = torch.stack(fitted, dim=1).reshape(n * k, 3, height, width)
    return make_grid(tiles, nrow=per_row * k, normalize=True, value_range=(-1, 1), padding=PADDING)


def save_panels(
    panels: Mapping[str, torch.Tensor], path: Path, samples_per_row: int | None = None
) -> torch.Tensor:
    """Write the panels (name -> model-space images, one row per sample) as a PNG; returns the grid.

    The panel names head their columns, cut to the column width (PIL's default font: ~6 px a letter).
    """
    from PIL import Image, ImageDraw

    grid = panel_grid(panels, samples_per_row)
    pixels = grid.mul(255).round().clamp(0, 255).to(torch.uint8).permute(1, 2, 0).numpy()
    body = Image.fromarray(pixels)
    names = list(panels)
    column = max(x.shape[-1] for x in panels.values()) + PADDING
    letters = (column - PADDING) // 6
    if letters >= 2:
        image = Image.new("RGB", (body.width, body.height + HEADER), "white")
        image.paste(body, (0, HEADER))
        draw = ImageDraw.Draw(image)
        for c in range(body.width // column):
            draw.text((PADDING + c * column, 0), names[c % len(names)][:letters], fill="black")
        body = image
    with atomic_path(path) as tmp:
        body.save(tmp, format="png")
    return grid

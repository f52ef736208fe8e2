"""Caption -> image grids: every generated image with the words it was drawn for printed under it.

What the text-to-image families write at each sample step (and ``ganforge-sample``), so a picture in the
run directory, in W&B or in the README can be checked against its captions by eye. A cell holds one or
more panels side by side (StackGAN: stage-I | stage-II), enlarged with nearest neighbours to ``cell``
pixels so low-resolution outputs show their real pixels, and the caption wrapped below it.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch
import torch.nn.functional as F

from ganforge.io import atomic_path

GAP = 6  # pixels between cells
FONT_SIZE = 11
MAX_LINES = 6  # the longest template caption wraps to 5 lines at 96 px


def _cell_pixels(panels: Mapping[str, torch.Tensor], cell: int) -> torch.Tensor:
    """uint8 [N, H, W, 3]: each sample's panels side by side, each enlarged to cell x cell."""
    tiles = []
    for images in panels.values():
        x = images.detach().float().cpu().clamp(-1, 1).add(1).div(2)
        x = F.interpolate(x, size=(cell, cell), mode="nearest")
        tiles.append(x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x)
    return torch.cat(tiles, dim=3).mul(255).round().to(torch.uint8).permute(0, 2, 3, 1)


def save_captioned_grid(
    panels: Mapping[str, torch.Tensor],
    captions: Sequence[str],
    path: Path,
    per_row: int | None = None,
    cell: int = 96,
) -> None:
    """Write the grid as PNG (atomically): one cell per sample, its panels, its caption below; the panel
    names head the picture when there is more than one."""
    from PIL import Image, ImageDraw, ImageFont

    pixels = _cell_pixels(panels, cell)
    n = len(pixels)
    if len(captions) != n:
        raise ValueError(f"{n} samples but {len(captions)} captions")
    per_row = per_row or min(8, max(1, math.ceil(math.sqrt(n))))
    font = ImageFont.load_default(size=FONT_SIZE)
    width = pixels.shape[2]
    letters = max(8, int(width / (0.55 * FONT_SIZE)))
    text_height = MAX_LINES * (FONT_SIZE + 2)
    header = FONT_SIZE + 6 if len(panels) > 1 else 0
    rows = math.ceil(n / per_row)
    cell_w, cell_h = width + GAP, pixels.shape[1] + text_height + GAP
    image = Image.new("RGB", (per_row * cell_w + GAP, header + rows * cell_h + GAP), "white")
    draw = ImageDraw.Draw(image)
    if header:
        names = " | ".join(panels)
        draw.text((GAP, 2), f"each cell: {names}", fill="black", font=font)
    for i in range(n):
        x, y = GAP + (i % per_row) * cell_w, header + GAP + (i // per_row) * cell_h
        image.paste(Image.fromarray(pixels[i].numpy()), (x, y))
        lines = textwrap.wrap(str(captions[i]), letters)[:MAX_LINES]
        for k, line in enumerate(lines):
            draw.text((x, y + pixels.shape[1] + 1 + k * (FONT_SIZE + 2)), line, fill="black", font=font)
    with atomic_path(path) as tmp:
        image.save(tmp, format="png")

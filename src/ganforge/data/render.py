"""Pictures of samples: a grid of generated images, or panels side by side (input | output | ...).

Both take model-space images ([-1, 1], ``[N, C, H, W]``) and write a PNG atomically.
:func:`save_panels` is for families whose samples are best shown next to what they came from: CycleGAN's
input | translated | reconstructed, SRGAN's LR | bicubic | SR | HR. Panels of different sizes are scaled
to the largest with nearest-neighbour interpolation, so a low-resolution input shows its real pixels.
:func:`label_picture` then makes any of these pictures (or a family's own) readable on its own: scaled up
with nearest neighbours and headed by a strip with the generator step and the run's name.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from torchvision.utils import make_grid, save_image

from ganforge.io import atomic_path

PADDING = 2
HEADER = 12  # pixels of the strip with the panel names (PIL's default bitmap font is ~11 px tall)
# Long side of a labelled picture, at least: an 8x8 grid of 28x28 digits (242 px) is scaled 3x (726 px),
# each digit 84 px on screen; pictures this size or larger are not scaled.
MIN_LONG_SIDE = 512


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


def upscale_factor(width: int, height: int, min_long_side: int = MIN_LONG_SIDE) -> int:
    """The smallest integer scale that brings the long side to ``min_long_side`` (1 if it is already)."""
    return max(1, math.ceil(min_long_side / max(width, height, 1)))


def _font_sizes(width: int, num_lines: int) -> list[int]:
    # ~28 letters of the first line and ~40 of the others across the picture (PIL's font: ~0.55 em a letter)
    return [max(12, width // 28)] + [max(10, width // 40)] * (num_lines - 1)


def _margin(width: int) -> int:
    return max(4, width // 100)


def _line_height(size: int) -> int:
    return round(size * 1.25)


def header_height(width: int, num_lines: int = 2) -> int:
    """Pixels of the text strip :func:`label_picture` puts above a picture ``width`` pixels wide."""
    return 2 * _margin(width) + sum(_line_height(s) for s in _font_sizes(width, num_lines))


def labelled_size(
    width: int, height: int, num_lines: int = 2, min_long_side: int = MIN_LONG_SIDE
) -> tuple[int, int]:
    """(width, height) of a ``width`` x ``height`` picture once :func:`label_picture` has labelled it."""
    scale = upscale_factor(width, height, min_long_side)
    return width * scale, height * scale + header_height(width * scale, num_lines)


def _fit(text: str, font, draw, width: int) -> str:
    """``text`` cut in the middle (``a...z``) to fit ``width`` pixels: a run name's start (date, model) and
    end (overrides, random suffix) are what tell runs apart."""
    if draw.textlength(text, font=font) <= width:
        return text
    keep = len(text)
    while (
        keep > 4
        and draw.textlength(f"{text[: keep // 2]}...{text[len(text) - keep // 2 :]}", font=font) > width
    ):
        keep -= 2
    return f"{text[: keep // 2]}...{text[len(text) - keep // 2 :]}"


def label_picture(path: Path, lines: Sequence[str], min_long_side: int = MIN_LONG_SIDE) -> tuple[int, int]:
    """Rewrite the PNG at ``path`` scaled up and headed by ``lines`` of text; returns (scale, header px).

    The scale is an integer and the interpolation nearest-neighbour, so each generated pixel stays a sharp
    square (no invented detail). The first line is drawn larger (the step, which changes from picture to
    picture), the others below it (the run name). Any picture works: grids, panels, a scatter plot.
    """
    from PIL import Image, ImageDraw, ImageFont

    with Image.open(path) as opened:
        body = opened.convert("RGB")
    scale = upscale_factor(body.width, body.height, min_long_side)
    if scale > 1:
        body = body.resize((body.width * scale, body.height * scale), Image.Resampling.NEAREST)
    sizes = _font_sizes(body.width, len(lines))
    # PIL's bundled scalable font (needs FreeType, which Pillow's wheels carry): sized to the picture.
    fonts = [ImageFont.load_default(size=size) for size in sizes]
    margin, header = _margin(body.width), header_height(body.width, len(lines))
    image = Image.new("RGB", (body.width, body.height + header), "white")
    image.paste(body, (0, header))
    draw = ImageDraw.Draw(image)
    y = margin
    for line, font, size in zip(lines, fonts, sizes):
        draw.text((margin, y), _fit(line, font, draw, body.width - 2 * margin), fill="black", font=font)
        y += _line_height(size)
    with atomic_path(path) as tmp:
        image.save(tmp, format="png")
    return scale, header

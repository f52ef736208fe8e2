"""The attributes a template caption claims (colour, size, position), and how to measure them in an image.

One definition serves both directions: :mod:`ganforge.data.captioned` draws objects with these attributes
and writes the captions, and the text-to-image metrics measure the same attributes back from generated
images (issue: "does the image match the text?"), so a caption and its check cannot drift apart.

Measurement, per image (uint8 [3, H, W] or model-space floats): the object is every pixel whose brightest
channel exceeds :data:`OBJECT_THRESHOLD` (the canvas is black);

- colour: the saturation-weighted circular mean hue of the object pixels (scikit-image's ``rgb2hsv``),
  named by the nearest palette hue;
- size: the longer side of the object's bounding box as a fraction of the canvas, ``large`` above the
  midpoint of the two drawn fractions;
- position: the object's intensity-weighted centroid: ``center`` within :data:`CENTER_TOLERANCE` of the
  middle on both axes, else the quadrant it lies in.

An image with no object pixels measures as -1 for every attribute (never counted as a match).
"""

from __future__ import annotations

import colorsys
import math

import numpy as np
import torch

#: name -> RGB of the object colour (saturated, hues spread around the circle)
COLOURS: dict[str, tuple[int, int, int]] = {
    "red": (235, 35, 35),
    "orange": (245, 145, 20),
    "yellow": (235, 225, 30),
    "green": (40, 195, 60),
    "blue": (40, 90, 240),
    "purple": (165, 55, 215),
}
SIZES = ("small", "large")
#: object bounding-box side (longer side) as a fraction of the canvas side
SIZE_FRACTIONS = {"small": 0.45, "large": 0.8}
POSITIONS = ("top left", "top right", "bottom left", "bottom right", "center")
#: a large object fills most of the canvas, so it is always drawn (and captioned) in the center
LARGE_POSITIONS = ("center",)
OBJECT_THRESHOLD = 40  # grey levels: fainter pixels are anti-aliasing or dark texture, hue unreliable
CENTER_TOLERANCE = 0.15  # of the canvas side
UNMEASURED = -1

COLOUR_NAMES = tuple(COLOURS)
COLOUR_HUES = np.array([colorsys.rgb_to_hsv(*(c / 255 for c in rgb))[0] for rgb in COLOURS.values()])
SIZE_THRESHOLD = sum(SIZE_FRACTIONS.values()) / 2


def _as_uint8(images: torch.Tensor) -> np.ndarray:
    """[N, 3, H, W] uint8 (model-space floats in [-1, 1] are mapped back) -> numpy [N, H, W, 3]."""
    if images.ndim != 4 or images.shape[1] != 3:
        raise ValueError(f"attribute measurement needs RGB images [N, 3, H, W]; got {tuple(images.shape)}")
    if images.dtype != torch.uint8:
        images = images.detach().float().clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8)
    return images.permute(0, 2, 3, 1).cpu().numpy()


def object_masks(images: torch.Tensor) -> np.ndarray:
    """bool [N, H, W]: the pixels that belong to the drawn object."""
    return _as_uint8(images).max(axis=-1) > OBJECT_THRESHOLD


def measure_colours(images: torch.Tensor) -> np.ndarray:
    """int [N]: index into :data:`COLOUR_NAMES` of each image's object colour (-1: no object)."""
    from skimage.color import rgb2hsv

    pixels = _as_uint8(images)
    hsv = rgb2hsv(pixels)
    masks = pixels.max(axis=-1) > OBJECT_THRESHOLD
    weights = np.where(masks, hsv[..., 1], 0.0)
    angle = 2 * math.pi * hsv[..., 0]
    x = (weights * np.cos(angle)).sum(axis=(1, 2))
    y = (weights * np.sin(angle)).sum(axis=(1, 2))
    hue = (np.arctan2(y, x) / (2 * math.pi)) % 1.0
    distance = np.abs(hue[:, None] - COLOUR_HUES[None, :])
    distance = np.minimum(distance, 1.0 - distance)  # hue is circular
    found = distance.argmin(axis=1)
    return np.where(weights.sum(axis=(1, 2)) > 0, found, UNMEASURED)


def measure_sizes(images: torch.Tensor) -> np.ndarray:
    """int [N]: index into :data:`SIZES` from the object's bounding box (-1: no object)."""
    masks = object_masks(images)
    side = masks.shape[-1]
    out = np.full(len(masks), UNMEASURED)
    for i, mask in enumerate(masks):
        rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        if len(rows):
            extent = max(rows[-1] - rows[0] + 1, cols[-1] - cols[0] + 1) / side
            out[i] = SIZES.index("large" if extent > SIZE_THRESHOLD else "small")
    return out


def measure_positions(images: torch.Tensor) -> np.ndarray:
    """int [N]: index into :data:`POSITIONS` from the object's intensity-weighted centroid (-1: none)."""
    pixels = _as_uint8(images)
    value = np.where(pixels.max(axis=-1) > OBJECT_THRESHOLD, pixels.max(axis=-1), 0).astype(np.float64)
    total = value.sum(axis=(1, 2))
    h, w = value.shape[1:]
    safe = np.maximum(total, 1e-9)
    cy = (value * (np.arange(h)[None, :, None] + 0.5)).sum(axis=(1, 2)) / safe / h
    cx = (value * (np.arange(w)[None, None, :] + 0.5)).sum(axis=(1, 2)) / safe / w
    centered = (np.abs(cx - 0.5) < CENTER_TOLERANCE) & (np.abs(cy - 0.5) < CENTER_TOLERANCE)
    quadrant = np.where(cy < 0.5, 0, 2) + np.where(cx < 0.5, 0, 1)  # top left, top right, bottom ...
    found = np.where(centered, POSITIONS.index("center"), quadrant)
    return np.where(total > 0, found, UNMEASURED)


def measure_attributes(images: torch.Tensor) -> dict[str, np.ndarray]:
    """{"colour", "size", "position"}: int [N] each, as :data:`COLOUR_NAMES` / :data:`SIZES` /
    :data:`POSITIONS` indices."""
    return {
        "colour": measure_colours(images),
        "size": measure_sizes(images),
        "position": measure_positions(images),
    }

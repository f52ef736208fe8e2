"""Unpaired translation data with a known answer: domain B is a fixed local transform T of *other* images.

Domain A is one half of a dataset split (mnist5k, Fashion-MNIST, ...) and domain B is T applied to the
other half, so no image of A has its translation in B (the data are unpaired, as CycleGAN assumes), yet the
correct translation of every A image is known: T(a). On the test split :func:`known_answer_pair` also
returns that ground truth, so a benchmark can score G(a) against T(a) (precedent: CoGAN's digits vs edge
digits, Liu & Tuzel 2016).

The halves come from a fixed permutation (numpy's ``RandomState``, whose stream numpy guarantees never to
change) of each split's indices, so A and B are disjoint and identical on every machine.

Transforms (uint8 [N, C, H, W] -> uint8, per channel, each output pixel a function of its 3x3 neighbourhood):

- ``edges``: Sobel gradient magnitude / 4, rounded and clipped to 0..255 (a full 0 -> 255 step across the
  kernel gives exactly 255); replicate padding, so image borders create no edges. Strokes become outlines.
- ``inverted_dilated``: 255 - (3x3 grey dilation): strokes one pixel thicker on each side, dark on white.

Both are computed in float64, where every intermediate value is exact or correctly rounded: the same bytes
on every machine. Neither is the identity nor invertible pixel by pixel, yet both are local, so a
convolutional generator can learn them.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ganforge.data import sources
from ganforge.errors import DatasetError

Transform = Callable[[torch.Tensor], torch.Tensor]
_SOBEL_X = torch.tensor([[-1.0, 0.0, 1.0], [-2.0, 0.0, 2.0], [-1.0, 0.0, 1.0]], dtype=torch.float64)
SOBEL_SCALE = 4.0  # sum of the positive Sobel taps: a full 0 -> 255 step maps to 255


def _check_uint8_images(x: torch.Tensor) -> None:
    if x.dtype != torch.uint8 or x.dim() != 4:
        raise DatasetError(f"Transforms take uint8 images [N, C, H, W]; got {x.dtype} {list(x.shape)}.")


def sobel_edges(x: torch.Tensor) -> torch.Tensor:
    """Sobel edge magnitude of uint8 images, scaled so a full-contrast step is 255."""
    _check_uint8_images(x)
    channels = x.shape[1]
    kx = _SOBEL_X.expand(channels, 1, 3, 3)
    ky = _SOBEL_X.t().expand(channels, 1, 3, 3)
    padded = F.pad(x.to(torch.float64), (1, 1, 1, 1), mode="replicate")
    gx = F.conv2d(padded, kx, groups=channels)
    gy = F.conv2d(padded, ky, groups=channels)
    magnitude = torch.sqrt(gx * gx + gy * gy) / SOBEL_SCALE
    return magnitude.round().clamp(0, 255).to(torch.uint8)


def inverted_dilation(x: torch.Tensor) -> torch.Tensor:
    """255 minus the 3x3 grey dilation (max filter) of uint8 images: thicker strokes, dark on white."""
    _check_uint8_images(x)
    dilated = F.max_pool2d(x.to(torch.float64), 3, stride=1, padding=1)  # pads with -inf: borders unaffected
    return (255.0 - dilated).to(torch.uint8)


TRANSFORMS: dict[str, Transform] = {"edges": sobel_edges, "inverted_dilated": inverted_dilation}
BASES: dict[str, sources.Loader] = {
    "mnist5k": sources.mnist5k,
    "fashion_mnist": sources.fashion_mnist,
    "digits": sources.digits,
    "mnist": sources.mnist,
}


def get_transform(name: str) -> Transform:
    if name not in TRANSFORMS:
        raise DatasetError(f"Unknown known-answer transform {name!r}; allowed values: {sorted(TRANSFORMS)}.")
    return TRANSFORMS[name]


def ground_truth(x: torch.Tensor, transform: str = "edges") -> torch.Tensor:
    """The correct A -> B translation T(x) of uint8 domain-A images (what G(x) is scored against)."""
    return get_transform(transform)(x)


def disjoint_halves(n: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Sorted indices of the A half (floor(n/2) items) and the B half (the rest) of range(n)."""
    perm = np.random.RandomState(seed).permutation(n)
    half = n // 2
    return torch.from_numpy(np.sort(perm[:half])), torch.from_numpy(np.sort(perm[half:]))


def known_answer_pair(
    root: str | Path, split: str, base: str = "mnist5k", transform: str = "edges", seed: int = 0
) -> dict[str, torch.Tensor]:
    """One split of the pair base -> transform(base).

    Returns ``a`` (uint8 [N_a, C, H, W]), ``b`` (T of the other images, [N_b, C, H, W]), ``a_labels`` and
    ``b_labels`` (int64 class labels of the underlying images). The test split also has ``a2b_truth`` =
    T(a), the correct translation of each ``a``, and ``b2a_truth``, the image each ``b`` was made from.
    The training split has no truth fields, so no model can train on them by mistake.
    """
    if base not in BASES:
        raise DatasetError(
            f"Unknown base dataset {base!r} for a known-answer pair; allowed: {sorted(BASES)}."
        )
    t = get_transform(transform)
    images, labels = BASES[base](root, split)
    a_idx, b_idx = disjoint_halves(len(images), seed)
    if len(a_idx) == 0 or len(b_idx) == 0:
        raise DatasetError(f"The {split} split of {base} has {len(images)} images: too few for two domains.")
    pair = {
        "a": images[a_idx].contiguous(),
        "b": t(images[b_idx]).contiguous(),
        "a_labels": labels[a_idx].contiguous(),
        "b_labels": labels[b_idx].contiguous(),
    }
    if split == "test":
        pair["a2b_truth"] = t(pair["a"])
        pair["b2a_truth"] = images[b_idx].contiguous()
    return pair

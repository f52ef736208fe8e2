"""Paired super-resolution data: HR crops from any image source, LR by antialiased bicubic downsampling.

LR = ``F.interpolate(hr, scale_factor=1/scale, mode="bicubic", antialias=True)``, rounded and clamped to
uint8. With ``antialias=True`` torch uses the a = -0.5 cubic kernel widened by the scale factor, i.e.
PIL's BICUBIC resize and MATLAB's ``imresize`` (the SR benchmarks' LR images): within 3 grey levels of
PIL, 0.1 on average (PIL works in fixed point); without it torch's bicubic is a = -0.75 and aliases.

Photos are cut into ``hr_size`` crops: training takes ``crops_per_image`` random crops of each image
(deterministic by ``seed`` and image index), testing the centred grid of non-overlapping tiles that
covers each image. Whole test images of different sizes (the papers' protocol) come from
:func:`full_image_pairs`. The sources are in ganforge.data.sr_photos and ganforge.data.sr_files.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from ganforge.data.sources import _check_split
from ganforge.data.sr_photos import skimage_photos
from ganforge.errors import ConfigError, DatasetError


# ------------------------------------------------------------------------------------------ geometry
def check_sr_geometry(hr_size: int, scale: int) -> int:
    """The LR size for HR crops of ``hr_size`` at ``scale``, or a ConfigError."""
    if scale < 2:
        raise ConfigError(f"data.scale={scale}: super-resolution needs a scale factor of at least 2.")
    if hr_size < scale or hr_size % scale:
        nearest = sorted({max(scale, hr_size - hr_size % scale), hr_size - hr_size % scale + scale})
        raise ConfigError(
            f"data.hr_size={hr_size} cannot be downsampled by data.scale={scale} to a whole LR size "
            f"({hr_size}/{scale} = {hr_size / scale:g}): choose an HR size divisible by the scale, e.g. "
            f"{' or '.join(map(str, nearest))}."
        )
    return hr_size // scale


def bicubic_downsample(hr: torch.Tensor, scale: int, chunk: int = 1024) -> torch.Tensor:
    """uint8 [N, C, H, W] -> uint8 [N, C, H/scale, W/scale], antialiased bicubic (see module docstring)."""
    if hr.dtype != torch.uint8 or hr.dim() != 4:
        raise DatasetError(f"bicubic_downsample takes uint8 [N, C, H, W]; got {hr.dtype} {list(hr.shape)}.")
    height, width = hr.shape[-2:]
    if height % scale or width % scale:
        raise ConfigError(f"HR images of {height}x{width} cannot be downsampled by a whole factor {scale}.")
    size = (height // scale, width // scale)
    out = [
        F.interpolate(part.float(), size=size, mode="bicubic", align_corners=False, antialias=True)
        .round_()
        .clamp_(0, 255)
        .to(torch.uint8)
        for part in hr.split(chunk)  # bounded memory for large datasets
    ]
    return torch.cat(out) if out else hr.new_zeros((0, hr.shape[1], *size))


def make_pairs(hr: torch.Tensor, scale: int) -> dict[str, torch.Tensor]:
    return {"lr": bicubic_downsample(hr, scale), "hr": hr.contiguous()}


def to_channels(images: torch.Tensor, channels: int | None) -> torch.Tensor:
    """uint8 [..., C, H, W] to 1 or 3 channels: grayscale tiled to RGB, RGB to BT.601 luma (as
    ganforge.data.image_datamodule.fit_images does), an alpha channel dropped."""
    if images.shape[-3] == 4:
        images = images[..., :3, :, :]
    if channels is None or images.shape[-3] == channels:
        return images
    if channels == 3 and images.shape[-3] == 1:
        return images.expand(*images.shape[:-3], 3, *images.shape[-2:]).contiguous()
    if channels == 1 and images.shape[-3] == 3:
        weights = torch.tensor([0.299, 0.587, 0.114]).view(3, 1, 1)
        luma = (images.float() * weights).sum(-3, keepdim=True)
        return luma.round_().clamp_(0, 255).to(torch.uint8)
    raise ConfigError(f"data.channels={channels} is not supported; use 1 (grayscale) or 3 (RGB).")


def _check_size(image: torch.Tensor, size: int, index: int) -> None:
    if min(image.shape[-2:]) < size:
        raise ConfigError(
            f"Image {index} of the source is {image.shape[-2]}x{image.shape[-1]}, smaller than "
            f"data.hr_size={size}; lower hr_size or drop that image from the list."
        )


def random_crops(
    images: Sequence[torch.Tensor], size: int, per_image: int, seed: int, channels: int | None = None
) -> torch.Tensor:
    """``per_image`` random ``size`` x ``size`` crops of each uint8 [C, H, W] image, stacked (each image
    converted to ``channels`` first, so grayscale and colour photos mix).

    Image ``i``'s crops depend only on (seed, i), so they do not change when other images are added.
    """
    if per_image < 1:
        raise ConfigError(f"data.crops_per_image={per_image} must be >= 1.")
    crops = []
    for i in range(len(images)):
        image = to_channels(images[i], channels)
        _check_size(image, size, i)
        g = torch.Generator().manual_seed(seed * 1_000_003 + i)
        top = torch.randint(0, image.shape[-2] - size + 1, (per_image,), generator=g)
        left = torch.randint(0, image.shape[-1] - size + 1, (per_image,), generator=g)
        crops += [image[:, t : t + size, s : s + size] for t, s in zip(top.tolist(), left.tolist())]
    return torch.stack(crops).contiguous()


def tile_crops(images: Sequence[torch.Tensor], size: int, channels: int | None = None) -> torch.Tensor:
    """The centred grid of non-overlapping ``size`` tiles covering each image (deterministic), each image
    converted to ``channels`` first."""
    tiles = []
    for i in range(len(images)):
        image = to_channels(images[i], channels)
        _check_size(image, size, i)
        rows, cols = image.shape[-2] // size, image.shape[-1] // size
        top0, left0 = (image.shape[-2] - rows * size) // 2, (image.shape[-1] - cols * size) // 2
        for r in range(rows):
            for c in range(cols):
                t, s = top0 + r * size, left0 + c * size
                tiles.append(image[:, t : t + size, s : s + size])
    return torch.stack(tiles).contiguous()


def _images_of(loaded: Any) -> torch.Tensor | Sequence[torch.Tensor]:
    """A dataset loader's (images, labels) -> images; a photo source's sequence passes through."""
    return _images_and_labels(loaded)[0]


def _images_and_labels(loaded: Any) -> tuple[torch.Tensor | Sequence[torch.Tensor], torch.Tensor | None]:
    if isinstance(loaded, tuple) and len(loaded) == 2 and isinstance(loaded[0], torch.Tensor):
        return loaded[0], loaded[1]
    return loaded, None


def paired_sr(
    root: str | Path,
    split: str,
    scale: int = 4,
    hr_size: int = 96,
    source: Callable[..., Any] | None = None,
    crops_per_image: int = 64,
    seed: int = 0,
    channels: int | None = None,
    labels: bool = False,
) -> dict[str, torch.Tensor]:
    """One split of paired SR data: ``{"lr": uint8 [N, C, hr_size/scale, ...], "hr": uint8 [N, C,
    hr_size, hr_size]}``. ``source`` defaults to :func:`skimage_photos`; images already of ``hr_size``
    (Fashion-MNIST at 28) are used whole, larger ones are cropped (random for train, tiles for test).

    ``labels=True`` adds ``"hr_labels"`` (int64 [N]): the class of the image each HR crop comes from, for
    sources that have classes (the evaluator classifier of the HR images trains on them)."""
    _check_split(split)
    check_sr_geometry(hr_size, scale)
    images, classes = _images_and_labels((source or skimage_photos)(root=root, split=split))
    if labels and classes is None:
        raise ConfigError(
            "data.loader.labels=true, but the HR source returns no class labels (photo sources have none); "
            "set data.loader.labels=false."
        )
    if isinstance(images, torch.Tensor) and tuple(images.shape[-2:]) == (hr_size, hr_size):
        hr = images
    elif split == "train":
        hr = random_crops(images, hr_size, crops_per_image, seed, channels)
    else:
        hr = tile_crops(images, hr_size, channels)
    pairs = make_pairs(to_channels(hr, channels).contiguous(), scale)
    if labels:
        # Crops are stacked image by image, the same number from each equally sized image.
        pairs["hr_labels"] = torch.as_tensor(classes, dtype=torch.int64).repeat_interleave(
            len(hr) // len(classes)
        )
    return pairs


def full_image_pairs(
    root: str | Path,
    split: str,
    scale: int = 4,
    source: Callable[..., Any] | None = None,
    channels: int | None = None,
) -> list[dict[str, torch.Tensor]]:
    """Whole images as (lr [C, h, w], hr [C, scale*h, scale*w]) pairs, each HR cropped at its bottom/right
    to a multiple of ``scale`` ("modcrop"), as SR benchmarks are evaluated."""
    _check_split(split)
    images = _images_of((source or skimage_photos)(root=root, split=split))
    pairs = []
    for i in range(len(images)):
        image = to_channels(images[i], channels)
        h, w = image.shape[-2] - image.shape[-2] % scale, image.shape[-1] - image.shape[-1] % scale
        hr = image[:, :h, :w].contiguous()
        pairs.append({"lr": bicubic_downsample(hr[None], scale)[0], "hr": hr})
    return pairs

"""Paired super-resolution data (the import path configs and checkpoints name in ``_target_``).

    paired_sr(root, split, scale=4, hr_size=96, source=skimage_photos) -> {"lr": uint8 [N, C, h, w],
                                                                         "hr": uint8 [N, C, H, W]}

Sources (``source(root=..., split=...)``): any ganforge dataset loader returning (images, labels) (e.g.
``ganforge.data.sources.fashion_mnist``: 28x28 images are HR as they are, LR 7x7 at ×4), or a photo
source returning a sequence of uint8 [C, H, W] images of any size.

The code lives in one module per job; every name stays importable from here, because ``conf/data/*.yaml``
and the configs saved in checkpoints name ``ganforge.data.paired_sources.<name>`` (and the checkpoint
allow-list is derived from conf/):

- ganforge.data.sr_pairs: HR crops, bicubic LR, :func:`paired_sr`, :func:`full_image_pairs`.
- ganforge.data.sr_photos: :func:`skimage_photos`, the offline photographs.
- ganforge.data.sr_files: :func:`photo_folder`, :func:`div2k_benchmarks`, the downloaded archives.
"""

from __future__ import annotations

from ganforge.data.sources import IMAGE_SUFFIXES, SPLITS
from ganforge.data.sr_files import (
    ARCHIVES,
    BENCHMARK_SETS,
    DIV2K_TRAIN_HR,
    SR_BENCHMARKS,
    ImageFiles,
    div2k_benchmarks,
    fetch_sr_archives,
    photo_folder,
)
from ganforge.data.sr_pairs import (
    bicubic_downsample,
    check_sr_geometry,
    full_image_pairs,
    make_pairs,
    paired_sr,
    random_crops,
    tile_crops,
    to_channels,
)
from ganforge.data.sr_photos import PHOTOS, PHOTOS_TEST, PHOTOS_TRAIN, photo, skimage_photos

__all__ = [
    "ARCHIVES",
    "BENCHMARK_SETS",
    "IMAGE_SUFFIXES",
    "DIV2K_TRAIN_HR",
    "PHOTOS",
    "PHOTOS_TEST",
    "PHOTOS_TRAIN",
    "SPLITS",
    "SR_BENCHMARKS",
    "ImageFiles",
    "bicubic_downsample",
    "check_sr_geometry",
    "div2k_benchmarks",
    "fetch_sr_archives",
    "full_image_pairs",
    "make_pairs",
    "paired_sr",
    "photo",
    "photo_folder",
    "random_crops",
    "skimage_photos",
    "tile_crops",
    "to_channels",
]

"""The offline HR source of paired super-resolution data: the photographs bundled in the scikit-image
wheel plus scikit-learn's two sample images. Train and test use *different* photographs
(:data:`PHOTOS_TRAIN`, :data:`PHOTOS_TEST`)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import torch

from ganforge.data.sources import _check_split
from ganforge.errors import ConfigError, DatasetError


def _skimage(name: str) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        import skimage.data

        return getattr(skimage.data, name)()

    return load


def _motorcycle(view: int) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        import skimage.data

        return skimage.data.stereo_motorcycle()[view]  # (left, right, disparity)

    return load


def _sklearn(file: str) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        from sklearn.datasets import load_sample_image

        return load_sample_image(file)

    return load


#: Photographs that load without a network (checked with scikit-image 0.26 / scikit-learn 1.9); grayscale
#: ones (camera, brick, grass, gravel, moon, coins) are tiled to RGB when data.channels=3.
PHOTOS: dict[str, Callable[[], np.ndarray]] = {
    **{
        n: _skimage(n)
        for n in (
            "astronaut",
            "chelsea",
            "coffee",
            "rocket",
            "hubble_deep_field",
            "immunohistochemistry",
            "retina",
            "camera",
            "brick",
            "grass",
            "gravel",
            "moon",
            "coins",
        )
    },
    "motorcycle_left": _motorcycle(0),
    "motorcycle_right": _motorcycle(1),
    "china": _sklearn("china.jpg"),
    "flower": _sklearn("flower.jpg"),
}
# Disjoint photographs (and only one view of the stereo pair) so the test split is unseen content.
PHOTOS_TRAIN = (
    "astronaut",
    "rocket",
    "motorcycle_left",
    "hubble_deep_field",
    "immunohistochemistry",
    "china",
)
PHOTOS_TEST = ("chelsea", "coffee", "flower")


def photo(name: str) -> torch.Tensor:
    """One bundled photograph as uint8 [C, H, W] (C = 1 or 3)."""
    if name not in PHOTOS:
        raise ConfigError(f"Unknown bundled photo {name!r}; available: {sorted(PHOTOS)}.")
    array = np.asarray(PHOTOS[name]())
    if array.dtype != np.uint8:
        raise DatasetError(f"Bundled photo {name} is {array.dtype}, not uint8 pixels.")
    tensor = torch.from_numpy(np.array(array, copy=True))  # skimage arrays are read-only
    return tensor[None] if tensor.dim() == 2 else tensor.permute(2, 0, 1).contiguous()


def skimage_photos(
    root: str | Path,
    split: str,
    train_images: Sequence[str] = PHOTOS_TRAIN,
    test_images: Sequence[str] = PHOTOS_TEST,
) -> list[torch.Tensor]:
    """The bundled photographs of one split (``root`` is unused: nothing is downloaded)."""
    _check_split(split)
    names = list(train_images if split == "train" else test_images)
    overlap = sorted(set(train_images) & set(test_images))
    if overlap:
        raise ConfigError(
            f"Photos {overlap} are in both the train and the test list; keep the splits disjoint."
        )
    if not names:
        raise ConfigError(f"The {split} photo list is empty; name at least one of {sorted(PHOTOS)}.")
    return [photo(n) for n in names]

"""Unpaired two-domain data from any two image sources (``data=unpaired``).

:func:`two_sources` loads domain ``a`` and domain ``b`` each from its own source: any image loader of
ganforge.data.sources (``mnist5k``, ``fashion_mnist``, ``cifar10``, ...; a Hydra partial) or a folder of
images (a path string; ganforge.data.sources.image_folder, whose first-level subfolders become labels and
which serves all its images as both splits). Both domains are resized and converted to one shape, so any
two sources can be paired; FieldsDataModule then draws them independently (``sources: [[a], [b]]``).

Returns ``{"a", "b", "a_labels", "b_labels"}`` like the other unpaired loaders
(ganforge.data.translation_pairs, ganforge.data.unpaired_sources), so every unpaired dataset feeds the
same families, evaluators (labels of ``b``: ``b_labels``) and metrics.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from ganforge.data.image_datamodule import fit_images
from ganforge.data.sources import _check_split, image_folder
from ganforge.errors import DatasetError

Source = Callable[..., tuple[torch.Tensor, torch.Tensor]] | str | Path


def resolve_source(source: Source, domain: str) -> Callable[..., tuple[torch.Tensor, torch.Tensor]]:
    """A loader ``(root, split) -> (uint8 images, labels)`` for a domain given as a loader or a folder."""
    if isinstance(source, (str, Path)):
        if not str(source).strip() or str(source) == "???":
            raise DatasetError(
                f"data.loader.{domain} is not set: give domain {domain.upper()} an image folder "
                f"(data.loader.{domain}=/path/to/images) or a loader of ganforge.data.sources."
            )
        return functools.partial(image_folder, path=str(source))
    if not callable(source):
        raise DatasetError(
            f"data.loader.{domain} must be an image folder (a path) or a loader of ganforge.data.sources "
            f"({{_target_: ganforge.data.sources.mnist5k, _partial_: true}}); got {type(source).__name__}."
        )
    return source


def two_sources(
    root: str | Path,
    split: str,
    a: Any,
    b: Any,
    size: int = 28,
    channels: int = 1,
) -> dict[str, torch.Tensor]:
    """One split of domain ``a`` and domain ``b``, both resized to ``size`` x ``size`` with ``channels``."""
    _check_split(split)
    out: dict[str, torch.Tensor] = {}
    for domain, source in (("a", a), ("b", b)):
        try:
            images, labels = resolve_source(source, domain)(root=root, split=split)
        except DatasetError as exc:
            raise DatasetError(
                f"Domain {domain.upper()} of data=unpaired (data.loader.{domain}): {exc}"
            ) from exc
        if len(images) == 0:
            raise DatasetError(
                f"Unpaired data with one domain empty: domain {domain.upper()} (data.loader.{domain}) has no "
                f"images in the {split} split. Both domains need images; point data.loader.{domain} at "
                "another folder or dataset."
            )
        out[domain] = fit_images(images, size, channels)
        out[f"{domain}_labels"] = labels.to(torch.int64)
    return out

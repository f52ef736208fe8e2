"""The datamodule of paired super-resolution data: batches ``{"lr", "hr"}`` at a known scale factor.

A :class:`~ganforge.data.fields.FieldsDataModule` (any loader of ``{"lr", "hr"[, "hr_labels"]}`` per
split, usually :func:`ganforge.data.paired_sources.paired_sr`) that also knows the geometry:
``data.scale``, ``data.hr_size`` and ``data.channels``. It refuses an HR size the scale cannot divide
before loading anything, and a loader whose LR images are not exactly ``1/scale`` of its HR images; the
SR families check their generator's scale against it.

With ``hr_labels`` (``data.loader.labels=true``, Fashion-MNIST) it also serves ``(hr, hr_labels)`` as
``load_split``, so ``ganforge-train-evaluator data=paired_sr_fashion_mnist`` (and the DVC evaluator stage)
trains the classifier of its HR images under the dataset's own name, as for every other dataset.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from ganforge.data.base import Fields
from ganforge.data.fields import FieldsDataModule, FieldsLoader
from ganforge.data.paired_sources import check_sr_geometry
from ganforge.errors import ConfigError, DatasetError

LABELS = "hr_labels"


class PairedSRDataModule(FieldsDataModule):
    def __init__(
        self,
        loader: FieldsLoader,
        scale: int,
        hr_size: int,
        channels: int,
        fields: Sequence[str] = ("lr", "hr"),
        sample_field: str | None = "hr",
        **kwargs: Any,
    ):
        super().__init__(loader, fields, sample_field=sample_field, **kwargs)
        missing = [f for f in ("lr", "hr") if f not in self.fields]
        if missing:
            raise ConfigError(
                f"data={self.name}: paired SR data needs the fields lr and hr; it lacks {missing}."
            )
        self.lr_size = check_sr_geometry(int(hr_size), int(scale))  # before any image is loaded
        if channels not in (1, 3):
            raise ConfigError(f"data.channels={channels} is not supported; use 1 (grayscale) or 3 (RGB).")
        self.scale, self.hr_size, self.channels = int(scale), int(hr_size), int(channels)

    def load_fields(self, split: str) -> Fields:
        fields = super().load_fields(split)
        lr, hr = fields.get("lr"), fields.get("hr")
        if lr is not None and hr is not None and len(lr) and len(hr):
            expected = (hr.shape[1], hr.shape[2] // self.scale, hr.shape[3] // self.scale)
            if hr.shape[2] % self.scale or hr.shape[3] % self.scale or tuple(lr.shape[1:]) != expected:
                raise DatasetError(
                    f"The {split} split of data={self.name} pairs LR images of {list(lr.shape[1:])} with HR "
                    f"images of {list(hr.shape[1:])}, which data.scale={self.scale} cannot produce (LR must "
                    f"be HR / {self.scale} exactly). Make the loader's scale equal data.scale and its HR "
                    "size a multiple of it."
                )
            if hr.shape[1] != self.channels:
                raise DatasetError(
                    f"The {split} split of data={self.name} has {hr.shape[1]}-channel images, but "
                    f"data.channels={self.channels}; set the loader's channels to data.channels."
                )
        return fields

    def load_split(self, split: str) -> tuple[torch.Tensor, torch.Tensor]:
        """(HR images, their class labels): what the evaluator classifier of this data trains on."""
        fields = self.split_fields(split)
        if LABELS not in fields:
            raise DatasetError(
                f"data={self.name} has no class labels for its HR images ({LABELS}), so no evaluator "
                "classifier can be trained on it: classifier FID and content=classifier are unavailable "
                "here; use content=mse (or vgg54) and PSNR/SSIM."
            )
        return fields["hr"], fields[LABELS]

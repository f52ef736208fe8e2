"""Datamodules for datasets held in memory as named tensors ("fields"); batches are dicts of index slices.

A datamodule declares its :attr:`~FieldDataModule.fields` (``image`` and ``label`` for image datasets,
``point`` and ``label`` for point sets, ``a`` and ``b`` for unpaired domains, ``lr`` and ``hr`` for paired
super-resolution, ...) and how they are drawn: :meth:`~FieldDataModule.sources` groups fields whose rows
belong together (one source: every field indexed by the same rows; several sources: each shuffled with
its own epochs, :class:`~ganforge.data.sampler.IndependentBatchSampler`). A training batch is
``{field: tensor}``, moved to the device as stored (uint8 images stay small on the way) and converted to
model space there, field by field (:meth:`~FieldDataModule.field_to_model_space`).

- :class:`FieldDataModule`: the generic base; subclasses implement :meth:`~FieldDataModule.load_fields`.
- :class:`InMemoryDataModule`: one source of (sample, label) pairs, the shape of every dataset before
  multi-field batches; subclasses implement ``load_split`` / ``to_model_space`` / ``render``.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch.utils.data import Dataset

from ganforge.data.sampler import (
    EpochBatchSampler,
    IndependentBatchSampler,
    ResumableDataLoader,
    ShuffledBatchSampler,
)
from ganforge.errors import DatasetError

Fields = dict[str, torch.Tensor]


def take(fields: Mapping[str, torch.Tensor], index: Any) -> Fields:
    """Every field indexed the same way (rows of a batch, a slice of sampling inputs, ...)."""
    return {k: v[index] for k, v in fields.items()}


class TensorFields(Dataset):
    """Named tensors of equal length, indexed by a whole batch of indices at once."""

    def __init__(self, fields: Mapping[str, torch.Tensor]):
        lengths = {k: len(v) for k, v in fields.items()}
        if len(set(lengths.values())) > 1:
            raise DatasetError(f"Fields drawn together must have equal lengths; got {lengths}.")
        self.fields = dict(fields)
        self._length = next(iter(lengths.values()), 0)

    def __len__(self) -> int:
        return self._length

    def __getitem__(self, index: torch.Tensor) -> Fields:
        return take(self.fields, index)


class SourceFields(Dataset):
    """Several independently drawn sources; indexed by one index tensor per source."""

    def __init__(self, sources: list[TensorFields]):
        self.sources = sources

    def __len__(self) -> int:
        return max(len(s) for s in self.sources)

    def __getitem__(self, index: tuple[torch.Tensor, ...]) -> Fields:
        out: Fields = {}
        for source, idx in zip(self.sources, index):
            out.update(source[idx])
        return out


class TensorPairs(TensorFields):
    """One source of (samples, labels); ``samples`` / ``labels`` name the two fields."""

    def __init__(self, samples: torch.Tensor, labels: torch.Tensor, sample_field: str = "image"):
        super().__init__({sample_field: samples, "label": labels})
        self.samples, self.labels = samples, labels


def uint8_to_model_space(values: torch.Tensor) -> torch.Tensor:
    """uint8 pixels -> floats in [-1, 1]; other tensors (labels, points, features) unchanged."""
    if values.dtype == torch.uint8:
        return values.float().div_(127.5).sub_(1.0)
    return values


class FieldDataModule(L.LightningDataModule):
    #: the field a noise-driven family learns to generate, and the one metrics compare with by default
    sample_field: str | None = None
    #: samples a picture of this data needs at least (the sample-grid callback draws max(this,
    #: trainer.num_sample_images)); None: a grid of trainer.num_sample_images says enough
    picture_samples: int | None = None

    def __init__(
        self,
        name: str,
        shape: list[int],
        batch_size: int = 64,
        num_workers: int = 0,
        root: str = "data",
        num_classes: int | None = None,
        seed: int = 0,
        bounded: bool = True,
    ):
        super().__init__()
        self.name = name
        self.shape = tuple(int(s) for s in shape)
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.root = Path(root)
        self.num_classes = num_classes
        self.seed = seed
        self.bounded = bounded
        self.train_set: Dataset | None = None
        self._sampler: EpochBatchSampler | None = None
        self._splits: dict[str, Fields] = {}
        self._train_fields: Fields = {}

    # ----------------------------------------------------------------- what subclasses declare
    @property
    @abstractmethod
    def fields(self) -> tuple[str, ...]:
        """Names of the fields of every batch, known before any data is loaded."""

    def sources(self) -> list[tuple[str, ...]]:
        """Groups of fields drawn together; one group (the default): every field shares its rows."""
        return [self.fields]

    @abstractmethod
    def load_fields(self, split: str) -> Fields:
        """{field: tensor} of a split ("train" or "test"), in storage space (e.g. uint8 images)."""

    def field_to_model_space(self, name: str, values: torch.Tensor) -> torch.Tensor:
        """Map one stored field to what the networks see (default: uint8 -> [-1, 1], rest as is)."""
        return uint8_to_model_space(values)

    def render(self, samples: torch.Tensor, path: Path, nrow: int | None = None) -> None:
        """Write a picture of generated samples (model space) to ``path``; images by default."""
        from ganforge.data.render import save_image_grid

        save_image_grid(samples, path, nrow)

    def distance_features(self, samples: torch.Tensor) -> torch.Tensor:
        """Storage-space samples -> float [N, d] vectors whose Euclidean distances the ``nn`` metrics
        (nearest neighbours: memorisation and diversity) measure; default: the model-space values."""
        return self.field_to_model_space(self.sample_field or "", samples).float().flatten(1)

    # ----------------------------------------------------------------- splits, for families and metrics
    def split_fields(self, split: str) -> Fields:
        """A whole split in storage space (the train split as trained on; others loaded once)."""
        if split == "train" and self.train_set is not None:
            return self._train_fields
        if split not in self._splits:
            self._splits[split] = self._checked(self.load_fields(split), split)
        return self._splits[split]

    def reference(
        self, field: str | None = None, split: str = "train"
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(samples, labels or None) of one field: the real data metrics compare generated samples with."""
        field = field or self.sample_field
        if field is None:
            raise DatasetError(
                f"data={self.name} declares no sample_field, so there is no real data to compare generated "
                f"samples with; set data.sample_field to one of {list(self.fields)}."
            )
        fields = self.split_fields(split)
        if field not in fields:
            raise DatasetError(f"data={self.name} has no field {field!r}; its fields are {list(fields)}.")
        # Its labels: "<field>_labels" / "<field>_label" (unpaired domains), or "label" when it is drawn
        # together with the field (image, label).
        for label in (f"{field}_labels", f"{field}_label"):
            if label in fields:
                return fields[field], fields[label]
        together = any(field in group and "label" in group for group in self.sources())
        return fields[field], fields["label"] if together else None

    # ----------------------------------------------------------------- Lightning
    def _checked(self, fields: Mapping[str, torch.Tensor], split: str) -> Fields:
        """The split as loaded, after checking it holds every declared field, none empty. Extra fields
        (ground truth of a test split, say) are kept for families and metrics but never batched."""
        missing = sorted(set(self.fields) - set(fields)) if isinstance(fields, Mapping) else None
        if missing is None or missing:
            got = sorted(fields) if isinstance(fields, Mapping) else type(fields).__name__
            raise DatasetError(
                f"The {split} split of data={self.name} has fields {got}, but the datamodule declares "
                f"{sorted(self.fields)}; make its loader return at least those."
            )
        for name in self.fields:
            if len(fields[name]) == 0:
                raise DatasetError(
                    f"Field {name!r} of the {split} split of data={self.name} is empty; every field needs "
                    "samples (check the path or the loader of that field)."
                )
        return dict(fields)

    def make_dataset(self, fields: Fields) -> Dataset:
        groups = [TensorFields({k: fields[k] for k in group}) for group in self.sources()]
        return groups[0] if len(groups) == 1 else SourceFields(groups)

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is None:
            loaded = self._splits.pop("train", None)  # already read for metrics' reference statistics
            self._train_fields = loaded or self._checked(self.load_fields("train"), "train")
            self.train_set = self.make_dataset(self._train_fields)

    def train_dataloader(self) -> ResumableDataLoader:
        assert self.train_set is not None, "setup() must run first"
        rank, world = (self.trainer.global_rank, self.trainer.world_size) if self.trainer else (0, 1)
        if isinstance(self.train_set, SourceFields):
            sizes = [len(s) for s in self.train_set.sources]
            self._sampler = IndependentBatchSampler(sizes, self.batch_size, self.seed, rank, world)
        else:
            self._sampler = ShuffledBatchSampler(len(self.train_set), self.batch_size, self.seed, rank, world)
        return ResumableDataLoader(self.train_set, self._sampler, self.num_workers)

    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        if self.trainer is not None and self.trainer.training and self._sampler is not None:
            self._sampler.mark_consumed()
        return {name: self.field_to_model_space(name, values) for name, values in batch.items()}


class InMemoryDataModule(FieldDataModule):
    """One source of (samples, int64 labels): fields ``sample_field`` and ``label``.

    Subclasses say how to load a split (:meth:`load_split`), how stored samples map into the model's
    value space (:meth:`to_model_space`) and how to draw generated samples (:meth:`render`).
    """

    sample_field = "image"

    @property
    def fields(self) -> tuple[str, ...]:
        return (self.sample_field, "label")

    @abstractmethod
    def load_split(self, split: str) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (samples, int64 labels) of a split ("train" or "test")."""

    @abstractmethod
    def to_model_space(self, samples: torch.Tensor) -> torch.Tensor:
        """Map stored samples (e.g. uint8 images) to the float tensors the networks see."""

    @abstractmethod
    def render(self, samples: torch.Tensor, path: Path, nrow: int | None = None) -> None:
        """Write a picture of generated samples (model space) to ``path``."""

    def load_fields(self, split: str) -> Fields:
        samples, labels = self.load_split(split)
        return {self.sample_field: samples, "label": labels}

    def make_dataset(self, fields: Fields) -> TensorPairs:
        return TensorPairs(fields[self.sample_field], fields["label"], self.sample_field)

    def field_to_model_space(self, name: str, values: torch.Tensor) -> torch.Tensor:
        return self.to_model_space(values) if name == self.sample_field else values

"""A datamodule for any loader that returns a dict of named tensors per split.

``loader(root=..., split=...) -> {field: tensor}`` (a partial in the config, like the image sources), with
``fields`` declaring the names batches hold and ``sources`` how they are drawn (further fields the loader
returns, such as a test split's ground truth, stay available through ``split_fields`` but are not batched):

- ``sources: null``: every field shares its rows (paired data: ``lr[i]`` is the low-resolution copy of
  ``hr[i]``); one shuffled stream draws the same rows of each.
- ``sources: [[a], [b]]``: each group is drawn by its own shuffled stream with its own epochs (unpaired
  domains of different lengths, CycleGAN's A and B); within a group fields share rows (``[[a, a_label],
  [b]]``).

Fields are moved to the device as stored and converted there: uint8 to [-1, 1], anything else as is.
A family-specific datamodule subclasses this to add checks, a different conversion or its own pictures.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from ganforge.data.base import FieldDataModule, Fields
from ganforge.errors import ConfigError, DatasetError

FieldsLoader = Callable[..., Any]


class FieldsDataModule(FieldDataModule):
    def __init__(
        self,
        loader: FieldsLoader,
        fields: Sequence[str],
        sources: Sequence[Sequence[str]] | None = None,
        sample_field: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        self.loader = loader
        self._fields = tuple(str(f) for f in fields)
        if not self._fields or len(set(self._fields)) != len(self._fields):
            raise ConfigError(f"data.fields={list(self._fields)} must name each field once (at least one).")
        self._sources = [tuple(str(f) for f in group) for group in sources] if sources else [self._fields]
        placed = [f for group in self._sources for f in group]
        if sorted(placed) != sorted(self._fields) or any(not g for g in self._sources):
            raise ConfigError(
                f"data.sources={[list(g) for g in self._sources]} must place every field of data.fields="
                f"{list(self._fields)} in exactly one non-empty group."
            )
        self.sample_field = sample_field
        if sample_field is not None and sample_field not in self._fields:
            raise ConfigError(
                f"data.sample_field={sample_field!r} is not one of data.fields={list(self._fields)}."
            )

    @property
    def fields(self) -> tuple[str, ...]:
        return self._fields

    def sources(self) -> list[tuple[str, ...]]:
        return list(self._sources)

    def load_fields(self, split: str) -> Fields:
        loaded = self.loader(root=self.root, split=split)
        if not hasattr(loaded, "items"):
            raise DatasetError(
                f"The loader of data={self.name} returned a {type(loaded).__name__} for the {split} split; "
                "it must return a dict of named tensors."
            )
        return dict(loaded)

    def setup(self, stage: str | None = None) -> None:
        super().setup(stage)
        for group, source in zip(self._sources, getattr(self.train_set, "sources", [self.train_set])):
            if len(source) < self.batch_size:
                raise DatasetError(
                    f"Field(s) {list(group)} of data={self.name} hold {len(source)} training samples, fewer "
                    f"than data.batch_size={self.batch_size}; lower data.batch_size or add samples."
                )

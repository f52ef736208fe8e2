"""Datamodule of captioned images for the text-to-image families.

Rows hold an ``image`` and a ``caption`` id (plus ``label`` and whatever else the loader returns); the
captions themselves are one table per dataset (``captions()`` -> (texts in id order, meaning ids)), which
a family embeds once with its text encoder (ganforge.text.embedding_cache). Meaning ids group paraphrases
(the same attributes in another phrasing) so a family never treats one as a mismatching text.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch

from ganforge.data.fields import FieldsDataModule
from ganforge.errors import ConfigError, DatasetError


class CaptionedDataModule(FieldsDataModule):
    def __init__(
        self,
        captions: Callable[[], tuple[list[str], torch.Tensor]],
        canvas: int = 64,
        channels: int = 3,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        # canvas / channels make data.shape in the config ([channels, canvas, canvas]); the loader draws
        # at data.canvas, so a checked shape here keeps the networks and the images in step.
        if tuple(self.shape) != (channels, canvas, canvas):
            raise ConfigError(
                f"data.shape={list(self.shape)} disagrees with data.channels={channels} and "
                f"data.canvas={canvas}; leave data.shape at its default [channels, canvas, canvas]."
            )
        self._caption_source = captions
        self._captions: tuple[list[str], torch.Tensor] | None = None

    def _table(self) -> tuple[list[str], torch.Tensor]:
        if self._captions is None:
            texts, meanings = self._caption_source()
            meanings = torch.as_tensor(meanings, dtype=torch.int64)
            if not texts or len(texts) != len(meanings):
                raise DatasetError(
                    f"data={self.name}: the caption table has {len(texts)} captions and {len(meanings)} "
                    "meaning ids; it needs one meaning per caption, at least one caption."
                )
            empty = [i for i, t in enumerate(texts) if not str(t).strip()]
            if empty:
                raise DatasetError(
                    f"data={self.name}: caption(s) {empty[:5]} of its caption table are empty; every caption "
                    "needs words for the text encoder to embed."
                )
            self._captions = (list(texts), meanings)
        return self._captions

    def caption_table(self) -> list[str]:
        """Every caption, in caption-id order."""
        return self._table()[0]

    def caption_meanings(self) -> torch.Tensor:
        """int64 [num captions]: equal for paraphrases of the same content."""
        return self._table()[1]

    def load_fields(self, split: str):
        fields = super().load_fields(split)
        ids = fields.get("caption")
        if (
            ids is not None
            and len(ids)
            and (int(ids.min()) < 0 or int(ids.max()) >= len(self.caption_table()))
        ):
            raise DatasetError(
                f"The {split} split of data={self.name} has caption ids in [{int(ids.min())}, "
                f"{int(ids.max())}], outside its table of {len(self.caption_table())} captions."
            )
        return fields

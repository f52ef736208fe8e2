"""Does the picture match the words? Agreement of generated images with the captions they were drawn for.

For the template-captioned data (ganforge.data.captioned) every caption claims a colour, a size, a
position and a class. The first three are measured in the image (ganforge.data.caption_attributes, the
same definitions that drew the data); the class is the evaluator's (``ganforge-train-evaluator
data=captioned_<base>``), a classifier trained on the real captioned images. Scores are fractions of
images whose measurement equals the claim, over all rows and separately over rows whose (class, colour)
combination was held out of training (``held_out``) and those seen in training.

Two references make the numbers readable: real test images scored against their own captions (the
ceiling the measurement allows) and generated images scored against *shuffled* captions (what a
generator that ignores the text would get: the data's base rates).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from ganforge.data.caption_attributes import measure_attributes
from ganforge.data.captioned import decode_caption_ids

ATTRIBUTES = ("colour", "size", "position")


def caption_agreement(
    images: torch.Tensor,
    caption_ids: torch.Tensor,
    held_out: torch.Tensor | None = None,
    classify: Callable[[torch.Tensor], torch.Tensor] | None = None,
) -> dict[str, float | int]:
    """{"<subset>/<attribute>": fraction} for subsets all / seen / held_out (the latter two with
    ``held_out``) and attributes colour, size, position, class (with ``classify``: images -> labels) and
    ``every`` (all of them at once); ``<subset>/n`` counts the rows."""
    if len(images) != len(caption_ids):
        raise ValueError(f"{len(images)} images for {len(caption_ids)} captions")
    claimed = decode_caption_ids(caption_ids.cpu())
    measured = measure_attributes(images)
    hits = {name: measured[name] == claimed[name] for name in ATTRIBUTES}
    if classify is not None:
        hits["class"] = classify(images).cpu().numpy() == claimed["label"]
    hits["every"] = np.logical_and.reduce(list(hits.values()))
    subsets = {"all": np.ones(len(images), dtype=bool)}
    if held_out is not None:
        held = held_out.cpu().numpy().astype(bool)
        subsets.update(seen=~held, held_out=held)
    out: dict[str, float | int] = {}
    for subset, rows in subsets.items():
        out[f"{subset}/n"] = int(rows.sum())
        for name, hit in hits.items():
            out[f"{subset}/{name}"] = float(hit[rows].mean()) if rows.any() else float("nan")
    return out


def shuffled(caption_ids: torch.Tensor, held_out: torch.Tensor | None, seed: int = 0):
    """The captions (and flags) in a seeded random order: the text-ignoring baseline's claims."""
    order = torch.randperm(len(caption_ids), generator=torch.Generator().manual_seed(seed))
    return caption_ids[order], None if held_out is None else held_out[order]

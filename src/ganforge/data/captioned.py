"""Captioned images whose captions can be checked: coloured, scaled and placed items with template captions.

Each row takes one image of a labelled grey set (Fashion-MNIST, mnist5k), crops it to its object, scales
its longer side to a *size* fraction of a black ``canvas`` × ``canvas`` RGB picture, tints it with a
*colour* and places it at a *position*; its caption says all four ("a small red sandal in the top left
corner", "a large blue digit seven in the center") in one of several phrasings. Every attribute is drawn
from :mod:`ganforge.data.caption_attributes`, which also measures it back from any image, so a
text-to-image model's output can be scored against the words that produced it.

Held-out combinations: one colour per class (:func:`held_out_colour`) never occurs in the train split;
half of the test rows use it (``held_out`` = True), the other half seen combinations, so a benchmark can
report matching for captions seen in training and for new combinations.

Captions are not stored as strings: a caption is fully determined by (class, colour, placement, template),
so each row holds a ``caption`` id into :func:`all_captions` (the table a text encoder embeds once), and a
family may redraw the phrasing of a row with :func:`caption_ids` (same attributes, another template).
Rows are drawn with numpy's ``RandomState`` (a stream numpy never changes): the same data on every machine.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from ganforge.data import caption_attributes as attr
from ganforge.data import sources
from ganforge.errors import ConfigError, DatasetError

ITEM_NAMES: dict[str, tuple[str, ...]] = {
    "fashion_mnist": (
        "t-shirt",
        "pair of trousers",
        "pullover",
        "dress",
        "coat",
        "sandal",
        "shirt",
        "sneaker",
        "bag",
        "ankle boot",
    ),
    "mnist5k": tuple(
        f"digit {w}" for w in ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
    ),
}
BASES: dict[str, Callable[..., tuple[torch.Tensor, torch.Tensor]]] = {
    "fashion_mnist": sources.fashion_mnist,
    "mnist5k": sources.mnist5k,
}
#: several phrasings of the same attributes ({position} already carries its preposition phrase)
TEMPLATES = (
    "a {size} {colour} {item} {position}",
    "a {colour} {item}, {size}, {position}",
    "this {size} {item} is {colour} and sits {position}",
    "{position} there is a {size} {colour} {item}",
)
POSITION_PHRASES = {
    "top left": "in the top left corner",
    "top right": "in the top right corner",
    "bottom left": "in the bottom left corner",
    "bottom right": "in the bottom right corner",
    "center": "in the center",
}
#: (size, position) pairs that are drawn: small items anywhere, large ones in the center
PLACEMENTS: tuple[tuple[str, str], ...] = (
    *(("small", p) for p in attr.POSITIONS),
    *(("large", p) for p in attr.LARGE_POSITIONS),
)
NUM_CLASSES = 10
MARGIN = 0.05  # of the canvas: small items keep at least this far from the border (plus jitter)
JITTER = 0.04  # of the canvas: random shift of every placement


def held_out_colour(label: int) -> int:
    """The colour (index into COLOUR_NAMES) never drawn with class ``label`` in the train split."""
    return int(label) % len(attr.COLOUR_NAMES)


def caption_ids(
    labels: np.ndarray, colours: np.ndarray, placements: np.ndarray, templates: np.ndarray
) -> np.ndarray:
    """Row-wise caption ids into :func:`all_captions` (int64)."""
    combo = (np.asarray(labels) * len(attr.COLOUR_NAMES) + np.asarray(colours)) * len(PLACEMENTS)
    return ((combo + np.asarray(placements)) * len(TEMPLATES) + np.asarray(templates)).astype(np.int64)


def caption_text(base: str, label: int, colour: int, placement: int, template: int) -> str:
    size, position = PLACEMENTS[placement]
    text = TEMPLATES[template].format(
        size=size,
        colour=attr.COLOUR_NAMES[colour],
        item=ITEM_NAMES[base][label],
        position=POSITION_PHRASES[position],
    )
    return re.sub(r"\ba (?=[aeiou])", "an ", text)  # "an orange bag", "an ankle boot"


def all_captions(base: str) -> list[str]:
    """Every caption the data can hold, in caption-id order (what a text encoder embeds once)."""
    _check_base(base)
    return [
        caption_text(base, label, colour, placement, template)
        for label in range(NUM_CLASSES)
        for colour in range(len(attr.COLOUR_NAMES))
        for placement in range(len(PLACEMENTS))
        for template in range(len(TEMPLATES))
    ]


def caption_table(base: str = "fashion_mnist") -> tuple[list[str], torch.Tensor]:
    """(every caption in id order, its *meaning* id): captions with one meaning are paraphrases of the
    same (class, colour, size, position), which a matching-aware discriminator must not count as a
    mismatch. What ganforge.data.captioned_datamodule.CaptionedDataModule serves to the families."""
    captions = all_captions(base)
    return captions, torch.arange(len(captions)) // len(TEMPLATES)


def decode_caption_ids(ids: torch.Tensor | np.ndarray) -> dict[str, np.ndarray]:
    """caption ids -> {"label", "colour", "size", "position", "template"} (attribute indices)."""
    ids = np.asarray(ids, dtype=np.int64)
    template = ids % len(TEMPLATES)
    rest = ids // len(TEMPLATES)
    placement = rest % len(PLACEMENTS)
    rest = rest // len(PLACEMENTS)
    colour, label = rest % len(attr.COLOUR_NAMES), rest // len(attr.COLOUR_NAMES)
    sizes = np.array([attr.SIZES.index(s) for s, _ in PLACEMENTS])
    positions = np.array([attr.POSITIONS.index(p) for _, p in PLACEMENTS])
    return {
        "label": label,
        "colour": colour,
        "size": sizes[placement],
        "position": positions[placement],
        "template": template,
    }


def _check_base(base: str) -> None:
    if base not in BASES:
        raise ConfigError(
            f"data.loader.base={base!r} is unknown; captioned data is made from {sorted(BASES)}."
        )


def _object_squares(items: torch.Tensor) -> torch.Tensor:
    """float [N, 4] (x0, y0, x1, y1), continuous pixel coordinates: the square around each item's object
    (its bounding box of pixels above OBJECT_THRESHOLD, widened to its longer side about its centre; the
    whole item if it has no such pixel)."""
    mask = items[:, 0] > attr.OBJECT_THRESHOLD
    h, w = mask.shape[-2:]
    rows, cols = mask.any(dim=2), mask.any(dim=1)
    rank_h, rank_w = torch.arange(h), torch.arange(w)
    big = max(h, w) + 1
    r0 = torch.where(rows, rank_h, big).amin(dim=1).float()
    r1 = torch.where(rows, rank_h, -1).amax(dim=1).float() + 1
    c0 = torch.where(cols, rank_w, big).amin(dim=1).float()
    c1 = torch.where(cols, rank_w, -1).amax(dim=1).float() + 1
    empty = ~rows.any(dim=1)
    r0, r1 = torch.where(empty, 0.0, r0), torch.where(empty, float(h), r1)
    c0, c1 = torch.where(empty, 0.0, c0), torch.where(empty, float(w), c1)
    half = torch.maximum(r1 - r0, c1 - c0) / 2
    cy, cx = (r0 + r1) / 2, (c0 + c1) / 2
    return torch.stack([cx - half, cy - half, cx + half, cy + half], dim=1)


def compose(
    items: torch.Tensor,
    colours: np.ndarray,
    placements: np.ndarray,
    canvas: int,
    rng: np.random.RandomState,
) -> torch.Tensor:
    """uint8 [N, 1, h, w] grey items -> uint8 [N, 3, canvas, canvas]: cropped, scaled, tinted, placed.

    torchvision's ``roi_align`` crops and resizes every item in one call (the square around its object to
    side x side, averaging several samples per output pixel when it shrinks), so tens of thousands of
    rows take seconds, not minutes of per-item resizing.
    """
    from torchvision.ops import roi_align

    palette = torch.tensor(list(attr.COLOURS.values()), dtype=torch.float32) / 255.0
    out = torch.zeros(len(items), 3, canvas, canvas, dtype=torch.uint8)
    jitter = max(1, round(JITTER * canvas))
    margin = round(MARGIN * canvas)
    shifts = rng.randint(-jitter, jitter + 1, size=(len(items), 2))
    squares = _object_squares(items)
    grey = items.float()
    for size in attr.SIZES:
        rows = [i for i, p in enumerate(placements) if PLACEMENTS[int(p)][0] == size]
        if not rows:
            continue
        side = max(2, round(attr.SIZE_FRACTIONS[size] * canvas))
        index = torch.tensor(rows)
        boxes = torch.cat([index[:, None].float(), squares[index]], dim=1)
        scaled = roi_align(grey, boxes, output_size=side, spatial_scale=1.0, sampling_ratio=-1, aligned=True)
        tint = palette[torch.as_tensor(colours[rows], dtype=torch.long)][:, :, None, None]
        pixels = (scaled / 255.0).clamp(0, 1).mul(tint).mul(255).round().clamp(0, 255).to(torch.uint8)
        for k, i in enumerate(rows):
            position = PLACEMENTS[int(placements[i])][1]
            dy, dx = int(shifts[i, 0]), int(shifts[i, 1])
            if position == "center":
                top, left = (canvas - side) // 2 + dy, (canvas - side) // 2 + dx
            else:
                top = margin + abs(dy) if position.startswith("top") else canvas - margin - abs(dy) - side
                left = margin + abs(dx) if position.endswith("left") else canvas - margin - abs(dx) - side
            top, left = min(max(top, 0), canvas - side), min(max(left, 0), canvas - side)
            out[i, :, top : top + side, left : left + side] = pixels[k]
    return out


def captioned_items(
    root: str | Path,
    split: str,
    base: str = "fashion_mnist",
    canvas: int = 64,
    limit: int | None = None,
    seed: int = 0,
    hold_out: bool = True,
) -> dict[str, torch.Tensor]:
    """A split of captioned data: fields image (uint8 [N, 3, canvas, canvas]), label, caption (id into
    :func:`all_captions`), and colour / size / position / held_out (what the caption claims).

    ``hold_out=False`` draws every (class, colour) combination in the train split too: the data an
    *evaluator* learns from (a class judge that never saw a red sandal would judge held-out rows worse
    than seen ones); generative models train with the held-out combinations kept out (the default)."""
    _check_base(base)
    if not isinstance(canvas, int) or canvas < 16:
        raise ConfigError(f"data.loader.canvas={canvas!r} must be an integer >= 16 (pixels per side).")
    if limit is not None and (not isinstance(limit, int) or limit < 1):
        raise ConfigError(f"data.loader.limit={limit!r} must be a positive integer or null (every item).")
    items, labels = BASES[base](root, split)
    if items.shape[1] != 1 or items.dtype != torch.uint8:
        raise DatasetError(f"Captioned data needs grey uint8 items; {base} gave {items.dtype} {items.shape}.")
    if limit is not None and limit < len(items):
        # Evenly spaced rows, not the first ones: base sets sorted by class (mnist5k) keep every class.
        keep = torch.linspace(0, len(items) - 1, limit).round().long()
        items, labels = items[keep], labels[keep]
    rng = np.random.RandomState(seed * 2 + (0 if split == "train" else 1))
    n, labels_np = len(items), labels.numpy()
    held = labels_np % len(attr.COLOUR_NAMES)  # held_out_colour of every row
    # A colour other than the class's held-out one: draw from the other five, skipping the held-out index.
    seen = rng.randint(0, len(attr.COLOUR_NAMES) - 1, size=n)
    seen = seen + (seen >= held)
    held_out = rng.rand(n) < 0.5 if split != "train" else np.zeros(n, dtype=bool)
    if split == "train" and not hold_out:  # the held-out colour with its fair share, 1 in 6
        held_out = np.random.RandomState(seed * 2 + 7).rand(n) < 1.0 / len(attr.COLOUR_NAMES)
    colours = np.where(held_out, held, seen)
    placements = rng.randint(0, len(PLACEMENTS), size=n)
    templates = rng.randint(0, len(TEMPLATES), size=n)
    images = compose(items, colours, placements, canvas, rng)
    claimed = decode_caption_ids(caption_ids(labels_np, colours, placements, templates))
    return {
        "image": images,
        "label": labels.to(torch.int64),
        "caption": torch.from_numpy(caption_ids(labels_np, colours, placements, templates)),
        "colour": torch.from_numpy(colours.astype(np.int64)),
        "size": torch.from_numpy(claimed["size"].astype(np.int64)),
        "position": torch.from_numpy(claimed["position"].astype(np.int64)),
        "held_out": torch.from_numpy(held_out),
    }

"""What the real captioned datasets share (ganforge.data.captioned_real): Reed et al.'s caption files, the
caption table and caption ids of a split, decoding and its cache, and downloads with a manual fallback.

A dataset is first turned into a :class:`CaptionIndex`: per split, its images (:class:`Entry`: file,
class, crop box) and each image's captions. From it:

- the caption table is every caption of the train images, then of the test images, each image's captions
  in file order; an image's captions share one *meaning* id (its position in that order), so the other 9
  captions of an image are paraphrases, never a "mismatching" text for it;
- a row's ``caption`` is one of its image's captions, drawn with a seed (numpy's ``RandomState``: the same
  rows on every machine), or, with ``rows=caption``, every caption has a row (its image repeated);
- images are decoded once, cropped and resized to the canvas, and cached in ``<root>/captioned_real/`` as a
  ``.pt`` named after everything that shapes it (written atomically), so a second load reads one file.
"""

from __future__ import annotations

import hashlib
import html.parser
import io
import json
import os
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from ganforge.data.archives import Archive, ensure_archive, record_path
from ganforge.errors import DatasetError
from ganforge.io import atomic_path

SPLITS = ("train", "test")
CAPTIONS_PER_IMAGE = 10  # Reed et al. 2016: ten descriptions per image (text_c10)
CACHE_DIR = "captioned_real"
CACHE_VERSION = 1  # bump when decoding changes: older caches are then never read
STACKGAN_MARGIN = 0.75  # StackGAN's crop: a square of half-side 0.75 x the box's longer side


@dataclass(frozen=True)
class Entry:
    image: Path  # the image file
    name: str  # its dataset-relative name without suffix, as the caption folder names it
    image_id: int  # the dataset's own image number (CUB images.txt id, Oxford image_XXXXX)
    label: int  # class, from 0
    bbox: tuple[float, float, float, float] | None = None  # (x, y, width, height) of the object, if known


@dataclass
class CaptionIndex:
    dataset: str
    splits: dict[str, list[Entry]]
    captions: dict[str, list[list[str]]]  # per split, per image: its captions in file order
    sources: dict[str, str | None] = field(default_factory=dict)  # archive SHA-256s (for the cache key)

    def table(self) -> tuple[list[str], torch.Tensor]:
        """(every caption, train images first, its meaning id = its image's position in that order)."""
        texts: list[str] = []
        meanings: list[int] = []
        image = 0
        for split in SPLITS:
            for captions in self.captions[split]:
                texts += captions
                meanings += [image] * len(captions)
                image += 1
        return texts, torch.tensor(meanings, dtype=torch.int64)

    def first_id(self, split: str) -> int:
        """The caption id of the split's first caption (its captions are contiguous in the table)."""
        return sum(len(c) for s in SPLITS[: SPLITS.index(split)] for c in self.captions[s])

    def caption_ids(self, split: str, seed: int) -> torch.Tensor:
        """One caption id per image of ``split``: a seeded draw among that image's captions."""
        counts = np.array([len(c) for c in self.captions[split]], dtype=np.int64)
        first = self.first_id(split) + np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
        rng = np.random.RandomState(seed * 2 + (0 if split == "train" else 1))
        draw = np.minimum((rng.rand(len(counts)) * counts).astype(np.int64), counts - 1)
        return torch.from_numpy(first + draw)


def check_split(split: str) -> None:
    if split not in SPLITS:
        raise DatasetError(f"Unknown split {split!r}; use one of {list(SPLITS)}.")


def evenly_spaced(entries: list[Entry], limit: int | None) -> list[Entry]:
    """``limit`` evenly spaced entries (entries are sorted by class, so every class tends to stay)."""
    if limit is None or limit >= len(entries):
        return entries
    keep = np.linspace(0, len(entries) - 1, limit).round().astype(int)
    return [entries[i] for i in keep]


def read_captions(path: Path, keep: int, hint: str) -> list[str]:
    """The first ``keep`` non-empty lines of one caption file, stripped.

    Read as UTF-8 with undecodable bytes replaced; StackGAN-Pytorch's loader turns the pairs of replacement
    characters some CUB files hold into a space, and so does this (the same words as the papers' code)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise DatasetError(f"The caption file {path} is missing. {hint}") from None
    except OSError as exc:
        raise DatasetError(f"The caption file {path} cannot be read ({exc}). {hint}") from exc
    text = raw.decode("utf-8", errors="replace").replace("\ufffd\ufffd", " ")
    captions = [line.strip() for line in text.splitlines() if line.strip()][:keep]
    if not captions:
        raise DatasetError(f"The caption file {path} holds no caption (no non-empty line). {hint}")
    return captions


def read_rows(path: Path, columns: int, hint: str) -> dict[int, list[str]]:
    """A CUB metadata file (``<image id> <value> ...`` per line) as {id: values}."""
    try:
        lines = path.read_text().splitlines()
    except OSError as exc:
        raise DatasetError(f"{path} cannot be read ({type(exc).__name__}). {hint}") from None
    rows: dict[int, list[str]] = {}
    for number, line in enumerate(lines, 1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != columns + 1 or not parts[0].isdigit():
            raise DatasetError(
                f"{path}, line {number}: expected an image id and {columns} value(s), got {line!r}. {hint}"
            )
        rows[int(parts[0])] = parts[1:]
    return rows


def read_names(path: Path, hint: str) -> list[str]:
    """A class list (``trainvalclasses.txt``): one name per non-empty line."""
    try:
        return [line.strip() for line in path.read_text().splitlines() if line.strip()]
    except OSError as exc:
        raise DatasetError(f"{path} cannot be read ({type(exc).__name__}). {hint}") from None


def find_base(folder: Path, marker: str, hint: str) -> Path:
    """``folder`` or the sub-folder (up to two levels down) that holds ``marker``: an archive's top folder,
    or the same files placed directly in ``folder`` by hand."""
    for depth in range(3):
        for candidate in sorted(folder.glob("/".join(["*"] * depth))) if depth else [folder]:
            if (candidate / marker).exists():
                return candidate
    raise DatasetError(f"{folder} holds no {marker} (searched two folder levels down). {hint}")


# ------------------------------------------------------------------------------------------ decoding
def crop_box(crop: str, bbox, width: int, height: int) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of the region resized to the canvas.

    - ``bbox``: StackGAN's crop (hanzhanggit/StackGAN-Pytorch, code/miscc/datasets.py ``get_img``): a square
      of half-side int(0.75 * max(w, h)) about the box's centre, clipped to the image (then non-square);
    - ``center``: the image's centre square; ``full``: the whole image (stretched to a square, as StackGAN
      preprocesses Oxford-102).
    """
    if crop == "bbox":
        x, y, w, h = (int(v) for v in bbox)  # StackGAN reads the box as integers (astype(int))
        half = int(max(w, h) * STACKGAN_MARGIN)
        cx, cy = int((2 * x + w) / 2), int((2 * y + h) / 2)
        return max(0, cx - half), max(0, cy - half), min(width, cx + half), min(height, cy + half)
    if crop == "center":
        side = min(width, height)
        left, top = (width - side) // 2, (height - side) // 2
        return left, top, left + side, top + side
    return 0, 0, width, height


def decode(entries: Sequence[Entry], canvas: int, crop: str) -> torch.Tensor:
    """uint8 [N, 3, canvas, canvas]: each image cropped and resized (bicubic; PIL widens the kernel when it
    shrinks, so this is antialiased)."""
    from PIL import Image

    out = torch.empty(len(entries), 3, canvas, canvas, dtype=torch.uint8)
    for i, entry in enumerate(entries):
        try:
            with Image.open(entry.image) as im:
                rgb = im.convert("RGB")
                region = rgb.crop(crop_box(crop, entry.bbox, *rgb.size))
                small = region.resize((canvas, canvas), Image.BICUBIC)
        except OSError as exc:
            raise DatasetError(
                f"Cannot decode {entry.image} ({exc}); the image archive is incomplete or corrupt: delete "
                "its folder and fetch again."
            ) from exc
        out[i] = torch.from_numpy(np.asarray(small).copy()).permute(2, 0, 1)
    return out


_DECODED: dict[Path, dict[str, torch.Tensor]] = {}  # this process's decoded splits, by cache file
INDEXES: dict[tuple, CaptionIndex] = {}  # this process's indexes, by dataset and options


def clear_memory() -> None:
    """Forget the indexes and decoded splits held in memory (the files on disk stay)."""
    _DECODED.clear()
    INDEXES.clear()


def cache_file(index: CaptionIndex, root: str | Path, canvas: int, crop: str) -> Path:
    listing = [
        (split, e.name, e.label, e.bbox if crop == "bbox" else None)
        for split in SPLITS
        for e in index.splits[split]
    ]
    key = json.dumps(
        {"v": CACHE_VERSION, "canvas": canvas, "crop": crop, "images": listing, "sources": index.sources},
        sort_keys=True,
    )
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return Path(root) / CACHE_DIR / f"{index.dataset}-{canvas}px-{crop}-{digest}.pt"


def decoded_images(index: CaptionIndex, root: str | Path, canvas: int, crop: str) -> dict[str, torch.Tensor]:
    """{split: uint8 images} of every split, decoded once and cached (memory, then disk)."""
    path = cache_file(index, root, canvas, crop)
    if path in _DECODED:
        return _DECODED[path]
    expected = {s: (len(index.splits[s]), 3, canvas, canvas) for s in SPLITS}
    images = None
    if path.is_file():
        try:
            loaded = torch.load(path, map_location="cpu", weights_only=True)
            if {s: tuple(loaded[s].shape) for s in SPLITS} == expected:
                images = {s: loaded[s] for s in SPLITS}
        except Exception:  # noqa: BLE001 - an unreadable cache is rebuilt, never trusted
            images = None
    if images is None:
        images = {s: decode(index.splits[s], canvas, crop) for s in SPLITS}
        buffer = io.BytesIO()
        torch.save(images, buffer)
        with atomic_path(path) as tmp:  # a reader never sees half a cache
            tmp.write_bytes(buffer.getvalue())
    _DECODED.clear()  # one dataset in memory at a time: a 256 px CUB is 2.3 GB
    _DECODED[path] = images
    return images


# ------------------------------------------------------------------------------------------ downloads
def offline() -> bool:
    return os.environ.get("GANFORGE_OFFLINE", "") not in ("", "0")


def google_drive_url(file_id: str, resource_key: str | None = None) -> str:
    """The direct download address of a shared Google Drive file (``confirm=t`` skips the large-file page)."""
    query = {"id": file_id, "export": "download", "confirm": "t"}
    if resource_key:
        query["resourcekey"] = resource_key  # files shared before 2021 need it since Drive's security update
    return "https://drive.usercontent.google.com/download?" + urllib.parse.urlencode(query)


class _DownloadForm(html.parser.HTMLParser):
    """The form of Google Drive's "cannot scan this file for viruses" page: its action and hidden inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.action: str | None = None
        self.inputs: dict[str, str] = {}
        self._inside = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        if tag == "form" and self.action is None and "download" in values.get("action", ""):
            self.action, self._inside = values["action"], True
        elif tag == "input" and self._inside and values.get("type") == "hidden" and values.get("name"):
            self.inputs[values["name"]] = values.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self._inside = False


def follow_download_form(url: str, manual: str, timeout: float = 60.0) -> str:
    """``url``, or where its confirmation page's download form leads (Google Drive asks to confirm files
    too large to scan); a DatasetError with ``manual`` when it answers with a page without such a form
    (quota exceeded, sign-in needed). Only the headers of a real archive are read here."""
    if not url.startswith(("http://", "https://")):
        return url
    try:
        request = urllib.request.Request(url, headers={"User-Agent": "ganforge"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            if response.headers.get_content_type() != "text/html":
                return url
            page = response.read(4 << 20).decode("utf-8", errors="replace")
            base = response.geturl()
    except Exception as exc:  # noqa: BLE001 - any failure becomes one clear message
        raise DatasetError(
            f"Downloading {url} failed ({type(exc).__name__}: {exc}); nothing was kept. {manual}"
        ) from exc
    form = _DownloadForm()
    form.feed(page)
    if form.action is None:
        raise DatasetError(
            f"{url} answered with a web page instead of the archive (Google Drive does so when the file's "
            f"download quota is exceeded or it needs signing in); nothing was kept. {manual}"
        )
    action = urllib.parse.urljoin(base, form.action)
    return f"{action}?{urllib.parse.urlencode(form.inputs)}" if form.inputs else action


def fetch_archive(archive: Archive, root: Path, manual: str, confirm_page: bool = False) -> Path:
    """``<root>/<archive.name>``: there already (downloaded before, or placed by hand), else downloaded and
    checked by :func:`ganforge.data.archives.ensure_archive`; every failure names ``manual``, the way to
    place the archive by hand."""
    target = root / archive.name
    if target.is_dir():
        return target
    if offline():
        raise DatasetError(
            f"{target} is missing and GANFORGE_OFFLINE is set, so nothing is downloaded. {manual}"
        )
    url = follow_download_form(archive.url, manual) if confirm_page else archive.url
    try:
        return ensure_archive(replace(archive, url=url), root)
    except DatasetError as exc:
        raise DatasetError(f"{exc} {manual}") from exc


def recorded_sha256(archive: Archive, root: Path) -> str | None:
    """The SHA-256 the archive's download recorded (None for a folder placed by hand)."""
    try:
        return json.loads(record_path(archive, root).read_text())["sha256"]
    except (OSError, ValueError, KeyError, TypeError):
        return None

"""Unpaired two-domain image data from folders: the user's own, or the CycleGAN authors' archives.

Both loaders return one split as ``{"a": uint8 [N_a, C, H, W], "b": uint8 [N_b, C, H, W], "a_labels",
"b_labels"}`` (labels are zeros: these sets have no classes) from a folder laid out as the authors' sets:

    <folder>/trainA/*.jpg   <folder>/trainB/*.jpg   <folder>/testA/*.jpg   <folder>/testB/*.jpg

The authors publish no checksums for their archives (horse2zebra, monet2photo, summer2winter_yosemite,
apple2orange, ...). So the first download records the archive's SHA-256 in ``source.sha256`` and the
SHA-256 of every extracted image in ``manifest.json`` next to the data, and every later load checks the
files of the split it reads against that manifest. A download is written under a temporary name and
renamed into place only once it is complete, extracted and checked: an interrupted one leaves nothing.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import os
import shutil
import tempfile
import urllib.error
import urllib.request
import zipfile
from pathlib import Path

import numpy as np
import torch

from ganforge.data.sources import IMAGE_SUFFIXES, _check_split, _stack_ragged, list_images
from ganforge.errors import DatasetError
from ganforge.io import atomic_write_text

CYCLEGAN_URL = "https://efrosgans.eecs.berkeley.edu/cyclegan/datasets/{name}.zip"
# The authors' unpaired sets (datasets/download_cyclegan_dataset.sh); the first four are the ones the
# CycleGAN paper reports on and ganforge documents.
CYCLEGAN_DATASETS = (
    "horse2zebra",
    "monet2photo",
    "summer2winter_yosemite",
    "apple2orange",
    "cezanne2photo",
    "ukiyoe2photo",
    "vangogh2photo",
    "iphone2dslr_flower",
)
DOMAINS = ("A", "B")
MANIFEST = "manifest.json"
SOURCE_SHA256 = "source.sha256"
CHUNK = 1 << 20


# --------------------------------------------------------------------------- folders
def domain_dirs(folder: Path, split: str) -> dict[str, Path]:
    """{"a": <folder>/<split>A, "b": <folder>/<split>B}."""
    return {d.lower(): folder / f"{split}{d}" for d in DOMAINS}


def _domain_files(folder: Path, split: str) -> dict[str, list[Path]]:
    files = {}
    for key, directory in domain_dirs(folder, split).items():
        if not directory.is_dir():
            raise DatasetError(
                f"Unpaired data needs the folder {directory} (one folder per domain and split: trainA, "
                f"trainB, testA, testB under {folder}). Create it and put the {split} images of domain "
                f"{key.upper()} in it."
            )
        files[key] = list_images(directory)
        if not files[key]:
            raise DatasetError(
                f"Unpaired data with one domain empty: {directory} has no images "
                f"({', '.join(sorted(IMAGE_SUFFIXES))}), so domain {key.upper()} of the {split} split is "
                "empty. "
                "Both domains need images in both splits."
            )
    return files


def _decode(files: list[Path], channels: int, size: int | None) -> torch.Tensor:
    from PIL import Image
    from torchvision.transforms.v2.functional import center_crop, resize

    mode = {1: "L", 3: "RGB"}.get(channels)
    if mode is None:
        raise DatasetError(f"Unpaired folders decode to 1 or 3 channels; got channels={channels}.")
    images = []
    for path in files:
        try:
            with Image.open(path) as im:
                arr = np.asarray(im.convert(mode))
        except OSError as exc:
            raise DatasetError(f"Cannot decode image {path} ({exc}); remove or replace the file.") from exc
        image = torch.from_numpy(arr.reshape(*arr.shape[:2], channels).copy()).permute(2, 0, 1)
        if size is not None:  # decode-time resize keeps memory at the training size (monet2photo: 7k photos)
            image = resize(center_crop(image, [min(image.shape[1:])] * 2), [size, size], antialias=True)
        images.append(image)
    return _stack_ragged(images)


def _load_domains(files: dict[str, list[Path]], channels: int, size: int | None) -> dict[str, torch.Tensor]:
    out: dict[str, torch.Tensor] = {}
    for key, paths in files.items():
        out[key] = _decode(paths, channels, size)
        out[f"{key}_labels"] = torch.zeros(len(paths), dtype=torch.int64)
    return out


def unpaired_folder(
    root: str | Path, split: str, path: str | None = None, channels: int = 3, size: int | None = None
) -> dict[str, torch.Tensor]:
    """Your own unpaired data: ``path`` holds trainA/, trainB/, testA/, testB/ folders of images.

    Images are decoded to ``channels`` (3: RGB, 1: grey); with ``size`` each is centre-cropped to a square
    and resized to size x size at decode time, otherwise a domain of mixed sizes is cropped and resized to
    its smallest side.
    """
    _check_split(split)
    if not path:
        raise DatasetError(
            "data=unpaired_folder needs data.loader.path=/path/to/data, a folder with trainA/, trainB/, "
            "testA/ and testB/ subfolders of images."
        )
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise DatasetError(
            f"data.loader.path={folder} is not a directory; point it at a folder with trainA/ etc."
        )
    return _load_domains(_domain_files(folder, split), channels, size)


# --------------------------------------------------------------------------- the authors' archives
def archive_dir(root: str | Path, name: str) -> Path:
    """Where an extracted archive lives: <root>/cyclegan/<name> (outside ``data/<name>``, the DVC fetch
    stage's output, which DVC deletes before it reruns the stage)."""
    return Path(root) / "cyclegan" / name


def _check_name(name: str) -> None:
    if name not in CYCLEGAN_DATASETS:
        raise DatasetError(f"Unknown CycleGAN dataset {name!r}; available: {list(CYCLEGAN_DATASETS)}.")


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


def _stream_to_file(url: str, path: Path, timeout: float) -> str:
    """Download ``url`` into ``path``; return its SHA-256. Raises DatasetError on a short or failed read."""
    digest = hashlib.sha256()
    received = 0
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response, path.open("wb") as out:
            length = response.headers.get("Content-Length")
            while block := response.read(CHUNK):
                digest.update(block)
                out.write(block)
                received += len(block)
    except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
        raise DatasetError(
            f"Downloading {url} failed after {received} bytes ({type(exc).__name__}: {exc})."
        ) from exc
    # http.client returns a short body without an error when the server closes early: compare the length.
    if length is not None and received != int(length):
        raise DatasetError(f"Downloading {url} was interrupted: {received} of {length} bytes arrived.")
    return digest.hexdigest()


def _find_dataset_root(extracted: Path) -> Path:
    """The folder holding trainA/ etc: the archive's top folder (the authors' layout) or the archive root."""
    candidates = [extracted, *sorted(p for p in extracted.iterdir() if p.is_dir())]
    for candidate in candidates:
        if all((candidate / f"{s}{d}").is_dir() for s in ("train", "test") for d in DOMAINS):
            return candidate
    found = sorted(p.name for p in candidates)
    raise DatasetError(f"The archive has no trainA/, trainB/, testA/, testB/ folders (found: {found}).")


def _manifest_entries(folder: Path) -> dict[str, str]:
    return {
        p.relative_to(folder).as_posix(): file_sha256(p)
        for split in ("train", "test")
        for directory in domain_dirs(folder, split).values()
        for p in list_images(directory)
    }


def download_cyclegan_dataset(
    name: str, root: str | Path, url: str | None = None, sha256: str | None = None, timeout: float = 60.0
) -> Path:
    """Download and extract one of the authors' archives into :func:`archive_dir`; return that folder.

    Does nothing if the folder is already there. ``url`` overrides the authors' address (a mirror, or
    ``file:///path/to/<name>.zip`` for an archive you downloaded yourself); ``sha256`` pins the archive
    (e.g. the value a first download recorded), and a different archive is refused.
    """
    _check_name(name)
    target = archive_dir(root, name)
    if target.is_dir():
        return target
    url = url or CYCLEGAN_URL.format(name=name)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.download-", dir=target.parent))
    try:
        archive = tmp / f"{name}.zip"
        digest = _stream_to_file(url, archive, timeout)
        if sha256 is not None and digest != sha256.lower():
            raise DatasetError(f"{url} has SHA-256 {digest}, not the pinned {sha256}: the archive changed.")
        try:
            with zipfile.ZipFile(archive) as zf:
                broken = zf.testzip()
                if broken is not None:
                    raise DatasetError(f"{url}: the member {broken} of the archive fails its CRC.")
                zf.extractall(tmp / "extracted")  # extractall drops absolute paths and '..' components
        except zipfile.BadZipFile as exc:
            raise DatasetError(f"{url} is not a readable zip archive ({exc}).") from exc
        archive.unlink()
        folder = _find_dataset_root(tmp / "extracted")
        _domain_files(folder, "train")
        _domain_files(folder, "test")
        manifest = {"name": name, "url": url, "archive_sha256": digest, "files": _manifest_entries(folder)}
        atomic_write_text(folder / MANIFEST, json.dumps(manifest, indent=1, sort_keys=True) + "\n")
        atomic_write_text(folder / SOURCE_SHA256, f"{digest}  {name}.zip\n")  # sha256sum's format
        os.replace(folder, target)  # atomic: the folder appears complete or not at all
    except DatasetError as exc:
        raise DatasetError(
            f"CycleGAN dataset {name} could not be fetched: {exc} Nothing was written to {target}. Connect "
            f"to the internet and retry, or download {name}.zip yourself and pass its file:// URL "
            f"(ganforge-fetch --archive {name} --url file:///path/to/{name}.zip)."
        ) from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def read_manifest(folder: Path) -> dict:
    path = folder / MANIFEST
    if not path.is_file():
        raise DatasetError(
            f"{folder} has no {MANIFEST}, so it was not written by ganforge's download and cannot be "
            f"verified. Delete it to download again, or load it with data=unpaired_folder."
        )
    return json.loads(path.read_text())


def verify_archive(folder: Path, split: str) -> None:
    """Check the split's images against the manifest recorded at download; DatasetError on any change."""
    manifest = read_manifest(folder)
    prefixes = tuple(f"{split}{d}/" for d in DOMAINS)
    expected = {k: v for k, v in manifest["files"].items() if k.startswith(prefixes)}
    present = {
        p.relative_to(folder).as_posix()
        for directory in domain_dirs(folder, split).values()
        for p in list_images(directory)
    }
    changed = sorted(present ^ set(expected))
    changed += sorted(k for k in present & set(expected) if file_sha256(folder / k) != expected[k])
    if changed:
        raise DatasetError(
            f"The {split} images in {folder} differ from those recorded at download ({len(changed)} file(s), "
            f"e.g. {changed[0]}). Delete {folder} and fetch the dataset again."
        )


def cyclegan_dataset(
    root: str | Path,
    split: str,
    name: str = "horse2zebra",
    url: str | None = None,
    sha256: str | None = None,
    channels: int = 3,
    size: int | None = None,
) -> dict[str, torch.Tensor]:
    """One split of an authors' archive, downloaded on first use and verified on every load."""
    _check_split(split)
    folder = download_cyclegan_dataset(name, root, url=url, sha256=sha256)
    if sha256 is not None and read_manifest(folder)["archive_sha256"] != sha256.lower():
        raise DatasetError(
            f"{folder} was extracted from an archive with SHA-256 {read_manifest(folder)['archive_sha256']}, "
            f"not the pinned {sha256}. Delete the folder and fetch again, or update the pin."
        )
    verify_archive(folder, split)
    return _load_domains(_domain_files(folder, split), channels, size)

"""HR sources of paired super-resolution data read from image files, decoded on access: a folder of the
user's photos (:func:`photo_folder`), or DIV2K's 800 training images (Agustsson & Timofte 2017) for
training and the HR images of Set5, Set14 and BSD100 (EDSR's benchmark archive) for testing
(:func:`div2k_benchmarks`), downloaded on first use (checksummed, atomically; ganforge.data.archives)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from ganforge.data.archives import Archive, ensure_archive
from ganforge.data.sources import IMAGE_SUFFIXES, _check_split, images_under
from ganforge.errors import ConfigError, DatasetError

DIV2K_TRAIN_HR = Archive(
    name="div2k_train_hr",
    url="https://data.vision.ee.ethz.ch/cvl/DIV2K/DIV2K_train_HR.zip",
    md5="bdc2d9338d4e574fe81bf7d158758658",
    md5_source="torchSR (github.com/Coloquinte/torchSR, torchsr/datasets/div2k.py)",
    size_hint="3.5 GB",
)
# EDSR's benchmark archive: Set5, Set14, B100 (= BSD100), Urban100, each with HR/ and LR_bicubic/X2-X4/.
SR_BENCHMARKS = Archive(
    name="sr_benchmarks",
    url="https://cv.snu.ac.kr/research/EDSR/benchmark.tar",
    md5="4ace41d33c2384b97e6b320cd0afd6ba",
    md5_source="torchSR (github.com/Coloquinte/torchSR, torchsr/datasets/benchmarks.py)",
    size_hint="about 250 MB",
)
BENCHMARK_SETS = {"Set5": "Set5", "Set14": "Set14", "BSD100": "B100", "Urban100": "Urban100"}
ARCHIVES = {a.name: a for a in (DIV2K_TRAIN_HR, SR_BENCHMARKS)}


class ImageFiles(Sequence[torch.Tensor]):
    """Image files decoded on access (DIV2K's 800 2K images do not fit in memory at once)."""

    def __init__(self, files: Sequence[Path]):
        self.files = list(files)

    def __len__(self) -> int:
        return len(self.files)

    def __getitem__(self, index: int) -> torch.Tensor:  # type: ignore[override]
        from PIL import Image

        path = self.files[index]
        try:
            with Image.open(path) as im:
                array = np.asarray(im.convert("RGB"))
        except OSError as exc:
            raise DatasetError(f"Cannot decode {path} ({exc}); delete its folder and fetch again.") from exc
        return torch.from_numpy(array.copy()).permute(2, 0, 1).contiguous()


def _image_files(folder: Path) -> list[Path]:
    files = (
        sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES) if folder.is_dir() else []
    )
    if not files:
        raise DatasetError(
            f"No images in {folder}; delete the dataset's folder and run ganforge-fetch again."
        )
    return files


def photo_folder(
    root: str | Path, split: str, path: str | None = None, test_path: str | None = None, test_every: int = 10
) -> ImageFiles:
    """Photos of any size under a folder (recursively) as the HR source, decoded on access.

    With ``test_path`` its images are the test split; without, every ``test_every``-th file (sorted by
    path) of ``path`` is held out for testing, so the two splits never share an image.
    """
    _check_split(split)
    if not path:
        raise DatasetError(
            "data=paired_sr needs data.loader.source.path=/path/to/photos (a folder of images)."
        )

    def files_under(folder: str, key: str) -> list[Path]:
        return images_under(folder, key, "point it at a folder of images")[1]

    if test_path:
        return ImageFiles(files_under(path if split == "train" else test_path, "data.loader.source.path"))
    files = files_under(path, "data.loader.source.path")
    if test_every < 2 or len(files) < 2:
        raise DatasetError(
            f"{path} holds {len(files)} image(s) and test_every={test_every}: holding out every "
            "test_every-th image for testing needs at least 2 images and test_every >= 2; add images or "
            "give a separate data.loader.source.test_path."
        )
    held_out = [i % test_every == 0 for i in range(len(files))]
    return ImageFiles([f for f, h in zip(files, held_out) if h == (split == "test")])


def div2k_benchmarks(
    root: str | Path, split: str, test_sets: Sequence[str] = ("Set5", "Set14", "BSD100")
) -> ImageFiles:
    """DIV2K train HR (train split) or the HR images of ``test_sets`` (test split), downloaded into
    ``root`` on first use (checksummed, atomically; see ganforge.data.archives)."""
    _check_split(split)
    if split == "train":
        folder = ensure_archive(DIV2K_TRAIN_HR, root) / "DIV2K_train_HR"
        return ImageFiles(_image_files(folder))
    unknown = [s for s in test_sets if s not in BENCHMARK_SETS]
    if unknown or not test_sets:
        raise ConfigError(f"Unknown SR test set(s) {unknown or '[]'}; use some of {list(BENCHMARK_SETS)}.")
    base = ensure_archive(SR_BENCHMARKS, root) / "benchmark"
    return ImageFiles([f for s in test_sets for f in _image_files(base / BENCHMARK_SETS[s] / "HR")])


def fetch_sr_archives(root: str | Path, names: Sequence[str] = tuple(ARCHIVES)) -> dict[str, Path]:
    """Download (if missing) the named archives into ``root``; for ganforge-fetch / the DVC fetch stage."""
    unknown = [n for n in names if n not in ARCHIVES]
    if unknown:
        raise ConfigError(f"Unknown SR archive(s) {unknown}; known: {list(ARCHIVES)}.")
    return {n: ensure_archive(ARCHIVES[n], root) for n in names}

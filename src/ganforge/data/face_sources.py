"""Face datasets: scikit-image's LFW subset (offline, for smoke tests) and CelebA (torchvision download).

Both return a split as (uint8 images [N, C, H, W], int64 labels [N]) like every ganforge.data.sources
loader. FFHQ needs no loader of its own: it is a folder of PNGs (conf/data/ffhq.yaml on
:func:`ganforge.data.sources.image_folder`).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import torch

from ganforge.data.sources import _check_pinned, _check_split, square_resized
from ganforge.errors import DatasetError

# SHA-256 (arrays_sha256) of skimage.data.lfw_subset() as scikit-image 0.26.0 ships it: float64 in [0, 1],
# [200, 25, 25], the first 100 faces and the last 100 non-face background crops.
LFW_SUBSET_SHA256 = "caf8e63915661ade22536c168a3bd7914739ac96885cbb49a8ae206b56aaec16"
LFW_FACES = 100


def lfw_subset(root: str | Path, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The 100 grey 25x25 faces of scikit-image's LFW subset (the 100 non-faces are left out).

    Split: every 5th face (index 0, 5, 10, ...) is the test split (20 faces), the other 80 train. Labels
    are all 0 (the subset has no identities). ``root`` is unused: the file ships in the wheel.
    """
    _check_split(split)
    import skimage.data

    faces_and_background = np.asarray(skimage.data.lfw_subset())
    _check_pinned(
        "lfw_subset", "scikit-image", "0.26.0", LFW_SUBSET_SHA256, faces_and_background.astype(np.float64)
    )
    faces = np.round(faces_and_background[:LFW_FACES] * 255.0).astype(np.uint8)
    test = np.arange(LFW_FACES) % 5 == 0
    keep = test if split == "test" else ~test
    images = torch.from_numpy(faces[keep][:, None].copy())
    return images, torch.zeros(len(images), dtype=torch.int64)


# ------------------------------------------------------------------------------------------- CelebA
CELEBA_SPLITS = {"train": "train", "test": "test"}  # CelebA's own partition; its "valid" is not used
CELEBA_HELP = (
    "torchvision downloads CelebA from Google Drive with gdown (pip install gdown) and checks every file's "
    "MD5; Google Drive often refuses with a quota error. Otherwise download img_align_celeba.zip and the "
    "five annotation files (list_attr_celeba.txt, list_bbox_celeba.txt, list_landmarks_align_celeba.txt, "
    "list_eval_partition.txt, identity_CelebA.txt) from https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html "
    "(its Google Drive or Baidu links) into {folder} and unzip the archive there (it makes "
    "img_align_celeba/); ganforge then checks the text files against torchvision's MD5s."
)


def _offline() -> bool:
    return os.environ.get("GANFORGE_OFFLINE", "") not in ("", "0")


def _celeba_dataset(root: Path, split: str):
    """torchvision's CelebA index of one split (file names, attributes), downloading it if missing."""
    from torchvision.datasets import CelebA

    folder = root / CelebA.base_folder
    if not folder.exists():
        if _offline():
            raise DatasetError(
                f"data=celeba: CelebA is not in {folder} and GANFORGE_OFFLINE is set, so it is not "
                "downloaded. " + CELEBA_HELP.format(folder=folder)
            )
        root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".download-", dir=root))
        try:
            CelebA(str(tmp), split="all", target_type=[], download=True)  # MD5 of every file checked
            (tmp / CelebA.base_folder).rename(folder)
        except Exception as exc:  # noqa: BLE001 - any download failure becomes one clear message
            raise DatasetError(
                f"data=celeba: CelebA is not in {folder} and could not be downloaded "
                f"({type(exc).__name__}: {exc}); nothing was kept. " + CELEBA_HELP.format(folder=folder)
            ) from exc
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    try:
        return CelebA(str(root), split=CELEBA_SPLITS[split], target_type="attr", download=False)
    except RuntimeError as exc:
        raise DatasetError(
            f"data=celeba: {folder} fails torchvision's check (a list file is missing or fails its MD5, or "
            f"img_align_celeba/ is missing): {exc}. Delete the folder to download it again, or "
            + CELEBA_HELP.format(folder=folder)
        ) from exc


def celeba(
    root: str | Path, split: str, size: int = 64, attribute: str | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """CelebA's aligned 178x218 faces: centre square crop (178x178), resized to ``size`` while decoding.

    Split: CelebA's own partition (train 162,770; test 19,962). Labels: 0 for every image, or the 0/1
    value of one of the 40 binary attributes (``attribute=Smiling``; then set data.num_classes=2 so an
    evaluator can be trained on it).
    """
    _check_split(split)
    from PIL import Image

    ds = _celeba_dataset(Path(root), split)
    if attribute is not None:
        if attribute not in ds.attr_names:
            raise DatasetError(
                f"data.loader.attribute={attribute!r} is not a CelebA attribute; use one of {ds.attr_names}."
            )
        labels = ds.attr[:, ds.attr_names.index(attribute)].to(torch.int64)
    else:
        labels = torch.zeros(len(ds.filename), dtype=torch.int64)
    images = torch.empty(len(ds.filename), 3, size, size, dtype=torch.uint8)
    folder = Path(ds.root) / ds.base_folder / "img_align_celeba"
    for i, name in enumerate(ds.filename):
        try:
            with Image.open(folder / name) as im:
                im.draft("RGB", (size, size))  # JPEG decodes at 1/2..1/8 scale when that stays >= size
                square = square_resized(im.convert("RGB"), size)
                images[i] = torch.from_numpy(np.asarray(square).copy()).permute(2, 0, 1)
        except OSError as exc:
            raise DatasetError(
                f"data=celeba: cannot decode {folder / name} ({exc}); unzip img_align_celeba.zip again."
            ) from exc
    return images, labels

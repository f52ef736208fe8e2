"""Paired super-resolution data: HR crops from any image source, LR by antialiased bicubic downsampling.

    paired_sr(root, split, scale=4, hr_size=96, source=skimage_photos) -> {"lr": uint8 [N, C, h, w],
                                                                         "hr": uint8 [N, C, H, W]}

LR = ``F.interpolate(hr, scale_factor=1/scale, mode="bicubic", antialias=True)``, rounded and clamped to
uint8. With ``antialias=True`` torch uses the a = -0.5 cubic kernel widened by the scale factor, i.e.
PIL's BICUBIC resize and MATLAB's ``imresize`` (the SR benchmarks' LR images): within 3 grey levels of
PIL, 0.1 on average (PIL works in fixed point); without it torch's bicubic is a = -0.75 and aliases.

Sources (``source(root=..., split=...)``): any ganforge dataset loader returning (images, labels) (e.g.
``ganforge.data.sources.fashion_mnist``: 28x28 images are HR as they are, LR 7x7 at ×4), or a photo
source returning a sequence of uint8 [C, H, W] images of any size:

- :func:`skimage_photos`: offline, the photographs bundled in the scikit-image wheel plus scikit-learn's
  two sample images. Train and test use *different* photographs (:data:`PHOTOS_TRAIN`,
  :data:`PHOTOS_TEST`).
- :func:`div2k_benchmarks`: DIV2K's 800 training images (Agustsson & Timofte 2017) for training; the HR
  images of Set5, Set14 and BSD100 (EDSR's benchmark archive) for testing; downloaded on first use.

Photos are cut into ``hr_size`` crops: training takes ``crops_per_image`` random crops of each image
(deterministic by ``seed`` and image index), testing the centred grid of non-overlapping tiles that
covers each image. Whole test images of different sizes (the papers' protocol) come from
:func:`full_image_pairs`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from ganforge.data.archives import Archive, ensure_archive
from ganforge.data.sources import IMAGE_SUFFIXES
from ganforge.errors import ConfigError, DatasetError

SPLITS = ("train", "test")


# ------------------------------------------------------------------------------------------ geometry
def check_sr_geometry(hr_size: int, scale: int) -> int:
    """The LR size for HR crops of ``hr_size`` at ``scale``, or a ConfigError."""
    if scale < 2:
        raise ConfigError(f"data.scale={scale}: super-resolution needs a scale factor of at least 2.")
    if hr_size < scale or hr_size % scale:
        nearest = sorted({max(scale, hr_size - hr_size % scale), hr_size - hr_size % scale + scale})
        raise ConfigError(
            f"data.hr_size={hr_size} cannot be downsampled by data.scale={scale} to a whole LR size "
            f"({hr_size}/{scale} = {hr_size / scale:g}): choose an HR size divisible by the scale, e.g. "
            f"{' or '.join(map(str, nearest))}."
        )
    return hr_size // scale


def bicubic_downsample(hr: torch.Tensor, scale: int, chunk: int = 1024) -> torch.Tensor:
    """uint8 [N, C, H, W] -> uint8 [N, C, H/scale, W/scale], antialiased bicubic (see module docstring)."""
    if hr.dtype != torch.uint8 or hr.dim() != 4:
        raise DatasetError(f"bicubic_downsample takes uint8 [N, C, H, W]; got {hr.dtype} {list(hr.shape)}.")
    height, width = hr.shape[-2:]
    if height % scale or width % scale:
        raise ConfigError(f"HR images of {height}x{width} cannot be downsampled by a whole factor {scale}.")
    size = (height // scale, width // scale)
    out = [
        F.interpolate(part.float(), size=size, mode="bicubic", align_corners=False, antialias=True)
        .round_()
        .clamp_(0, 255)
        .to(torch.uint8)
        for part in hr.split(chunk)  # bounded memory for large datasets
    ]
    return torch.cat(out) if out else hr.new_zeros((0, hr.shape[1], *size))


def make_pairs(hr: torch.Tensor, scale: int) -> dict[str, torch.Tensor]:
    return {"lr": bicubic_downsample(hr, scale), "hr": hr.contiguous()}


def to_channels(images: torch.Tensor, channels: int | None) -> torch.Tensor:
    """uint8 [..., C, H, W] to 1 or 3 channels: grayscale tiled to RGB, RGB to BT.601 luma (as
    ganforge.data.image_datamodule.fit_images does), an alpha channel dropped."""
    if images.shape[-3] == 4:
        images = images[..., :3, :, :]
    if channels is None or images.shape[-3] == channels:
        return images
    if channels == 3 and images.shape[-3] == 1:
        return images.expand(*images.shape[:-3], 3, *images.shape[-2:]).contiguous()
    if channels == 1 and images.shape[-3] == 3:
        weights = torch.tensor([0.299, 0.587, 0.114]).view(3, 1, 1)
        luma = (images.float() * weights).sum(-3, keepdim=True)
        return luma.round_().clamp_(0, 255).to(torch.uint8)
    raise ConfigError(f"data.channels={channels} is not supported; use 1 (grayscale) or 3 (RGB).")


def _check_size(image: torch.Tensor, size: int, index: int) -> None:
    if min(image.shape[-2:]) < size:
        raise ConfigError(
            f"Image {index} of the source is {image.shape[-2]}x{image.shape[-1]}, smaller than "
            f"data.hr_size={size}; lower hr_size or drop that image from the list."
        )


def random_crops(
    images: Sequence[torch.Tensor], size: int, per_image: int, seed: int, channels: int | None = None
) -> torch.Tensor:
    """``per_image`` random ``size`` x ``size`` crops of each uint8 [C, H, W] image, stacked (each image
    converted to ``channels`` first, so grayscale and colour photos mix).

    Image ``i``'s crops depend only on (seed, i), so they do not change when other images are added.
    """
    if per_image < 1:
        raise ConfigError(f"data.crops_per_image={per_image} must be >= 1.")
    crops = []
    for i in range(len(images)):
        image = to_channels(images[i], channels)
        _check_size(image, size, i)
        g = torch.Generator().manual_seed(seed * 1_000_003 + i)
        top = torch.randint(0, image.shape[-2] - size + 1, (per_image,), generator=g)
        left = torch.randint(0, image.shape[-1] - size + 1, (per_image,), generator=g)
        crops += [image[:, t : t + size, s : s + size] for t, s in zip(top.tolist(), left.tolist())]
    return torch.stack(crops).contiguous()


def tile_crops(images: Sequence[torch.Tensor], size: int, channels: int | None = None) -> torch.Tensor:
    """The centred grid of non-overlapping ``size`` tiles covering each image (deterministic), each image
    converted to ``channels`` first."""
    tiles = []
    for i in range(len(images)):
        image = to_channels(images[i], channels)
        _check_size(image, size, i)
        rows, cols = image.shape[-2] // size, image.shape[-1] // size
        top0, left0 = (image.shape[-2] - rows * size) // 2, (image.shape[-1] - cols * size) // 2
        for r in range(rows):
            for c in range(cols):
                t, s = top0 + r * size, left0 + c * size
                tiles.append(image[:, t : t + size, s : s + size])
    return torch.stack(tiles).contiguous()


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise DatasetError(f"Unknown split {split!r}; use one of {list(SPLITS)}.")


def _images_of(loaded: Any) -> torch.Tensor | Sequence[torch.Tensor]:
    """A dataset loader's (images, labels) -> images; a photo source's sequence passes through."""
    return _images_and_labels(loaded)[0]


def _images_and_labels(loaded: Any) -> tuple[torch.Tensor | Sequence[torch.Tensor], torch.Tensor | None]:
    if isinstance(loaded, tuple) and len(loaded) == 2 and isinstance(loaded[0], torch.Tensor):
        return loaded[0], loaded[1]
    return loaded, None


def paired_sr(
    root: str | Path,
    split: str,
    scale: int = 4,
    hr_size: int = 96,
    source: Callable[..., Any] | None = None,
    crops_per_image: int = 64,
    seed: int = 0,
    channels: int | None = None,
    labels: bool = False,
) -> dict[str, torch.Tensor]:
    """One split of paired SR data: ``{"lr": uint8 [N, C, hr_size/scale, ...], "hr": uint8 [N, C,
    hr_size, hr_size]}``. ``source`` defaults to :func:`skimage_photos`; images already of ``hr_size``
    (Fashion-MNIST at 28) are used whole, larger ones are cropped (random for train, tiles for test).

    ``labels=True`` adds ``"hr_labels"`` (int64 [N]): the class of the image each HR crop comes from, for
    sources that have classes (the evaluator classifier of the HR images trains on them)."""
    _check_split(split)
    check_sr_geometry(hr_size, scale)
    images, classes = _images_and_labels((source or skimage_photos)(root=root, split=split))
    if labels and classes is None:
        raise ConfigError(
            "data.loader.labels=true, but the HR source returns no class labels (photo sources have none); "
            "set data.loader.labels=false."
        )
    if isinstance(images, torch.Tensor) and tuple(images.shape[-2:]) == (hr_size, hr_size):
        hr = images
    elif split == "train":
        hr = random_crops(images, hr_size, crops_per_image, seed, channels)
    else:
        hr = tile_crops(images, hr_size, channels)
    pairs = make_pairs(to_channels(hr, channels).contiguous(), scale)
    if labels:
        # Crops are stacked image by image, the same number from each equally sized image.
        pairs["hr_labels"] = torch.as_tensor(classes, dtype=torch.int64).repeat_interleave(
            len(hr) // len(classes)
        )
    return pairs


def full_image_pairs(
    root: str | Path,
    split: str,
    scale: int = 4,
    source: Callable[..., Any] | None = None,
    channels: int | None = None,
) -> list[dict[str, torch.Tensor]]:
    """Whole images as (lr [C, h, w], hr [C, scale*h, scale*w]) pairs, each HR cropped at its bottom/right
    to a multiple of ``scale`` ("modcrop"), as SR benchmarks are evaluated."""
    _check_split(split)
    images = _images_of((source or skimage_photos)(root=root, split=split))
    pairs = []
    for i in range(len(images)):
        image = to_channels(images[i], channels)
        h, w = image.shape[-2] - image.shape[-2] % scale, image.shape[-1] - image.shape[-1] % scale
        hr = image[:, :h, :w].contiguous()
        pairs.append({"lr": bicubic_downsample(hr[None], scale)[0], "hr": hr})
    return pairs


# ------------------------------------------------------------------------------------ offline photos
def _skimage(name: str) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        import skimage.data

        return getattr(skimage.data, name)()

    return load


def _motorcycle(view: int) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        import skimage.data

        return skimage.data.stereo_motorcycle()[view]  # (left, right, disparity)

    return load


def _sklearn(file: str) -> Callable[[], np.ndarray]:
    def load() -> np.ndarray:
        from sklearn.datasets import load_sample_image

        return load_sample_image(file)

    return load


#: Photographs that load without a network (checked with scikit-image 0.26 / scikit-learn 1.9); grayscale
#: ones (camera, brick, grass, gravel, moon, coins) are tiled to RGB when data.channels=3.
PHOTOS: dict[str, Callable[[], np.ndarray]] = {
    **{
        n: _skimage(n)
        for n in (
            "astronaut",
            "chelsea",
            "coffee",
            "rocket",
            "hubble_deep_field",
            "immunohistochemistry",
            "retina",
            "camera",
            "brick",
            "grass",
            "gravel",
            "moon",
            "coins",
        )
    },
    "motorcycle_left": _motorcycle(0),
    "motorcycle_right": _motorcycle(1),
    "china": _sklearn("china.jpg"),
    "flower": _sklearn("flower.jpg"),
}
# Disjoint photographs (and only one view of the stereo pair) so the test split is unseen content.
PHOTOS_TRAIN = (
    "astronaut",
    "rocket",
    "motorcycle_left",
    "hubble_deep_field",
    "immunohistochemistry",
    "china",
)
PHOTOS_TEST = ("chelsea", "coffee", "flower")


def photo(name: str) -> torch.Tensor:
    """One bundled photograph as uint8 [C, H, W] (C = 1 or 3)."""
    if name not in PHOTOS:
        raise ConfigError(f"Unknown bundled photo {name!r}; available: {sorted(PHOTOS)}.")
    array = np.asarray(PHOTOS[name]())
    if array.dtype != np.uint8:
        raise DatasetError(f"Bundled photo {name} is {array.dtype}, not uint8 pixels.")
    tensor = torch.from_numpy(np.array(array, copy=True))  # skimage arrays are read-only
    return tensor[None] if tensor.dim() == 2 else tensor.permute(2, 0, 1).contiguous()


def skimage_photos(
    root: str | Path,
    split: str,
    train_images: Sequence[str] = PHOTOS_TRAIN,
    test_images: Sequence[str] = PHOTOS_TEST,
) -> list[torch.Tensor]:
    """The bundled photographs of one split (``root`` is unused: nothing is downloaded)."""
    _check_split(split)
    names = list(train_images if split == "train" else test_images)
    overlap = sorted(set(train_images) & set(test_images))
    if overlap:
        raise ConfigError(
            f"Photos {overlap} are in both the train and the test list; keep the splits disjoint."
        )
    if not names:
        raise ConfigError(f"The {split} photo list is empty; name at least one of {sorted(PHOTOS)}.")
    return [photo(n) for n in names]


# --------------------------------------------------------------------------------- real (downloaded)
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

    def files_under(folder_arg: str, key: str) -> list[Path]:
        folder = Path(folder_arg).expanduser()
        if not folder.is_dir():
            raise DatasetError(f"{key}={folder} is not a directory; point it at a folder of images.")
        files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise DatasetError(f"No images ({', '.join(sorted(IMAGE_SUFFIXES))}) found under {folder}.")
        return files

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

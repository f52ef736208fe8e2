"""The text-to-image papers' real captioned datasets: CUB-200-2011 birds and Oxford-102 flowers, each image
with the ten captions of Reed et al. 2016 ("Learning Deep Representations of Fine-grained Visual
Descriptions"), as used by GAN-INT-CLS and StackGAN.

- CUB-200-2011 (Wah et al. 2011): CUB_200_2011.tgz from the Caltech data repository (MD5-checked), its
  bounding boxes for StackGAN's crop; captions from Reed's cvpr2016_cub.tar.gz (Google Drive).
- Oxford-102 (Nilsback & Zisserman 2008): images and labels by torchvision's Flowers102 (MD5-checked by
  torchvision); captions from Reed's cvpr2016_flowers.tar.gz (Google Drive).

Google Drive publishes no checksum: the first download records the archive's SHA-256 next to the data
(``<root>/<name>.source.json``, ganforge.data.archives) and later downloads must match it. Every archive
can also be extracted by hand into its folder (used as is), or given as a mirror / ``file://`` URL.

Splits: ``partition=classes`` (default) is the papers' class-disjoint split, Reed's trainvalclasses.txt
(train) and testclasses.txt (test) from the caption archive: CUB 150 / 50 classes (8,855 / 2,933
images), Oxford-102 82 / 20 (7,034 / 1,155); ``partition=official`` is the dataset's own split (CUB's
train_test_split.txt; Oxford's trnid + valid / tstid), every class in both.

Rows hold ``image`` (uint8 RGB, canvas x canvas), ``label`` (class from 0), ``caption`` (one of the
image's captions, seeded; ``rows=caption``: one row per caption) and ``image_id`` (the dataset's image
number); the caption table, meaning ids, decoding and its cache: ganforge.data.caption_files.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import torch

from ganforge.data import caption_files as cf
from ganforge.data.archives import Archive
from ganforge.errors import ConfigError, DatasetError

CUB_IMAGES = Archive(
    name="cub_200_2011",
    url="https://data.caltech.edu/records/65de6-vp158/files/CUB_200_2011.tgz?download=1",
    md5="97eceeb196236b17998738112f37df78",
    md5_source="the dataset's users (github.com/TDeVries/cub2011_dataset, cub2011.py)",
    size_hint="1.1 GB",
)
# Reed et al.'s archives on Google Drive (ids from github.com/reedscot/cvpr2016 README.md; resource keys
# as linked since Drive's 2021 security update). No published checksum: SHA-256 recorded on first download.
CUB_DRIVE = ("0B0ywwgffWnLLZW9uVHNjb2JmNlE", "0-8y2UVmBHAlG26HafWYNoFQ")
FLOWERS_DRIVE = ("0B0ywwgffWnLLcms2WWJQRFNSWXM", "0-Av8zFbeDDvNcF1sSjDR32w")
CUB_CAPTIONS = Archive(name="reed_cvpr2016_cub", url=cf.google_drive_url(*CUB_DRIVE))
FLOWERS_CAPTIONS = Archive(name="reed_cvpr2016_flowers", url=cf.google_drive_url(*FLOWERS_DRIVE))
FLOWERS_FOLDER = "flowers-102"  # torchvision's Flowers102 base folder under the data root
PARTITIONS = ("classes", "official")
ROWS = ("image", "caption")
CROPS = {"cub200": ("bbox", "center", "full"), "oxford102": ("center", "full")}


def _drive_page(ids: tuple[str, str]) -> str:
    return f"https://drive.google.com/file/d/{ids[0]}/view?resourcekey={ids[1]}"


def _manual(what: str, source: str, target: Path, key: str, filename: str) -> str:
    return (
        f"To place {what} by hand: download {filename} from {source} and extract it into {target} (used as "
        f"is), or point {key} at a copy (file:///path/to/{filename} or a mirror)."
    )


def _check_index(partition: str, limit, captions_per_image: int) -> None:
    if partition not in PARTITIONS:
        raise ConfigError(
            f"data.loader.partition={partition!r} is unknown; use classes (the papers' class-disjoint split) "
            "or official (the dataset's own split)."
        )
    if limit is not None and (not isinstance(limit, int) or limit < 1):
        raise ConfigError(f"data.loader.limit={limit!r} must be a positive integer or null (every image).")
    if not isinstance(captions_per_image, int) or captions_per_image < 1:
        raise ConfigError(
            f"data.loader.captions_per_image={captions_per_image!r} must be a positive integer."
        )


def _check_images(dataset: str, canvas: int, crop: str, rows: str) -> None:
    if rows not in ROWS:
        raise ConfigError(
            f"data.loader.rows={rows!r} is unknown; use image (one row per image, one of its captions) or "
            "caption (one row per caption, the image repeated: 10x the memory)."
        )
    if not isinstance(canvas, int) or canvas < 16:
        raise ConfigError(f"data.loader.canvas={canvas!r} must be an integer >= 16 (pixels per side).")
    if crop not in CROPS[dataset]:
        raise ConfigError(f"data.loader.crop={crop!r} is not one of {list(CROPS[dataset])} for {dataset}.")


def _class_split(folder: Path, hint: str) -> tuple[set[str], set[str]]:
    """Reed's class lists: (train + validation classes, test classes); refused if they overlap."""
    train = set(cf.read_names(folder / "trainvalclasses.txt", hint))
    test = set(cf.read_names(folder / "testclasses.txt", hint))
    if train & test or not train or not test:
        raise DatasetError(
            f"{folder}: trainvalclasses.txt and testclasses.txt must be non-empty and disjoint (they share "
            f"{sorted(train & test)[:3]}). {hint}"
        )
    return train, test


def _split_by_class(entries: list[cf.Entry], classes: dict[str, set[str]], of, folder: Path, hint: str):
    splits: dict[str, list[cf.Entry]] = {s: [] for s in cf.SPLITS}
    for entry in entries:
        owner = [s for s in cf.SPLITS if of(entry) in classes[s]]
        if not owner:
            raise DatasetError(
                f"Image {entry.name} belongs to class {of(entry)!r}, which neither trainvalclasses.txt nor "
                f"testclasses.txt in {folder} lists. {hint}"
            )
        splits[owner[0]].append(entry)
    return splits


def _captioned(dataset, entries, captions_dir: Path, keep: int, limit, hint: str, sources) -> cf.CaptionIndex:
    splits = {s: cf.evenly_spaced(entries[s], limit) for s in cf.SPLITS}
    captions = {
        s: [cf.read_captions(captions_dir / "text_c10" / f"{e.name}.txt", keep, hint) for e in splits[s]]
        for s in cf.SPLITS
    }
    return cf.CaptionIndex(dataset, splits, captions, sources)


# ---------------------------------------------------------------------------------------------- CUB
def cub200_index(
    root, partition="classes", limit=None, captions_per_image=cf.CAPTIONS_PER_IMAGE, images_url=None,
    captions_url=None,
) -> cf.CaptionIndex:  # fmt: skip
    """The CUB-200-2011 images of each split with their captions (downloading what is missing)."""
    _check_index(partition, limit, captions_per_image)
    root = Path(root)
    key = ("cub200", root.resolve(), partition, limit, captions_per_image, images_url, captions_url)
    if key in cf.INDEXES:
        return cf.INDEXES[key]
    images = replace(CUB_IMAGES, url=images_url or CUB_IMAGES.url)
    images_hint = _manual(
        "CUB-200-2011", "https://data.caltech.edu/records/65de6-vp158", root / images.name,
        "data.loader.images_url", "CUB_200_2011.tgz",
    )  # fmt: skip
    captions = replace(CUB_CAPTIONS, url=captions_url or CUB_CAPTIONS.url)
    captions_hint = _manual(
        "Reed et al.'s CUB captions", f"{_drive_page(CUB_DRIVE)} (github.com/reedscot/cvpr2016)",
        root / captions.name, "data.loader.captions_url", "cvpr2016_cub.tar.gz",
    )  # fmt: skip
    base = cf.find_base(cf.fetch_archive(images, root, images_hint), "images.txt", images_hint)
    text = cf.find_base(
        cf.fetch_archive(captions, root, captions_hint, confirm_page=True), "text_c10", captions_hint
    )
    names = cf.read_rows(base / "images.txt", 1, images_hint)
    labels = cf.read_rows(base / "image_class_labels.txt", 1, images_hint)
    boxes = cf.read_rows(base / "bounding_boxes.txt", 4, images_hint)
    missing = [i for i in names if i not in labels or i not in boxes]
    if missing:
        raise DatasetError(
            f"Image {missing[0]} of {base / 'images.txt'} has no class or bounding box in "
            f"image_class_labels.txt / bounding_boxes.txt. {images_hint}"
        )
    entries = [
        cf.Entry(
            image=base / "images" / names[i][0],
            name=names[i][0].rsplit(".", 1)[0],
            image_id=i,
            label=int(labels[i][0]) - 1,
            bbox=tuple(float(v) for v in boxes[i]),  # type: ignore[arg-type]
        )
        for i in sorted(names)
    ]
    if partition == "official":
        is_train = cf.read_rows(base / "train_test_split.txt", 1, images_hint)
        if any(e.image_id not in is_train for e in entries):
            raise DatasetError(f"{base / 'train_test_split.txt'} does not list every image. {images_hint}")
        split = {s: [e for e in entries if is_train[e.image_id][0] == str(int(s == "train"))]
                 for s in cf.SPLITS}  # fmt: skip
    else:
        train, test = _class_split(text, captions_hint)
        split = _split_by_class(
            entries, {"train": train, "test": test}, lambda e: e.name.split("/")[0], text, captions_hint
        )
    hint = (
        f"The captions in {text} do not cover every image of CUB-200-2011 (an incomplete extraction, or "
        f"another dataset's archive). Delete {root / captions.name} and fetch again. {captions_hint}"
    )
    sources = {"images": cf.recorded_sha256(images, root)}
    index = _captioned("cub200", split, text, captions_per_image, limit, hint, sources)
    cf.INDEXES[key] = index
    return index


def cub200_items(
    root, split: str, canvas: int = 64, partition: str = "classes", crop: str = "bbox", limit=None,
    seed: int = 0, captions_per_image: int = cf.CAPTIONS_PER_IMAGE, images_url=None, captions_url=None,
    rows: str = "image",
) -> dict[str, torch.Tensor]:  # fmt: skip
    """One split of CUB-200-2011 with Reed et al.'s captions: image, label, caption, image_id."""
    cf.check_split(split)
    _check_images("cub200", canvas, crop, rows)
    index = cub200_index(root, partition, limit, captions_per_image, images_url, captions_url)
    return _fields(index, root, split, canvas, crop, seed, rows)


def cub200_captions(
    root, partition: str = "classes", limit=None, captions_per_image: int = cf.CAPTIONS_PER_IMAGE,
    images_url=None, captions_url=None,
) -> tuple[list[str], torch.Tensor]:  # fmt: skip
    """The caption table of :func:`cub200_items` with the same options, and its meaning ids."""
    return cub200_index(root, partition, limit, captions_per_image, images_url, captions_url).table()


# ---------------------------------------------------------------------------------------- Oxford-102
def _flowers_folder(root: Path) -> Path:
    """torchvision's Flowers102 folder, downloaded (MD5-checked by torchvision) into a temporary folder and
    renamed into place; its label and split files are MD5-checked on every load."""
    import shutil
    import tempfile

    from torchvision.datasets import Flowers102

    base = root / FLOWERS_FOLDER
    hint = (
        f"To place it by hand: download 102flowers.tgz, imagelabels.mat and setid.mat from "
        f"{Flowers102._download_url_prefix} into {base} and extract the archive there (it makes jpg/)."
    )
    if not base.is_dir():
        if cf.offline():
            raise DatasetError(
                f"{base} is missing and GANFORGE_OFFLINE is set, so nothing is downloaded. {hint}"
            )
        root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".flowers-102-", dir=root))
        try:
            Flowers102(str(tmp), split="train", download=True)  # torchvision checks every file's MD5
            (tmp / FLOWERS_FOLDER).rename(base)
        except Exception as exc:  # noqa: BLE001 - any download failure becomes one clear message
            raise DatasetError(
                f"Oxford-102 could not be downloaded ({type(exc).__name__}: {exc}); nothing was kept. {hint}"
            ) from exc
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    try:
        Flowers102(str(root), split="test", download=False)
    except RuntimeError as exc:
        raise DatasetError(
            f"{base} fails torchvision's check (imagelabels.mat or setid.mat missing or not matching its "
            f"MD5, or no jpg/ folder): {exc}. Delete the folder to download it again. {hint}"
        ) from exc
    return base


def oxford102_index(
    root, partition="classes", limit=None, captions_per_image=cf.CAPTIONS_PER_IMAGE, captions_url=None
) -> cf.CaptionIndex:
    """The Oxford-102 images of each split with their captions (downloading what is missing)."""
    from scipy.io import loadmat

    _check_index(partition, limit, captions_per_image)
    root = Path(root)
    key = ("oxford102", root.resolve(), partition, limit, captions_per_image, captions_url)
    if key in cf.INDEXES:
        return cf.INDEXES[key]
    base = _flowers_folder(root)
    captions = replace(FLOWERS_CAPTIONS, url=captions_url or FLOWERS_CAPTIONS.url)
    captions_hint = _manual(
        "Reed et al.'s Oxford-102 captions", f"{_drive_page(FLOWERS_DRIVE)} (github.com/reedscot/cvpr2016)",
        root / captions.name, "data.loader.captions_url", "cvpr2016_flowers.tar.gz",
    )  # fmt: skip
    text = cf.find_base(
        cf.fetch_archive(captions, root, captions_hint, confirm_page=True), "text_c10", captions_hint
    )
    labels = loadmat(base / "imagelabels.mat", squeeze_me=True)["labels"].reshape(-1).tolist()
    # Sorted by class (as CUB's images.txt is), so data.loader.limit keeps images of every class.
    entries = sorted(
        (
            cf.Entry(base / "jpg" / f"image_{i:05d}.jpg", f"class_{c:05d}/image_{i:05d}", i, int(c) - 1)
            for i, c in enumerate(labels, 1)
        ),
        key=lambda e: (e.label, e.image_id),
    )
    if partition == "official":
        ids = loadmat(base / "setid.mat", squeeze_me=True)
        test_ids = set(ids["tstid"].reshape(-1).tolist())
        split = {"train": [e for e in entries if e.image_id not in test_ids],
                 "test": [e for e in entries if e.image_id in test_ids]}  # fmt: skip
    else:
        train, test = _class_split(text, captions_hint)
        for name in train | test:
            if not re.fullmatch(r"class_\d{5}", name):
                raise DatasetError(
                    f"{text}: {name!r} is not an Oxford-102 class (class_00001...). {captions_hint}"
                )
        split = _split_by_class(
            entries, {"train": train, "test": test}, lambda e: e.name.split("/")[0], text, captions_hint
        )
    hint = (
        f"The captions in {text} do not cover every image of Oxford-102 (an incomplete extraction, or "
        f"another dataset's archive). Delete {root / captions.name} and fetch again. {captions_hint}"
    )
    sources = {"images": "torchvision Flowers102 (MD5-checked)"}
    index = _captioned("oxford102", split, text, captions_per_image, limit, hint, sources)
    cf.INDEXES[key] = index
    return index


def oxford102_items(
    root, split: str, canvas: int = 64, partition: str = "classes", crop: str = "full", limit=None,
    seed: int = 0, captions_per_image: int = cf.CAPTIONS_PER_IMAGE, captions_url=None, rows: str = "image",
) -> dict[str, torch.Tensor]:  # fmt: skip
    """One split of Oxford-102 with Reed et al.'s captions: image, label, caption, image_id."""
    cf.check_split(split)
    _check_images("oxford102", canvas, crop, rows)
    index = oxford102_index(root, partition, limit, captions_per_image, captions_url)
    return _fields(index, root, split, canvas, crop, seed, rows)


def oxford102_captions(
    root, partition: str = "classes", limit=None, captions_per_image: int = cf.CAPTIONS_PER_IMAGE,
    captions_url=None,
) -> tuple[list[str], torch.Tensor]:  # fmt: skip
    """The caption table of :func:`oxford102_items` with the same options, and its meaning ids."""
    return oxford102_index(root, partition, limit, captions_per_image, captions_url).table()


def _fields(index: cf.CaptionIndex, root, split: str, canvas: int, crop: str, seed: int, rows: str):
    entries = index.splits[split]
    fields = {
        "image": cf.decoded_images(index, root, canvas, crop)[split],
        "label": torch.tensor([e.label for e in entries], dtype=torch.int64),
        "caption": index.caption_ids(split, seed),
        "image_id": torch.tensor([e.image_id for e in entries], dtype=torch.int64),
    }
    if rows == "image":
        return fields
    # One row per caption: the split's captions are contiguous in the table, image by image.
    counts = torch.tensor([len(c) for c in index.captions[split]], dtype=torch.int64)
    image = torch.repeat_interleave(torch.arange(len(entries)), counts)
    first = index.first_id(split)
    return {
        **{k: v[image] for k, v in fields.items() if k != "caption"},
        "caption": torch.arange(first, first + int(counts.sum()), dtype=torch.int64),
    }

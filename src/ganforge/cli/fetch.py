"""``ganforge-fetch``: materialise a dataset's splits as files in ``data/<name>/`` with checksums.

    ganforge-fetch data=fashion_mnist            # compose conf/ with Hydra overrides
    python -m ganforge.cli.fetch --params params.yaml          # the DVC `fetch` stage
    python -m ganforge.cli.fetch --params params.yaml --verify # does the data still match?
    ganforge-fetch --archive horse2zebra         # a CycleGAN authors' archive into data/cyclegan/

Writes ``train.pt`` and ``test.pt`` (each split exactly as training loads it: ``{"samples", "labels"}`` for
image and point datasets, ``{field: tensor}`` for datasets of named fields such as the unpaired domains
``a``/``b`` of ``data=mnist5k_to_edges`` or ``data=horse2zebra``) and ``checksums.json`` (SHA-256 of each
split's content). Datasets that download (mnist, cifar10) are
downloaded into ``paths.data_dir`` on the way. ``--verify`` reloads the splits from their source and fails
with a DatasetError when they no longer match the recorded checksums (the DVC ``train`` stage runs it, so
a pipeline never trains on data other than the data it fetched).

``--archive NAME`` downloads one of the CycleGAN authors' unpaired archives (horse2zebra, monet2photo,
summer2winter_yosemite, apple2orange, ...) into ``paths.data_dir/cyclegan/NAME``, recording the archive's
SHA-256 (``source.sha256``) and every extracted image's (``manifest.json``); with ``--verify`` it checks the
extracted images against that manifest.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import sys
from pathlib import Path

import torch

from ganforge.data.base import InMemoryDataModule
from ganforge.errors import DatasetError, GanforgeError
from ganforge.io import atomic_path, atomic_write_text

SPLITS = ("train", "test")
CHECKSUMS = "checksums.json"


def content_sha256(*tensors: torch.Tensor) -> str:
    """A hash of the split's values (not of a file format): shapes, dtypes and bytes, in order."""
    digest = hashlib.sha256()
    for tensor in tensors:
        tensor = tensor.detach().cpu().contiguous()
        digest.update(f"{tuple(tensor.shape)}|{tensor.dtype}|".encode())
        digest.update(tensor.numpy().tobytes())
    return digest.hexdigest()


def dataset_dir(cfg) -> Path:
    return Path(cfg.paths.data_dir) / str(cfg.data.name)


def split_content(datamodule, split: str) -> dict[str, torch.Tensor]:
    """A split as stored in ``<split>.pt``, in hashing order.

    (sample, label) datasets keep the file layout and checksums they always had ({"samples", "labels"});
    datasets of named fields store every field their loader returns (ground truth of a test split too),
    in sorted order.
    """
    if isinstance(datamodule, InMemoryDataModule):
        samples, labels = datamodule.load_split(split)
        return {"samples": samples, "labels": labels}
    fields = datamodule.split_fields(split)  # checked: every declared field present and non-empty
    return {name: fields[name] for name in sorted(fields)}


def _describe(content: dict[str, torch.Tensor]) -> dict:
    if set(content) == {"samples", "labels"}:
        samples = content["samples"]
        return {
            "num_samples": len(samples),
            "shape": list(samples.shape[1:]),
            "dtype": str(samples.dtype).removeprefix("torch."),
        }
    return {
        "fields": {
            name: {
                "num_samples": len(t),
                "shape": list(t.shape[1:]),
                "dtype": str(t.dtype).removeprefix("torch."),
            }
            for name, t in content.items()
        }
    }


def fetch(cfg) -> dict:
    """Write every split of ``cfg.data`` and its checksums into ``data/<name>/``; returns the record."""
    from ganforge.build import build_datamodule

    datamodule = build_datamodule(cfg)
    out = dataset_dir(cfg)
    record = {"dataset": str(cfg.data.name), "splits": {}}
    for split in SPLITS:
        content = split_content(datamodule, split)
        # Saved through a buffer: torch.save names the archive after the file, and the temporary name of an
        # atomic write would make the bytes differ on every fetch (DVC would see changed data each time).
        buffer = io.BytesIO()
        torch.save(content, buffer)
        with atomic_path(out / f"{split}.pt") as tmp:
            tmp.write_bytes(buffer.getvalue())
        record["splits"][split] = {
            "file": f"{split}.pt",
            **_describe(content),
            "sha256": content_sha256(*content.values()),
        }
    atomic_write_text(out / CHECKSUMS, json.dumps(record, indent=2) + "\n")
    return record


def verify(cfg) -> dict:
    """Reload the splits from their source and compare with the recorded checksums."""
    from ganforge.build import build_datamodule

    path = dataset_dir(cfg) / CHECKSUMS
    if not path.is_file():
        raise DatasetError(
            f"{path} is missing: fetch the dataset first (dvc repro fetch, or ganforge-fetch)."
        )
    record = json.loads(path.read_text())
    datamodule = build_datamodule(cfg)
    for split in SPLITS:
        expected = record["splits"][split]["sha256"]
        content = split_content(datamodule, split)
        if content_sha256(*content.values()) != expected:
            raise DatasetError(
                f"The {split} split of {cfg.data.name} no longer matches {path} (its source changed). "
                "Fetch it again (dvc repro fetch) so the pipeline records and trains on the same data."
            )
        stored = torch.load(dataset_dir(cfg) / record["splits"][split]["file"], weights_only=True)
        if (
            not isinstance(stored, dict)
            or set(stored) != set(content)
            or content_sha256(*(stored[k] for k in content)) != expected
        ):
            raise DatasetError(
                f"{dataset_dir(cfg) / record['splits'][split]['file']} is corrupt; fetch again."
            )
    return record


def fetch_archive(cfg, name: str, check: bool = False, url: str | None = None) -> dict:
    """Download (with ``check``: verify) a CycleGAN archive under ``paths.data_dir``; returns the record."""
    from ganforge.data import unpaired_sources as up

    if check:
        folder = up.archive_dir(cfg.paths.data_dir, name)
        if not folder.is_dir():
            raise DatasetError(f"{folder} is missing: fetch it first with ganforge-fetch --archive {name}.")
    else:
        folder = up.download_cyclegan_dataset(name, cfg.paths.data_dir, url=url)
    for split in SPLITS:
        up.verify_archive(folder, split)
    manifest = up.read_manifest(folder)
    counts = {
        f"{s}{d}": sum(k.startswith(f"{s}{d}/") for k in manifest["files"]) for s in SPLITS for d in "AB"
    }
    return {"folder": folder, "sha256": manifest["archive_sha256"], "counts": counts}


def _count(split_record: dict) -> str:
    if "fields" in split_record:
        return " + ".join(
            f"{v['num_samples']} {name}"
            for name, v in split_record["fields"].items()
            # images [C, H, W] and audio clips [1, T]; labels and other per-sample values are not counted
            if len(v["shape"]) >= 2
        )
    return str(split_record["num_samples"])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="ganforge-fetch", description=__doc__.split("\n")[0])
    parser.add_argument("--params", help="read this composed config (DVC's params.yaml) instead of conf/")
    parser.add_argument("--verify", action="store_true", help="check the fetched files instead of writing")
    parser.add_argument("--archive", metavar="NAME", help="download a CycleGAN archive, e.g. horse2zebra")
    parser.add_argument(
        "--url", help="with --archive: download from here (a mirror, or file:///.../NAME.zip)"
    )
    parser.add_argument("overrides", nargs="*", help="Hydra overrides, e.g. data=fashion_mnist")
    args = parser.parse_args(argv)
    from ganforge.config.hydra_errors import composition_errors
    from ganforge.config.params import load_config

    try:
        with composition_errors():
            cfg = load_config(args.params, args.overrides)
        if args.archive:
            archive = fetch_archive(cfg, args.archive, check=args.verify, url=args.url)
        else:
            record = verify(cfg) if args.verify else fetch(cfg)
    except GanforgeError as exc:
        print(f"ganforge-fetch: error: {exc}", file=sys.stderr)
        sys.exit(2)
    if args.archive:
        counts = ", ".join(f"{k}: {v}" for k, v in archive["counts"].items())
        verb = "verified" if args.verify else "fetched"
        print(
            f"ganforge-fetch: {verb} {args.archive} ({counts}; archive SHA-256 {archive['sha256']}) "
            f"in {archive['folder']}"
        )
        return
    sizes = ", ".join(f"{s}: {_count(v)}" for s, v in record["splits"].items())
    verb = "verified" if args.verify else "fetched"
    print(f"ganforge-fetch: {verb} {record['dataset']} ({sizes}) in {dataset_dir(cfg)}")


if __name__ == "__main__":
    main()

"""Turn the char-CNN-RNN embeddings published with StackGAN into a ``text_encoder=precomputed`` file.

StackGAN's preprocessed metadata for birds and flowers (github.com/hanzhanggit/StackGAN, "Download our
preprocessed char-CNN-RNN text embeddings") holds, per split folder (train/, test/),
``char-CNN-RNN-embeddings.pickle`` (float [n images, 10, 1024]: Reed et al.'s text encoder applied to
each of the image's ten captions) and ``filenames.pickle`` (the n image names, in the same order:
``001.Black_footed_Albatross/Black_Footed_Albatross_0046_18`` or ``jpg/image_00001``). Embedding
[i, j] belongs to the j-th caption of image i's ``text_c10`` file (StackGAN's own loader pairs them so).

This matches each image by its file name (the basename, in any class folder of ``text_c10``) and each
caption by its index, reading the captions exactly as ``data=captioned_cub200`` / ``captioned_oxford102``
do (ganforge.data.caption_files.read_captions), so every caption of their caption table finds its row:

    python -m ganforge.text.convert_published --captions data/reed_cvpr2016_cub \\
        --split Data/birds/train --split Data/birds/test --out data/cub_char_cnn_rnn.pt
    ganforge-train model=gan_int_cls data=captioned_cub200 text_encoder=precomputed \\
        text_encoder.path=data/cub_char_cnn_rnn.pt text_encoder.dim=1024

The pickles are Python 2 pickles; they are read with an unpickler that builds numpy arrays, lists and
strings and refuses anything else (a pickle may otherwise run any code).
"""

from __future__ import annotations

import argparse
import importlib
import io
import pickle
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from ganforge.errors import DatasetError, GanforgeError

EMBEDDINGS = "char-CNN-RNN-embeddings.pickle"
FILENAMES = "filenames.pickle"
# What a pickled numpy array needs (protocol 2 as Python 2 and 3 write it, and protocol 5's buffers).
_NUMPY_GLOBALS = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("_codecs", "encode"),  # how Python 3 writes bytes into a protocol 2 pickle
}


class _NumpyOnly(pickle.Unpickler):
    def find_class(self, module: str, name: str):
        plain = module.replace("numpy._core", "numpy.core")
        if (plain, name) not in _NUMPY_GLOBALS:
            raise pickle.UnpicklingError(f"refusing {module}.{name}: only numpy arrays are read")
        for candidate in (plain.replace("numpy.core", "numpy._core"), plain):  # numpy 2 moved numpy.core
            try:
                return getattr(importlib.import_module(candidate), name)
            except (ImportError, AttributeError):
                continue
        raise pickle.UnpicklingError(f"numpy has no {module}.{name}")


def read_pickle(path: Path):
    """A published pickle (Python 2 or 3), holding only numpy arrays, lists, tuples and strings."""
    try:
        data = path.read_bytes()
        return _NumpyOnly(io.BytesIO(data), encoding="latin1").load()
    except FileNotFoundError:
        raise DatasetError(
            f"{path} is missing: give --split folders holding {EMBEDDINGS} and {FILENAMES} (StackGAN's "
            "preprocessed train/ and test/ folders)."
        ) from None
    except Exception as exc:  # noqa: BLE001 - any unreadable pickle gets the same explanation
        raise DatasetError(
            f"{path} is not a readable published pickle ({type(exc).__name__}: {exc})."
        ) from exc


def caption_files(captions_dir: Path) -> dict[str, Path]:
    """{image stem: its caption file} over every class folder of ``text_c10``."""
    from ganforge.data.caption_files import find_base

    hint = "Point --captions at the extracted cvpr2016_cub / cvpr2016_flowers archive."
    text = find_base(Path(captions_dir), "text_c10", hint) / "text_c10"
    files: dict[str, Path] = {}
    for path in sorted(text.glob("*/*.txt")):
        if files.setdefault(path.stem, path) != path:
            raise DatasetError(f"Two caption files are named {path.stem}.txt ({files[path.stem]}, {path}).")
    if not files:
        raise DatasetError(f"{text} holds no <class>/<image>.txt caption files. {hint}")
    return files


def convert(
    splits: Sequence[str | Path], captions_dir: str | Path, out: str | Path, embeddings_name: str = EMBEDDINGS
) -> dict:
    """Write ``out`` (.pt or .npz: 'captions', 'embeddings' [n, dim]); returns a summary."""
    from ganforge.data.caption_files import read_captions
    from ganforge.io import atomic_path

    files = caption_files(Path(captions_dir))
    rows: dict[str, np.ndarray] = {}
    images = unused = conflicts = 0
    for folder in map(Path, splits):
        embeddings = np.asarray(read_pickle(folder / embeddings_name), dtype=np.float32)
        names = [str(n) for n in read_pickle(folder / FILENAMES)]
        if embeddings.ndim == 2:  # one embedding per image: its first caption
            embeddings = embeddings[:, None]
        if embeddings.ndim != 3 or len(embeddings) != len(names):
            raise DatasetError(
                f"{folder}: {embeddings_name} holds {list(embeddings.shape)} for {len(names)} file names; "
                "it must be [n images, captions per image, dim] in the order of filenames.pickle."
            )
        for name, per_image in zip(names, embeddings):
            stem = Path(name).name.removesuffix(".jpg")
            if stem not in files:
                raise DatasetError(
                    f"{folder / FILENAMES} names {name}, but no text_c10/<class>/{stem}.txt exists under "
                    f"{captions_dir}: the embeddings and the captions are of different datasets."
                )
            captions = read_captions(files[stem], len(per_image), f"(the captions of {name})")
            unused += len(per_image) - len(captions)
            for caption, vector in zip(captions, per_image):
                if caption in rows:  # the same words under two images: the first row stays
                    conflicts += int(not np.allclose(rows[caption], vector, atol=1e-4))
                    continue
                rows[caption] = vector
            images += 1
    if not rows:
        raise DatasetError("No embeddings were converted: give at least one --split folder.")
    texts = list(rows)
    matrix = np.stack([rows[t] for t in texts]).astype(np.float32)
    out = Path(out)
    with atomic_path(out) as tmp:
        if out.suffix == ".npz":
            with open(tmp, "wb") as f:
                np.savez(f, captions=np.array(texts), embeddings=matrix)
        else:
            buffer = io.BytesIO()
            torch.save({"captions": texts, "embeddings": torch.from_numpy(matrix)}, buffer)
            tmp.write_bytes(buffer.getvalue())
    return {
        "path": out,
        "images": images,
        "captions": len(texts),
        "dim": int(matrix.shape[1]),
        "unused_embeddings": unused,  # embeddings of images whose file holds fewer captions
        "conflicting_duplicates": conflicts,  # equal words, different published embeddings
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m ganforge.text.convert_published", description=__doc__)
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("--split", action="append", required=True, metavar="DIR",
                        help=f"a folder with {EMBEDDINGS} and {FILENAMES} (repeat: train, test)")  # fmt: skip
    parser.add_argument("--captions", required=True, metavar="DIR",
                        help="the extracted Reed et al. archive (the folder holding text_c10/)")  # fmt: skip
    parser.add_argument("--out", required=True, metavar="FILE", help="the .pt or .npz file to write")
    parser.add_argument("--embeddings-name", default=EMBEDDINGS, help="e.g. char-CNN-GRU-embeddings.pickle")
    args = parser.parse_args(argv)
    try:
        summary = convert(args.split, args.captions, args.out, args.embeddings_name)
    except GanforgeError as exc:
        print(f"convert_published: error: {exc}", file=sys.stderr)
        sys.exit(2)
    print(
        f"convert_published: {summary['captions']} captions of {summary['images']} images, "
        f"{summary['dim']}-d, in {summary['path']} ({summary['conflicting_duplicates']} repeated caption(s) "
        f"with differing embeddings kept their first). Use it with: text_encoder=precomputed "
        f"text_encoder.path={summary['path']} text_encoder.dim={summary['dim']}"
    )


if __name__ == "__main__":
    main()

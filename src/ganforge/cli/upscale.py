"""``ganforge-upscale ckpt=<path> input=<image | folder> out=<folder> [device=cpu]``

Super-resolves image files with a super-resolution checkpoint's generator (model=srresnet or srgan; its
EMA copy if the run kept one). The generator is fully convolutional, so whole images of any size are
upscaled in one pass (no tiling). Each image is converted to the model's channels first (RGB to BT.601
luma for a grayscale model, grayscale tiled to RGB for a colour one; alpha and palettes dropped) and
written as ``<out>/<name>.png``, atomically. A folder is read without recursion; every file in it with an
image suffix is checked (PIL's verify) before anything is written, so a broken file fails the command
before any work.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import torch

from ganforge.errors import GanforgeError

USAGE = "usage: ganforge-upscale ckpt=<path/to/x.ckpt> input=<image | folder> out=<folder> [device=cpu|cuda]"
KEYS = {"ckpt", "input", "out", "device"}


def parse_args(argv: list[str]) -> dict:
    from ganforge.cli.checks import parse_key_values

    args = {k: str(v) for k, v in parse_key_values(argv, KEYS, USAGE).items()}
    missing = [k for k in ("ckpt", "input", "out") if not args.get(k)]
    if missing:
        raise GanforgeError(f"Missing {', '.join(f'{k}=' for k in missing)}. {USAGE}")
    return args


def input_files(source: Path) -> list[Path]:
    """The image files to upscale: the file itself, or every image-suffixed file of a folder (sorted)."""
    from ganforge.data.sources import IMAGE_SUFFIXES

    if not source.exists():
        raise GanforgeError(f"input={source} does not exist; pass an image file or a folder of images.")
    if source.is_file():
        return [source]
    files = sorted(p for p in source.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise GanforgeError(
            f"input={source} holds no images ({', '.join(sorted(IMAGE_SUFFIXES))}); pass a folder of images."
        )
    return files


def _not_an_image(path: Path, exc: Exception) -> GanforgeError:
    return GanforgeError(
        f"{path} is not a readable image ({type(exc).__name__}: {exc}); remove it or pass image files only "
        "(PNG, JPEG, BMP, TIFF, ...)."
    )


def check_image(path: Path) -> None:
    """Fail on a file PIL cannot identify or finds broken, without decoding all its pixels."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im.verify()
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise _not_an_image(path, exc) from exc


def read_image(path: Path, channels: int) -> torch.Tensor:
    """uint8 [C, H, W] with the model's channel count, or a GanforgeError naming the file."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            im.load()
            converted = im.convert("L" if channels == 1 else "RGB")
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        raise _not_an_image(path, exc) from exc
    array = np.asarray(converted)
    tensor = torch.from_numpy(array.copy())
    return tensor[None] if tensor.dim() == 2 else tensor.permute(2, 0, 1).contiguous()


def load_upscaler(ckpt_path: str | Path, device: str = "cpu"):
    """The checkpoint's SR module (weights, phase), ready to upscale; refuses other families."""
    from ganforge.checkpoints import load_trained_module
    from ganforge.families.srgan import SR_FAMILY_TARGETS

    def super_resolution_only(module, cfg) -> None:
        if str(cfg.model.get("_target_")) not in SR_FAMILY_TARGETS:
            raise GanforgeError(
                f"{ckpt_path} is a checkpoint of model={cfg.model.get('name')}, not of a super-resolution "
                "family: ganforge-upscale needs a model=srresnet or model=srgan checkpoint (ganforge-sample "
                "draws samples of other families)."
            )

    return load_trained_module(ckpt_path, super_resolution_only, device).module


def upscale_files(
    ckpt_path: str | Path, source: str | Path, out: str | Path, device: str = "cpu"
) -> list[Path]:
    """Upscale ``source`` (an image or a folder of images) into ``out``; returns the written paths."""
    from PIL import Image

    from ganforge.data.base import uint8_to_model_space
    from ganforge.families.srgan import to_uint8
    from ganforge.io import atomic_path

    source, out = Path(source).expanduser(), Path(out).expanduser()
    files = input_files(source)  # before the checkpoint: a wrong path fails in a second
    targets = [out / f"{f.stem}.png" for f in files]
    clashes = sorted({t.name for t in targets if targets.count(t) > 1})
    if clashes:
        raise GanforgeError(
            f"Several inputs would be written as {clashes} in {out} (same name, different suffixes); rename "
            "them or upscale them into different folders."
        )
    overwritten = [f for f, t in zip(files, targets) if t.resolve() == f.resolve()]
    if overwritten:
        raise GanforgeError(
            f"out={out} would overwrite the input {overwritten[0]}; choose another out folder."
        )
    if out.exists() and not out.is_dir():
        raise GanforgeError(f"out={out} is a file; pass a folder for the upscaled images.")
    for f in files:
        check_image(f)
    module = load_upscaler(ckpt_path, device)
    for f, target in zip(files, targets):
        sr = module.upscale(uint8_to_model_space(read_image(f, module.channels)[None]))
        pixels = to_uint8(sr)[0].permute(1, 2, 0).numpy()
        picture = Image.fromarray(pixels[..., 0] if pixels.shape[-1] == 1 else pixels)
        with atomic_path(target) as tmp:
            picture.save(tmp, format="png")
    return targets


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    try:
        args = parse_args(argv)
        written = upscale_files(args["ckpt"], args["input"], args["out"], args.get("device", "cpu"))
    except GanforgeError as exc:
        print(f"ganforge-upscale: error: {exc}", file=sys.stderr)
        sys.exit(2)
    for path in written:
        print(f"wrote {path}")


if __name__ == "__main__":
    main()

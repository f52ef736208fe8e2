"""``ganforge-translate ckpt=<path> input=<image | folder> [direction=a2b|b2a] [out=<folder>] [device=cpu]``

Translates image files with an image-to-image checkpoint (model=cyclegan): each input image is converted
to the model's domain shape (grey or RGB, centre-cropped to a square and resized to the size the model
was trained on), translated by the direction's generator (its EMA copy if the run kept one) and written as
``<out>/<input name>.png`` (same name, PNG), each file atomically. A folder translates every image directly
in it (files of other types are skipped). Every input is read before anything is written, so an unreadable
image fails the command with nothing half done. ``out`` defaults to ``<run>/translated/<direction>``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import torch

from ganforge.errors import GanforgeError

USAGE = (
    "usage: ganforge-translate ckpt=<path/to/x.ckpt> input=<image file | folder> [direction=a2b|b2a] "
    "[out=<folder>] [device=cpu|cuda]"
)
KEYS = {"ckpt", "input", "direction", "out", "device"}
CHUNK = 64  # images per forward pass


def parse_args(argv: list[str]) -> dict:
    from ganforge.cli.checks import parse_key_values

    args = parse_key_values(argv, KEYS, USAGE)
    for key in ("ckpt", "input"):
        if args.get(key) in (None, ""):
            raise GanforgeError(f"Missing {key}=<path>. {USAGE}")
    args["direction"] = str(args.get("direction", "a2b"))
    return args


def _translating_models() -> list[str]:
    """model=<name> options under conf/model whose family translates images (has translation_directions)."""
    import yaml
    from hydra.utils import get_class

    from ganforge.config.loading import CONF_DIR

    names = []
    for path in sorted((CONF_DIR / "model").glob("*.yaml")):
        target = (yaml.safe_load(path.read_text()) or {}).get("_target_")
        try:
            if target and getattr(get_class(target), "translation_directions", None):
                names.append(path.stem)
        except Exception:  # noqa: BLE001, S112 - a config whose class cannot load translates nothing
            continue
    return names


def load_translator(ckpt_path: str | Path, direction: str, device: str = "cpu"):
    """The checkpoint's module, ready to translate ``direction`` (GanforgeError otherwise)."""
    from ganforge.checkpoints import load_trained_module

    def translates_direction(module, cfg) -> None:
        directions = getattr(module, "translation_directions", None)
        if not directions:
            models = ", ".join(f"model={m}" for m in _translating_models()) or "none"
            raise GanforgeError(
                f"{ckpt_path} is a model={cfg.model.name} checkpoint, and that family has no translation "
                f"directions (a2b, b2a). ganforge-translate needs an image-to-image translation family: "
                f"{models}. Draw samples of this model with ganforge-sample instead."
            )
        if direction not in directions:
            raise GanforgeError(
                f"direction={direction!r} is unknown; model={cfg.model.name} translates "
                f"{' or '.join(sorted(directions))}. {USAGE}"
            )

    trained = load_trained_module(ckpt_path, translates_direction, device)
    return trained.module, trained.ckpt


def input_files(path: str | Path) -> list[Path]:
    from ganforge.data.sources import IMAGE_SUFFIXES

    path = Path(str(path)).expanduser()
    if not path.exists():
        raise GanforgeError(f"input={path} does not exist. Pass an image file or a folder of images.")
    if path.is_file():
        return [path]
    files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise GanforgeError(
            f"input={path} holds no images ({', '.join(sorted(IMAGE_SUFFIXES))}); pass a folder of images or "
            "one image file."
        )
    names = [p.stem for p in files]
    clashes = sorted({n for n in names if names.count(n) > 1})
    if clashes:
        raise GanforgeError(
            f"input={path} holds several images named {clashes[0]}.* and every output is <name>.png; rename "
            "one of them or translate them separately."
        )
    return files


def read_image(path: Path, shape: tuple[int, ...]) -> torch.Tensor:
    """uint8 [C, H, W] of ``shape``: grey or RGB, centre-cropped to its aspect ratio, then resized."""
    import numpy as np
    from PIL import Image, UnidentifiedImageError
    from torchvision.transforms.v2.functional import center_crop, resize

    channels, height, width = shape
    try:
        with Image.open(path) as im:
            arr = np.asarray(im.convert({1: "L", 3: "RGB"}[channels]))
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise GanforgeError(
            f"input {path} is not an image ganforge can read ({type(exc).__name__}: {exc}). Pass PNG, JPEG "
            "or other image files (PIL's formats)."
        ) from exc
    image = torch.from_numpy(arr.reshape(arr.shape[0], arr.shape[1], channels).copy()).permute(2, 0, 1)
    h, w = image.shape[1:]
    crop = (min(h, round(w * height / width)), min(w, round(h * width / height)))
    if (h, w) != crop:
        image = center_crop(image, list(crop))
    if tuple(image.shape[1:]) != (height, width):
        image = resize(image, [height, width], antialias=True)
    return image


def translate_files(
    ckpt_path: str | Path,
    input_path: str | Path,
    direction: str = "a2b",
    out: str | Path | None = None,
    device: str = "cpu",
) -> list[Path]:
    """Translate every input image; returns the written PNG paths (in input order)."""
    from PIL import Image

    from ganforge.io import atomic_path
    from ganforge.metrics.evaluate import to_storage

    files = input_files(input_path)
    out_dir = Path(out) if out else Path(ckpt_path).resolve().parent.parent / "translated" / direction
    overwritten = [p for p in files if (out_dir / f"{p.stem}.png").resolve() == p.resolve()]
    if overwritten:
        raise GanforgeError(
            f"out={out_dir} would overwrite the input {overwritten[0]}; write the translations to another "
            "folder."
        )
    if str(device).startswith("cuda") and not torch.cuda.is_available():
        raise GanforgeError(f"device={device}, but no CUDA device is available here; use device=cpu.")
    module, _ = load_translator(ckpt_path, direction, device)
    shape = module.translation_shape(direction)
    if len(shape) != 3 or shape[0] not in (1, 3):
        raise GanforgeError(f"ganforge-translate writes grey or RGB images; this model's are {list(shape)}.")
    images = torch.stack([read_image(p, shape) for p in files])  # all read before any is written
    written = []
    for start in range(0, len(files), CHUNK):
        batch = images[start : start + CHUNK].float().div(127.5).sub(1.0)
        translated = to_storage(module.translate(batch, direction))
        for path, image in zip(files[start : start + CHUNK], translated):
            pixels = image.permute(1, 2, 0).numpy()
            target = out_dir / f"{path.stem}.png"
            with atomic_path(target) as tmp:
                Image.fromarray(pixels[..., 0] if shape[0] == 1 else pixels).save(tmp, format="png")
            written.append(target)
    return written


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    try:
        args = parse_args(argv)
        written = translate_files(
            args["ckpt"], args["input"], args["direction"], args.get("out"), str(args.get("device", "cpu"))
        )
    except GanforgeError as exc:
        print(f"ganforge-translate: error: {exc}", file=sys.stderr)
        sys.exit(2)
    print(f"translated {len(written)} image(s) {args['direction']} into {written[0].parent}")


if __name__ == "__main__":
    main()

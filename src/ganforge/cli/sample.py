"""``ganforge-sample ckpt=<path> n=<count> [out=<dir>] [seed=<int>] [device=cpu] [class=<int>] [option=...]``

Writes a PNG grid and a tensor file (``torch.load``-able, model space: images in [-1, 1], points as is)
of ``n`` samples from a checkpoint's generator (its EMA copy if the run kept one). Conditional models
draw one row per class, or only class ``class`` when it is given. Inputs and picture are the family's
(``sampling_inputs`` / ``render_samples``): image-to-image families translate test-split inputs. The
PNG is labelled like the training run's grids (the checkpoint's step and run name, >= 512 px).
Further ``key=value`` arguments are the family's sampling options (``truncation=0.7`` for model=stylegan;
``AdversarialModule.sampling_options``), checked before any sample is drawn and named in the file names.
Families with other files of their samples (``extra_media``: WaveGAN / SpecGAN's WAV clips) write those
of the pictured samples (the first 256) beside the PNG, in ``<stem>_audio/``.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import torch

from ganforge.errors import GanforgeError

USAGE = (
    "usage: ganforge-sample ckpt=<path/to/x.ckpt> n=<count> [out=<dir>] [seed=<int>] [device=cpu|cuda] "
    "[class=<int>] [family sampling options, e.g. truncation=0.7]"
)
KEYS = {"ckpt", "n", "out", "seed", "device", "class"}
MAX_GRID = 256  # more samples than this go to the tensor file only; the grid shows the first 256


def parse_args(argv: list[str]) -> dict:
    from ganforge.cli.checks import parse_key_values

    args = parse_key_values(argv, KEYS, USAGE, allow_extra=True)
    if "ckpt" not in args:
        raise GanforgeError(f"Missing ckpt=<path>. {USAGE}")
    n = args.get("n", 64)
    if not isinstance(n, int) or n < 1:
        raise GanforgeError(f"n={n!r} must be a positive integer. {USAGE}")
    seed = args.get("seed", 0)
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise GanforgeError(f"seed={seed!r} must be an integer. {USAGE}")
    label = args.get("class")
    if label is not None and (not isinstance(label, int) or isinstance(label, bool)):
        raise GanforgeError(f"class={label!r} must be an integer class index. {USAGE}")
    return args


def sample_checkpoint(
    ckpt_path: str | Path,
    n: int,
    out: str | Path | None = None,
    seed: int = 0,
    device: str | torch.device = "cpu",
    label: int | None = None,
    options: dict | None = None,
) -> tuple[Path, Path]:
    """Generate ``n`` samples from a checkpoint (all of class ``label`` if given, for conditional models;
    with the family's sampling ``options``); returns (png path, tensor path)."""
    from ganforge.build import build_datamodule, picture_run_name
    from ganforge.checkpoints import load_trained_module
    from ganforge.cli.checks import resolve_device, writable_dir
    from ganforge.data.base import take
    from ganforge.data.render import label_picture
    from ganforge.io import atomic_path
    from ganforge.metrics.evaluate import sample_in_chunks

    device = resolve_device(device)
    trained = load_trained_module(ckpt_path, device=device)
    module, cfg, step = trained.module, trained.cfg, trained.gen_step
    # Checked before sampling (the default lies next to the checkpoint's run, which exists by now).
    out_dir = writable_dir(out if out else Path(ckpt_path).resolve().parent.parent / "generated", "out")
    options = module.configure_sampling(options or {})
    datamodule = build_datamodule(cfg)
    module.bind_data(datamodule)
    stem = f"step_{step:07d}_n{n}_seed{seed}" + "".join(_name_part(k, v) for k, v in sorted(options.items()))
    # The family's fixed inputs: noise (and labels) for noise-driven families, test-split inputs for
    # image-to-image ones.
    inputs = module.sampling_inputs(n, seed, datamodule)
    nrow = module.grid_nrow if n <= MAX_GRID else None
    if label is not None:
        inputs["label"], nrow = _class_labels(inputs.get("label"), label, cfg), None
        stem += f"_class{label}"
    samples = sample_in_chunks(module, inputs, chunk=1024)
    tensor_path, png_path = out_dir / f"{stem}.pt", out_dir / f"{stem}.png"
    with atomic_path(tensor_path) as tmp:
        torch.save(samples, tmp)
    # A scatter of 2-D points needs more than a grid shows (datamodule.picture_samples).
    shown = min(n, max(MAX_GRID, datamodule.picture_samples or 0))
    nrow = nrow or max(1, int(shown**0.5))
    module.render_samples(png_path, take(inputs, slice(0, shown)), samples[:shown], datamodule, nrow=nrow)
    ckpt_file = Path(ckpt_path).resolve()
    run_dir = ckpt_file.parent.parent if ckpt_file.parent.name == "checkpoints" else None
    title = f"step {step}" + ("" if label is None else f", class {label}")
    label_picture(png_path, [title, picture_run_name(cfg, run_dir) if run_dir else str(cfg.run_name)])
    # Other files of the pictured samples, e.g. an audio family's WAVs in <stem>_audio/.
    for _, paths in module.extra_media(out_dir / stem, samples[:shown], datamodule, limit=shown).values():
        if paths:
            print(f"wrote {len(paths)} files to {Path(paths[0]).parent}")
    return png_path, tensor_path


def _name_part(key: str, value) -> str:
    """``_<key><value>`` for file names: a caption (text="a small red sandal") becomes a-small-red-sandal,
    cut at 48 characters."""
    text = re.sub(r"[^A-Za-z0-9.]+", "-", str(value)).strip("-")[:48]
    return f"_{key}{text}"


def _class_labels(grid_labels: torch.Tensor | None, label: int, cfg) -> torch.Tensor:
    if grid_labels is None:
        raise GanforgeError(
            f"class={label} was given, but model={cfg.model.name} is unconditional (it takes no class). "
            "Drop class=, or sample a conditional model (e.g. model=cgan)."
        )
    num_classes = cfg.data.num_classes
    if not 0 <= label < num_classes:
        raise GanforgeError(
            f"class={label} is out of range: data={cfg.data.name} has classes 0..{num_classes - 1}."
        )
    return torch.full_like(grid_labels, label)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    try:
        args = parse_args(argv)
        png, pt = sample_checkpoint(
            args["ckpt"],
            args.get("n", 64),
            args.get("out"),
            args.get("seed", 0),
            args.get("device", "cpu"),
            args.get("class"),
            {k: v for k, v in args.items() if k not in KEYS},
        )
    except GanforgeError as exc:
        print(f"ganforge-sample: error: {exc}", file=sys.stderr)
        sys.exit(2)
    print(f"wrote {png}\nwrote {pt}")


if __name__ == "__main__":
    main()

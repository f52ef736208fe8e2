"""``ganforge-mix ckpt=<path> rows=<seeds> cols=<seeds> [levels=coarse|middle|fine|i-j] [out=<file.png>]
[truncation=<psi>] [noise=const|random|none] [device=cpu]``

Writes the style-mixing figure of a StyleGAN checkpoint (its EMA generator if the run kept one): per
level, the pure images of the ``cols`` seeds along the top (source B), the pure images of the ``rows``
seeds down the left (source A), and A with that level's styles from B in between
(ganforge.data.style_figures). Seeds: ``rows=[1,2,3]`` or ``rows=1,2,3``; ``levels`` one name or
index range, or a list (``levels=[coarse,fine]``); by default every level the generator has. The PNG
goes to ``out`` (a .png file or a folder; default ``<run>/mixing/step_<step>_<levels>.png``), written
atomically.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ganforge.errors import GanforgeError

USAGE = (
    "usage: ganforge-mix ckpt=<path/to/x.ckpt> rows=<seeds, e.g. [1,2,3]> cols=<seeds> "
    "[levels=coarse|middle|fine|<i>-<j> or a list] [out=<file.png>] [truncation=<psi in [0, 1]>] "
    "[noise=const|random|none] [device=cpu|cuda]"
)
KEYS = {"ckpt", "rows", "cols", "levels", "out", "truncation", "noise", "device"}
MAX_SEEDS = 32  # per side: a larger figure is unreadable (and slow) anyway


def parse_seeds(value, key: str) -> list[int]:
    """``[1,2]`` / ``1,2`` / ``7`` -> a list of non-negative integer seeds, else a GanforgeError."""
    items = value.split(",") if isinstance(value, str) else value if isinstance(value, list) else [value]
    seeds = []
    for item in items:
        text = str(item).strip()
        if isinstance(item, bool) or not text.isdigit():
            raise GanforgeError(
                f"{key}={value!r}: seeds must be non-negative integers, e.g. {key}=[1,2,3]. {USAGE}"
            )
        seeds.append(int(text))
    if not seeds or len(seeds) > MAX_SEEDS:
        raise GanforgeError(f"{key}= takes 1 to {MAX_SEEDS} seeds; got {len(seeds)}. {USAGE}")
    return seeds


def parse_args(argv: list[str]) -> dict:
    from ganforge.cli.checks import parse_key_values

    args = parse_key_values(argv, KEYS, USAGE)
    for key in ("ckpt", "rows", "cols"):
        if args.get(key) in (None, ""):
            raise GanforgeError(f"Missing {key}=. {USAGE}")
    args["rows"], args["cols"] = parse_seeds(args["rows"], "rows"), parse_seeds(args["cols"], "cols")
    levels = args.get("levels")
    if levels is not None:
        levels = levels if isinstance(levels, list) else [levels]
        if not levels:
            raise GanforgeError(f"levels= names no level. {USAGE}")
        args["levels"] = [str(level) for level in levels]
    psi = args.get("truncation", 1.0)
    if isinstance(psi, bool) or not isinstance(psi, (int, float)) or not 0.0 <= psi <= 1.0:
        raise GanforgeError(f"truncation={psi!r} must be a number in [0, 1] (1 = no truncation). {USAGE}")
    args["truncation"] = float(psi)
    from ganforge.networks.stylegan import NOISE_MODES

    args["noise"] = str(args.get("noise", "const"))
    if args["noise"] not in NOISE_MODES:
        raise GanforgeError(f"noise={args['noise']!r} is unknown; use one of {list(NOISE_MODES)}. {USAGE}")
    return args


def load_style_generator(ckpt_path: str | Path, device: str = "cpu"):
    """(the checkpoint's StyleGenerator for samples, its generator step), or a GanforgeError for
    checkpoints of other families."""
    from ganforge.build import build_module
    from ganforge.checkpoints import checkpoint_config, load_checkpoint
    from ganforge.cli.checks import resolve_device
    from ganforge.families.base import CHECKPOINT_KEY
    from ganforge.finite import check_finite_weights
    from ganforge.networks.stylegan import StyleGenerator

    device = resolve_device(device)
    ckpt = load_checkpoint(ckpt_path)  # refuses a stored config naming any target ganforge never writes
    check_finite_weights(ckpt["state_dict"], ckpt_path)
    cfg = checkpoint_config(ckpt)
    module = build_module(cfg)
    generator = module.sampling_network()
    if not isinstance(generator, StyleGenerator):
        raise GanforgeError(
            f"{ckpt_path} is a model={cfg.model.name} checkpoint; ganforge-mix mixes the styles of a "
            "StyleGAN generator (model=stylegan), which this one has not. Draw its samples with "
            "ganforge-sample."
        )
    module.load_trained(ckpt)
    module.to(device)
    return module.sampling_network().eval(), int(ckpt[CHECKPOINT_KEY]["gen_step"])


def mix_checkpoint(
    ckpt_path: str | Path,
    rows: list[int],
    cols: list[int],
    levels: list[str] | None = None,
    out: str | Path | None = None,
    truncation: float = 1.0,
    noise: str = "const",
    device: str = "cpu",
) -> Path:
    """Write the style-mixing figure of a checkpoint; returns the PNG's path."""
    from ganforge.cli.checks import writable_dir
    from ganforge.data.style_figures import available_levels, mixing_figure, resolve_level, save_png

    generator, step = load_style_generator(ckpt_path, device)
    if levels is None:
        levels = available_levels(generator)
    for level in levels:
        resolve_level(generator, level)  # every level checked before anything is drawn or written
    name = f"step_{step:07d}_{'_'.join(levels)}.png"
    if out:
        path = Path(out).expanduser()
        if path.is_dir() or not path.suffix:  # a folder, created if needed
            path = path / name
        elif path.suffix.lower() != ".png":
            raise GanforgeError(f"out={out} must be a .png file name or a folder. {USAGE}")
    else:
        path = Path(ckpt_path).resolve().parent.parent / "mixing" / name
    writable_dir(path.parent, "out")
    figure = mixing_figure(generator, rows, cols, levels, psi=truncation, noise_mode=noise)
    return save_png(figure, path)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    try:
        args = parse_args(argv)
        path = mix_checkpoint(
            args["ckpt"],
            args["rows"],
            args["cols"],
            args.get("levels"),
            args.get("out"),
            args["truncation"],
            args["noise"],
            args.get("device", "cpu"),
        )
    except GanforgeError as exc:
        print(f"ganforge-mix: error: {exc}", file=sys.stderr)
        sys.exit(2)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()

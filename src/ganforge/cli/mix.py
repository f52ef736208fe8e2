"""``ganforge-mix ckpt=<path> rows=<seeds> cols=<seeds> [levels=coarse|middle|fine|i-j] [out=<file.png>]
[truncation=<psi>] [truncation_cutoff=<n>] [noise_mode=const|random|none] [device=cpu]``

Writes the style-mixing figure of a StyleGAN checkpoint (its EMA generator if the run kept one): per
level, the pure images of the ``cols`` seeds along the top (source B), the pure images of the ``rows``
seeds down the left (source A), and A with that level's styles from B in between
(ganforge.data.style_figures). Seeds: ``rows=[1,2,3]`` or ``rows=1,2,3``; ``levels`` one name or
index range, or a list (``levels=[coarse,fine]``); by default every level the generator has. The PNG
goes to ``out`` (a .png file or a folder; default ``<run>/mixing/step_<step>_<levels>.png``), written
atomically. ``truncation`` / ``truncation_cutoff`` / ``noise_mode`` are StyleGAN's sampling options, checked
by the family as ``ganforge-sample`` checks them (``noise=`` is kept as another name for ``noise_mode=``);
unset, the run's own ``model.*`` values apply.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ganforge.errors import GanforgeError

USAGE = (
    "usage: ganforge-mix ckpt=<path/to/x.ckpt> rows=<seeds, e.g. [1,2,3]> cols=<seeds> "
    "[levels=coarse|middle|fine|<i>-<j> or a list] [out=<file.png>] [truncation=<psi in [0, 1]>] "
    "[truncation_cutoff=<style inputs>] [noise_mode=const|random|none] [device=cpu|cuda]"
)
# The family's sampling options (StyleGAN.sampling_options), checked by the family after loading.
SAMPLING_KEYS = {"truncation", "truncation_cutoff", "noise_mode"}
KEYS = {"ckpt", "rows", "cols", "levels", "out", "device", "noise", *SAMPLING_KEYS}
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
    if "noise" in args:  # the first name of noise_mode=
        if "noise_mode" in args:
            raise GanforgeError(f"noise= and noise_mode= are one option; pass only noise_mode=. {USAGE}")
        args["noise_mode"] = args.pop("noise")
    args["options"] = {k: args.pop(k) for k in sorted(SAMPLING_KEYS & set(args))}
    return args


def load_style_generator(ckpt_path: str | Path, options: dict | None = None, device: str = "cpu"):
    """(the checkpoint's StyleGAN module with its sampling ``options`` checked and applied, its generator
    step), or a GanforgeError for checkpoints of other families and for bad options."""
    from ganforge.checkpoints import load_trained_module
    from ganforge.cli.checks import resolve_device
    from ganforge.networks.stylegan import StyleGenerator

    def style_generator_only(module, cfg) -> None:
        if not isinstance(module.sampling_network(), StyleGenerator):
            raise GanforgeError(
                f"{ckpt_path} is a model={cfg.model.name} checkpoint; ganforge-mix mixes the styles of a "
                "StyleGAN generator (model=stylegan), which this one has not. Draw its samples with "
                "ganforge-sample."
            )
        module.configure_sampling(options or {})  # the family's own checks and messages

    trained = load_trained_module(ckpt_path, style_generator_only, resolve_device(device))
    return trained.module, trained.gen_step


def mix_checkpoint(
    ckpt_path: str | Path,
    rows: list[int],
    cols: list[int],
    levels: list[str] | None = None,
    out: str | Path | None = None,
    options: dict | None = None,
    device: str = "cpu",
) -> Path:
    """Write the style-mixing figure of a checkpoint with the family's sampling ``options``
    (truncation, truncation_cutoff, noise_mode); returns the PNG's path."""
    from ganforge.cli.checks import writable_dir
    from ganforge.data.style_figures import available_levels, mixing_figure, resolve_level, save_png

    module, step = load_style_generator(ckpt_path, options, device)
    generator = module.sampling_network().eval()
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
    figure = mixing_figure(
        generator,
        rows,
        cols,
        levels,
        psi=module.truncation,
        noise_mode=module.sampling_noise,
        cutoff=module.truncation_cutoff,
    )
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
            args["options"],
            args.get("device", "cpu"),
        )
    except GanforgeError as exc:
        print(f"ganforge-mix: error: {exc}", file=sys.stderr)
        sys.exit(2)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()

"""The README's StyleGAN figures: the style-mixing figure and the truncation strip of a trained checkpoint.

By default the checkpoint is the progressive StyleGAN of ``scripts/bench_stylegan.py`` (seed 0, its
``--budget``): ``<out>/stylegan-budget<budget>-seed<seed>/checkpoints/last.ckpt``. Run folders are
git-ignored, so where that checkpoint is gone this script trains it again with the benchmark's own
recipe (bench_stylegan.overrides_for, a wall-clock Timer; no evaluation) and writes it there. Then it
draws the figures with the commands a user has (ganforge-mix's mix_checkpoint; the truncation strip of
ganforge.data.style_figures) and prints which checkpoint (and generator step) they come from.

    python scripts/figure_stylegan.py [--ckpt path.ckpt] [--budget 900] [--seed 0] [--variant stylegan]
        [--rows 0 1 2 3] [--cols 4 5 6 7] [--images docs/images]
"""

from __future__ import annotations

import argparse
import tempfile
from datetime import timedelta
from pathlib import Path

import torch
from bench_stylegan import VARIANTS, overrides_for


def train_checkpoint(variant: str, seed: int, args: argparse.Namespace, path: Path) -> None:
    """The benchmark's training run for (variant, seed), without its evaluation; saves ``path``."""
    from lightning.pytorch.callbacks import Timer

    from ganforge.config.loading import compose_config
    from ganforge.training import train

    run_dir = path.parent.parent
    with tempfile.TemporaryDirectory() as tmp:
        cfg = compose_config([*overrides_for(variant, seed, args), f"paths.root_dir={tmp}"])
        summary = train(cfg, run_dir, [Timer(duration=timedelta(seconds=args.budget), interval="step")])
    summary["trainer"].save_checkpoint(path)
    print(
        f"trained {variant} seed {seed}: {summary['gen_step']} generator steps in {args.budget} s", flush=True
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ckpt", type=Path, help="a StyleGAN checkpoint (default: the benchmark's)")
    parser.add_argument("--budget", type=int, default=900, help="the benchmark run's training seconds")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--variant", default="stylegan", choices=[v for v in VARIANTS if "stylegan" in v])
    parser.add_argument("--phase-steps", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("outputs/bench_stylegan"), help="run folders")
    parser.add_argument("--rows", type=int, nargs="+", default=[0, 1, 2, 3], help="source A seeds")
    parser.add_argument("--cols", type=int, nargs="+", default=[4, 5, 6, 7], help="source B seeds")
    parser.add_argument("--images", type=Path, default=Path("docs/images"))
    args = parser.parse_args()

    from ganforge.cli.mix import load_style_generator, mix_checkpoint
    from ganforge.data.style_figures import save_png, truncation_strip

    ckpt = args.ckpt
    if ckpt is None:
        ckpt = args.out / f"{args.variant}-budget{args.budget}-seed{args.seed}" / "checkpoints" / "last.ckpt"
        if not ckpt.is_file():
            train_checkpoint(args.variant, args.seed, args, ckpt)
    name = f"{args.variant}_fashion_mnist"
    mixing = mix_checkpoint(ckpt, args.rows, args.cols, out=args.images / f"{name}_mixing.png")
    module, step = load_style_generator(ckpt)
    with torch.inference_mode():
        strip = truncation_strip(module.sampling_network().eval(), args.rows)
    truncation = save_png(strip, args.images / f"{name}_truncation.png")
    print(f"from {ckpt} (generator step {step}): {mixing}, {truncation}")


if __name__ == "__main__":
    main()

"""Mode coverage of the vanilla GAN on the 2-D ring and grid, next to published VEEGAN / PacGAN rows.

    PYTHONPATH=src python scripts/bench_modes.py [--seeds 5] [--steps 3000] [--workers 2]

Trains experiment=vanilla_ring and experiment=vanilla_grid for each seed, scores 2,500 samples per model
with the VEEGAN/PacGAN protocol (ganforge.metrics.mode_coverage) and prints a markdown table of mean ±
standard deviation over seeds (PacGAN reports ± standard error over 10 trials; VEEGAN means over 5).
Runs are independent, so ``--workers`` processes (one torch thread each) train them side by side.
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import statistics
import tempfile
import time
import warnings
from pathlib import Path

from ganforge.config.loading import compose_config
from ganforge.metrics.evaluate import generate
from ganforge.metrics.mode_coverage import mode_coverage
from ganforge.training import train

# From /work/shared/reference/published-numbers.md (VEEGAN Table 1, PacGAN Table 1).
PUBLISHED = [
    ("GAN (VEEGAN paper)", "1", "99.3", "–", "3.3", "0.5", "–"),
    ("VEEGAN (VEEGAN paper)", "8", "52.9", "–", "24.6", "40", "–"),
    (
        "GAN (PacGAN paper)",
        "6.3 ± 0.5",
        "98.2 ± 0.2",
        "0.45 ± 0.09",
        "17.3 ± 0.8",
        "94.8 ± 0.7",
        "0.70 ± 0.07",
    ),
    (
        "PacGAN2 (PacGAN paper)",
        "7.9 ± 0.1",
        "95.6 ± 2.0",
        "0.07 ± 0.03",
        "23.8 ± 0.7",
        "91.3 ± 0.8",
        "0.13 ± 0.04",
    ),
    (
        "PacGAN4 (PacGAN paper)",
        "7.8 ± 0.1",
        "95.9 ± 1.4",
        "0.07 ± 0.02",
        "24.8 ± 0.2",
        "93.6 ± 0.6",
        "0.04 ± 0.01",
    ),
]
NUM_SAMPLES = 2500


def run_one(layout: str, seed: int, steps: int, root: Path) -> dict:
    import torch

    torch.set_num_threads(1)
    logging.disable(logging.WARNING)
    warnings.filterwarnings("ignore")
    t0 = time.perf_counter()
    cfg = compose_config(
        [
            f"experiment=vanilla_{layout}",
            f"trainer.seed={seed}",
            f"trainer.max_steps={steps}",
            f"trainer.sample_every_n_steps={steps}",
            f"trainer.checkpoint_every_n_steps={steps}",
            "trainer.progress_bar=false",
            "logger=none",
            f"paths.root_dir={root}",
        ]
    )
    summary = train(cfg, root / f"{layout}-seed{seed}")
    module, datamodule = summary["module"], summary["trainer"].datamodule
    samples = generate(module, NUM_SAMPLES, seed=10_000 + seed)
    out = mode_coverage(samples, datamodule.means, datamodule.std)
    print(f"{layout} seed {seed}: {out} ({time.perf_counter() - t0:.0f} s)", flush=True)
    return out


def fmt(values: list[float], scale: float = 1.0, digits: int = 1) -> str:
    mean = statistics.fmean(values) * scale
    std = statistics.stdev(values) * scale if len(values) > 1 else 0.0
    return f"{mean:.{digits}f} ± {std:.{digits}f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=3000, help="generator steps per run")
    parser.add_argument("--workers", type=int, default=2, help="training processes at a time")
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    warnings.filterwarnings("ignore")

    start = time.perf_counter()
    jobs = [(layout, seed) for layout in ("ring", "grid") for seed in range(args.seeds)]
    with tempfile.TemporaryDirectory() as tmp:
        ctx = multiprocessing.get_context("spawn")
        with ctx.Pool(args.workers, maxtasksperchild=1) as pool:
            outs = pool.starmap(run_one, [(layout, seed, args.steps, Path(tmp)) for layout, seed in jobs])
    total = time.perf_counter() - start
    results: dict[str, list[dict]] = {"ring": [], "grid": []}
    for (layout, _), out in zip(jobs, outs):
        results[layout].append(out)

    ring, grid = results["ring"], results["grid"]
    ours = (
        f"GAN, ganforge ({args.seeds} seeds, {args.steps} steps)",
        fmt([r["modes"] for r in ring]),
        fmt([r["high_quality"] for r in ring], 100),
        fmt([r["reverse_kl"] for r in ring], digits=2),
        fmt([r["modes"] for r in grid]),
        fmt([r["high_quality"] for r in grid], 100),
        fmt([r["reverse_kl"] for r in grid], digits=2),
    )
    print()
    print(
        "| method | ring modes (of 8) | ring % HQ | ring rev-KL "
        "| grid modes (of 25) | grid % HQ | grid rev-KL |"
    )
    print("|---|---|---|---|---|---|---|")
    for row in [ours, *PUBLISHED]:
        print("| " + " | ".join(row) + " |")
    print(f"\ntotal time {total:.0f} s for {2 * args.seeds} runs")


if __name__ == "__main__":
    main()

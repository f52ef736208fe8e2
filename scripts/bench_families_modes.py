"""Mode coverage on the 2-D grid and ring (VEEGAN / PacGAN protocol) for the vanilla GAN with and without
each stabiliser, and for WGAN-GP.

Each (dataset, variant, seed) trains one model in-process with the same CLI config machinery
(experiment=toy_gan / toy_wgan_gp plus the variant's overrides), draws 2,500 samples from the sampling
generator (the EMA copy where there is one) and scores them with
ganforge.metrics.mode_coverage.mode_coverage (modes captured, % high quality within 3 std, reverse KL).
Runs go seed by seed, so an interrupted benchmark still covers every variant; each result is appended to
``--results`` (default docs/bench_families_modes.jsonl, the committed file the README's table comes from)
as soon as it exists, finished runs are skipped when the script is rerun, and ``--table-only`` prints the
table of that file without training.

    python scripts/bench_families_modes.py [--seeds 5] [--steps 6000] [--datasets ring grid]
        [--variants gan gan+sn ...] [--out outputs/bench_modes] [--table-only]
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
import warnings
from pathlib import Path

import torch
from bench_results import append_result, load_results, mean_se, require_rows, results_file

warnings.filterwarnings("ignore")
logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)

NUM_SAMPLES = 2500
VARIANTS: dict[str, list[str]] = {
    "gan": ["experiment=toy_gan"],
    "gan+label_smoothing": ["experiment=toy_gan", "loss.real_label_smoothing=0.1"],
    "gan+spectral_norm": ["experiment=toy_gan", "model.stabilizers.spectral_norm=true"],
    "gan+feature_matching": ["experiment=toy_gan", "model.stabilizers.feature_matching=true"],
    "gan+minibatch_discrimination": ["experiment=toy_gan", "model.stabilizers.minibatch_discrimination=8"],
    "gan+minibatch_std": ["experiment=toy_gan", "model.stabilizers.minibatch_std=true"],
    "gan+r1": ["experiment=toy_gan", "model.stabilizers.r1_gamma=0.1"],
    "gan+ema": ["experiment=toy_gan", "model.ema_decay=0.999"],
    "gan+r1+label_smoothing": [
        "experiment=toy_gan",
        "model.stabilizers.r1_gamma=0.1",
        "loss.real_label_smoothing=0.1",
    ],
    "wgan_gp": ["experiment=toy_wgan_gp"],
}
QUIET = ["logger=none", "trainer.progress_bar=false", "hardware.num_threads=1"]


def run_one(dataset: str, variant: str, seed: int, steps: int) -> dict:
    from ganforge.config.loading import compose_config
    from ganforge.metrics.mode_coverage import mode_coverage
    from ganforge.training import train

    overrides = [
        *VARIANTS[variant],
        f"data={dataset}",
        f"trainer.seed={seed}",
        f"trainer.max_steps={steps}",
        f"trainer.sample_every_n_steps={steps}",
        f"trainer.checkpoint_every_n_steps={steps}",
        *QUIET,
    ]
    with tempfile.TemporaryDirectory() as tmp:
        cfg = compose_config([*overrides, f"paths.root_dir={tmp}"])
        start = time.perf_counter()
        summary = train(cfg, Path(tmp) / "run")
        seconds = time.perf_counter() - start
    module = summary["module"]
    z = torch.randn(NUM_SAMPLES, module.latent_dim, generator=torch.Generator().manual_seed(10_000 + seed))
    samples = module.sample(z).cpu()
    datamodule = summary["trainer"].datamodule
    scores = mode_coverage(samples, datamodule.means, datamodule.std)
    return {
        "dataset": dataset,
        "variant": variant,
        "seed": seed,
        "steps": steps,
        "train_seconds": round(seconds, 1),
        "overrides": overrides,
        **scores,
    }


def _row_order(row: tuple[int, str]) -> tuple[int, int]:
    steps, variant = row
    return steps, list(VARIANTS).index(variant)


def table(results: list[dict], datasets: list[str]) -> str:
    """Markdown: mean (+- standard error) of modes, % high quality and reverse KL per variant and budget."""

    head = (
        "| variant | steps | "
        + " | ".join(f"{d} seeds | {d} modes | {d} % HQ | {d} rev-KL" for d in datasets)
        + " |"
    )
    lines = [head, "|---" * (2 + 4 * len(datasets)) + "|"]
    for steps, variant in sorted({(r["steps"], r["variant"]) for r in results}, key=_row_order):
        cells = []
        for d in datasets:
            rows = [r for r in results if (r["variant"], r["steps"], r["dataset"]) == (variant, steps, d)]
            if not rows:
                cells += ["0", "", "", ""]
                continue
            cells += [
                str(len(rows)),
                mean_se([r["modes"] for r in rows]),
                mean_se([r["high_quality"] for r in rows], 100.0),
                mean_se([r["reverse_kl"] for r in rows], digits=2),
            ]
        if any(cells[i] != "0" for i in range(0, len(cells), 4)):
            lines.append(f"| {variant} | {steps:,} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, default=5)
    parser.add_argument("--steps", type=int, default=6000)
    parser.add_argument("--datasets", nargs="+", default=["grid", "ring"])
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--out", type=Path, default=Path("outputs/bench_modes"), help="run directories")
    parser.add_argument("--results", type=Path, default=results_file("bench_families_modes.jsonl"))
    parser.add_argument("--table-only", action="store_true", help="print the table of existing results")
    args = parser.parse_args()

    results_path = args.results
    results = load_results(results_path)
    done = {(r["dataset"], r["variant"], r["seed"], r["steps"]) for r in results}
    if not args.table_only:
        args.out.mkdir(parents=True, exist_ok=True)
        for seed in range(args.seeds):
            for dataset in args.datasets:
                for variant in args.variants:
                    if (dataset, variant, seed, args.steps) in done:
                        continue
                    result = run_one(dataset, variant, seed, args.steps)
                    results.append(result)
                    append_result(results_path, result)
                    print(
                        f"{dataset:5s} {variant:30s} seed {seed}: {result['modes']} modes, "
                        f"{100 * result['high_quality']:.1f}% HQ, rev-KL {result['reverse_kl']:.2f} "
                        f"({result['train_seconds']} s)",
                        flush=True,
                    )
    # --table-only: every budget in the results file; after training: the budget just run.
    selected = [
        r for r in results if r["variant"] in args.variants and (args.table_only or r["steps"] == args.steps)
    ]
    if args.table_only:
        require_rows(results_path, selected)
    print(table(selected, args.datasets))


if __name__ == "__main__":
    main()

"""Classifier FID / KID / IS per GAN family after the same training budget, and the conditional models'
per-class accuracy.

Each (dataset, variant, seed) trains one model in-process through the CLI's config machinery for the same
number of generator steps and batch size (``--steps``, ``--batch-size``; critic-heavy families therefore
spend more time: the wall seconds are recorded), then scores 10,000 samples from the sampling generator
against the dataset's train split with the registry's ``fid10k_classifier``, ``kid10k_classifier`` and
``is10k_classifier`` (the evaluator trained by ``ganforge-train-evaluator data=<data>``). For conditional
models it also draws 1,000 samples of each class and reports how many the evaluator assigns to the
requested class. Results are appended to ``--results`` (default docs/bench_families_fid.jsonl, the
committed file the README's table comes from) as they come; finished runs are skipped when the script is
rerun, and ``--table-only`` prints the table of that file without training.

    python scripts/bench_families_fid.py [--datasets mnist5k fashion_mnist] [--variants dcgan ...]
        [--steps 1000] [--batch-size 64] [--seeds 1] [--threads 1] [--out outputs/bench_families_fid]
        [--table-only]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import tempfile
import time
import warnings
from pathlib import Path

import torch
from bench_results import append_result, load_results, mean_se, require_rows, results_file

warnings.filterwarnings("ignore")
logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)

METRICS = ["fid10k_classifier", "kid10k_classifier", "is10k_classifier"]
PER_CLASS_SAMPLES = 1000
VARIANTS: dict[str, list[str]] = {
    "dcgan": ["model=dcgan"],
    "cgan": ["model=cgan"],
    "cdcgan": ["model=cdcgan"],
    "wgan": ["experiment=wgan"],
    "wgan_gp": ["experiment=wgan_gp"],
    "lsgan": ["experiment=lsgan"],
    "hinge": ["experiment=hinge"],
}


def run_one(dataset: str, variant: str, seed: int, args: argparse.Namespace) -> dict:
    from ganforge.build import build_datamodule
    from ganforge.config.loading import compose_config
    from ganforge.metrics.evaluate import EvalSettings, MetricSuite, generate, to_storage
    from ganforge.metrics.extractors import extract
    from ganforge.training import train

    root = Path(".").resolve()
    overrides = [
        *VARIANTS[variant],
        f"data={dataset}",
        f"data.batch_size={args.batch_size}",
        f"trainer.seed={seed}",
        f"trainer.max_steps={args.steps}",
        f"trainer.sample_every_n_steps={args.steps}",
        f"trainer.checkpoint_every_n_steps={args.steps}",
        "logger=none",
        "trainer.progress_bar=false",
        f"hardware.num_threads={args.threads}",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        cfg = compose_config(
            [
                *overrides,
                f"paths.root_dir={tmp}",
                f"eval.classifier_path={root}/outputs/evaluators/{dataset}/classifier.pt",
                f"eval.cache_dir={(args.out / 'cache').resolve()}",
            ]
        )
        suite = MetricSuite(METRICS, build_datamodule(cfg), EvalSettings.from_config(cfg.eval))
        suite.prepare()  # a missing evaluator fails here, before training
        start = time.perf_counter()
        summary = train(cfg, Path(tmp) / "run")
        seconds = time.perf_counter() - start
    module = summary["module"].eval()
    start = time.perf_counter()
    with torch.inference_mode():
        scores = suite.score(generate(module, suite.num_samples, seed=cfg.eval.seed))
    result = {
        "dataset": dataset,
        "variant": variant,
        "seed": seed,
        "steps": args.steps,
        "batch_size": args.batch_size,
        "gen_steps_done": summary["gen_step"],
        "train_seconds": round(seconds, 1),
        "eval_seconds": round(time.perf_counter() - start, 1),
        "overrides": overrides,
        **scores,
    }
    _, labels = module.grid_inputs(1, 0)
    if labels is not None:  # conditional: accuracy of the evaluator on each requested class
        extractor = suite.extractor("classifier")
        accuracy = []
        for c in range(int(cfg.data.num_classes)):
            z = torch.randn(PER_CLASS_SAMPLES, module.latent_dim, generator=torch.Generator().manual_seed(c))
            with torch.inference_mode():
                samples = module.sample(z, torch.full((PER_CLASS_SAMPLES,), c, dtype=torch.long))
                _, logits = extract(extractor, to_storage(samples), 500)
            accuracy.append(float((logits.argmax(1) == c).float().mean()))
        result["class_accuracy"] = accuracy
    return result


def reference_scores(dataset: str, out: Path) -> dict[str, float]:
    """The floor: the dataset's real test split scored like generated samples (as many of the 10,000 as
    the split has; a smaller count is a different protocol, and its metric names say so)."""
    from ganforge.build import build_datamodule
    from ganforge.config.loading import compose_config
    from ganforge.metrics.evaluate import EvalSettings, MetricSuite
    from ganforge.metrics.registry import format_count

    cfg = compose_config([f"data={dataset}", f"eval.cache_dir={(out / 'cache').resolve()}"])
    datamodule = build_datamodule(cfg)
    images, _ = datamodule.load_split("test")
    names = [m.replace("10k", format_count(min(10_000, len(images)))) for m in METRICS]
    suite = MetricSuite(names, datamodule, EvalSettings.from_config(cfg.eval))
    return suite.score(images[: suite.num_samples])


def table(results: list[dict], datasets: list[str]) -> str:
    """Markdown: per variant and dataset, mean (± standard error over seeds) FID, KID x 1000 and IS."""

    head = "| variant | " + " | ".join(f"{d} FID | {d} KID×10³ | {d} IS | {d} train s" for d in datasets)
    lines = [head + " |", "|---" * (1 + 4 * len(datasets)) + "|"]
    for variant in VARIANTS:
        cells = []
        for d in datasets:
            rows = [r for r in results if r["variant"] == variant and r["dataset"] == d]
            if not rows:
                cells += ["", "", "", ""]
                continue
            cells += [
                mean_se([r["fid10k_classifier"] for r in rows]),
                mean_se([r["kid10k_classifier"] for r in rows], 1000.0, 2),
                mean_se([r["is10k_classifier"] for r in rows], digits=2),
                mean_se([r["train_seconds"] for r in rows], digits=0),
            ]
        if any(cells):
            lines.append(f"| {variant} | " + " | ".join(cells) + " |")
    conditional = [r for r in results if "class_accuracy" in r]
    if conditional:
        lines += [
            "",
            "| variant | data | steps | seed | mean | per class 0..9 |",
            "|---|---|---|---|---|---|",
        ]
        for r in conditional:
            acc = r["class_accuracy"]
            per_class = " ".join(f"{100 * a:.0f}" for a in acc)
            lines.append(
                f"| {r['variant']} | {r['dataset']} | {r['steps']:,} | {r['seed']} | "
                f"{100 * statistics.fmean(acc):.1f}% | "
                f"{per_class} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--datasets", nargs="+", default=["mnist5k", "fashion_mnist"])
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--steps", type=int, default=1000, help="generator steps, the same for every run")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--seeds", type=int, default=1)
    parser.add_argument("--threads", type=int, default=1, help="torch threads per run")
    parser.add_argument("--out", type=Path, default=Path("outputs/bench_families_fid"), help="run folders")
    parser.add_argument("--results", type=Path, default=results_file("bench_families_fid.jsonl"))
    parser.add_argument("--table-only", action="store_true", help="print the table of existing results")
    parser.add_argument("--reference", action="store_true", help="also score each dataset's real test split")
    args = parser.parse_args()

    results_path = args.results
    results = load_results(results_path)
    key = ("dataset", "variant", "seed", "steps", "batch_size")
    done = {tuple(r[k] for k in key) for r in results}
    if not args.table_only:
        args.out.mkdir(parents=True, exist_ok=True)
        for seed in range(args.seeds):
            for dataset in args.datasets:
                for variant in args.variants:
                    if (dataset, variant, seed, args.steps, args.batch_size) in done:
                        continue
                    result = run_one(dataset, variant, seed, args)
                    results.append(result)
                    append_result(results_path, result)
                    print(
                        f"{dataset:13s} {variant:12s} seed {seed}: FID {result['fid10k_classifier']:.2f} "
                        f"({result['gen_steps_done']} generator steps, {result['train_seconds']} s)",
                        flush=True,
                    )
    selected = [
        r
        for r in results
        if r["steps"] == args.steps and r["batch_size"] == args.batch_size and r["variant"] in args.variants
    ]
    if args.table_only:
        require_rows(results_path, selected)
    print(table(selected, args.datasets))
    if args.reference:
        for dataset in args.datasets:
            scores = reference_scores(dataset, args.out)
            print(f"real {dataset} test split: " + ", ".join(f"{k} {v:.3f}" for k, v in scores.items()))


if __name__ == "__main__":
    main()

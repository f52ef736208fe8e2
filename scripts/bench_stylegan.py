"""StyleGAN vs DCGAN on Fashion-MNIST 32x32 at an equal wall-clock budget, and StyleGAN's claims measured.

Each (variant, seed) trains in-process through ganforge's own training entry point with
``data=fashion_mnist data.image_size=32`` for ``--budget`` seconds of training on this machine (Lightning's
Timer callback stops it; the generator steps reached are recorded), then:

- quality: ``fid10k_classifier`` and ``pr10k_classifier`` of 10,000 samples from the sampling (EMA)
  generator against the 60,000 train images, on the Fashion-MNIST evaluator (``ganforge-train-evaluator
  data=fashion_mnist``, trained at the native 28x28: the 32x32 images are resized to its input, which
  metrics.json records);
- for StyleGAN runs (ganforge.metrics.style, same evaluator): mixing class agreement per level (coarse
  4-8 px, middle 16 px, fine 32 px styles taken from B), noise effects (pixel std across noise draws for
  fixed w, class agreement across draws), the truncation sweep (psi 1.0 / 0.8 / 0.6 / 0.4: FID and
  precision / recall, 10k samples each) and ``ppl_z_classifier`` / ``ppl_w_classifier``.

Variants: ``dcgan`` (model=dcgan), ``stylegan`` (experiment=stylegan_fashion_mnist: progressive growing
4 -> 32 with ``--phase-steps`` generator steps per fade-in and per stabilisation) and ``stylegan_fixed``
(the same with model.progressive=false). Results are appended to ``--results`` (default
docs/bench_stylegan.jsonl) as they come; a rerun skips finished runs; ``--table-only`` prints the tables.
Run directories (with a final checkpoint for ganforge-mix) are kept under ``--out``.

    python scripts/bench_stylegan.py [--budget 1800] [--seeds 0 1] [--variants dcgan stylegan stylegan_fixed]
        [--phase-steps 300] [--batch-size 64] [--threads 2] [--pairs 2000] [--ppl-pairs 2000]
        [--noise-samples 500] [--samples 10000] [--out outputs/bench_stylegan] [--table-only]
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
import warnings
from datetime import timedelta
from pathlib import Path

import torch
from bench_results import append_result, load_results, matching, mean_se, require_rows, results_file

warnings.filterwarnings("ignore")
logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)

DATA = ["data=fashion_mnist", "data.image_size=32"]
VARIANTS: dict[str, list[str]] = {
    "dcgan": ["model=dcgan"],
    "stylegan": ["experiment=stylegan_fashion_mnist"],
    "stylegan_fixed": ["experiment=stylegan_fashion_mnist", "model.progressive=false"],
}
NAMES = {
    "dcgan": "DCGAN",
    "stylegan": "StyleGAN, progressive 4→32",
    "stylegan_fixed": "StyleGAN, 32×32 from the start",
}
PSIS = (1.0, 0.8, 0.6, 0.4)
UNBOUNDED = 10_000_000  # steps: the Timer, not max_steps, ends training


def evaluator_path() -> Path:
    return Path("outputs/evaluators/fashion_mnist/classifier.pt").resolve()


def ensure_evaluator(threads: int) -> dict:
    """``ganforge-train-evaluator data=fashion_mnist`` at 28x28 (trained once, then reused)."""
    from ganforge.config.loading import compose_config
    from ganforge.metrics.train_classifier import train_evaluator

    path = evaluator_path()
    if path.is_file():
        return torch.load(path, weights_only=True)
    cfg = compose_config(["data=fashion_mnist", f"hardware.num_threads={threads}"])
    return train_evaluator(cfg, path=path, progress_bar=False)


def overrides_for(variant: str, seed: int, args: argparse.Namespace) -> list[str]:
    overrides = [
        *VARIANTS[variant],
        *DATA,
        f"data.batch_size={args.batch_size}",
        f"trainer.seed={seed}",
        f"trainer.max_steps={UNBOUNDED}",
        f"trainer.sample_every_n_steps={UNBOUNDED}",
        f"trainer.checkpoint_every_n_steps={UNBOUNDED}",
        "logger=none",
        "trainer.progress_bar=false",
        f"hardware.num_threads={args.threads}",
    ]
    if variant.startswith("stylegan"):
        overrides += [f"model.fade_length={args.phase_steps}", f"model.stable_length={args.phase_steps}"]
    return overrides


def metric_suite(cfg, names: list[str]):
    from ganforge.build import build_datamodule
    from ganforge.metrics.evaluate import EvalSettings, MetricSuite

    suite = MetricSuite(names, build_datamodule(cfg), EvalSettings.from_config(cfg.eval))
    suite.prepare()  # a missing evaluator fails here, before training
    return suite


def style_measurements(module, cfg, suite, seed: int, args: argparse.Namespace) -> dict:
    from ganforge.metrics import style

    generator = module.sampling_network().eval()
    extractor = suite.extractor("classifier")
    noise_mode = str(cfg.model.sample_noise)
    dim = generator.latent_dim
    out: dict = {}
    start = time.perf_counter()
    z_a = style.draw_latents(args.pairs, dim, seed=1000 + seed)
    z_b = style.draw_latents(args.pairs, dim, seed=2000 + seed)
    levels = [k for k, v in generator.style_levels().items() if v]
    mixing = style.mixing_class_agreement(generator, extractor, z_a, z_b, levels, noise_mode=noise_mode)
    out["mixing"] = mixing["levels"]
    out["mixing_same_class_pairs"] = mixing["protocol"]["same_class_pairs"]
    noise = style.noise_effects(
        generator,
        extractor,
        style.draw_latents(args.noise_samples, dim, seed=3000 + seed),
        draws=8,
        seed=seed,
    )
    out["noise"] = {k: v for k, v in noise.items() if k != "protocol"}
    z = style.draw_latents(suite.num_samples, dim, seed=4000 + seed)
    out["truncation"] = style.truncation_sweep(generator, suite, z, PSIS, noise_mode=noise_mode)
    for space in ("z", "w"):
        ppl = style.perceptual_path_length(generator, extractor, args.ppl_pairs, space, seed=5000 + seed)
        out[f"ppl_{space}_classifier"] = ppl[f"ppl_{space}_classifier"]
    out["style_seconds"] = round(time.perf_counter() - start, 1)
    out["style_protocol"] = {
        "pairs": args.pairs,
        "noise_samples": args.noise_samples,
        "noise_draws": 8,
        "ppl_pairs": args.ppl_pairs,
        "ppl_epsilon": style.PPL_EPSILON,
        "noise_mode": noise_mode,
    }
    return out


def run_one(variant: str, seed: int, args: argparse.Namespace) -> dict:
    from lightning.pytorch.callbacks import Timer

    from ganforge.config.loading import compose_config
    from ganforge.metrics.evaluate import generate
    from ganforge.training import train

    overrides = overrides_for(variant, seed, args)
    run_dir = args.out / f"{variant}-budget{args.budget}-seed{seed}"
    metrics = [f"fid{args.samples // 1000}k_classifier", f"pr{args.samples // 1000}k_classifier"]
    with tempfile.TemporaryDirectory() as tmp:
        cfg = compose_config(
            [
                *overrides,
                f"paths.root_dir={tmp}",
                f"eval.classifier_path={evaluator_path()}",
                f"eval.cache_dir={(args.out / 'cache').resolve()}",
            ]
        )
        suite = metric_suite(cfg, metrics)
        start = time.perf_counter()
        summary = train(cfg, run_dir, [Timer(duration=timedelta(seconds=args.budget), interval="step")])
        seconds = time.perf_counter() - start
    module = summary["module"].eval()
    summary["trainer"].save_checkpoint(run_dir / "checkpoints" / "last.ckpt")  # for ganforge-mix
    start = time.perf_counter()
    with torch.inference_mode():
        scores = suite.score(generate(module, suite.num_samples, seed=cfg.eval.seed))
    result = {
        "variant": variant,
        "seed": seed,
        "budget_seconds": args.budget,
        "batch_size": args.batch_size,
        "phase_steps": args.phase_steps if variant.startswith("stylegan") else None,
        "threads": args.threads,
        "gen_steps_done": summary["gen_step"],
        "train_seconds": round(seconds, 1),
        "eval_seconds": round(time.perf_counter() - start, 1),
        "overrides": overrides,
        "fid": scores[metrics[0]],
        "precision": scores[f"{metrics[1]}_precision"],
        "recall": scores[f"{metrics[1]}_recall"],
        "metrics": metrics,
    }
    if variant.startswith("stylegan"):
        generator = module.sampling_network()
        result["resolution_reached"] = [generator.resolution, generator.alpha]
        result.update(style_measurements(module, cfg, suite, seed, args))
    return result


# ------------------------------------------------------------------------------------------- tables
def tables(results: list[dict]) -> str:
    lines = [
        "| model | seeds | budget s | generator steps | resolution reached | FID ↓ | precision ↑ "
        "| recall ↑ |",
        "|---|---|---|---|---|---|---|---|",
    ]
    groups: dict[tuple, list[dict]] = {}
    for r in results:
        groups.setdefault((r["variant"], r["budget_seconds"]), []).append(r)
    for (variant, budget), rows in groups.items():
        reached = sorted({tuple(r["resolution_reached"]) for r in rows if "resolution_reached" in r})
        cells = [
            mean_se([r["gen_steps_done"] for r in rows], digits=0),
            ", ".join(f"{res} px" + (f" (fading, α {a:.2f})" if a < 1 else "") for res, a in reached)
            or "32 px",
            mean_se([r["fid"] for r in rows]),
            mean_se([r["precision"] for r in rows], digits=3),
            mean_se([r["recall"] for r in rows], digits=3),
        ]
        lines.append(
            f"| {NAMES.get(variant, variant)} | {len(rows)} | {budget:,} | " + " | ".join(cells) + " |"
        )
    style_groups = {k: v for k, v in groups.items() if "mixing" in v[0]}
    if not style_groups:
        return "\n".join(lines)
    lines += [
        "",
        "| model | level (styles from B) | mix has A's class | mix has B's class | "
        "(pairs of different classes) A | B |",
        "|---|---|---|---|---|---|",
    ]
    for (variant, _), rows in style_groups.items():
        for level in rows[0]["mixing"]:
            entries = [r["mixing"][level] for r in rows]
            res = "/".join(str(x) for x in entries[0]["resolutions"])
            cells = [
                mean_se([e["agree_a"] for e in entries], 100.0) + "%",
                mean_se([e["agree_b"] for e in entries], 100.0) + "%",
                mean_se([e.get("agree_a_differing", float("nan")) for e in entries], 100.0) + "%",
                mean_se([e.get("agree_b_differing", float("nan")) for e in entries], 100.0) + "%",
            ]
            lines.append(
                f"| {NAMES.get(variant, variant)} | {level} ({res} px) | " + " | ".join(cells) + " |"
            )
    lines += [
        "",
        "| model | pixel std across noise (grey levels) | 99th pct | std across w | "
        "class kept across noise | ppl_z_classifier | ppl_w_classifier |",
        "|---|---|---|---|---|---|---|",
    ]
    for (variant, _), rows in style_groups.items():
        noise = [r["noise"] for r in rows]
        lines.append(
            f"| {NAMES.get(variant, variant)} | {mean_se([n['pixel_std'] for n in noise], digits=2)} | "
            f"{mean_se([n['pixel_std_p99'] for n in noise], digits=2)} | "
            f"{mean_se([n['pixel_std_across_w'] for n in noise], digits=2)} | "
            f"{mean_se([n['class_agreement'] for n in noise], 100.0)}% | "
            f"{mean_se([r['ppl_z_classifier'] for r in rows], digits=1)} | "
            f"{mean_se([r['ppl_w_classifier'] for r in rows], digits=1)} |"
        )
    lines += ["", "| model | psi | FID ↓ | precision ↑ | recall ↑ |", "|---|---|---|---|---|"]
    for (variant, _), rows in style_groups.items():
        fid_key, pr_key = rows[0]["metrics"]
        for i, psi in enumerate(r["psi"] for r in rows[0]["truncation"]):
            sweep = [r["truncation"][i] for r in rows]
            lines.append(
                f"| {NAMES.get(variant, variant)} | {psi:g} | {mean_se([s[fid_key] for s in sweep])} | "
                f"{mean_se([s[f'{pr_key}_precision'] for s in sweep], digits=3)} | "
                f"{mean_se([s[f'{pr_key}_recall'] for s in sweep], digits=3)} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--budget", type=int, default=1800, help="training seconds per run (wall clock)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--phase-steps", type=int, default=300, help="StyleGAN fade-in / stabilisation steps")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2, help="torch threads per run")
    parser.add_argument("--samples", type=int, default=10_000, help="samples for FID / PR (multiple of 1000)")
    parser.add_argument("--pairs", type=int, default=2000, help="(A, B) pairs for mixing class agreement")
    parser.add_argument("--noise-samples", type=int, default=500, help="w's for the noise measurement")
    parser.add_argument("--ppl-pairs", type=int, default=2000, help="pairs per perceptual path length")
    parser.add_argument("--out", type=Path, default=Path("outputs/bench_stylegan"), help="run folders")
    parser.add_argument("--results", type=Path, default=results_file("bench_stylegan.jsonl"))
    parser.add_argument("--table-only", action="store_true", help="print the tables of existing results")
    args = parser.parse_args()
    if args.samples < 1000 or args.samples % 1000:
        parser.error("--samples must be a multiple of 1000 (the metric names carry the count)")

    results = load_results(args.results)
    if not args.table_only:
        args.out.mkdir(parents=True, exist_ok=True)
        info = ensure_evaluator(args.threads)
        print(f"fashion_mnist evaluator: test accuracy {info['test_accuracy']:.4f}", flush=True)
        for seed in args.seeds:
            for variant in args.variants:
                same = matching(
                    results, variant=variant, seed=seed, budget_seconds=args.budget,
                    batch_size=args.batch_size, threads=args.threads,
                )  # fmt: skip
                if any(r.get("phase_steps") in (None, args.phase_steps) for r in same):
                    continue
                result = run_one(variant, seed, args)
                results.append(result)
                append_result(args.results, result)
                print(
                    f"{variant:15s} seed {seed}: FID {result['fid']:.2f}, "
                    f"precision {result['precision']:.3f}, recall {result['recall']:.3f} "
                    f"({result['gen_steps_done']} steps in {result['train_seconds']} s)",
                    flush=True,
                )
    else:
        require_rows(args.results, results)
    print(tables(results))


if __name__ == "__main__":
    main()

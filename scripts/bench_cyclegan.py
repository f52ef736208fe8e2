"""CycleGAN against the known answer: offline unpaired pairs whose correct translation T(a) is known.

For each dataset (``mnist5k_to_edges``: MNIST-5k digits -> Sobel edges of *other* digits; also
``fashion_mnist_to_edges``) this trains ``experiment=cyclegan_mnist5k_edges`` (with the sizes given here)
through ganforge's own training entry point, then translates the test split's domain-A images and scores
G(a) against the ground truth T(a) (``a2b_truth``, never seen in training):

- L1 (grey levels / 255), PSNR (dB) and SSIM of G(a) vs T(a) (ganforge.metrics.translation, torchmetrics);
- class agreement: the fraction of test images whose label (the A-domain class of x) equals the class a
  domain-B evaluator assigns to G(x). The evaluator is ganforge's classifier trained on domain B of the
  train split (T of train images, labels b_labels: ``ganforge-train-evaluator data=<dataset>``); its
  accuracy on T(test a) is the ceiling (the "ground truth" row);
- cycle reconstruction error: L1 of F(G(a)) vs a;
- classifier FID in domain B: the B evaluator's features of G(a) against the train split's domain B
  (``fid<n>_classifier`` with n = the test images of domain A).

Next to two baselines scored the same way: identity (G(x) = x) and the ground truth T(x) itself.
Results are appended to ``--results`` (default docs/bench_cyclegan.jsonl) as they come; a rerun skips
finished runs. ``--table-only`` prints the README table from that file.

    python scripts/bench_cyclegan.py [--datasets mnist5k_to_edges] [--steps 2400] [--batch-size 8]
        [--ngf 16] [--n-blocks 3] [--ndf 32] [--seeds 0 1] [--threads 1] [--image docs/images/...png]
        [--out outputs/bench_cyclegan] [--table-only]

Each run's directory (checkpoints, sample pictures) is kept under ``--out``.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
import warnings
from pathlib import Path

import torch
from bench_results import append_result, load_results, matching, mean_se, require_rows, results_file

warnings.filterwarnings("ignore")
logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)
logging.getLogger("ganforge.families.cyclegan").setLevel(logging.ERROR)

EXPERIMENT = "experiment=cyclegan_mnist5k_edges"
ROWS = ("identity", "cyclegan", "ground_truth")
ROW_NAMES = {"identity": "identity G(x) = x", "cyclegan": "CycleGAN", "ground_truth": "ground truth T(x)"}


def evaluator_path(dataset: str) -> Path:
    return Path("outputs/evaluators") / dataset / "classifier.pt"


def datamodule(dataset: str):
    from ganforge.build import build_datamodule
    from ganforge.config.loading import compose_config

    return build_datamodule(compose_config([f"data={dataset}"]))


def ensure_evaluator(dataset: str, threads: int) -> dict:
    """The domain-B classifier of ``ganforge-train-evaluator data=<dataset>`` (trained once, then reused)."""
    from ganforge.config.loading import compose_config
    from ganforge.metrics.train_classifier import train_evaluator

    path = evaluator_path(dataset)
    if path.is_file():
        return torch.load(path, weights_only=True)
    cfg = compose_config([f"data={dataset}", f"hardware.num_threads={threads}"])
    return train_evaluator(cfg, path=path, progress_bar=False)


def score(translated: torch.Tensor, test: dict, suite, reconstructed: torch.Tensor | None = None) -> dict:
    """Every known-answer score of uint8 translations of ``test["a"]``."""
    from ganforge.metrics.translation import (
        cycle_reconstruction_error,
        predict,
        translation_scores,
    )

    scores = translation_scores(translated, test["a2b_truth"])
    classes = predict(suite.extractor("classifier"), translated)
    scores["class_agreement"] = float((classes == test["a_labels"]).double().mean())
    if reconstructed is not None:
        scores["cycle_l1"] = cycle_reconstruction_error(test["a"], reconstructed)
    with torch.inference_mode():
        (scores["fid"],) = suite.score(translated).values()
    return scores


def metric_suite(dataset: str, dm, n: int):
    from ganforge.metrics.evaluate import EvalSettings, MetricSuite
    from ganforge.metrics.registry import format_count

    settings = EvalSettings(str(evaluator_path(dataset)), cache_dir="outputs/cache")
    suite = MetricSuite([f"fid{format_count(n)}_classifier"], dm, settings, field="b")
    suite.prepare()
    return suite


def baselines(dataset: str) -> list[dict]:
    dm = datamodule(dataset)
    test = dm.split_fields("test")
    suite = metric_suite(dataset, dm, len(test["a"]))
    rows = []
    for variant, translated, rec in (
        ("identity", test["a"], test["a"]),  # F = identity too: a perfect (and useless) cycle
        ("ground_truth", test["a2b_truth"], None),  # T has no inverse to reconstruct with
    ):
        rows.append({"dataset": dataset, "variant": variant, **score(translated, test, suite, rec)})
    return rows


def train_cyclegan(dataset: str, seed: int, args: argparse.Namespace) -> dict:
    from ganforge.config.loading import compose_config
    from ganforge.data.render import save_panels
    from ganforge.metrics.translation import to_uint8
    from ganforge.training import train

    overrides = [
        EXPERIMENT,
        f"data={dataset}",
        f"model.generator.g_ab.ngf={args.ngf}",
        f"model.generator.g_ab.n_blocks={args.n_blocks}",
        f"model.discriminator.d_b.ndf={args.ndf}",
        f"data.batch_size={args.batch_size}",
        f"trainer.seed={seed}",
        f"trainer.max_steps={args.steps}",
        f"model.lr_constant_steps={args.steps - args.steps // 2}",
        f"model.lr_decay_steps={args.steps // 2}",
        f"trainer.sample_every_n_steps={args.steps}",
        f"trainer.checkpoint_every_n_steps={args.steps}",
        "logger=none",
        "trainer.progress_bar=false",
        f"hardware.num_threads={args.threads}",
    ]
    config = "_".join(str(getattr(args, k)) for k in ("steps", "batch_size", "ngf", "n_blocks", "ndf"))
    run_dir = args.out / f"{dataset}-{config}-seed{seed}"  # kept: its checkpoint re-renders the pictures
    with tempfile.TemporaryDirectory() as tmp:
        cfg = compose_config([*overrides, f"paths.root_dir={tmp}"])
        start = time.perf_counter()
        summary = train(cfg, run_dir)
        seconds = time.perf_counter() - start
    module, dm = summary["module"].eval(), summary["trainer"].datamodule
    test = dm.split_fields("test")
    a = dm.field_to_model_space("a", test["a"])
    fake_b = torch.cat([module.translate(x, "a2b") for x in a.split(500)])
    rec_a = torch.cat([module.translate(x, "b2a") for x in fake_b.split(500)])
    translated = to_uint8(fake_b)
    result = {
        "dataset": dataset,
        "variant": "cyclegan",
        "seed": seed,
        "steps": args.steps,
        "batch_size": args.batch_size,
        "ngf": args.ngf,
        "n_blocks": args.n_blocks,
        "ndf": args.ndf,
        "gen_steps_done": summary["gen_step"],
        "train_seconds": round(seconds, 1),
        "seconds_per_step": round(seconds / max(1, summary["gen_step"]), 3),
        "overrides": overrides,
        **score(translated, test, metric_suite(dataset, dm, len(test["a"])), to_uint8(rec_a)),
    }
    if args.image and seed == 0 and dataset == args.datasets[0]:
        # 3 test images of each class, one class per row: A | G(A) | T(A) (the answer) | F(G(A))
        idx = torch.cat([torch.nonzero(test["a_labels"] == c)[:3, 0] for c in range(10)])
        truth = dm.field_to_model_space("a", test["a2b_truth"][idx])
        save_panels(
            {"A": a[idx], "G(A)": fake_b[idx], "T(A)": truth, "recA": rec_a[idx]},
            args.image,
            samples_per_row=3,
        )
    return result


CONFIG = ("steps", "batch_size", "ngf", "n_blocks", "ndf")


def table(results: list[dict], datasets: list[str]) -> str:
    """Markdown: per dataset the identity baseline, each CycleGAN configuration (mean ± standard error over
    seeds) and the ground truth."""
    head = "| data | translation | L1 ↓ | PSNR dB ↑ | SSIM ↑ | class agreement ↑ | cycle L1 ↓ | FID in B ↓ |"
    lines = [head, "|---|---|---|---|---|---|---|---|"]
    for d in datasets:
        groups: list[tuple[str, list[dict]]] = []
        for variant in ROWS:
            rows = [r for r in results if r["dataset"] == d and r["variant"] == variant]
            if variant != "cyclegan":
                groups += [(ROW_NAMES[variant], rows)] if rows else []
                continue
            for config in dict.fromkeys(tuple(r[k] for k in CONFIG) for r in rows):
                same = [r for r in rows if tuple(r[k] for k in CONFIG) == config]
                steps, batch, ngf, blocks, ndf = config
                seconds = mean_se([r["train_seconds"] for r in same], digits=0)
                seeds = f"{len(same)} seed{'s' * (len(same) > 1)}"
                groups.append(
                    (
                        f"CycleGAN ({steps:,} steps, batch {batch}, ngf {ngf}, {blocks} blocks, ndf {ndf}; "
                        f"{seeds}, {seconds} s each)",
                        same,
                    )
                )
        for name, rows in groups:
            cycle = mean_se([r["cycle_l1"] for r in rows], 255.0) if "cycle_l1" in rows[0] else "n/a"
            cells = [
                mean_se([r["l1"] for r in rows], 255.0),
                mean_se([r["psnr"] for r in rows], digits=2),
                mean_se([r["ssim"] for r in rows], digits=3),
                mean_se([r["class_agreement"] for r in rows], 100.0) + "%",
                cycle,
                mean_se([r["fid"] for r in rows]),
            ]
            lines.append(f"| {d} | {name} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "L1 and cycle L1 (|F(G(x)) - x|) in grey levels of 0-255; class agreement: the label of x against "
        "the class the domain-B evaluator gives the translation (on the ground-truth row: that evaluator's "
        "accuracy on T(x), the ceiling); FID: the domain-B evaluator's features against the train split's "
        "domain B.",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--datasets", nargs="+", default=["mnist5k_to_edges"])
    parser.add_argument(
        "--steps", type=int, default=2400, help="generator steps (half constant lr, half decay)"
    )
    parser.add_argument("--batch-size", type=int, default=8)
    parser.add_argument("--ngf", type=int, default=16)
    parser.add_argument("--n-blocks", type=int, default=3)
    parser.add_argument("--ndf", type=int, default=32)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1 is fastest on a busy CPU)")
    parser.add_argument("--results", type=Path, default=results_file("bench_cyclegan.jsonl"))
    parser.add_argument("--image", type=Path, default=None, help="save seed 0's translation grid here")
    parser.add_argument("--out", type=Path, default=Path("outputs/bench_cyclegan"), help="run directories")
    parser.add_argument("--table-only", action="store_true", help="print the table of existing results")
    args = parser.parse_args()

    results = load_results(args.results)
    if not args.table_only:
        for dataset in args.datasets:
            info = ensure_evaluator(dataset, args.threads)
            print(f"{dataset}: domain-B evaluator, test accuracy {info['test_accuracy']:.4f}", flush=True)
            if not any(r["dataset"] == dataset and r["variant"] != "cyclegan" for r in results):
                for row in baselines(dataset):
                    results.append(row)
                    append_result(args.results, row)
            for seed in args.seeds:
                done = matching(
                    results, dataset=dataset, seed=seed, steps=args.steps, batch_size=args.batch_size,
                    ngf=args.ngf, n_blocks=args.n_blocks, ndf=args.ndf,
                )  # fmt: skip
                if done:
                    continue
                result = train_cyclegan(dataset, seed, args)
                results.append(result)
                append_result(args.results, result)
                print(
                    f"{dataset} seed {seed}: L1 {255 * result['l1']:.1f}, agreement "
                    f"{100 * result['class_agreement']:.1f}%, FID {result['fid']:.1f} "
                    f"({result['gen_steps_done']} steps, {result['train_seconds']} s)",
                    flush=True,
                )
    if args.table_only:
        require_rows(args.results, results)
    present = list(dict.fromkeys(r["dataset"] for r in results))
    print(
        table(
            results,
            [d for d in args.datasets if d in present] + [d for d in present if d not in args.datasets],
        )
    )


if __name__ == "__main__":
    main()

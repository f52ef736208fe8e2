"""Text-to-image on the offline captioned Fashion-MNIST: does the picture match the words?

Each (variant, seed) trains ``model=gan_int_cls data=captioned_fashion_mnist data.canvas=<canvas>``
in-process through ganforge's training entry point for ``--steps`` generator steps (equal steps, not
equal time: the ablations differ in cost per step, and step counts do not depend on what else the machine
runs; the seconds are recorded), MiniLM caption embeddings. Then, for the 10,000 test rows (each with its
own caption; half of them with a (class, colour) combination held out of training), one image per caption
from the sampling generator, fixed noise (seed 0):

- caption agreement (ganforge.metrics.caption_match): colour, size and position measured in the image,
  and the class given by the evaluator (``ganforge-train-evaluator data=captioned_fashion_mnist
  data.loader.hold_out=false`` at the same canvas: trained on every (class, colour) combination; its test
  accuracy is printed and recorded), for all / seen / held-out rows, and the same
  images against shuffled captions (what ignoring the text would score);
- quality: ``fid10k_classifier`` and ``pr10k_classifier`` against the 60,000 train images.

Once: the real test images against their own captions (the ceiling of the measurement).

Variants (Reed et al. 2016's ablation names): ``gan`` (text-conditioned G and D, plain discriminator),
``gan_cls`` (matching-aware D), ``gan_int_cls`` (matching-aware D and interpolated embeddings); and
``stackgan`` (Zhang et al. 2017) at the same budget of generator steps: Stage-I at a quarter of the canvas
(the paper's 4x) for the first half of the steps, then Stage-II with Stage-I frozen. StackGAN rows are
scored twice: Stage-II's images, and Stage-I's upsampled bicubically to the canvas (does the second
stage add anything over a plain upsampling?). Every row also gets R-precision and the high-frequency
share (ganforge.metrics.super_resolution.high_frequency_share: power above the Nyquist limit of a 4x
smaller image; real test images give the reference).
Results are appended to ``--results`` (default docs/bench_text_to_image.jsonl) as they come; a rerun skips
finished runs; ``--table-only`` prints the tables.

    python scripts/bench_text_to_image.py [--steps 2000] [--width 32] [--seeds 0 1]
        [--variants gan gan_cls gan_int_cls stackgan] [--canvas 32] [--batch-size 64] [--threads 2]
        [--matcher-steps 3000] [--out outputs/bench_text_to_image] [--rescore] [--table-only]
"""

from __future__ import annotations

import argparse
import json
import logging
import tempfile
import time
import warnings
from pathlib import Path

import torch
from bench_results import append_result, load_results, matching, mean_se, require_rows, results_file

warnings.filterwarnings("ignore")
logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)

VARIANTS: dict[str, list[str]] = {
    "gan": ["model.matching_aware=false", "model.interpolation=false"],
    "gan_cls": ["model.interpolation=false"],
    "gan_int_cls": [],
    "stackgan": [],  # its overrides depend on the canvas and steps: model_overrides
}
NAMES = {
    "gan": "GAN (text-conditioned)",
    "gan_cls": "GAN-CLS",
    "gan_int_cls": "GAN-INT-CLS",
    "stackgan": "StackGAN Stage-II",
    "stackgan/stage1_bicubic": "StackGAN Stage-I, bicubic x4",
}
STAGE_RATIO = 4  # Stage-II's canvas / Stage-I's side, as in the paper (64 -> 256)
UNBOUNDED = 10_000_000  # steps: never reached (no samples or checkpoints during the run)
SAMPLES = 10_000


def data_overrides(args: argparse.Namespace) -> list[str]:
    return ["data=captioned_fashion_mnist", f"data.canvas={args.canvas}"]


def evaluator_path(args: argparse.Namespace) -> Path:
    return Path(f"outputs/evaluators/captioned_fashion_mnist_{args.canvas}_all/classifier.pt").resolve()


def ensure_evaluator(args: argparse.Namespace) -> dict:
    """``ganforge-train-evaluator data=captioned_fashion_mnist data.canvas=<canvas>`` (once, then reused)."""
    from ganforge.config.loading import compose_config
    from ganforge.metrics.train_classifier import train_evaluator

    path = evaluator_path(args)
    if path.is_file():
        return torch.load(path, weights_only=True)
    # Trained on every (class, colour) combination (data.loader.hold_out=false), so the judge is as fair
    # to held-out rows as to seen ones; the generators train without them.
    cfg = compose_config(
        [*data_overrides(args), "data.loader.hold_out=false", f"hardware.num_threads={args.threads}"]
    )
    return train_evaluator(cfg, path=path, progress_bar=False)


def matcher_path(args: argparse.Namespace) -> Path:
    return Path(f"outputs/evaluators/captioned_fashion_mnist_{args.canvas}/text_image_matcher.pt").resolve()


def ensure_matcher(args: argparse.Namespace):
    """``ganforge-train-text-encoder data=captioned_fashion_mnist text_training.role=matcher`` (once): the
    image-text matcher behind R-precision, trained on the real pairs (seed 1000; no generator uses it)."""
    from ganforge.cli.train_text_encoder import train_text_encoder
    from ganforge.config.loading import compose_config
    from ganforge.text.joint_embedding import load_joint_embedding

    path = matcher_path(args)
    if not path.is_file():
        overrides = [f"text_training.steps={args.matcher_steps}", f"eval.matcher_path={path}"]
        cfg = compose_config(
            [*data_overrides(args), "text_training.role=matcher", *overrides,
             f"hardware.num_threads={args.threads}", "trainer.progress_bar=false"]
        )  # fmt: skip
        train_text_encoder(cfg)
    return load_joint_embedding(path, "eval.matcher_path")


def compose(args: argparse.Namespace, overrides: list[str], tmp: str):
    from ganforge.config.loading import compose_config

    return compose_config(
        [
            *overrides,
            f"paths.root_dir={tmp}",
            f"eval.classifier_path={evaluator_path(args)}",
            f"eval.cache_dir={(args.out / 'cache').resolve()}",
        ]
    )


def model_overrides(variant: str, args: argparse.Namespace) -> list[str]:
    if variant == "stackgan":
        return [
            "model=stackgan",
            f"model.stage1_size={args.canvas // STAGE_RATIO}",
            f"model.stage1_steps={args.steps // 2}",
            f"model.generator.g1.base_width={args.width}",
            f"model.generator.g2.base_width={args.width}",
            f"model.discriminator.d1.net.base_width={args.width}",  # d2 follows d1
        ]
    return [
        "model=gan_int_cls",
        *VARIANTS[variant],
        f"model.generator.net.base_width={args.width}",
        f"model.discriminator.net.base_width={args.width}",
    ]


def overrides_for(variant: str, seed: int, args: argparse.Namespace) -> list[str]:
    return [
        *model_overrides(variant, args),
        *data_overrides(args),
        f"data.batch_size={args.batch_size}",
        f"trainer.seed={seed}",
        f"trainer.max_steps={args.steps}",
        f"trainer.sample_every_n_steps={UNBOUNDED}",
        f"trainer.checkpoint_every_n_steps={UNBOUNDED}",
        "logger=none",
        "trainer.progress_bar=false",
        f"hardware.num_threads={args.threads}",
    ]


def metric_suite(cfg):
    from ganforge.build import build_datamodule
    from ganforge.metrics.evaluate import EvalSettings, MetricSuite

    datamodule = build_datamodule(cfg)
    suite = MetricSuite(
        ["fid10k_classifier", "pr10k_classifier"], datamodule, EvalSettings.from_config(cfg.eval)
    )
    suite.prepare()  # a missing evaluator fails here, before training
    return suite, datamodule


def agreement_of(images: torch.Tensor, test: dict, extractor) -> dict:
    from ganforge.metrics import style
    from ganforge.metrics.caption_match import caption_agreement, shuffled

    def classify(x: torch.Tensor) -> torch.Tensor:
        return style.classify(extractor, x)

    matched = caption_agreement(images, test["caption"], test["held_out"], classify)
    other_ids, other_held = shuffled(test["caption"], test["held_out"])
    return {"matched": matched, "shuffled": caption_agreement(images, other_ids, other_held, classify)}


def real_reference(args: argparse.Namespace, matcher) -> dict:
    """Real test images against their own captions: the ceiling of the measurement."""
    from ganforge.data.base import uint8_to_model_space

    with tempfile.TemporaryDirectory() as tmp:
        suite, datamodule = metric_suite(compose(args, ["model=gan_int_cls", *data_overrides(args)], tmp))
        test = datamodule.split_fields("test")
        images = uint8_to_model_space(test["image"])
        row = {
            "variant": "real_test",
            "canvas": args.canvas,
            "hf_share": hf_share(images),
            **agreement_of(images, test, suite.extractor("classifier")),
        }
        ranks = rprecision_of(matcher, test["image"], test, datamodule)
        row["matched"]["rprecision100_matcher"] = ranks["rprecision100_matcher"]
        row["shuffled"]["rprecision100_matcher"] = ranks["rprecision100_matcher_shuffled"]
        row["matcher"] = {k: matcher.record[k] for k in ("test_rprecision", "train_steps", "dim")}
        return row


def rprecision_of(matcher, images: torch.Tensor, test: dict, datamodule) -> dict:
    from ganforge.metrics.caption_match import shuffled
    from ganforge.text.joint_embedding import r_precision

    captions, meanings = datamodule.caption_table(), datamodule.caption_meanings()
    ids = test["caption"].to(torch.int64)
    other, _ = shuffled(ids, None)
    return {
        "rprecision100_matcher": r_precision(matcher, images, ids, captions, meanings),
        "rprecision100_matcher_shuffled": r_precision(matcher, images, other, captions, meanings),
    }


def test_inputs(module, test: dict) -> dict[str, torch.Tensor]:
    """Sampling inputs for every test row's own caption, noise seed 0 (the same images on every call)."""
    z = torch.randn(len(test["caption"]), module.latent_dim, generator=torch.Generator().manual_seed(0))
    ids = test["caption"].to(torch.int64)
    return {"z": z, "caption": ids, "embedding": module.caption_embeddings.cpu()[ids]}


def generated_test_images(module, test: dict) -> torch.Tensor:
    """One image per test row for its own caption (StackGAN: Stage-II's)."""
    from ganforge.metrics.evaluate import sample_in_chunks

    with torch.inference_mode():
        return sample_in_chunks(module, test_inputs(module, test))


def stage1_bicubic_images(module, test: dict, chunk: int = 1000) -> torch.Tensor:
    """StackGAN's Stage-I images for the same inputs, upsampled bicubically to the canvas: what Stage-II
    must beat to have added anything."""
    import torch.nn.functional as F

    from ganforge.data.base import take

    inputs, size = test_inputs(module, test), module.g2.size
    out = []
    with torch.inference_mode():
        for i in range(0, len(inputs["z"]), chunk):
            low = module.stage_images(take(inputs, slice(i, i + chunk)))["stage-I"].cpu()
            out.append(F.interpolate(low, size=size, mode="bicubic", align_corners=False).clamp_(-1, 1))
    return torch.cat(out)


def hf_share(images: torch.Tensor) -> float:
    from ganforge.families.srgan import to_uint8
    from ganforge.metrics.super_resolution import high_frequency_share

    return high_frequency_share(to_uint8(images), STAGE_RATIO)


def run_dir_of(r: dict, args: argparse.Namespace) -> Path:
    return (
        args.out / f"{r['variant']}-canvas{r['canvas']}-width{r['width']}-steps{r['steps']}-seed{r['seed']}"
    )


def score_images(images: torch.Tensor, test: dict, suite, matcher, datamodule) -> dict:
    """Quality, caption agreement (own and shuffled captions), R-precision and HF share of one image per
    test row."""
    with torch.inference_mode():
        scores = suite.score(images[:SAMPLES])
    out = {
        "fid": scores["fid10k_classifier"],
        "precision": scores["pr10k_classifier_precision"],
        "recall": scores["pr10k_classifier_recall"],
        "hf_share": hf_share(images),
        **agreement_of(images, test, suite.extractor("classifier")),
    }
    ranks = rprecision_of(matcher, images, test, datamodule)
    out["matched"]["rprecision100_matcher"] = ranks["rprecision100_matcher"]
    out["shuffled"]["rprecision100_matcher"] = ranks["rprecision100_matcher_shuffled"]
    return out


def rescore(results: list[dict], args: argparse.Namespace) -> list[dict]:
    """Add R-precision and the HF share to the rows that lack them, from each run's saved checkpoint (its
    images regenerated exactly: same noise, same captions)."""
    from ganforge.build import build_datamodule
    from ganforge.checkpoints import load_trained_module
    from ganforge.data.base import uint8_to_model_space

    matcher = ensure_matcher(args)
    for r in results:
        if r["variant"] == "real_test":
            if "rprecision100_matcher" in r["matched"] and "hf_share" in r:
                continue
            with tempfile.TemporaryDirectory() as tmp:
                _, datamodule = metric_suite(compose(args, ["model=gan_int_cls", *data_overrides(args)], tmp))
                test = datamodule.split_fields("test")
                scores = rprecision_of(matcher, test["image"], test, datamodule)
            r["matched"]["rprecision100_matcher"] = scores["rprecision100_matcher"]
            r["shuffled"]["rprecision100_matcher"] = scores["rprecision100_matcher_shuffled"]
            r["matcher"] = {k: matcher.record[k] for k in ("test_rprecision", "train_steps", "dim")}
            r["hf_share"] = hf_share(uint8_to_model_space(test["image"]))
            continue
        if "rprecision100_matcher" in r["matched"] and "hf_share" in r:
            continue
        trained = load_trained_module(run_dir_of(r, args) / "checkpoints" / "last.ckpt")
        datamodule = build_datamodule(trained.cfg)
        trained.module.bind_data(datamodule)
        test = datamodule.split_fields("test")
        images = generated_test_images(trained.module.eval(), test)
        scores = rprecision_of(matcher, images, test, datamodule)
        r["matched"]["rprecision100_matcher"] = scores["rprecision100_matcher"]
        r["shuffled"]["rprecision100_matcher"] = scores["rprecision100_matcher_shuffled"]
        r["hf_share"] = hf_share(images)
        print(f"{r['variant']} seed {r['seed']}: R-precision {scores['rprecision100_matcher']:.3f}, "
              f"HF share {r['hf_share']:.4f}", flush=True)  # fmt: skip
    return results


def run_one(variant: str, seed: int, args: argparse.Namespace, matcher) -> dict:
    from ganforge.training import train

    overrides = overrides_for(variant, seed, args)
    run_dir = run_dir_of(
        {"variant": variant, "canvas": args.canvas, "width": args.width, "steps": args.steps, "seed": seed},
        args,
    )
    with tempfile.TemporaryDirectory() as tmp:
        cfg = compose(args, overrides, tmp)
        suite, _ = metric_suite(cfg)
        start = time.perf_counter()
        summary = train(cfg, run_dir)
        seconds = time.perf_counter() - start
    module = summary["module"].eval()
    summary["trainer"].save_checkpoint(run_dir / "checkpoints" / "last.ckpt")  # for ganforge-sample
    datamodule = summary["trainer"].datamodule
    test = datamodule.split_fields("test")
    start = time.perf_counter()
    row = {
        "variant": variant,
        "seed": seed,
        "canvas": args.canvas,
        "steps": args.steps,
        "width": args.width,
        "batch_size": args.batch_size,
        "threads": args.threads,
        "gen_steps_done": summary["gen_step"],
        "train_seconds": round(seconds, 1),
        "overrides": overrides,
        "text_encoder": module.text_encoder.identity(),
        **score_images(generated_test_images(module, test), test, suite, matcher, datamodule),
    }
    if variant == "stackgan":
        row["stage1_bicubic"] = score_images(stage1_bicubic_images(module, test), test, suite, matcher,
                                             datamodule)  # fmt: skip
    row["eval_seconds"] = round(time.perf_counter() - start, 1)
    return row


# ------------------------------------------------------------------------------------------- tables
def _cell(rows: list[dict], key: str, subset: str, name: str) -> str:
    if name.startswith("rprecision"):  # over all rows, not per subset
        return mean_se([r[key][name] for r in rows], 100.0) + "%" if subset == "seen" else "(all rows)"
    return mean_se([r[key][f"{subset}/{name}"] for r in rows], 100.0) + "%"


def _scored_rows(results: list[dict]) -> list[dict]:
    """Runs as table rows; a StackGAN run gives two: its Stage-I upsampled bicubically, then Stage-II."""
    rows = []
    for r in results:
        if r["variant"] == "real_test":
            continue
        if "stage1_bicubic" in r:
            rows.append({**r, **r["stage1_bicubic"], "variant": "stackgan/stage1_bicubic"})
        rows.append(r)
    return rows


def tables(results: list[dict]) -> str:
    runs = _scored_rows(results)
    real = [r for r in results if r["variant"] == "real_test"]
    groups: dict[tuple, list[dict]] = {}
    for r in runs:
        groups.setdefault((r["variant"], r["canvas"], r["width"], r["steps"]), []).append(r)
    with_hf = all("hf_share" in r for r in [*runs, *real[-1:]])
    real_hf = f" (real {real[-1]['hf_share']:.4f})" if with_hf and real else ""
    lines = [
        "| model | seeds | canvas | width | generator steps | train s | FID ↓ | precision ↑ | recall ↑ |"
        + (f" HF share{real_hf} |" if with_hf else ""),
        "|---|---|---|---|---|---|---|---|---|" + ("---|" if with_hf else ""),
    ]
    for (variant, canvas, width, steps), rows in groups.items():
        cells = [
            mean_se([r["train_seconds"] for r in rows], digits=0),
            mean_se([r["fid"] for r in rows]),
            mean_se([r["precision"] for r in rows], digits=3),
            mean_se([r["recall"] for r in rows], digits=3),
        ]
        if with_hf:
            cells.append(mean_se([r["hf_share"] for r in rows], digits=4))
        lines.append(
            f"| {NAMES.get(variant, variant)} | {len(rows)} | {canvas} | {width} | {steps:,} | "
            + " | ".join(cells)
            + " |"
        )
    names = ["colour", "size", "position", "class", "every"]
    if all("rprecision100_matcher" in r["matched"] for r in results):
        names.append("rprecision100_matcher")
    lines += [
        "",
        "| images | generator steps | captions | rows | " + " | ".join(names) + " |",
        "|---|---|---|---|" + "---|" * len(names),
    ]
    for r in real[-1:]:
        for subset in ("seen", "held_out"):
            lines.append(
                f"| real test images | | their own | {subset} | "
                + " | ".join(_cell([r], "matched", subset, n) for n in names)
                + " |"
            )
    for (variant, _, _, steps), rows in groups.items():
        for key, label in (("matched", "their own"), ("shuffled", "shuffled")):
            for subset in ("seen", "held_out"):
                lines.append(
                    f"| {NAMES.get(variant, variant)} | {steps:,} | {label} | {subset} | "
                    + " | ".join(_cell(rows, key, subset, n) for n in names)
                    + " |"
                )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=2000, help="generator steps per run")
    parser.add_argument("--width", type=int, default=32, help="base width of G and D (DCGAN's 64 costs 3x)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1])
    parser.add_argument("--variants", nargs="+", default=list(VARIANTS), choices=list(VARIANTS))
    parser.add_argument("--canvas", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=2, help="torch threads per run")
    parser.add_argument("--out", type=Path, default=Path("outputs/bench_text_to_image"), help="run folders")
    parser.add_argument("--results", type=Path, default=results_file("bench_text_to_image.jsonl"))
    parser.add_argument(
        "--matcher-steps", type=int, default=3000, help="training steps of the R-precision matcher"
    )
    parser.add_argument(
        "--rescore", action="store_true", help="add R-precision to finished runs (saved checkpoints)"
    )
    parser.add_argument("--table-only", action="store_true", help="print the tables of existing results")
    args = parser.parse_args()

    results = load_results(args.results)
    if args.rescore:
        torch.set_num_threads(args.threads)
        results = rescore(results, args)
        tmp = args.results.with_suffix(".tmp")
        tmp.write_text("".join(json.dumps(r) + "\n" for r in results))
        tmp.replace(args.results)  # whole rows rewritten at once: never a half-written results file
    elif not args.table_only:
        args.out.mkdir(parents=True, exist_ok=True)
        torch.set_num_threads(args.threads)
        info = ensure_evaluator(args)
        print(f"captioned_fashion_mnist evaluator: test accuracy {info['test_accuracy']:.4f}", flush=True)
        matcher = ensure_matcher(args)
        if not matching(results, variant="real_test", canvas=args.canvas):
            reference = {**real_reference(args, matcher), "evaluator_test_accuracy": info["test_accuracy"]}
            results.append(reference)
            append_result(args.results, reference)
        for seed in args.seeds:
            for variant in args.variants:
                same = matching(
                    results, variant=variant, seed=seed, canvas=args.canvas, steps=args.steps,
                    width=args.width, batch_size=args.batch_size, threads=args.threads,
                )  # fmt: skip
                if same:
                    continue
                result = run_one(variant, seed, args, matcher)
                results.append(result)
                append_result(args.results, result)
                m = result["matched"]
                print(
                    f"{variant:12s} seed {seed}: FID {result['fid']:.2f}, matched every attribute "
                    f"{m['all/every']:.3f} (shuffled {result['shuffled']['all/every']:.3f}) "
                    f"({result['gen_steps_done']} steps in {result['train_seconds']} s)",
                    flush=True,
                )
    else:
        require_rows(args.results, results)
    print(tables(results))


if __name__ == "__main__":
    main()

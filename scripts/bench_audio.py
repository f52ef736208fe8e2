"""WaveGAN and SpecGAN on the offline spoken digits, scored the way their paper scores them.

Each (model, seed) trains ``model=<wavegan|specgan> data=spoken_digits`` for ``--steps`` generator steps
(5 critic steps each, the paper's WGAN-GP) at ``model.model_dim=--model-dim`` and batch ``--batch-size``
through ganforge's training entry point, unless ``<out>/<run>/checkpoints/last.ckpt`` already exists
(then it is scored as it is; ``ganforge-train`` with the overrides recorded in the row makes the same run).
Then, from the final checkpoint, ``--count`` clips from fixed noise (seed 0) are scored with:

- the paper's metric: the Inception score of the digit classifier ``ganforge-train-evaluator
  data=spoken_digits`` trains (the spectrogram CNN of ganforge.metrics.audio_classifier; its test
  accuracy is recorded) on all ``--count`` clips (50k as the paper), and the classifier FID against the
  4,955 training clips, on all of them and on the first 1,017 (the real test set's size: FID's bias
  depends on the count);
- pocketsphinx (ganforge.metrics.speech_recognition) on the first ``--asr-count``: the share recognised
  as a digit, the digit histogram's KL from uniform, and how often it names the classifier's digit;
- D_self / D_train (ganforge.metrics.compute.nearest_neighbour_distances) of the first 1,000 clips in the
  standardised log-spectrogram space (AudioDataModule.distance_features);
- the real-time factor of generation: seconds of audio made per second of wall time, on this CPU
  (``--threads`` threads, batches of 100 clips, SpecGAN's Griffin-Lim included); ``--rtf`` times every
  run again in one process, one after another, so that the rows compare.

Once, the real clips through the same scorers: the test split (1,017 clips, its labels give the
recogniser's accuracy) and the training split (its nearest neighbours are itself); and ``--asr-count``
clips of white noise at -30 dBFS RMS, the floor of every score (pocketsphinx hears a digit in some).
Results are appended to ``--results`` (default docs/bench_audio.jsonl) as they come; a rerun skips
finished rows; ``--table-only`` prints the table; ``--figure`` writes the spectrogram figure.

    python scripts/bench_audio.py [--models wavegan specgan] [--seeds 0 1] [--steps 500]
        [--model-dim 16] [--batch-size 32] [--count 50000] [--asr-count 2000] [--threads 2]
        [--train-threads 2] [--out outputs/bench_audio] [--figure docs/images/audio_spectrograms.png]
        [--table-only] [--rtf]
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

NAMES = {"wavegan": "WaveGAN", "specgan": "SpecGAN", "real_test": "real test clips",
         "real_train": "real training clips", "noise": "white noise, -30 dBFS"}  # fmt: skip
PAPER_IS = {"wavegan": 4.7, "specgan": 6.0, "real_test": 8.0, "real_train": 9.2}  # SC09, their classifier
TEST_SIZE = 1017  # clips in the spoken digits' test split: the FID at the test set's size
NN_COUNT = 1000
NOISE_DBFS = -30.0
GENERATION_BATCH = 100


def evaluator_path() -> Path:
    return Path("outputs/evaluators/spoken_digits/classifier.pt").resolve()


def compose(args: argparse.Namespace, overrides: list[str]):
    from ganforge.config.loading import compose_config

    return compose_config(
        [
            *overrides,
            f"paths.output_dir={args.out.resolve()}",
            f"eval.classifier_path={evaluator_path()}",
            f"eval.cache_dir={(args.out / 'cache').resolve()}",
        ]
    )


def ensure_evaluator(args: argparse.Namespace) -> dict:
    """``ganforge-train-evaluator data=spoken_digits`` once (default settings), then reused."""
    from ganforge.metrics.train_classifier import train_evaluator

    path = evaluator_path()
    if not path.is_file():
        train_evaluator(
            compose(args, ["data=spoken_digits", f"hardware.num_threads={args.threads}"]), path=path
        )
    record = torch.load(path, map_location="cpu", weights_only=True)
    return {k: record[k] for k in ("test_accuracy", "train_accuracy", "train_steps", "weights_hash")}


def overrides_for(model: str, seed: int, args: argparse.Namespace) -> list[str]:
    return [
        f"model={model}",
        "data=spoken_digits",
        f"model.model_dim={args.model_dim}",
        f"data.batch_size={args.batch_size}",
        f"trainer.max_steps={args.steps}",
        f"trainer.seed={seed}",
        "trainer.sample_every_n_steps=250",
        "trainer.checkpoint_every_n_steps=250",
        "trainer.progress_bar=false",
        f"hardware.num_threads={args.train_threads}",
    ]


def run_dir_of(model: str, seed: int, args: argparse.Namespace) -> Path:
    return args.out / f"{model}_d{args.model_dim}_b{args.batch_size}_{args.steps}steps_s{seed}"


def train_run(model: str, seed: int, args: argparse.Namespace) -> Path:
    from ganforge.training import train

    run_dir = run_dir_of(model, seed, args)
    ckpt = run_dir / "checkpoints" / "last.ckpt"
    if not ckpt.is_file():
        summary = train(compose(args, overrides_for(model, seed, args)), run_dir)
        summary["trainer"].save_checkpoint(ckpt)
    return ckpt


def load_run(ckpt: str | Path):
    """(the trained checkpoint, its module in eval mode bound to its data, the datamodule)."""
    from ganforge.build import build_datamodule
    from ganforge.checkpoints import load_trained_module

    trained = load_trained_module(ckpt)
    datamodule = build_datamodule(trained.cfg)
    trained.module.bind_data(datamodule)
    return trained, trained.module.eval(), datamodule


def classifier_suite(datamodule):
    """A MetricSuite used for its classifier extractor and the training clips' features (the scores below
    call ganforge.metrics.compute themselves, on counts that differ per scorer)."""
    from ganforge.metrics.evaluate import EvalSettings, MetricSuite

    settings = EvalSettings(classifier_path=str(evaluator_path()), cache_dir=None, batch_size=500)
    suite = MetricSuite(["fid1k_classifier"], datamodule, settings)
    suite.prepare()
    return suite


@torch.no_grad()
def generated_clips(module, n: int) -> tuple[torch.Tensor, float]:
    """``n`` int16 clips from fixed noise (seed 0), and the wall seconds generation took."""
    from ganforge.data.base import take
    from ganforge.metrics.evaluate import to_storage

    inputs = module.sampling_inputs(n, 0)
    chunks, seconds = [], 0.0
    for i in range(0, n, GENERATION_BATCH):
        start = time.perf_counter()
        clips = module.sample_inputs(take(inputs, slice(i, i + GENERATION_BATCH)))
        seconds += time.perf_counter() - start
        chunks.append(to_storage(clips))
    return torch.cat(chunks), seconds


def scores(
    clips: torch.Tensor, datamodule, suite, args: argparse.Namespace, labels=None, nn: bool = True
) -> dict:
    """Every number of a row for int16 clips [N, 1, T]."""
    from ganforge.metrics import compute
    from ganforge.metrics.extractors import extract
    from ganforge.metrics.speech_recognition import DigitRecognizer, digit_scores

    extractor = suite.extractor("classifier")
    features, logits = extract(extractor, clips, 500)
    real_features, _ = suite.real("classifier")
    is_mean, is_std = compute.inception_score(logits, 0)
    row = {"count": len(clips), "is": is_mean, "is_std": is_std}
    row["class_histogram"] = torch.bincount(logits.argmax(1), minlength=10).div(len(clips)).tolist()
    row["fid"] = compute.fid(real_features, features)
    row["fid_1k017"] = compute.fid(real_features, features[:TEST_SIZE])
    asr_clips = clips[: args.asr_count]
    recognised = DigitRecognizer().recognise(asr_clips)
    row["asr"] = digit_scores(
        recognised, logits[: len(asr_clips)].argmax(1)
    )  # agreement: with the classifier
    if labels is not None:
        row["asr_label_accuracy"] = digit_scores(recognised, labels[: len(asr_clips)])["agreement"]
        row["classifier_accuracy"] = float((logits.argmax(1) == labels).double().mean())
    if nn:
        train_clips, _ = datamodule.reference("audio", "train")
        d_self, d_train = compute.nearest_neighbour_distances(
            datamodule.distance_features(clips[:NN_COUNT]), datamodule.distance_features(train_clips)
        )
        row["d_self"], row["d_train"] = d_self, d_train
    return row


def score_run(model: str, seed: int, args: argparse.Namespace, evaluator: dict) -> dict:
    ckpt = train_run(model, seed, args)
    trained, module, datamodule = load_run(ckpt)
    suite = classifier_suite(datamodule)
    clips, gen_seconds = generated_clips(module, args.count)
    start = time.perf_counter()
    row = {
        "variant": model,
        "seed": seed,
        "steps": args.steps,
        "model_dim": args.model_dim,
        "batch_size": args.batch_size,
        "gen_steps_done": trained.gen_step,
        "overrides": overrides_for(model, seed, args),
        "checkpoint": str(ckpt),
        "evaluator": evaluator,
        "threads": args.threads,
        "realtime_factor": args.count * (clips.shape[-1] / datamodule.sample_rate) / gen_seconds,
        **scores(clips, datamodule, suite, args),
    }
    row["eval_seconds"] = round(time.perf_counter() - start, 1)
    return row


def score_real(split: str, args: argparse.Namespace, evaluator: dict) -> dict:
    from ganforge.build import build_datamodule

    datamodule = build_datamodule(compose(args, ["model=wavegan", "data=spoken_digits"]))
    suite = classifier_suite(datamodule)
    clips, labels = datamodule.reference("audio", split)
    row = {"variant": f"real_{split}", "evaluator": evaluator}
    row.update(scores(clips, datamodule, suite, args, labels=labels, nn=split == "test"))
    if split == "train":
        row.pop("fid"), row.pop("fid_1k017")  # the reference itself
    return row


def score_noise(args: argparse.Namespace, evaluator: dict) -> dict:
    from ganforge.build import build_datamodule

    datamodule = build_datamodule(compose(args, ["model=wavegan", "data=spoken_digits"]))
    suite = classifier_suite(datamodule)
    from ganforge.audio.io import float_to_int16

    rms = 10 ** (NOISE_DBFS / 20)  # of full scale
    noise = torch.randn(args.asr_count, 1, datamodule.num_samples, generator=torch.Generator().manual_seed(0))
    clips = float_to_int16(noise * rms)
    return {
        "variant": "noise",
        "dbfs": NOISE_DBFS,
        "evaluator": evaluator,
        **scores(clips, datamodule, suite, args),
    }


def measure_realtime_factors(results: list[dict], args: argparse.Namespace, clips: int = 2000) -> None:
    """``--rtf``: the real-time factor of every run again, one after another in one process with
    ``--threads`` threads, so the rows compare (the scoring pass times generation under whatever else ran
    then). The file is rewritten with the new values (atomically)."""
    from ganforge.io import atomic_write_text

    for r in results:
        if "checkpoint" not in r:
            continue
        _, module, datamodule = load_run(r["checkpoint"])
        made, seconds = generated_clips(module, clips)
        r["realtime_factor"] = clips * (made.shape[-1] / datamodule.sample_rate) / seconds
        r["realtime_factor_setup"] = {"clips": clips, "batch": GENERATION_BATCH, "threads": args.threads}
        print(f"{r['variant']} seed {r['seed']}: {r['realtime_factor']:.0f} x real time", flush=True)
    atomic_write_text(args.results, "".join(json.dumps(r) + "\n" for r in results))


# ------------------------------------------------------------------------------------------- table
def table(results: list[dict]) -> str:
    real = {r["variant"]: r for r in results if r["variant"] in ("real_train", "real_test", "noise")}
    runs: dict[tuple, list[dict]] = {}
    for r in results:
        if r["variant"] not in real:
            runs.setdefault((r["variant"], r["model_dim"], r["gen_steps_done"]), []).append(r)
    test_is = real["real_test"]["is"] if "real_test" in real else None
    lines = [
        "| clips | seeds | d | generator steps | IS ↑ | IS / real test (paper) | FID (1,017) ↓ | FID (all) ↓ "
        "| pocketsphinx: a digit | its digit = classifier's | digit KL ↓ | D_self | D_train | × real time |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]

    def ratio(rows: list[dict], variant: str) -> str:
        if test_is is None or variant not in PAPER_IS:
            return f"{mean_se([r['is'] / test_is for r in rows], digits=2)}" if test_is else ""
        paper = PAPER_IS[variant] / PAPER_IS["real_test"]
        return f"{mean_se([r['is'] / test_is for r in rows], digits=2)} ({paper:.2f})"

    def cells(rows: list[dict], variant: str) -> list[str]:
        get = lambda k: [r[k] for r in rows if k in r]  # noqa: E731
        asr = [r["asr"] for r in rows]
        return [
            mean_se(get("is"), digits=2),
            ratio(rows, variant),
            mean_se(get("fid_1k017")) if get("fid_1k017") else "",
            mean_se(get("fid")) if len(get("fid")) and rows[0]["count"] > TEST_SIZE else "",
            mean_se([a["recognised"] for a in asr], 100.0) + "%",
            mean_se([a["agreement"] for a in asr], 100.0) + "%",
            mean_se([a["kl"] for a in asr], digits=3),
            mean_se(get("d_self")) if get("d_self") else "",
            mean_se(get("d_train")) if get("d_train") else "",
            mean_se(get("realtime_factor"), digits=0) if get("realtime_factor") else "",
        ]

    for variant in ("real_train", "real_test", "noise"):
        if variant in real:
            r = real[variant]
            lines.append(
                f"| {NAMES[variant]} ({r['count']:,}) | | | | " + " | ".join(cells([r], variant)) + " |"
            )
    for (variant, dim, steps), rows in runs.items():
        lines.append(
            f"| {NAMES[variant]} ({rows[0]['count']:,}) | {len(rows)} | {dim} | {steps:,} | "
            + " | ".join(cells(rows, variant))
            + " |"
        )
    if "real_test" in real:
        r = real["real_test"]
        lines += [
            "",
            f"Digit classifier (evaluator): test accuracy {100 * r['evaluator']['test_accuracy']:.2f}% "
            f"(weights {r['evaluator']['weights_hash'][:12]}); pocketsphinx names the real test clip's "
            f"digit in {100 * r['asr_label_accuracy']:.1f}% of clips.",
        ]
    return "\n".join(lines)


def figure(results: list[dict], path: Path, args: argparse.Namespace, per_row: int = 8) -> None:
    """Spectrograms of real test clips and of each model's first seed's clips (same noise), one row each."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from ganforge.audio.io import int16_to_float
    from ganforge.audio.spectrogram import spectrogram_picture
    from ganforge.build import build_datamodule

    datamodule = build_datamodule(compose(args, ["model=wavegan", "data=spoken_digits"]))
    test, labels = datamodule.reference("audio", "test")
    order = torch.cat([torch.nonzero(labels == d)[:1, 0] for d in range(per_row)])
    rows = [("real test clips (zero ... seven)", int16_to_float(test[order]))]
    for model in args.models:
        run = next((r for r in results if r["variant"] == model and r["seed"] == args.seeds[0]), None)
        if run is None:
            continue
        _, module, _ = load_run(run["checkpoint"])
        with torch.no_grad():
            clips = module.sample_inputs(module.sampling_inputs(per_row, 0))
        rows.append((f"{NAMES[model]}, {run['gen_steps_done']:,} steps (d={run['model_dim']})", clips))
    fig, axes = plt.subplots(len(rows), per_row, figsize=(per_row * 1.6, len(rows) * 1.9), squeeze=False)
    for (title, clips), row in zip(rows, axes):
        pictures = spectrogram_picture(clips.float())[:, 0]
        for ax, picture in zip(row, pictures):
            ax.imshow(picture.numpy(), cmap="magma", vmin=-1, vmax=1, aspect="auto")
            ax.set_xticks([]), ax.set_yticks([])
        row[0].set_ylabel("0-8 kHz", fontsize=8)
        row[0].set_title(title, loc="left", fontsize=10)
    fig.suptitle("log spectrograms, 1 s at 16 kHz (-80 to +30 dB)", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=path.parent, suffix=".png", delete=False) as tmp:
        fig.savefig(tmp.name, dpi=110)
    Path(tmp.name).chmod(0o644)  # NamedTemporaryFile makes it owner-only
    Path(tmp.name).replace(path)
    plt.close(fig)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--models", nargs="*", default=["wavegan", "specgan"], choices=["wavegan", "specgan"])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1])
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--model-dim", type=int, default=16)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--count", type=int, default=50_000)
    parser.add_argument("--asr-count", type=int, default=2000)
    parser.add_argument("--threads", type=int, default=2, help="math threads of the scoring")
    parser.add_argument("--train-threads", type=int, default=2, help="hardware.num_threads of training")
    parser.add_argument("--out", type=Path, default=Path("outputs/bench_audio"))
    parser.add_argument("--results", type=Path, default=results_file("bench_audio.jsonl"))
    parser.add_argument("--figure", type=Path, default=None)
    parser.add_argument("--table-only", action="store_true")
    parser.add_argument("--rtf", action="store_true", help="re-time every run's generation (see below)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    results = load_results(args.results)
    if args.rtf:
        measure_realtime_factors(results, args)
    elif not args.table_only:
        evaluator = ensure_evaluator(args)
        for split in ("test", "train"):
            if not matching(results, variant=f"real_{split}"):
                results.append(score_real(split, args, evaluator))
                append_result(args.results, results[-1])
                print(f"real {split}: IS {results[-1]['is']:.2f}", flush=True)
        if not matching(results, variant="noise"):
            results.append(score_noise(args, evaluator))
            append_result(args.results, results[-1])
        for model in args.models:
            for seed in args.seeds:
                key = {"variant": model, "seed": seed, "steps": args.steps, "model_dim": args.model_dim}
                if matching(results, **key):
                    continue
                results.append(score_run(model, seed, args, evaluator))
                append_result(args.results, results[-1])
                r = results[-1]
                print(f"{model} seed {seed}: IS {r['is']:.2f}, FID {r['fid']:.1f}, "
                      f"asr {r['asr']['recognised']:.3f}", flush=True)  # fmt: skip
        if args.figure:
            figure(results, args.figure, args)
    require_rows(args.results, results)
    print(table(results))


if __name__ == "__main__":
    main()

"""Scoring audio (issue 15, item 5): the spectrogram-CNN digit classifier behind the classifier route
(IS / FID of clips), int16 storage space, the nearest-neighbour distances (``nn``), pocketsphinx's digit
recognition (``speech_digits``), and all of them through ganforge-train-evaluator and a training run's
metrics on the tiny synthesised spoken-digit set. Offline."""

from __future__ import annotations

import csv
import math
from importlib.util import find_spec

import pytest
import torch
from helpers.spoken_digits import HAVE_SYNTHS, TINY, TINY_OVERRIDES

from ganforge.errors import EvaluationError
from ganforge.metrics.audio_classifier import AudioClassifier, random_time_shift
from ganforge.metrics.compute import nearest_neighbour_distances
from ganforge.metrics.evaluate import to_storage
from ganforge.metrics.extractors import build_classifier_net, prepare_samples
from ganforge.metrics.registry import parse_metric


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    if not HAVE_SYNTHS:
        pytest.skip("espeak-ng/flite not installed (make install)")
    return tmp_path_factory.mktemp("audio_data")


@pytest.fixture(scope="module")
def tiny_clips(data_dir):
    """(train clips, labels, test clips, labels) of the tiny set, int16 [N, 1, 16000]."""
    from ganforge.data.audio_digits import spoken_digits

    train, test = (spoken_digits(data_dir, split, **TINY) for split in ("train", "test"))
    return train["audio"], train["label"], test["audio"], test["label"]


# ------------------------------------------------------------------ the classifier and storage space
def test_clips_get_the_spectrogram_classifier_and_int16_storage():
    net = build_classifier_net([1, 16_000], 10)
    assert isinstance(net, AudioClassifier) and net.num_features == 256
    clips = torch.randint(-3000, 3000, (3, 1, 16_000), dtype=torch.int16)
    x = prepare_samples(clips, [1, 16_000])
    assert x.dtype == torch.float32 and torch.equal(x, clips.float() / 32768)
    features, logits = net.eval()(x)
    assert features.shape == (3, 256) and logits.shape == (3, 10)
    assert prepare_samples(clips[..., :12_000], [1, 16_000]).shape == (3, 1, 16_000), "padded"
    with pytest.raises(EvaluationError, match="int16"):
        prepare_samples(clips.float(), [1, 16_000])
    with pytest.raises(EvaluationError, match=r"mono clips \[N, 1, T\]"):
        prepare_samples(clips.expand(-1, 2, -1), [1, 16_000])
    with pytest.raises(EvaluationError, match="mono clips"):
        build_classifier_net([2, 16_000], 10)
    # generated clips in model space ([-1, 1] floats) are quantised like a 16-bit WAV, and back exactly
    floats = torch.tensor([[[-1.0, -0.5, 0.0, 0.25, 1.0]]])
    stored = to_storage(floats)
    assert stored.dtype == torch.int16 and stored.tolist() == [[[-32768, -16384, 0, 8192, 32767]]]


def test_time_shift_moves_each_clip_whole_samples_within_the_limit():
    x = torch.arange(1, 2001, dtype=torch.float32).expand(32, 1, 2000).clone()
    out = random_time_shift(x, 2.0, torch.Generator().manual_seed(0))  # up to 2 hops = 256 samples
    assert out.shape == x.shape
    shifts = set()
    for clip in out[:, 0]:
        nonzero = clip[clip != 0]
        first = int(nonzero[0])  # shifted left: starts later in the ramp; right: leading zeros
        shift = -(first - 1) if first > 1 else int((clip == 0).sum())
        assert abs(shift) <= 256
        assert torch.equal(nonzero, torch.arange(first, first + len(nonzero), dtype=torch.float32))
        shifts.add(shift)
    assert len(shifts) > 10, "the shifts differ between clips"
    assert torch.equal(random_time_shift(x, 0.0, torch.Generator()), x)


# ------------------------------------------------------------------ nearest neighbours
def test_nearest_neighbour_distances_are_exact():
    fake = torch.tensor([[0.0], [1.0], [5.0]])
    train = torch.tensor([[0.5], [4.0]])
    d_self, d_train = nearest_neighbour_distances(fake, train, chunk=2)  # chunks must not change it
    assert d_self == pytest.approx((1 + 1 + 4) / 3)  # a sample is not its own neighbour
    assert d_train == pytest.approx((0.5 + 0.5 + 1) / 3)
    assert nearest_neighbour_distances(train, train)[1] == 0.0, "memorised copies are at distance 0"


def test_unrouted_metric_names():
    assert parse_metric("nn1k").count == 1000 and parse_metric("nn1k").route is None
    assert parse_metric("speech_digits2k").kind == "speech_digits"
    with pytest.raises(EvaluationError, match="takes no route suffix"):
        parse_metric("nn1k_classifier")


# ------------------------------------------------------------------ pocketsphinx
def test_pocketsphinx_recognises_synthesised_digits_and_rejects_noise(tiny_clips):
    pytest.importorskip("pocketsphinx", reason="the audio extra is not installed")
    from ganforge.metrics.speech_recognition import DigitRecognizer, digit_scores

    _, _, test, labels = tiny_clips  # flite's slt voice: a clear voice the recogniser should get
    recognizer = DigitRecognizer()
    recognised = recognizer.recognise(test)
    scores = digit_scores(recognised, labels)
    assert scores["recognised"] >= 0.9 and scores["agreement"] >= 0.8, scores
    assert sum(scores[f"digit{k}"] for k in range(10)) == pytest.approx(1.0)
    # white noise at -20 dBFS: mostly no word (a few "two" / "eight": its hiss is close to their /t/)
    noise = (torch.randn(50, 1, 16_000, generator=torch.Generator().manual_seed(0)) * 3277).to(torch.int16)
    assert digit_scores(recognizer.recognise(noise))["recognised"] <= 0.3
    only_sevens = digit_scores(torch.full((5,), 7))
    assert only_sevens["kl"] == pytest.approx(math.log(10)) and only_sevens["digit7"] == 1.0
    with pytest.raises(EvaluationError, match="16 kHz"):
        DigitRecognizer(sample_rate=8000)


def test_speech_digits_refuses_image_data(compose, tmp_path):
    from ganforge.build import build_datamodule
    from ganforge.metrics.evaluate import EvalSettings, MetricSuite

    datamodule = build_datamodule(compose("data=ring", f"paths.root_dir={tmp_path}"))
    with pytest.raises(EvaluationError, match="not audio"):
        MetricSuite(["speech_digits100"], datamodule, EvalSettings(classifier_path="x"))


# ------------------------------------------------------------------ end to end
def test_evaluator_learns_digits_and_a_run_reports_every_audio_metric(run, tmp_path, data_dir):
    """ganforge-train-evaluator data=spoken_digits trains the spectrogram CNN (it must learn the 20
    training clips); a WaveGAN run then logs IS / FID of that classifier, nn and speech_digits."""
    from ganforge.cli.train_evaluator import main as train_evaluator

    classifier = tmp_path / "classifier.pt"
    common = [*TINY_OVERRIDES, f"paths.data_dir={data_dir}", "hardware.num_threads=1"]
    train_evaluator(
        [
            *common,
            f"evaluator.path={classifier}",
            "evaluator.min_steps=60",
            "evaluator.batch_size=20",
            "trainer.progress_bar=false",
        ]  # fmt: skip
    )
    record = torch.load(classifier, weights_only=True)
    assert record["shape"] == [1, 16_000] and record["train_accuracy"] >= 0.9, record["train_accuracy"]
    metrics = ["is20_classifier", "fid20_classifier", "nn20"]
    if find_spec("pocketsphinx") is not None:
        metrics.append("speech_digits20")
    summary = run(
        "model=wavegan", *common, "data.batch_size=4", "model.model_dim=2", "model.audio_clips=0",
        "trainer.max_steps=2", "trainer.sample_every_n_steps=100", f"eval.classifier_path={classifier}",
        "logger=csv", f"eval.metrics=[{','.join(metrics)}]", "eval.every_n_steps=2", "eval.batch_size=10",
    )  # fmt: skip
    assert summary["gen_step"] == 2
    with open(tmp_path / "run" / "metrics.csv") as f:
        (scores,) = [
            {k: float(v) for k, v in r.items() if v} for r in csv.DictReader(f) if r.get("eval/nn20_self")
        ]
    assert 1.0 <= scores["eval/is20_classifier"] <= 10.0
    assert scores["eval/fid20_classifier"] > 0
    assert scores["eval/nn20_train"] > 0 and scores["eval/nn20_self"] >= 0
    if "speech_digits20" in metrics:
        assert 0.0 <= scores["eval/speech_digits20_recognised"] <= 1.0

    # ganforge-eval: the checkpoint's clips, then real clips given as a folder of WAVs and as a tensor
    from ganforge.audio.io import write_wavs
    from ganforge.cli.eval import evaluate_cli, parse_args

    ckpt = tmp_path / "run" / "checkpoints" / "last.ckpt"
    _, from_ckpt = evaluate_cli(*parse_args([f"ckpt={ckpt}", "metrics=[is20_classifier,nn20]"]))
    assert from_ckpt["metrics"]["is20_classifier"] == pytest.approx(scores["eval/is20_classifier"], rel=1e-4)
    train_clips = _tiny_train(data_dir)
    wavs = tmp_path / "wavs"
    write_wavs(train_clips.float() / 32768, wavs, 16_000)
    torch.save(train_clips.float() / 32768, tmp_path / "clips.pt")
    for source in (wavs, tmp_path / "clips.pt"):
        _, real = evaluate_cli(
            *parse_args(
                [f"samples={source}", *common, f"eval.classifier_path={classifier}", "metrics=[nn20]"]
            )
        )
        assert real["metrics"]["nn20_train"] == pytest.approx(0.0, abs=1e-3), "the training clips themselves"


def _tiny_train(data_dir) -> torch.Tensor:
    from ganforge.data.audio_digits import spoken_digits

    return spoken_digits(data_dir, "train", **TINY)["audio"]

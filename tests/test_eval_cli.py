"""ganforge-eval, ganforge-train-evaluator and the training-time metrics callback, as a user runs them."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ganforge.cli.eval import evaluate_cli, parse_args
from ganforge.data.mixtures import ring_means, sample_mixture
from ganforge.data.sources import mnist5k
from ganforge.errors import EvaluationError


def module_cli(module: str, *args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONWARNINGS": "ignore", **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", f"ganforge.cli.{module}", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


@pytest.fixture(scope="module")
def digits():
    x, y = mnist5k(".", "test")
    return x[torch.randperm(len(x), generator=torch.Generator().manual_seed(0))]


def in_process(*argv: str) -> tuple[Path, dict]:
    return evaluate_cli(*parse_args(list(argv)))


def test_eval_scores_pt_npy_and_folder_samples(mnist_evaluator, digits, tmp_path):
    root = f"paths.root_dir={mnist_evaluator['root']}"
    torch.save(digits[:300], tmp_path / "uint8.pt")
    np.save(tmp_path / "model_space.npy", (digits[:300].float() / 127.5 - 1).numpy())
    folder = tmp_path / "pngs"
    folder.mkdir()
    for i, img in enumerate(digits[:300]):
        Image.fromarray(img[0].numpy()).save(folder / f"{i:04d}.png")

    # A real process, as a user runs it.
    done = module_cli(
        "eval",
        f"samples={tmp_path / 'uint8.pt'}",
        "data=mnist5k",
        "metrics=[fid300_classifier]",
        root,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    # metrics.json holds only the metrics (what `dvc exp show` lists); provenance goes beside it.
    metrics = json.loads((tmp_path / "uint8.metrics.json").read_text())
    assert list(metrics) == ["fid300_classifier"]
    fid = metrics["fid300_classifier"]
    record = json.loads((tmp_path / "uint8.metrics.provenance.json").read_text())
    assert record["protocol"]["metrics"]["fid300_classifier"]["extractor"]["route"] == "classifier"
    assert record["protocol"]["reference"] == "mnist5k:train" and "metrics" not in record
    assert record["samples"] == str((tmp_path / "uint8.pt").resolve()) and record["metric_seconds"] > 0

    # The same pixels as [-1, 1] floats (.npy) and as a folder of PNGs score the same.
    _, from_npy = in_process(
        f"samples={tmp_path / 'model_space.npy'}", "data=mnist5k", "metrics=[fid300_classifier]", root
    )
    out, from_png = in_process(f"samples={folder}", "data=mnist5k", "metrics=[fid300_classifier]", root)
    assert from_npy["metrics"]["fid300_classifier"] == pytest.approx(fid, rel=1e-6)
    assert from_png["metrics"]["fid300_classifier"] == pytest.approx(fid, rel=1e-6)
    assert out == tmp_path / "pngs.metrics.json" and out.is_file()

    with pytest.raises(EvaluationError, match="300 samples given, but fid1k_classifier needs 1000"):
        in_process(f"samples={tmp_path / 'uint8.pt'}", "data=mnist5k", "metrics=[fid1k_classifier]", root)
    np.save(tmp_path / "unit.npy", (digits[:10].float() / 255).numpy())
    with pytest.raises(EvaluationError, match=r"read as model space \[-1, 1\]"):
        in_process(f"samples={tmp_path / 'unit.npy'}", "data=mnist5k", "metrics=[fid10_classifier]", root)


def test_eval_scores_mode_coverage_of_points(tmp_path):
    points, _ = sample_mixture(ring_means(), 0.01, 2500, seed=3)
    torch.save(points, tmp_path / "ring.pt")
    _, record = in_process(f"samples={tmp_path / 'ring.pt'}", "data=ring", "metrics=[modes2k5]")
    assert record["metrics"]["modes2k5_modes"] == 8
    assert record["metrics"]["modes2k5_high_quality"] == pytest.approx(0.989, abs=0.01)


def test_eval_errors_are_clear(tmp_path, digits):
    torch.save(digits[:20], tmp_path / "x.pt")
    samples = f"samples={tmp_path / 'x.pt'}"
    unknown = module_cli("eval", samples, "data=mnist5k", "metrics=[fid10k_clasifier]", cwd=tmp_path)
    assert unknown.returncode == 2
    assert "Unknown metric 'fid10k_clasifier'" in unknown.stderr and "fid50k_inception" in unknown.stderr
    assert "Traceback" not in unknown.stderr

    missing = module_cli("eval", samples, "data=mnist5k", "metrics=[fid10_classifier]", cwd=tmp_path)
    assert missing.returncode == 2
    assert "`ganforge-train-evaluator data=mnist5k`" in missing.stderr

    offline = {"TORCH_HOME": str(tmp_path / "torch"), "GANFORGE_OFFLINE": "1"}
    inception = module_cli(
        "eval", samples, "data=mnist5k", "metrics=[fid10_inception]", cwd=tmp_path, env=offline
    )
    assert inception.returncode == 2
    assert str(tmp_path / "torch" / "hub" / "checkpoints" / "weights-inception-2015-12-05-6726825d.pth") in (
        inception.stderr.replace("\n", "")
    )
    with pytest.raises(EvaluationError, match="exactly one of ckpt"):
        parse_args(["metrics=[fid10_classifier]", "data=mnist5k"])
    with pytest.raises(EvaluationError, match="needs data="):
        parse_args([samples, "metrics=[fid10_classifier]"])


def test_train_evaluator_cli_saves_accuracy_config_and_hash(tmp_path):
    done = module_cli(
        "train_evaluator",
        "data=ring",
        "evaluator.epochs=0",
        "evaluator.min_steps=60",
        f"paths.root_dir={tmp_path}",
        cwd=tmp_path,
        env={"COLUMNS": "200"},  # the bar on one line
    )
    assert done.returncode == 0, done.stderr[-3000:]
    path = tmp_path / "outputs" / "evaluators" / "ring" / "classifier.pt"
    saved = torch.load(path, weights_only=True)
    assert saved["test_accuracy"] > 0.99  # the 8 ring modes are 20+ std apart
    assert saved["config"]["evaluator"]["min_steps"] == 60 and saved["data"] == "ring"
    assert "test accuracy" in done.stdout and saved["weights_hash"][:12] in done.stdout
    # the progress bar of the Lightning fit, in steps, and none of Lightning's console lines
    (bar,) = [line for line in done.stdout.splitlines() if line.startswith("evaluator ━")]
    assert " 60/60 " in bar and "steps/s" in bar and "loss: " in bar, done.stdout
    assert "GPU available" not in done.stdout + done.stderr and "Epoch" not in done.stdout


def test_training_callback_logs_metrics_keeps_best_and_eval_reads_the_checkpoint(
    run, mnist_evaluator, tmp_path
):
    summary = run(
        "model=vanilla",
        "data.batch_size=32",
        "logger=csv",
        "trainer.max_steps=4",
        "eval.metrics=[fid200_classifier,is200_classifier]",
        "eval.every_n_steps=2",
        f"eval.classifier_path={mnist_evaluator['path']}",
    )
    run_dir = Path(summary["run_dir"])
    rows = [r for r in csv.DictReader((run_dir / "metrics.csv").open()) if r.get("eval/fid200_classifier")]
    assert [int(r["step"]) for r in rows] == [2, 4]  # logged at generator steps
    assert all(
        float(r["eval/fid200_classifier"]) > 0 and float(r["eval/is200_classifier"]) >= 1 for r in rows
    )
    best = run_dir / "checkpoints" / "best.ckpt"
    assert best.is_file()
    fids = [float(r["eval/fid200_classifier"]) for r in rows]
    state = torch.load(best, weights_only=False)
    (cb_state,) = [v for k, v in state["callbacks"].items() if "MetricsCallback" in k]
    assert cb_state["best_value"] == pytest.approx(min(fids))

    out, record = in_process(f"ckpt={run_dir / 'checkpoints' / 'last.ckpt'}", "metrics=[fid200_classifier]")
    assert out == run_dir / "metrics.json" and record["gen_step"] == 4
    assert json.loads(out.read_text()) == record["metrics"]
    provenance = json.loads((run_dir / "metrics.provenance.json").read_text())
    assert provenance["gen_step"] == 4 and provenance["checkpoint"].endswith("last.ckpt")
    # Same generator, same fixed noise (eval.seed) and same protocol as the callback's last evaluation.
    assert record["metrics"]["fid200_classifier"] == pytest.approx(fids[-1], rel=1e-6)

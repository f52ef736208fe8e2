"""The console scripts as a user runs them: real processes, real files, clear errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import torch

BIN = Path(sys.executable).parent
TINY = [
    "trainer.progress_bar=false",
    "model=vanilla",
    "data.batch_size=32",
    "trainer.max_steps=4",
    "trainer.sample_every_n_steps=2",
    "trainer.checkpoint_every_n_steps=2",
]


def cli(name: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run(
        [str(BIN / name), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def test_train_resume_and_sample(tmp_path):
    first = cli("ganforge-train", *TINY, cwd=tmp_path)
    assert first.returncode == 0, first.stderr[-2000:]
    (run_dir,) = (tmp_path / "outputs" / "runs").iterdir()
    assert {p.name for p in run_dir.iterdir()} >= {
        "samples",
        "checkpoints",
        "config.yaml",
        "train.log",
        "metrics.csv",
    }
    assert len(list((run_dir / "samples").glob("*.png"))) == 2

    resumed = cli(
        "ganforge-train",
        *TINY[:-3],
        "trainer.max_steps=6",
        "trainer.sample_every_n_steps=2",
        "trainer.checkpoint_every_n_steps=2",
        f"ckpt_path={run_dir / 'checkpoints' / 'last.ckpt'}",
        cwd=tmp_path,
    )
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert list((tmp_path / "outputs" / "runs").iterdir()) == [run_dir], (
        "resume continues in the same run dir"
    )
    assert (run_dir / "checkpoints" / "step_0000006.ckpt").is_file()

    sampled = cli("ganforge-sample", f"ckpt={run_dir / 'checkpoints' / 'last.ckpt'}", "n=10", cwd=tmp_path)
    assert sampled.returncode == 0, sampled.stderr
    (pt,) = (run_dir / "generated").glob("*.pt")
    samples = torch.load(pt)
    assert samples.shape == (10, 1, 28, 28) and samples.min() >= -1 and samples.max() <= 1
    assert len(list((run_dir / "generated").glob("*.png"))) == 1


def test_sample_points(tmp_path):
    trained = cli("ganforge-train", *TINY, "data=ring", cwd=tmp_path)
    assert trained.returncode == 0, trained.stderr[-2000:]
    (run_dir,) = (tmp_path / "outputs" / "runs").iterdir()
    out = cli(
        "ganforge-sample",
        f"ckpt={run_dir / 'checkpoints' / 'last.ckpt'}",
        "n=2500",
        f"out={tmp_path / 's'}",
        cwd=tmp_path,
    )
    assert out.returncode == 0, out.stderr
    (pt,) = (tmp_path / "s").glob("*.pt")
    assert torch.load(pt).shape == (2500, 2)


def test_bad_input_exits_with_a_clear_message_and_no_run(tmp_path):
    cases = {
        ("model=transformer",): "Available options",
        ("trainer.max_steps=many",): "max_steps",
        ("model=dcgan", "data.image_size=30"): "allowed sizes are 4*2^n or 7*2^n",
        ("data=folder", f"data.loader.path={tmp_path / 'nope'}"): "not a directory",
        ("model=dcgan", "data=ring"): "Use image data",
        ("model.d_steps=0",): "k must be >= 1",
    }
    for args, message in cases.items():
        result = cli("ganforge-train", "trainer.progress_bar=false", *args, cwd=tmp_path)
        assert result.returncode != 0, args
        assert message in result.stderr + result.stdout, (args, result.stderr[-1500:])
        assert "Traceback" not in result.stderr, (args, result.stderr[-1500:])
    assert (
        not list((tmp_path / "outputs" / "runs").glob("*/checkpoints/*"))
        if (tmp_path / "outputs").exists()
        else True
    )


def test_sample_bad_input(tmp_path):
    (tmp_path / "corrupt.ckpt").write_bytes(b"not a checkpoint")
    for args, message in {
        ("n=3",): "Missing ckpt",
        (
            f"ckpt={tmp_path / 'corrupt.ckpt'}",
        ): "is not a ganforge checkpoint: it is not a file written by torch.save",
        ("ckpt=x.ckpt", "n=-1"): "positive integer",
    }.items():
        result = cli("ganforge-sample", *args, cwd=tmp_path)
        assert result.returncode == 2 and message in result.stderr, (args, result.stderr)

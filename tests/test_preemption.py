"""Preemption: a signal checkpoints at the next generator step (all ranks agree), requeues the SLURM job,
and the resumed run ends with the weights of an uninterrupted one."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from helpers.signal_at_step import SignalAtStep
from helpers.tensors import flat_params

from ganforge.callbacks.preemption import requeue_command, resolve_signal
from ganforge.checkpoints import load_checkpoint
from ganforge.errors import ConfigError

TINY_DCGAN = [
    "model=dcgan",
    "data=mnist5k",
    "model.generator.base_width=8",
    "model.discriminator.base_width=8",
    "data.batch_size=32",
    "model.d_steps=2",
    "trainer.checkpoint_every_n_steps=100",
    "trainer.sample_every_n_steps=100",
]
SLURM_JOB = {
    "SLURM_JOB_ID": "4242",
    "SLURM_JOB_NAME": "ganforge",
    "SLURM_NTASKS": "1",
    "SLURM_NODELIST": "localhost",
    "SLURM_PROCID": "0",
    "SLURM_LOCALID": "0",
    "SLURM_NODEID": "0",
}


def _fake_scontrol(tmp_path: Path, monkeypatch) -> Path:
    """An `scontrol` on PATH that records its arguments (no cluster here)."""
    calls, bin_dir = tmp_path / "scontrol.calls", tmp_path / "bin"
    bin_dir.mkdir()
    script = bin_dir / "scontrol"
    script.write_text(f'#!/bin/sh\necho "$@" >> {calls}\n')
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return calls


def test_slurm_preemption_checkpoints_requeues_and_resumes_exactly(run, tmp_path, monkeypatch):
    for key, value in SLURM_JOB.items():
        monkeypatch.setenv(key, value)
    calls = _fake_scontrol(tmp_path, monkeypatch)
    straight = run(*TINY_DCGAN, "trainer.max_steps=12", run_dir=tmp_path / "straight")
    assert straight["preempted_at"] is None and not calls.exists()

    # SIGUSR1 (trainer.preemption_signal=auto under SLURM) lands after generator step 5: the run saves
    # last.ckpt at step 6, the next step boundary, asks SLURM to requeue the job and stops.
    job = tmp_path / "job"
    signal_after_5 = SignalAtStep(0, 5, signal.SIGUSR1)
    preempted = run(*TINY_DCGAN, "trainer.max_steps=12", run_dir=job, callbacks=[signal_after_5])
    assert preempted["preempted_at"] == 6 and preempted["gen_step"] == 6
    ckpt = job / "checkpoints" / "last.ckpt"
    assert load_checkpoint(ckpt)["ganforge"]["gen_step"] == 6
    assert calls.read_text().split() == ["requeue", "4242"]

    resumed = run(*TINY_DCGAN, "trainer.max_steps=12", f"ckpt_path={ckpt}", run_dir=job)
    assert resumed["preempted_at"] is None and resumed["gen_step"] == 12
    assert torch.equal(flat_params(resumed["module"]), flat_params(straight["module"]))
    assert signal.getsignal(signal.SIGUSR1) in (signal.SIG_DFL, None), "the handler is removed after training"


def _signal_at_step(rank: int, step: int, run_dir: Path, *overrides: str) -> str:
    script = Path(__file__).parent / "helpers" / "signal_at_step.py"
    result = subprocess.run(
        [sys.executable, str(script), str(rank), str(step), "SIGUSR1", str(run_dir), *overrides],
        cwd=run_dir.parent,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_ddp_ranks_agree_on_the_preemption_step_and_resume_exactly(tmp_path):
    common = [
        *TINY_DCGAN,
        "hardware=ddp_cpu",
        "logger=none",
        "trainer.progress_bar=false",
        "trainer.preemption_signal=SIGUSR1",
        "trainer.max_steps=8",
        f"paths.root_dir={tmp_path}",
    ]
    assert "preempted_at=None" in _signal_at_step(1, -1, tmp_path / "straight", *common)
    # Only rank 1 receives the signal; both ranks must stop at the same step with identical weights.
    job = tmp_path / "job"
    assert "preempted_at=4" in _signal_at_step(1, 3, job, *common)
    report = json.loads((job / "replicas.json").read_text())
    assert report["in_sync"] and [r["gen_step"] for r in report["ranks"]] == [4, 4]

    ckpt = job / "checkpoints" / "last.ckpt"
    assert "preempted_at=None" in _signal_at_step(1, -1, job, *common, f"ckpt_path={ckpt}")
    straight = json.loads((tmp_path / "straight" / "replicas.json").read_text())
    resumed = json.loads((job / "replicas.json").read_text())
    assert resumed["ranks"] == straight["ranks"], "the resumed job must end with the straight job's weights"


def test_preemption_signal_setting(monkeypatch):
    for key in [*SLURM_JOB, "SLURM_ARRAY_JOB_ID", "SLURM_ARRAY_TASK_ID"]:
        monkeypatch.delenv(key, raising=False)
    assert resolve_signal("auto") is None and requeue_command() is None  # not a SLURM job
    assert resolve_signal(None) is None and resolve_signal("sigterm") is signal.SIGTERM
    for key, value in SLURM_JOB.items():
        monkeypatch.setenv(key, value)
    assert resolve_signal("auto") is signal.SIGUSR1
    monkeypatch.setenv("SLURM_ARRAY_JOB_ID", "4000")
    monkeypatch.setenv("SLURM_ARRAY_TASK_ID", "7")
    assert requeue_command() == ["scontrol", "requeue", "4000_7"]
    with pytest.raises(ConfigError, match="not a signal name"):
        resolve_signal("SIGFOO")

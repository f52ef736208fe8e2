"""DDP through the real CLI on 2 CPU processes (gloo): gradients of both networks are synchronised."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from ganforge.build import build_module
from ganforge.checkpoints import load_checkpoint
from ganforge.config.validate import validate
from ganforge.distributed.replicas import state_digest
from ganforge.errors import ConfigError

BIN = Path(sys.executable).parent
TINY = {
    "vanilla": ["model=vanilla", "data=ring", "model.d_steps=2"],
    "dcgan": ["model=dcgan", "model.generator.base_width=16", "model.discriminator.base_width=16"],
}
COMMON = [
    "hardware=ddp_cpu",
    "trainer.progress_bar=false",
    "data.batch_size=32",
    "trainer.sample_every_n_steps=3",
    "trainer.checkpoint_every_n_steps=3",
]


def train_cli(*args: str, cwd: Path) -> Path:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    cwd.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [str(BIN / "ganforge-train"), *COMMON, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    # One run directory per cwd (a resume continues in it): Lightning re-launches rank 1 with
    # hydra.run.dir=<rank 0's directory>, which must not make a directory of its own.
    (run_dir,) = (cwd / "outputs" / "runs").iterdir()
    assert (run_dir / "train_ddp_process_1.log").is_file(), "rank 1 logs into rank 0's run directory"
    return run_dir


def replicas(run_dir: Path) -> dict:
    report = json.loads((run_dir / "replicas.json").read_text())
    assert report["world_size"] == 2 and len(report["ranks"]) == 2
    return report


def checkpoint_digests(path: Path) -> dict[str, str]:
    ckpt = load_checkpoint(path)
    module = build_module(OmegaConf.create(ckpt["ganforge"]["config"]))
    module.load_state_dict(ckpt["state_dict"])
    return {
        net: state_digest(getattr(module, net), include_buffers=True)
        for net in ("generator", "discriminator")
    }


TINY["wgan_gp"] = ["model=wgan_gp", "model.generator.base_width=16", "model.discriminator.base_width=16"]
TINY["cgan"] = ["model=cgan", "data=digits"]


@pytest.mark.parametrize("family", ["vanilla", "dcgan", "wgan_gp", "cgan"])
def test_ddp_cpu_keeps_replicas_identical_and_equal_to_the_checkpoint(tmp_path, family):
    run_dir = train_cli(*TINY[family], "trainer.max_steps=6", cwd=tmp_path)
    report = replicas(run_dir)
    assert report["in_sync"]
    rank0, rank1 = report["ranks"]
    assert rank0["gen_step"] == rank1["gen_step"] == 6  # same counter as one process after as many batches
    assert (rank0["generator"], rank0["discriminator"]) == (rank1["generator"], rank1["discriminator"])
    assert checkpoint_digests(run_dir / "checkpoints" / "last.ckpt") == {
        "generator": rank0["generator"],
        "discriminator": rank0["discriminator"],
    }
    # one set of outputs per job, written by rank zero
    assert len(list((tmp_path / "outputs" / "runs").iterdir())) == 1
    assert sorted(p.name for p in (run_dir / "samples").iterdir()) == ["step_0000003.png", "step_0000006.png"]
    assert "effective batch size 64" in (run_dir / "train.log").read_text()


def test_ddp_cpu_resume_continues_like_a_straight_run(tmp_path):
    straight = train_cli(*TINY["dcgan"], "model.d_steps=2", "trainer.max_steps=8", cwd=tmp_path / "a")
    first = train_cli(*TINY["dcgan"], "model.d_steps=2", "trainer.max_steps=4", cwd=tmp_path / "b")
    resumed = train_cli(
        *TINY["dcgan"],
        "model.d_steps=2",
        "trainer.max_steps=8",
        f"ckpt_path={first / 'checkpoints' / 'last.ckpt'}",
        cwd=tmp_path / "b",
    )
    assert resumed == first
    a, b = replicas(straight), replicas(resumed)
    assert a["in_sync"] and b["in_sync"]
    assert a["ranks"] == b["ranks"], "resumed DDP run must end with the straight run's weights"


@pytest.mark.parametrize("strategy", ["ddp", "ddp_spawn"])
def test_plain_ddp_strategy_strings_are_refused(compose, strategy):
    with pytest.raises(ConfigError, match="DistributedDataParallel.*hardware=ddp"):
        validate(compose(f"hardware.strategy={strategy}"))


def test_multirun_of_ddp_jobs_is_refused_before_launching(tmp_path):
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    result = subprocess.run(
        [
            str(BIN / "ganforge-train"),
            "-m",
            "hardware=ddp_cpu",
            "model=vanilla,dcgan",
            "trainer.progress_bar=false",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 2 and "multirun sweep (-m) cannot launch multi-process DDP" in result.stderr


def test_one_wandb_run_and_one_set_of_grids_per_ddp_job(tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    from wandb_records import find_runs, read_finished_run, run_record

    home = str(tmp_path / "wandb-home")
    for var, value in {
        "WANDB_MODE": "offline",
        "WANDB_SILENT": "true",
        "WANDB_DIR": home,
        "WANDB_CONFIG_DIR": home,
        "WANDB_CACHE_DIR": home,
    }.items():
        monkeypatch.setenv(var, value)
    run_dir = train_cli(*TINY["vanilla"], "trainer.max_steps=6", "logger=[csv,wandb]", cwd=tmp_path)
    runs = [run_record(read_finished_run(f)) for f in find_runs(run_dir)]
    assert len(runs) == 1, "rank 1 must not open a second W&B run"
    assert sorted(p.name for p in (run_dir / "samples").iterdir()) == ["step_0000003.png", "step_0000006.png"]
    assert len(list(tmp_path.rglob("*.wandb"))) == 1, "one W&B record file in the whole job"


def test_metrics_under_ddp_equal_single_process_metrics_on_the_same_samples(tmp_path):
    """The training callback's metric on 2 processes equals ganforge-eval's on one, same seed and weights."""
    import csv

    run_dir = train_cli(
        *TINY["vanilla"],
        "trainer.max_steps=6",
        "logger=csv",
        "eval.metrics=[modes2k5]",
        "eval.every_n_steps=3",
        cwd=tmp_path,
    )
    rows = [r for r in csv.DictReader(open(run_dir / "metrics.csv")) if r.get("eval/modes2k5_modes")]
    assert [int(r["step"]) for r in rows] == [3, 6]
    logged = {k.removeprefix("eval/"): float(v) for k, v in rows[-1].items() if k.startswith("eval/") and v}

    out = tmp_path / "single.json"
    result = subprocess.run(
        [
            str(BIN / "ganforge-eval"),
            f"ckpt={run_dir / 'checkpoints' / 'last.ckpt'}",
            "metrics=[modes2k5]",
            "seed=0",
            f"out={out}",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    single = json.loads(out.read_text())
    single = single.get("metrics", single)
    assert logged and all(single[k] == pytest.approx(v, rel=1e-6, abs=1e-9) for k, v in logged.items()), (
        logged,
        single,
    )

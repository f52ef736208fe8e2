"""Run directories: every run and sweep gets its own (also within one second), resumes keep theirs, and a
refused ckpt_path writes nothing anywhere."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from hydra import compose, initialize_config_dir
from hydra.core.hydra_config import HydraConfig
from omegaconf import OmegaConf

from ganforge.config import rundirs
from ganforge.config.loading import CONF_DIR, register_resolvers

BIN = Path(sys.executable).parent
TINY = [
    "trainer.progress_bar=false",
    "model=vanilla",
    "data=ring",
    "data.batch_size=32",
    "trainer.log_every_n_steps=1",
    "trainer.sample_every_n_steps=2",
    "trainer.checkpoint_every_n_steps=2",
]


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONWARNINGS": "ignore"}


def cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(BIN / "ganforge-train"), *args], cwd=cwd, env=env(), capture_output=True, text=True, timeout=300
    )


def hydra_config(tmp_path: Path, *overrides: str):
    """The full config (hydra node included) as ganforge-train's Hydra composes it."""
    register_resolvers()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose(
            "config", [f"paths.output_dir={tmp_path}/outputs", *overrides], return_hydra_config=True
        )


def tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() if p.is_file() else b"" for p in root.rglob("*")}


def test_runs_started_in_the_same_second_get_their_own_directories(tmp_path, monkeypatch):
    monkeypatch.setattr(rundirs, "timestamp", lambda: "2026-01-01_00-00-00")
    first, second = hydra_config(tmp_path), hydra_config(tmp_path)
    a, b = first.hydra.run.dir, second.hydra.run.dir
    assert a != b and Path(a).is_dir() and Path(b).is_dir()
    assert Path(a).name.startswith("2026-01-01_00-00-00_dcgan-mnist5k-non_saturating_")
    # Hydra resolves hydra.run.dir again later (run_job, Lightning's DDP launcher through HydraConfig):
    # one config, one directory.
    assert first.hydra.run.dir == a
    previous = HydraConfig.instance().cfg
    try:
        HydraConfig.instance().set_config(first)
        assert HydraConfig.get().run.dir == a
    finally:
        HydraConfig.instance().cfg = previous
    assert sorted(p.name for p in (tmp_path / "outputs" / "runs").iterdir()) == sorted(
        [Path(a).name, Path(b).name]
    )


def test_a_name_already_taken_is_drawn_again(tmp_path, monkeypatch):
    draws = iter(["aaaaaa", "aaaaaa", "bbbbbb"])
    monkeypatch.setattr(rundirs.secrets, "token_hex", lambda n: next(draws))
    assert rundirs.create_unique_dir(tmp_path, "run") == str(tmp_path / "run_aaaaaa")
    assert rundirs.create_unique_dir(tmp_path, "run") == str(tmp_path / "run_bbbbbb")


def test_sweeps_started_in_the_same_second_get_their_own_directories(tmp_path, monkeypatch):
    monkeypatch.setattr(rundirs, "timestamp", lambda: "2026-01-01_00-00-00")
    master, other = hydra_config(tmp_path), hydra_config(tmp_path)
    sweep = master.hydra.sweep.dir
    assert sweep != other.hydra.sweep.dir and Path(sweep).parent == tmp_path / "outputs" / "multirun"
    # Each job's config is composed anew and gets the master's resolver cache (Hydra's load_sweep_config,
    # also in joblib/submitit workers): all jobs land in the master's sweep directory.
    job = hydra_config(tmp_path)
    OmegaConf.copy_cache(from_config=master, to_config=job)
    assert job.hydra.sweep.dir == sweep


def test_multirun_jobs_share_one_new_sweep_directory(tmp_path):
    result = cli("-m", "trainer.seed=1,2", *TINY, "trainer.max_steps=1", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    (sweep,) = (tmp_path / "outputs" / "multirun").iterdir()
    names = sorted(p.name for p in sweep.iterdir() if p.is_dir())
    assert [n.split("_", 1)[0] for n in names] == ["0", "1"], names
    assert all(n.startswith(f"{i}_vanilla-ring-non_saturating_") for i, n in enumerate(names)), names
    assert "trainer.seed=1" in names[0] and "trainer.seed=2" in names[1], "the swept value names the job"
    assert all((job / "checkpoints" / "last.ckpt").is_file() for job in sweep.iterdir() if job.is_dir())


def test_two_processes_started_together_keep_separate_runs(tmp_path):
    procs = [
        subprocess.Popen(
            [str(BIN / "ganforge-train"), *TINY, "trainer.max_steps=4", f"trainer.seed={seed}"],
            cwd=tmp_path,
            env=env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for seed in (1, 2)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == 0, err[-3000:]
    runs = sorted((tmp_path / "outputs" / "runs").iterdir())
    assert len(runs) == 2
    losses = {}
    for run in runs:
        assert (run / "train.log").is_file() and (run / "checkpoints" / "last.ckpt").is_file()
        seed = OmegaConf.load(run / "config.yaml").trainer.seed
        rows = list(csv.DictReader(open(run / "metrics.csv")))
        assert [int(r["step"]) for r in rows] == [1, 2, 3, 4], "each run's own rows, not interleaved"
        losses[seed] = [r["loss/d"] for r in rows]
        ckpt = torch.load(run / "checkpoints" / "last.ckpt", weights_only=True)
        assert ckpt["ganforge"]["config"]["trainer"]["seed"] == seed
    assert sorted(losses) == [1, 2] and losses[1] != losses[2], "both seeds' results are kept"


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory) -> Path:
    cwd = tmp_path_factory.mktemp("cwd")
    result = cli(*TINY, "trainer.max_steps=2", cwd=cwd)
    assert result.returncode == 0, result.stderr[-3000:]
    (run,) = (cwd / "outputs" / "runs").iterdir()
    return run


def test_refused_checkpoints_write_nothing_anywhere(finished_run, tmp_path):
    nest = tmp_path / "a" / "b" / "c"
    nest.mkdir(parents=True)
    before = tree(tmp_path)
    missing = cli(*TINY, f"ckpt_path={nest / 'missing.ckpt'}", cwd=tmp_path)
    assert missing.returncode == 2 and "does not exist" in missing.stderr, missing.stderr[-2000:]
    assert "Traceback" not in missing.stderr
    assert tree(tmp_path) == before, "no .hydra/ or train.log two levels above the given path"

    run_before = tree(finished_run)
    last = finished_run / "checkpoints" / "last.ckpt"
    mismatch = cli(*TINY, "model.d_steps=2", f"ckpt_path={last}", cwd=tmp_path)
    assert mismatch.returncode == 2 and "differs from the run's in" in mismatch.stderr, mismatch.stderr[
        -2000:
    ]
    assert "Traceback" not in mismatch.stderr
    assert tree(finished_run) == run_before, "a refused resume must not touch the run (.hydra/overrides.yaml)"
    assert tree(tmp_path) == before


def test_unreadable_checkpoints_are_refused_before_a_directory_is_chosen(tmp_path):
    torch.save({"state_dict": {}, "epoch": 3}, tmp_path / "foreign.ckpt")
    (tmp_path / "garbage.ckpt").write_bytes(os.urandom(4096))
    for name, message in {
        "foreign.ckpt": "not a ganforge checkpoint",
        "garbage.ckpt": "is not a ganforge checkpoint",
    }.items():
        cfg = hydra_config(tmp_path, *TINY, f"ckpt_path={tmp_path / name}")
        with pytest.raises(rundirs.RefusedBeforeRun, match=message):
            _ = cfg.hydra.run.dir  # where Hydra asks for the directory, before it writes anything
    assert not (tmp_path / "outputs").exists()


def test_unwritable_output_dir_is_a_clear_error(tmp_path):
    (tmp_path / "file").write_text("")
    result = cli(*TINY, f"paths.output_dir={tmp_path / 'file'}", cwd=tmp_path)
    assert result.returncode == 2 and "Cannot create a run directory" in result.stderr, result.stderr[-2000:]
    assert "Traceback" not in result.stderr


def test_a_copied_checkpoint_resumes_into_a_new_directory(finished_run, tmp_path):
    copy = tmp_path / "elsewhere" / "copy.ckpt"
    copy.parent.mkdir()
    copy.write_bytes((finished_run / "checkpoints" / "last.ckpt").read_bytes())
    cfg = hydra_config(tmp_path, *TINY, f"ckpt_path={copy}")
    run_dir = Path(cfg.hydra.run.dir)
    assert run_dir.parent == tmp_path / "outputs" / "runs" and run_dir.is_dir()
    resumed = hydra_config(tmp_path, *TINY, f"ckpt_path={finished_run / 'checkpoints' / 'last.ckpt'}")
    assert Path(resumed.hydra.run.dir) == finished_run, "a resume continues in its run directory"


def test_processes_of_a_cluster_job_agree_on_one_new_directory(tmp_path, monkeypatch):
    for key in ("SLURM_JOB_ID", "SLURM_PROCID", "SLURM_NTASKS", "SLURM_STEP_ID", "TORCHELASTIC_RUN_ID"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("TORCHELASTIC_RUN_ID", "job-7")
    monkeypatch.setenv("WORLD_SIZE", "2")
    ranks = [hydra_config(tmp_path).hydra.run.dir for _ in range(2)]  # each rank composes by itself
    assert ranks[0] == ranks[1] and Path(ranks[0]).name == "dcgan-mnist5k-non_saturating_torchrun-job-7"
    monkeypatch.setenv("TORCHELASTIC_RUN_ID", "none")
    with pytest.raises(rundirs.RefusedBeforeRun, match="--rdzv-id"):
        _ = hydra_config(tmp_path).hydra.run.dir
    monkeypatch.delenv("TORCHELASTIC_RUN_ID")
    for key, value in {
        "SLURM_JOB_ID": "42",
        "SLURM_PROCID": "3",
        "SLURM_NTASKS": "4",
        "SLURM_STEP_ID": "0",
    }.items():
        monkeypatch.setenv(key, value)
    assert Path(hydra_config(tmp_path).hydra.run.dir).name == "dcgan-mnist5k-non_saturating_slurm42.0"


def test_dvc_style_fixed_run_dir_is_used_as_given(tmp_path):
    cfg = hydra_config(tmp_path, f"hydra.run.dir={tmp_path / 'dvc' / 'train'}")
    assert cfg.hydra.run.dir == str(tmp_path / "dvc" / "train")
    assert not (tmp_path / "outputs").exists()


def test_long_override_lists_give_bounded_filesystem_safe_job_names():
    from ganforge.config import sweeps

    overrides = sweeps.job_overrides(
        [f"model.g_optimizer.lr={i}e-4" for i in range(1)]
        + [f"+extra.key{i}=a/b c{i}" for i in range(40)]
        + ["paths.output_dir=/x", "model=vanilla"],
        exclude_keys=["paths.output_dir", "model"],
    )
    assert "paths.output_dir" not in overrides and "model" not in overrides
    a = sweeps.job_name(0, "vanilla-ring-non_saturating", overrides)
    b = sweeps.job_name(0, "vanilla-ring-non_saturating", {**overrides, "extra.key39": "other"})
    assert len(a) == sweeps.MAX_NAME and a != b, "cut names keep a hash of the full override list"
    assert "/" not in a and " " not in a and a.isascii()
    assert all(len(t) <= sweeps.WANDB_TAG_MAX for t in sweeps.wandb_tags({"k": "v" * 200, "lr": "1"}))

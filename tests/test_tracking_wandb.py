"""W&B streaming, read back from the offline run's own record file (no mock of W&B)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import lightning as L
import pytest
from wandb_records import config_items, exit_code, find_runs, history_rows, read_finished_run, run_record

pytest.importorskip("wandb")

TINY = ["model=vanilla", "data.batch_size=32", "trainer.max_steps=4", "trainer.sample_every_n_steps=2"]


@pytest.fixture
def offline_wandb(monkeypatch, tmp_path):
    monkeypatch.setenv("WANDB_MODE", "offline")
    for var in ("WANDB_DIR", "WANDB_CACHE_DIR", "WANDB_CONFIG_DIR", "WANDB_DATA_DIR"):
        monkeypatch.setenv(var, str(tmp_path / "wandb-home"))
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.delenv("WANDB_API_KEY", raising=False)


def test_offline_run_streams_losses_metrics_config_and_sample_images(run, offline_wandb, tmp_path, capsys):
    import wandb

    summary = run(*TINY, "logger=[csv,wandb]")
    assert wandb.run is None, "the job's W&B run is finished when train() returns"
    (record_file,) = find_runs(summary["run_dir"])
    records = read_finished_run(record_file)

    rows = history_rows(records)
    scalars = {row["gen_step"]: row for row in rows if "loss/d" in row}
    assert sorted(scalars) == [1, 2, 3, 4], "one history row per generator step (log_every_n_steps=1)"
    for row in scalars.values():
        for key in ("loss/d", "loss/g", "d/real", "d/fake", "lr/g", "lr/d"):
            assert isinstance(row[key], float), key
    assert scalars[4]["loss/d"] == pytest.approx(summary["metrics"]["loss/d"])
    assert 0.0 < scalars[1]["d/real"] < 1.0 and scalars[1]["lr/g"] == pytest.approx(2e-4)

    images = [row for row in rows if "samples/filenames" in row]
    assert [row["gen_step"] for row in images] == [2, 4], "sample grids at the grid cadence, on the step axis"
    files_dir = record_file.parent / "files"
    for row in images:
        (name,) = row["samples/filenames"]
        assert name.startswith("media/images/") and (files_dir / name).stat().st_size > 100

    config = config_items(records)
    assert config["model"]["name"] == "vanilla" and config["trainer"]["max_steps"] == 4
    assert run_record(records).project == "ganforge"
    assert exit_code(records) == 0
    assert f"wandb sync {record_file.parent}" in capsys.readouterr().out
    assert (Path(summary["run_dir"]) / "metrics.csv").is_file(), "csv and wandb loggers together"


class _Crash(L.Callback):
    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if pl_module.gen_step == 2:
            raise RuntimeError("boom")


def test_failed_job_still_finishes_its_wandb_run(run, offline_wandb, tmp_path):
    import wandb

    with pytest.raises(RuntimeError, match="boom"):
        run(*TINY, "logger=wandb", run_dir=tmp_path / "crashed", callbacks=[_Crash()])
    assert wandb.run is None, "a failed job must not leave its run open for the next job"
    (record_file,) = find_runs(tmp_path / "crashed")
    records = read_finished_run(record_file)
    assert exit_code(records) == 1, "the run is marked failed"
    assert [row["gen_step"] for row in history_rows(records) if "loss/g" in row] == [1, 2]


def test_unreachable_wandb_falls_back_to_offline(run, offline_wandb, monkeypatch, tmp_path):
    # Online requested, no API key and a server that refuses connections: W&B cannot start online.
    monkeypatch.delenv("WANDB_MODE")
    monkeypatch.setenv("WANDB_BASE_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("NETRC", str(tmp_path / "no-netrc"))
    with pytest.warns(UserWarning, match="logging offline instead"):
        summary = run(*TINY, "trainer.max_steps=2", "logger=wandb", "logger.wandb.offline=false")
    assert summary["gen_step"] == 2
    (record_file,) = find_runs(summary["run_dir"])
    assert record_file.parent.name.startswith("offline-run-")


def test_multirun_gives_each_job_its_own_wandb_run_and_directory(tmp_path):
    sweep = tmp_path / "sweep"
    env = {
        **os.environ,
        "WANDB_MODE": "offline",
        "WANDB_SILENT": "true",
        "WANDB_DIR": str(tmp_path / "wandb-home"),
        "WANDB_CONFIG_DIR": str(tmp_path / "wandb-home"),
        "WANDB_CACHE_DIR": str(tmp_path / "wandb-home"),
        "PYTHONWARNINGS": "ignore",
    }
    args = ["model.g_optimizer.lr=1e-4,3e-4", "model=vanilla", "data=ring", "trainer.max_steps=2"]
    args += ["trainer.progress_bar=false"]
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "ganforge.cli.train",
            "-m",
            *args,
            "logger=[csv,wandb]",
            f"hydra.sweep.dir={sweep}",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    job_dirs = sorted(p for p in sweep.iterdir() if p.is_dir())
    # The job's overrides (less paths, the progress bar and the groups in run_name) tell the jobs apart.
    expected = [
        f"{num}_vanilla-ring-non_saturating_model.g_optimizer.lr={lr},trainer.max_steps=2"
        for num, lr in ((0, "0.0001"), (1, "0.0003"))
    ]
    assert [p.name for p in job_dirs] == expected
    runs = [run_record(read_finished_run(f)) for d in job_dirs for f in find_runs(d)]
    assert len(runs) == 2 and runs[0].run_id != runs[1].run_id, "one W&B run per job"
    assert {r.run_group for r in runs} == {"sweep"}, "jobs of one sweep share a W&B group"
    assert [r.display_name for r in runs] == expected
    for r, lr in zip(runs, ("0.0001", "0.0003")):
        assert list(r.tags) == [f"model.g_optimizer.lr={lr}", "trainer.max_steps=2"]
    for d, lr in zip(job_dirs, ("0.0001", "0.0003")):
        assert (d / "metrics.csv").is_file() and (d / "checkpoints" / "last.ckpt").is_file()
        config = config_items(read_finished_run(next(iter(find_runs(d)))))
        assert config["sweep"]["overrides"]["model.g_optimizer.lr"] == lr
        assert config["model"]["g_optimizer"]["lr"] == float(lr)

    compared = subprocess.run(
        [sys.executable, "-m", "ganforge.cli.compare", str(sweep), "--out", str(tmp_path / "c.html")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert compared.returncode == 0, compared.stderr
    header, _, *rows = compared.stdout.splitlines()[:4]
    assert "model.g_optimizer.lr" in header.split()
    column = header.split().index("model.g_optimizer.lr")
    assert [row.split()[column] for row in rows] == ["0.0001", "0.0003"]


def test_single_run_is_grouped_by_its_name_and_compare_says_why_it_has_no_curves(
    run, offline_wandb, tmp_path
):
    summary = run(*TINY, "data=ring", "trainer.max_steps=2", "logger=wandb")
    (record_file,) = find_runs(summary["run_dir"])
    record = run_record(read_finished_run(record_file))
    assert record.display_name == record.run_group == "vanilla-ring-non_saturating"
    result = subprocess.run(
        [sys.executable, "-m", "ganforge.cli.compare", summary["run_dir"], "--out", str(tmp_path / "c.html")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    note = "no metrics.csv: this run logged to wandb only; add logger=[csv,wandb]"
    assert note in result.stdout and note in (tmp_path / "c.html").read_text()


def test_text_to_image_grids_reach_wandb_with_their_captions(run, offline_wandb, tmp_path):
    """The caption -> image grid goes to W&B with the captions as the image's caption (searchable text,
    numbered as in the grid's .captions.txt), not only printed into the pixels."""
    text_model = ["model=gan_int_cls", "data=captioned_mnist5k", "data.canvas=32", "data.loader.limit=64",
                  "data.batch_size=16", "model.generator.net.base_width=8",
                  "model.discriminator.net.base_width=8"]  # fmt: skip
    summary = run(*text_model, "trainer.max_steps=2", "trainer.sample_every_n_steps=2", "logger=wandb")
    (record_file,) = find_runs(summary["run_dir"])
    (row,) = [r for r in history_rows(read_finished_run(record_file)) if "samples/filenames" in r]
    (caption,) = row["samples/captions"]
    (listing,) = Path(summary["run_dir"]).glob("samples/step_0000002.captions.txt")
    assert caption.strip() == listing.read_text().strip()
    assert caption.startswith("0: ") and "digit" in caption

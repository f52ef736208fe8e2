"""metrics.csv after a crash: every logged row is on disk at once, a kill -9 loses none, and a resume from
the last checkpoint leaves exactly one row per step."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from ganforge.tracking.csv_logger import ResumableCSVLogger

BIN = Path(sys.executable).parent
TINY = ["model=vanilla", "data=ring", "data.batch_size=32", "trainer.sample_every_n_steps=1000"]


def rows(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as file:
        return list(csv.DictReader(file))


def steps(path: Path) -> list[int]:
    return [int(r["step"]) for r in rows(path)]


def test_csv_rows_reach_the_file_at_each_log_call(tmp_path):
    logger = ResumableCSVLogger(tmp_path, name="", version="")
    metrics = tmp_path / "metrics.csv"
    for step in (1, 2, 3):
        logger.log_metrics({"loss/d": 0.5 * step}, step=step)
        assert steps(metrics) == list(range(1, step + 1)), "no buffering: the row is on disk now"
    logger.log_metrics({"eval/fid": 12.5}, step=3)  # a new column for the step just written
    logger.log_metrics({"loss/d": 2.0}, step=4)
    table = rows(metrics)
    assert [int(r["step"]) for r in table] == [1, 2, 3, 4], "one row per step"
    assert table[2]["eval/fid"] == "12.5" and table[2]["loss/d"] == "1.5" and table[0]["eval/fid"] == ""

    logger.truncate_after(2)  # a resume from a checkpoint at step 2
    assert steps(metrics) == [1, 2]
    again = ResumableCSVLogger(tmp_path, name="", version="")  # the resumed process: keeps the file
    again.log_metrics({"loss/d": 9.0}, step=3)
    assert steps(metrics) == [1, 2, 3] and rows(metrics)[2]["eval/fid"] == ""


def test_plot_files_hold_one_complete_table_per_metric_family(tmp_path):
    """plots/<family>.csv (what dvc.yaml's plots draw): no blank cells where metrics.csv has them."""
    logger = ResumableCSVLogger(tmp_path, name="", version="")
    for step in (1, 2, 3, 4):
        logger.log_metrics({"loss/d": 0.5 * step, "loss/g": -step, "d/real": 0.9, "epoch": 0.0}, step=step)
        if step % 2 == 0:
            logger.log_metrics({"eval/fid": 100.0 + step, "eval/kid": 0.5}, step=step)
    assert any(r["eval/fid"] == "" for r in rows(tmp_path / "metrics.csv")), "metrics.csv is unchanged"
    plots = tmp_path / "plots"
    assert sorted(p.name for p in plots.iterdir()) == ["d.csv", "eval.csv", "loss.csv"], "no epoch table"
    assert rows(plots / "eval.csv") == [
        {"eval/fid": "102.0", "eval/kid": "0.5", "step": "2"},
        {"eval/fid": "104.0", "eval/kid": "0.5", "step": "4"},
    ]
    assert [r["loss/g"] for r in rows(plots / "loss.csv")] == ["-1", "-2", "-3", "-4"]
    assert all(all(v != "" for v in r.values()) for p in plots.iterdir() for r in rows(p))

    logger.truncate_after(3)  # a resume from a checkpoint at step 3, in a new process
    again = ResumableCSVLogger(tmp_path, name="", version="")
    again.truncate_after(3)
    assert steps(plots / "loss.csv") == [1, 2, 3] and steps(plots / "eval.csv") == [2]
    again.log_metrics({"loss/d": 9.0, "loss/g": 1.0}, step=4)
    assert steps(plots / "loss.csv") == [1, 2, 3, 4] and steps(plots / "eval.csv") == [2]


def test_a_row_cut_short_by_a_crash_is_dropped(tmp_path):
    metrics = tmp_path / "metrics.csv"
    metrics.write_text("loss/d,step\n0.5,1\n0.25,2\n0.1")
    logger = ResumableCSVLogger(tmp_path, name="", version="")
    logger.log_metrics({"loss/d": 0.2}, step=3)
    assert steps(metrics) == [1, 2, 3]


def _wait_for(root: Path, pattern: str, proc: subprocess.Popen, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while not (root.is_dir() and list(root.glob(pattern))):
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        assert time.monotonic() < deadline, f"{root}/{pattern} did not appear"
        time.sleep(0.05)


def test_kill_9_keeps_logged_rows_and_a_resume_has_one_row_per_step(tmp_path):
    args = [*TINY, "trainer.progress_bar=false", "logger=csv", "trainer.log_every_n_steps=1"]
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    proc = subprocess.Popen(
        [
            str(BIN / "ganforge-train"),
            *args,
            "trainer.max_steps=100000",
            "trainer.checkpoint_every_n_steps=5",
        ],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        runs = tmp_path / "outputs" / "runs"
        _wait_for(runs, "*/checkpoints/step_0000010.ckpt", proc)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    (run,) = runs.iterdir()
    before = {int(r["step"]): r for r in rows(run / "metrics.csv")}
    written = max(int(p.stem.split("_")[1]) for p in (run / "checkpoints").glob("step_*.ckpt"))
    assert written >= 10
    # Each step is logged before its checkpoint is written: every step up to the newest checkpoint is
    # in the file (Lightning's writer had flushed none of them: it flushes every 100 steps).
    assert list(before) == list(range(1, max(before) + 1)) and max(before) >= written

    end = max(before) + 3
    resumed = subprocess.run(
        [
            str(BIN / "ganforge-train"),
            *args,
            f"trainer.max_steps={end}",
            "trainer.checkpoint_every_n_steps=5",
            f"ckpt_path={run / 'checkpoints' / 'last.ckpt'}",
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    after = rows(run / "metrics.csv")
    assert [int(r["step"]) for r in after] == list(range(1, end + 1)), "one row per step, in order"
    assert not list((run / "checkpoints").glob(".*.tmp")), "a write cut by the kill left nothing behind"
    # The rows logged after the checkpoint before the kill were dropped and logged anew by the resumed
    # run, which repeats those steps exactly (resume is bit-identical).
    for r in after:
        if int(r["step"]) in before:
            assert r == before[int(r["step"])]
    # The DVC plot tables were truncated and continued the same way.
    assert steps(run / "plots" / "loss.csv") == list(range(1, end + 1))

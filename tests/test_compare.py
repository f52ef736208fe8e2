"""ganforge-compare on real tiny runs (the table, the self-contained HTML page and the PNG page), and its
PNG page's layout and run durations on synthetic run folders."""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys

import pytest
from PIL import Image


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory):
    """A 2-job sweep of tiny real runs (logger=csv, sample grids at steps 2 and 4)."""
    from ganforge.config.loading import compose_config
    from ganforge.training import train

    root = tmp_path_factory.mktemp("sweep")
    for num, loss in enumerate(("minimax", "non_saturating")):
        cfg = compose_config(
            [
                f"paths.root_dir={root}",
                "trainer.progress_bar=false",
                "trainer.log_every_n_steps=1",
                "model=vanilla",
                f"loss={loss}",
                "data.batch_size=32",
                "trainer.max_steps=4",
                "trainer.sample_every_n_steps=2",
            ]
        )
        train(cfg, root / f"{num}_{loss}")
    return root


def compare(*args):
    return subprocess.run(
        [sys.executable, "-m", "ganforge.cli.compare", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_compare_prints_final_metrics_and_writes_self_contained_html(two_runs, tmp_path):
    out = tmp_path / "page.html"
    result = compare(two_runs, "--out", out)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    header = lines[0].split()
    assert header[:4] == ["run", "model", "loss", "data"] and "loss/d" in header
    assert not [h for h in header if h.startswith(("loss.", "model."))], (
        "the loss column tells the losses apart, and shared settings get no column"
    )
    step, loss_d = header.index("step"), header.index("loss/d")
    row = next(line for line in lines if line.startswith("0_minimax")).split()
    assert row[1:4] == ["vanilla", "minimax", "mnist5k"] and row[step] == "4"
    # The table's final loss/d is the last value in that run's metrics.csv.
    last = (two_runs / "0_minimax" / "metrics.csv").read_text().splitlines()[-1]
    csv_header = (two_runs / "0_minimax" / "metrics.csv").read_text().splitlines()[0].split(",")
    expected = float(dict(zip(csv_header, last.split(",")))["loss/d"])
    assert float(row[loss_d]) == pytest.approx(expected, rel=1e-3)

    duration = header.index("duration")
    assert re.fullmatch(r"\d+s", row[duration]), "run_time.json of a finished run: a plain wall time"

    page = out.read_text()
    images = re.findall(r"src='data:image/png;base64,([A-Za-z0-9+/=]+)'", page)
    assert len(images) == 1 + 2 * 2, "one curves figure and each run's grids over time (steps 2 and 4)"
    assert all(base64.b64decode(img)[:8] == b"\x89PNG\r\n\x1a\n" for img in images)
    grid = (two_runs / "1_non_saturating" / "samples" / "step_0000004.png").read_bytes()
    assert base64.b64encode(grid).decode() in images, "the last grid (step 4) is embedded as is"
    assert "src='http" not in page and "<link" not in page, "no external resources"


def test_compare_png_page_and_clear_errors(two_runs, tmp_path):
    out = tmp_path / "page.png"
    result = compare(two_runs / "0_minimax", two_runs / "1_non_saturating", "--out", out)
    assert result.returncode == 0, result.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    missing = compare(tmp_path / "nowhere")
    assert missing.returncode == 2 and "is not a directory" in missing.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    none = compare(empty)
    assert none.returncode == 2 and "No run found" in none.stderr
    bad = compare(two_runs, "--out", tmp_path / "page.pdf")
    assert bad.returncode == 2 and ".html" in bad.stderr


def test_runs_record_their_wall_time(two_runs):
    from ganforge.tracking.run_time import read_run_time

    run = two_runs / "0_minimax"
    (segment,) = json.loads((run / "run_time.json").read_text())["segments"]
    assert segment["start_step"] == 0 and segment["end_step"] == 4 and segment["status"] == "finished"
    took = read_run_time(run)
    assert took.complete and 0 < took.seconds < 600


def write_run(root, name, lr, steps=(2, 4, 6, 8, 10), times=None):
    """A synthetic run folder: config.yaml, metrics.csv, sample PNGs and (optionally) run_time.json."""
    run = root / name
    (run / "samples").mkdir(parents=True)
    config = {"model": {"name": "vanilla", "g_optimizer": {"lr": lr}}, "loss": {"name": "minimax"}}
    (run / "config.yaml").write_text(json.dumps({**config, "data": {"name": "mnist5k"}}))  # JSON is YAML
    rows = ["step,loss/d,loss/g"] + [f"{s},{1 / s},{lr * s}" for s in range(1, 11)]
    (run / "metrics.csv").write_text("\n".join(rows) + "\n")
    for s in steps:
        Image.new("RGB", (40, 30), (s * 20, 0, 0)).save(run / "samples" / f"step_{s:07d}.png")
    if times:
        (run / "run_time.json").write_text(json.dumps({"segments": times}))
    return run


def test_png_page_holds_table_legends_on_every_panel_and_grids_over_time(tmp_path):
    from ganforge.cli.compare import metric_columns, table_rows
    from ganforge.tracking.figures import page_figure
    from ganforge.tracking.runs import discover_runs

    write_run(tmp_path, "a", 0.001)
    write_run(tmp_path, "b", 0.003, steps=(5,))
    runs = discover_runs([tmp_path])
    metrics = metric_columns(runs, None)
    header, rows = table_rows(runs, metrics)
    layout = page_figure(runs, metrics, header, rows)

    cells = {
        (r, c): cell.get_text().get_text() for (r, c), cell in layout.table.tables[0].get_celld().items()
    }
    shown = [[cells[r, c] for c in range(len(header))] for r in range(len(rows) + 1)]
    assert shown[0] == header and "model.g_optimizer.lr" in header and "duration" in header
    assert [row[header.index("model.g_optimizer.lr")] for row in shown[1:]] == ["0.001", "0.003"]
    assert [row[0] for row in shown[1:]] == ["a", "b"]

    assert [ax.get_title() for ax in layout.curves] == ["loss/d", "loss/g"]
    for ax in layout.curves:
        legend = ax.get_legend()
        assert legend is not None, f"panel {ax.get_title()} has no legend"
        assert [t.get_text() for t in legend.get_texts()] == ["a", "b"]

    assert [ax.get_title() for ax in layout.grids["a"]] == ["step 2", "step 6", "step 10"], (
        "first/middle/last"
    )
    assert [ax.get_title() for ax in layout.grids["b"]] == ["step 5"]
    blank = [ax for ax in layout.figure.axes if ax.axison and not ax.get_images() and ax not in layout.curves]
    assert not blank, "the slots of grids a run does not have are left empty, not drawn as empty axes"
    shown_red = layout.grids["a"][2].get_images()[0].get_array()[0, 0, 0]
    assert shown_red == pytest.approx(200 / 255, abs=1e-3), "the last grid is step 10's picture"


def test_duration_sums_resumes_and_is_a_lower_bound_while_open(tmp_path):
    from ganforge.tracking.run_time import format_duration, read_run_time

    first = {"start": "2026-01-01T12:00:00+00:00", "end": "2026-01-01T12:02:00+00:00", "start_step": 0}
    resumed = {"start": "2026-01-01T13:00:00+00:00", "end": "2026-01-01T13:01:05+00:00", "start_step": 5}
    run = write_run(tmp_path, "done", 0.001, times=[first, resumed])
    took = read_run_time(run)
    assert took.complete and took.seconds == 185 and str(took) == "3m 05s"

    open_segment = {"start": "2026-01-01T12:00:00+00:00", "end": None, "start_step": 0}
    killed = write_run(tmp_path, "killed", 0.001, times=[open_segment])
    seen = 1767268800.0 + 200  # 2026-01-01T12:03:20Z: metrics.csv was last written then
    os.utime(killed / "metrics.csv", (seen, seen))
    took = read_run_time(killed)
    assert not took.complete and str(took) == ">=" + format_duration(took.seconds)
    assert took.seconds == pytest.approx(200, abs=1)
    assert read_run_time(write_run(tmp_path, "old", 0.001)) is None, "runs from before run_time.json: -"
    assert format_duration(45) == "45s" and format_duration(7500) == "2h 05m"

"""ganforge-compare on real tiny runs: the table, the self-contained HTML page and the PNG page."""

from __future__ import annotations

import base64
import re
import subprocess
import sys

import pytest


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

    page = out.read_text()
    images = re.findall(r"src='data:image/png;base64,([A-Za-z0-9+/=]+)'", page)
    assert len(images) == 3, "one curves figure and the last sample grid of each of the 2 runs"
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

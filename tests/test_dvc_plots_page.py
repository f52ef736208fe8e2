"""`dvc plots show` on a run's plot tables: the project's dvc.yaml plots, drawn offline in headless Chromium.

No stage runs here (tests/test_pipeline_dvc.py runs the pipeline): the run directory is written by the
logger a run uses (ResumableCSVLogger), with a run's cadence (losses every 10 steps, FID every 100), and the
page is DVC's own `dvc plots show` output with the template in .dvc/plots (.dvc/config).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path

import pytest
from helpers.chromium import CHROMIUM, aria_labels, render_offline

from ganforge.tracking.csv_logger import ResumableCSVLogger

ROOT = Path(__file__).resolve().parents[1]
DVC = shutil.which("dvc", path=str(Path(sys.executable).parent))
pytestmark = pytest.mark.skipif(
    DVC is None or find_spec("dvc") is None,
    reason="dvc is not installed (make install installs it with the tracking extra)",
)
FIDS = {100: 1105.5, 200: 1098.25, 300: 1120.0}  # where eval/* cells of metrics.csv are blank on 27 rows


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> Path:
    repo = tmp_path_factory.mktemp("plots_repo")
    for name in ("dvc.yaml", "params.yaml", ".dvc/config", ".dvc/plots/index.html"):
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, repo / name)
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    logger = ResumableCSVLogger(repo / "outputs" / "dvc" / "train", name="", version="")
    for step in range(10, 310, 10):
        losses = {"loss/d": 1.2 + step / 1000, "loss/g": 0.7 - step / 2000}
        logger.log_metrics({**losses, "d/real": 0.6, "d/fake": 0.4, "lr/g": 2e-4, "epoch": 0.0}, step=step)
        if step in FIDS:
            logger.log_metrics({"eval/fid2k_classifier": FIDS[step]}, step=step)
    result = subprocess.run(
        [DVC, "plots", "show", "-o", "page"],
        cwd=repo,
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "DVC_NO_ANALYTICS": "1"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return repo / "page" / "index.html"


def specs(html: str) -> list[dict]:
    return [json.loads(s) for s in re.findall(r"var spec = (\{.*?\});\n", html, flags=re.S)]


def test_plot_page_has_the_three_plots_with_complete_data_and_no_remote_scripts(page):
    html = page.read_text()
    assert not re.search(r"<script[^>]+src=", html), "scripts are inlined (.dvc/plots/index.html), no CDN"
    drawn = {spec["title"]["text"]: spec["data"]["values"] for spec in specs(html)}
    assert set(drawn) == {"Losses", "D(x) and D(G(z))", "FID during training (2k samples, domain classifier)"}
    fid = drawn["FID during training (2k samples, domain classifier)"]
    assert {int(p["step"]): float(p["eval/fid2k_classifier"]) for p in fid} == FIDS, "only the eval steps"
    assert all(value != "" for points in drawn.values() for p in points for value in p.values())


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (make install installs it)")
def test_plot_page_renders_offline_in_headless_chromium(page, tmp_path):
    dom = render_offline(page, tmp_path / "profile")
    assert len(re.findall(r'<svg[^>]*class="marks"', dom)) == 3, "three Vega charts drawn as SVG"
    lines = re.findall(r'aria-roledescription="line mark" d="(M[^"]+)"', dom)
    assert len(lines) >= 5 and all(line.count("L") >= 2 for line in lines), "losses, D outputs, FID lines"
    labels = aria_labels(dom)
    assert "Title text 'Losses'" in labels and "Title text 'D(x) and D(G(z))'" in labels
    # The FID axis spans the logged values (no blank cell drawn as 0); the labelled FID points (the
    # template labels the first and last) carry the logged values.
    fid_axis = "Y-axis titled 'eval/fid2k_classifier' for a linear scale with values from 1,098 to 1,120"
    assert fid_axis in labels
    points = re.findall(r"step: (\d+); eval/fid2k_classifier: ([\d.]+);", " ".join(labels))
    assert points and all(FIDS[int(step)] == float(fid) for step, fid in points), points
    loss_axis = next(label for label in labels if label.startswith("Y-axis titled 'loss'"))
    assert "values from 0.5 to 1.5" in loss_axis, loss_axis

"""The DVC pipeline in a temporary copy of the repository: real `dvc repro` and `dvc exp run`, offline."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path

import pytest
import yaml
from helpers.chromium import CHROMIUM, aria_labels, render_offline

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(
    shutil.which("dvc", path=str(Path(sys.executable).parent)) is None or find_spec("dvc") is None,
    reason="dvc is not installed (make install installs it with the tracking extra)",
)
EVAL_CLIS = (
    find_spec("ganforge.cli.eval") is not None and find_spec("ganforge.cli.train_evaluator") is not None
)
TINY = {
    ("trainer", "max_steps"): 4,
    ("trainer", "sample_every_n_steps"): 2,
    ("trainer", "checkpoint_every_n_steps"): 2,
    ("data", "batch_size"): 32,
    ("model", "generator", "base_width"): 8,
    ("model", "discriminator", "base_width"): 8,
    ("evaluator", "min_steps"): 20,
    ("evaluator", "epochs"): 1,
    ("eval", "every_n_steps"): 2,  # FID at steps 2 and 4: a curve, not one point
}


def compose_params(repo: Path, out: Path, overrides: list[str]) -> dict:
    """Compose conf/ exactly as `dvc exp run` does (dvc.utils.hydra), in a fresh interpreter."""
    code = (
        "import sys; from dvc.utils.hydra import compose_and_dump; "
        "compose_and_dump(sys.argv[1], sys.argv[2], None, 'pipeline', sys.argv[3], sys.argv[4:])"
    )
    result = subprocess.run(
        [sys.executable, "-c", code, str(out), str(repo / "conf"), str(repo), *overrides],
        env=_env(repo),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return yaml.safe_load(out.read_text())


def _env(repo: Path) -> dict[str, str]:
    return {
        **os.environ,
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "PYTHONPATH": str(repo / "src"),
        "PYTHONWARNINGS": "ignore",
        "DVC_NO_ANALYTICS": "1",
        "WANDB_MODE": "disabled",
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }


def run(repo: Path, *cmd: str, timeout: int = 300) -> str:
    result = subprocess.run(cmd, cwd=repo, env=_env(repo), capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, (
        f"{' '.join(cmd)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    )
    return result.stdout + result.stderr


def _stdout(repo: Path, *cmd: str) -> str:
    result = subprocess.run(cmd, cwd=repo, env=_env(repo), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def copy_checkout(repo: Path) -> Path:
    """The checkout's files (tracked and untracked, not ignored) copied into ``repo`` (not yet a git repo)."""
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    files = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.split(b"\0")
    for name in filter(None, (f.decode() for f in files)):
        if (ROOT / name).is_file():
            (repo / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, repo / name)
    return repo


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    """The checkout's files (tracked and untracked, not ignored) in a fresh git repo, with tiny params."""
    repo = copy_checkout(tmp_path_factory.mktemp("repo"))
    params = yaml.safe_load((repo / "params.yaml").read_text())
    for keys, value in TINY.items():
        node = params
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = value
    (repo / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    run(repo, "git", "init", "-q")
    run(repo, "git", "add", "-A")
    run(repo, "git", "commit", "-qm", "copy")
    return repo


def test_committed_params_yaml_is_dvcs_composition_of_conf(tmp_path):
    """params.yaml must be what `dvc exp run` would compose (no baked-in times, no missing resolvers)."""
    composed = compose_params(ROOT, tmp_path / "params.yaml", [])
    committed = yaml.safe_load((ROOT / "params.yaml").read_text())
    assert committed == composed, "params.yaml is stale: regenerate it with `make params`"
    assert "hydra" not in composed, "run-time interpolations (${now:}, ganforge_run_dir) stay out of params"


def test_dvc_repro_trains_from_fetched_data_and_reruns_nothing(repo):
    target = [] if EVAL_CLIS else ["train"]
    first = run(repo, "dvc", "repro", *target)
    assert "Running stage 'fetch'" in first and "Running stage 'train'" in first
    run_dir = repo / "outputs" / "dvc" / "train"
    assert (run_dir / "checkpoints" / "last.ckpt").is_file()
    assert sorted(p.name for p in (run_dir / "samples").iterdir()) == ["step_0000002.png", "step_0000004.png"]
    assert (repo / "data" / "mnist5k" / "checksums.json").is_file()
    # train_text_encoder runs in every pipeline; one without text_encoder=char_cnn_rnn only notes so.
    not_used = repo / "outputs" / "text_encoders" / "mnist5k" / "not_used.json"
    assert (
        "Running stage 'train_text_encoder'" in first
        and json.loads(not_used.read_text())["text_encoder"] is None
    )
    lock = yaml.safe_load((repo / "dvc.lock").read_text())
    assert lock["stages"]["train"]["params"]["params.yaml"]["trainer"]["max_steps"] == 4
    # The tables dvc.yaml's plots draw: one per metric family, no blank cell (metrics.csv has them).
    tables = {p.name: list(csv.DictReader(p.open())) for p in (run_dir / "plots").glob("*.csv")}
    assert {"loss.csv", "d.csv", "eval.csv"} <= set(tables)
    assert all(v not in ("", None) for rows in tables.values() for row in rows for v in row.values())
    assert [int(r["step"]) for r in tables["eval.csv"]] == [2, 4]
    assert float(tables["eval.csv"][-1]["eval/fid2k_classifier"]) > 0
    if EVAL_CLIS:
        metrics = json.loads((run_dir / "metrics.json").read_text())
        assert metrics and all(type(v) in (int, float) for v in metrics.values()), "numbers only"
        provenance = json.loads((run_dir / "metrics.provenance.json").read_text())
        assert provenance["gen_step"] == 4 and "protocol" in provenance

    second = run(repo, "dvc", "repro", *target)
    assert "Running stage" not in second, second
    assert "didn't change, skipping" in second

    plots = run(repo, "dvc", "plots", "show", "-o", str(repo / "plots"))
    page = repo / "plots" / "index.html"
    assert page.is_file(), plots
    assert not re.search(r"<script[^>]+src=", page.read_text()), "Vega inlined by .dvc/plots/index.html"
    if CHROMIUM is not None:  # tests/test_dvc_plots_page.py checks the drawing in detail
        dom = render_offline(page, repo / ".chromium")
        assert len(re.findall(r'<svg[^>]*class="marks"', dom)) == 3
        fid_axis = [a for a in aria_labels(dom) if a.startswith("Y-axis titled 'eval/fid2k_classifier'")]
        assert fid_axis and " from 0 to " not in fid_axis[0], fid_axis
    run(repo, "dvc", "metrics", "show")


@pytest.mark.skipif(not EVAL_CLIS, reason="ganforge-eval / ganforge-train-evaluator (issue 3) not merged yet")
def test_dvc_metrics_show_lists_evaluation(repo):
    out = run(repo, "dvc", "metrics", "show", "--json")
    assert "metrics.json" in out


def test_dvc_exp_run_set_param_goes_through_hydra_composition(repo):
    run(repo, "git", "add", "-A")
    run(repo, "git", "commit", "-qm", "lock", "--allow-empty")
    sets = [f"{'.'.join(k)}={v}" for k, v in TINY.items() if k[0] != "model"]
    args = [arg for s in ["model=vanilla", "loss=minimax", *sets] for arg in ("-S", s)]
    out = run(repo, "dvc", "exp", "run", "train", *args, timeout=400)
    assert "Running stage 'train'" in out and "Stage 'fetch' didn't change" in out
    params = yaml.safe_load((repo / "params.yaml").read_text())
    assert params["model"]["name"] == "vanilla" and params["loss"]["name"] == "minimax"
    assert params["model"]["generator"]["_target_"].endswith("MLPGenerator"), "a group swap, not a key edit"
    config = yaml.safe_load((repo / "outputs" / "dvc" / "train" / "config.yaml").read_text())
    assert config["model"]["name"] == "vanilla" and config["trainer"]["max_steps"] == 4
    shown = run(repo, "dvc", "exp", "show", "--csv", "--no-pager")
    assert "vanilla" in shown and "dcgan" in shown
    # The baseline row (dvc.lock committed) has every metric: no `!` in the table.
    rows = json.loads(_stdout(repo, "dvc", "exp", "show", "--json"))
    (baseline,) = [r for r in rows if r["rev"] != "workspace"]
    assert baseline["data"]["params"]["params.yaml"]["data"]["model"]["name"] == "dcgan"
    if EVAL_CLIS:
        metrics = baseline["data"]["metrics"]["outputs/dvc/train/metrics.json"]["data"]
        assert metrics["fid10k_classifier"] > 0 and all(type(v) in (int, float) for v in metrics.values())
    # The experiment's curves against the baseline's: plots/ is a cached out, so HEAD's tables are found.
    diff = json.loads(_stdout(repo, "dvc", "plots", "diff", "HEAD", "--json"))["data"]
    assert set(diff) == {"losses", "discriminator", "fid"}
    (fid,) = diff["fid"]
    head = [p for p in fid["content"]["data"]["values"] if p["rev"] == "HEAD"]
    assert [int(p["step"]) for p in head] == [2, 4]
    assert all(float(p["eval/fid2k_classifier"]) > 0 for p in head)

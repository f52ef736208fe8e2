"""The small pieces of tracking: sweep objective, params.yaml loading, fetch checksums."""

from __future__ import annotations

import json

import pytest
import yaml

from ganforge.cli.fetch import fetch, verify
from ganforge.config.params import load_params
from ganforge.errors import ConfigError, DatasetError
from ganforge.tracking.objective import available_metrics, objective_value


def test_objective_reads_step_metrics_then_metrics_json_then_metrics_csv(tmp_path):
    (tmp_path / "metrics.csv").write_text("loss/d,fid2k_classifier,step\n1.5,,1\n1.2,40.0,2\n1.1,,3\n")
    (tmp_path / "metrics.json").write_text(json.dumps({"fid10k_classifier": 31.5}))
    (tmp_path / "metrics.provenance.json").write_text(json.dumps({"seed": 0, "gen_step": 3}))
    summary = {"run_dir": str(tmp_path), "metrics": {"loss/d": 0.9}}
    assert objective_value(summary, "loss/d") == 0.9, "the run's own final step metric wins"
    assert objective_value(summary, "fid2k_classifier") == 40.0, "last logged value in metrics.csv"
    assert objective_value(summary, "fid10k_classifier") == 31.5
    summary["metrics"]["eval/fid5k_classifier"] = 12.0
    assert objective_value(summary, "fid5k_classifier") == 12.0, "the eval callback's eval/<name> key"
    assert "seed" not in available_metrics(summary), "provenance is not a metric"
    # A metrics.json from before the provenance split: its "metrics" mapping, not its seeds and hashes.
    (tmp_path / "metrics.json").write_text(json.dumps({"metrics": {"fid10k_classifier": 30.0}, "seed": 0}))
    assert objective_value(summary, "fid10k_classifier") == 30.0 and "seed" not in available_metrics(summary)
    with pytest.raises(ConfigError, match="fid50k_inception.*available metrics.*fid10k_classifier"):
        objective_value(summary, "fid50k_inception")
    summary["metrics"]["loss/g"] = float("inf")
    assert objective_value(summary, "loss/g") != objective_value(summary, "loss/g"), "diverged -> NaN"


def test_load_params_applies_overrides_of_existing_keys_only(tmp_path):
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump({"trainer": {"max_steps": 300, "seed": 0}, "data": {"name": "mnist5k"}}))
    cfg = load_params(path, ["trainer.max_steps=4", "data.name=ring"])
    assert cfg.trainer.max_steps == 4 and cfg.data.name == "ring"
    with pytest.raises(ConfigError, match="does not apply"):
        load_params(path, ["trainer.max_stepz=4"])
    with pytest.raises(ConfigError, match="does not exist"):
        load_params(tmp_path / "missing.yaml")


def test_fetch_records_checksums_and_verify_catches_changed_data(compose, tmp_path):
    cfg = compose(f"paths.root_dir={tmp_path}", "data=ring", "data.num_samples=500")
    record = fetch(cfg)
    out = tmp_path / "data" / "ring"
    assert sorted(p.name for p in out.iterdir()) == ["checksums.json", "test.pt", "train.pt"]
    assert record["splits"]["train"]["num_samples"] == 500 and record["splits"]["train"]["shape"] == [2]
    first = (out / "train.pt").read_bytes()
    fetch(cfg)
    assert (out / "train.pt").read_bytes() == first, "byte-identical files, so DVC sees unchanged data"
    assert verify(cfg) == record

    changed = compose(f"paths.root_dir={tmp_path}", "data=ring", "data.num_samples=500", "data.data_seed=1")
    with pytest.raises(DatasetError, match="no longer matches"):
        verify(changed)

"""The number a hyperparameter search optimises: ``optimized_metric`` read from a finished run.

Sources, first match wins: the module's last step metrics (losses, D(x), ...), the trainer's
``callback_metrics`` (what callbacks such as an evaluation callback logged), ``metrics.json`` in the run
directory (``ganforge-eval``) and the last logged value in ``metrics.csv``. So any metric that reaches a
logger can be optimised, including the FID of the evaluation callback.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ganforge.errors import ConfigError
from ganforge.tracking.metrics_json import read_metrics_json


def _from_metrics_json(run_dir: Path) -> dict[str, float]:
    try:
        return read_metrics_json(run_dir / "metrics.json")
    except json.JSONDecodeError:
        return {}  # a corrupt file is no source; the other sources still count


def _from_metrics_csv(run_dir: Path) -> dict[str, float]:
    """The last non-empty value of every column of Lightning's metrics.csv."""
    path = run_dir / "metrics.csv"
    if not path.is_file():
        return {}
    last: dict[str, float] = {}
    with path.open(newline="") as file:
        for row in csv.DictReader(file):
            for key, value in row.items():
                if key and key != "step" and value not in (None, ""):
                    try:
                        last[key] = float(value)
                    except ValueError:
                        pass
    return last


def available_metrics(summary: Mapping[str, Any]) -> dict[str, float]:
    """Every final metric of a run by name; earlier sources take precedence."""
    run_dir = Path(summary["run_dir"])
    sources: list[Mapping[str, float]] = [summary.get("metrics", {})]
    trainer = summary.get("trainer")
    if trainer is not None:
        sources.append({k: float(v) for k, v in trainer.callback_metrics.items()})
    sources += [_from_metrics_json(run_dir), _from_metrics_csv(run_dir)]
    merged: dict[str, float] = {}
    for source in reversed(sources):
        merged.update(source)
    return merged


def objective_value(summary: Mapping[str, Any], name: str) -> float:
    """The final value of metric ``name`` (NaN when training diverged, which Optuna records as a failure)."""
    metrics = available_metrics(summary)
    # The evaluation callback logs its metrics as eval/<name>: either spelling is accepted.
    name = next((n for n in (name, f"eval/{name}") if n in metrics), name)
    if name not in metrics:
        raise ConfigError(
            f"optimized_metric={name!r} was not produced by this run; available metrics: {sorted(metrics)}. "
            "Set optimized_metric to one of them, or enable the evaluation that computes it."
        )
    value = float(metrics[name])
    return value if math.isfinite(value) else float("nan")

"""Finished runs on disk: where they are and what they recorded (metrics.csv, metrics.json, config.yaml)."""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml

from ganforge.errors import GanforgeError
from ganforge.tracking.metrics_json import read_metrics_json
from ganforge.tracking.run_time import RunTime, read_run_time

MARKERS = ("config.yaml", "metrics.csv", "metrics.json")
MAX_DEPTH = 4
STEP_PNG = re.compile(r"step_(\d+)\.png$")


class RunsError(GanforgeError):
    """No comparable run was found at the given paths."""


@dataclass
class Run:
    path: Path
    name: str
    curves: dict[str, list[tuple[int, float]]] = field(default_factory=dict)

    @cached_property
    def config(self) -> dict[str, Any]:
        path = self.path / "config.yaml"
        if not path.is_file():
            return {}
        return yaml.safe_load(path.read_text()) or {}

    def setting(self, dotted: str) -> str:
        node: Any = self.config
        for key in dotted.split("."):
            node = node.get(key) if isinstance(node, dict) else None
        return "-" if node is None else str(node)

    @cached_property
    def flat_config(self) -> dict[str, str]:
        """config.yaml flattened to dotted keys (``model.g_optimizer.lr``), values as strings."""
        return _flatten(self.config)

    @property
    def missing_metrics(self) -> str | None:
        """Why the run has no metrics.csv (from its logger config), or None when it has one."""
        if (self.path / "metrics.csv").is_file():
            return None
        loggers = sorted((self.config.get("logger") or {}).keys()) if self.config else None
        if loggers is None:
            return "no metrics.csv and no config.yaml: not a complete ganforge-train run"
        if "csv" in loggers:
            return "no metrics.csv: the run stopped before its first log"
        if not loggers:
            return "no metrics.csv: this run logged nothing (logger=none); rerun with logger=csv"
        return (
            f"no metrics.csv: this run logged to {', '.join(loggers)} only; "
            f"add logger=[csv,{','.join(loggers)}]"
        )

    @cached_property
    def final_metrics(self) -> dict[str, float]:
        """The last logged value of each curve, then every metric in metrics.json (which wins)."""
        final = {name: points[-1][1] for name, points in self.curves.items() if points}
        path = self.path / "metrics.json"
        try:
            final.update(read_metrics_json(path))
        except json.JSONDecodeError as exc:
            raise RunsError(f"{path} is not valid JSON ({exc}); rerun the evaluation.") from exc
        return final

    @property
    def last_step(self) -> int | None:
        steps = [points[-1][0] for points in self.curves.values() if points]
        return max(steps) if steps else None

    @property
    def sample_grids(self) -> list[tuple[int, Path]]:
        """The sample grids in samples/ as (generator step, path), by step."""
        return sorted(
            (int(m.group(1)), p)
            for p in (self.path / "samples").glob("step_*.png")
            if (m := STEP_PNG.search(p.name))
        )

    @property
    def last_samples(self) -> Path | None:
        """The sample grid of the highest generator step in samples/."""
        grids = self.sample_grids
        return grids[-1][1] if grids else None

    @property
    def grids_over_time(self) -> list[tuple[int, Path]]:
        """The first, middle and last sample grid (fewer when the run saved fewer)."""
        grids = self.sample_grids
        picked = sorted({0, (len(grids) - 1) // 2, len(grids) - 1}) if grids else []
        return [grids[i] for i in picked]

    @property
    def duration(self) -> RunTime | None:
        """Wall time of the run's fits (run_time.json), or None for a run that did not record it."""
        return read_run_time(self.path)


def _flatten(node: Any, prefix: str = "") -> dict[str, str]:
    if not isinstance(node, dict) or not node:
        return {prefix.rstrip("."): str(node)} if prefix else {}
    out: dict[str, str] = {}
    for key, value in node.items():
        out.update(_flatten(value, f"{prefix}{key}."))
    return out


def differing_settings(runs: list[Run], skip: Iterable[str] = ()) -> list[str]:
    """The dotted config keys whose value is not the same in every run (a missing key counts as "-")."""
    if len(runs) < 2:
        return []
    skipped = set(skip)
    keys = sorted({k for run in runs for k in run.flat_config} - skipped)
    return [
        k
        for k in keys
        if not k.startswith(("paths.", "hydra.")) and len({run.flat_config.get(k, "-") for run in runs}) > 1
    ]


def read_curves(path: Path) -> dict[str, list[tuple[int, float]]]:
    """metrics.csv (Lightning's CSV logger, step = generator step) as {metric: [(step, value), ...]}."""
    curves: dict[str, list[tuple[int, float]]] = {}
    if not path.is_file():
        return curves
    with path.open(newline="") as file:
        for row in csv.DictReader(file):
            try:
                step = int(float(row.get("step") or ""))
            except ValueError:
                continue
            for key, value in row.items():
                if key in (None, "step") or value in (None, ""):
                    continue
                try:
                    curves.setdefault(key, []).append((step, float(value)))
                except ValueError:
                    pass
    return curves


def _is_run(path: Path) -> bool:
    return any((path / marker).is_file() for marker in MARKERS)


def _find(path: Path, depth: int) -> list[Path]:
    if _is_run(path):
        return [path]
    if depth == 0:
        return []
    children = sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))
    return [run for child in children for run in _find(child, depth - 1)]


def discover_runs(paths: Iterable[Path]) -> list[Run]:
    """Every run directory at or below the given paths (a run, a sweep, or a folder of sweeps)."""
    found: list[Path] = []
    for path in paths:
        path = Path(path)
        if not path.is_dir():
            raise RunsError(f"{path} is not a directory; pass run directories or sweep directories.")
        runs = _find(path, MAX_DEPTH)
        if not runs:
            raise RunsError(
                f"No run found under {path}: a run directory holds config.yaml and metrics.csv "
                "(written by ganforge-train with logger=csv, the default)."
            )
        found += [r for r in runs if r not in found]
    names = _short_names(found)
    return [Run(path=p, name=n, curves=read_curves(p / "metrics.csv")) for p, n in zip(found, names)]


def _short_names(paths: list[Path]) -> list[str]:
    """Directory names, with the parent added where two runs share a name."""
    names = [p.name for p in paths]
    if len(set(names)) == len(names):
        return names
    return [f"{p.parent.name}/{p.name}" for p in paths]

"""Reading ``metrics.json`` (ganforge-eval): ``{metric name: number}``, what DVC lists as metrics.

Its provenance (checkpoint, seeds, timings, protocol) is in ``metrics.provenance.json`` beside it and is
not read here. Files written before that split hold ``{"metrics": {...}, "protocol": ..., ...}``: their
``metrics`` mapping is used, so old runs still compare.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def numbers(data: Mapping[str, Any], prefix: str = "") -> dict[str, float]:
    """Every numeric leaf of a nested mapping, keyed by its ``/``-joined path (booleans are not numbers)."""
    out: dict[str, float] = {}
    for key, value in data.items():
        if isinstance(value, Mapping):
            out.update(numbers(value, f"{prefix}{key}/"))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            out[f"{prefix}{key}"] = float(value)
    return out


def read_metrics_json(path: Path) -> dict[str, float]:
    """The metrics in ``path`` ({} when absent); raises json.JSONDecodeError for a corrupt file."""
    if not Path(path).is_file():
        return {}
    data = json.loads(Path(path).read_text())
    if not isinstance(data, Mapping):
        return {}
    legacy = data.get("metrics")
    return numbers(legacy if isinstance(legacy, Mapping) else data)

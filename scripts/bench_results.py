"""Shared by the benchmark scripts: a JSON-lines results file that survives interruption, and the
mean ± standard error cells of their Markdown tables."""

from __future__ import annotations

import json
import statistics
import sys
from pathlib import Path

# The committed results files sit in the repository's docs/; found from this file, not the working
# directory, so --table-only prints the README's tables from wherever the script is started.
DOCS = Path(__file__).resolve().parent.parent / "docs"


def results_file(name: str) -> Path:
    return DOCS / name


def load_results(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def require_rows(path: Path, rows: list[dict]) -> None:
    """Stop with a message instead of printing an empty table (``--table-only`` on a file with no rows)."""
    if not rows:
        sys.exit(f"{path}: no results to tabulate (missing, empty, or none match the options given).")


def matching(rows: list[dict], **fields) -> list[dict]:
    """The rows whose ``fields`` all have the given values (a rerun skips a run already there)."""
    return [r for r in rows if all(r.get(k) == v for k, v in fields.items())]


def append_result(path: Path, result: dict) -> None:
    """One line per finished run, appended as soon as it exists (a rerun skips what is there)."""
    with path.open("a") as f:
        f.write(json.dumps(result) + "\n")


def mean_se(values: list[float], scale: float = 1.0, digits: int = 1) -> str:
    """``mean ± standard error`` (just the mean for a single value), after multiplying by ``scale``."""
    mean = statistics.fmean(values) * scale
    if len(values) < 2:
        return f"{mean:.{digits}f}"
    se = statistics.stdev(values) * scale / len(values) ** 0.5
    return f"{mean:.{digits}f} ± {se:.{digits}f}"

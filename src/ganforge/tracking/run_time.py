"""A run's wall time: when each fit of it (the first, then each resume) started and ended.

``run_time.json`` in the run directory, written by the RunRecord callback (rank zero) at fit start and at
fit end (or failure)::

    {"segments": [{"start": "2026-01-01T12:00:00.000+01:00", "start_step": 0,
                   "end": "2026-01-01T12:03:10.512+01:00", "end_step": 500, "status": "finished"}]}

Nothing else records this reliably: ``metrics.csv`` has no time column and ``train.log`` has no end line
(and a resume appends to it). A segment without an end (the job is running, or was killed) counts up to
the last write of ``metrics.csv`` or ``train.log``, and the duration is then shown as a lower bound.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from ganforge.io import atomic_write_text

FILE = "run_time.json"
# Written while a job runs: the last of these to change is when a killed job was last alive.
ACTIVITY_FILES = ("metrics.csv", "train.log")


def _now() -> str:
    return datetime.now().astimezone().isoformat(timespec="milliseconds")


def _segments(run_dir: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads((run_dir / FILE).read_text())
    except (OSError, ValueError):
        return []  # none yet, or unreadable: a new record starts rather than failing the run
    segments = data.get("segments") if isinstance(data, dict) else None
    return [s for s in segments if isinstance(s, dict)] if isinstance(segments, list) else []


def _write(run_dir: Path, segments: list[dict[str, Any]]) -> None:
    atomic_write_text(run_dir / FILE, json.dumps({"segments": segments}, indent=1) + "\n")


def record_start(run_dir: str | Path, step: int) -> None:
    """Open a segment (a resume adds one to those of the earlier fits)."""
    run_dir = Path(run_dir)
    _write(run_dir, [*_segments(run_dir), {"start": _now(), "start_step": int(step), "end": None}])


def record_end(run_dir: str | Path, step: int, status: str = "finished") -> None:
    """Close the open segment (``status``: finished, or why the fit stopped)."""
    run_dir = Path(run_dir)
    segments = _segments(run_dir)
    if not segments or segments[-1].get("end") is not None:
        return  # no open segment: fit start was never recorded (not rank zero's run directory)
    segments[-1].update(end=_now(), end_step=int(step), status=status)
    _write(run_dir, segments)


@dataclass(frozen=True)
class RunTime:
    seconds: float
    complete: bool  # False: a segment has no end (running or killed); seconds is then a lower bound

    def __str__(self) -> str:
        return ("" if self.complete else ">=") + format_duration(self.seconds)


def read_run_time(run_dir: str | Path) -> RunTime | None:
    """The summed wall time of a run's fits, or None when it has no (readable) run_time.json."""
    run_dir = Path(run_dir)
    total, complete = 0.0, True
    segments = _segments(run_dir)
    for segment in segments:
        try:
            start = datetime.fromisoformat(segment["start"]).timestamp()
            if segment.get("end"):
                end = datetime.fromisoformat(segment["end"]).timestamp()
            else:
                complete = False
                seen = [(run_dir / f).stat().st_mtime for f in ACTIVITY_FILES if (run_dir / f).is_file()]
                end = max([start, *seen])
        except (KeyError, TypeError, ValueError):
            return None
        total += max(0.0, end - start)
    return RunTime(total, complete) if segments else None


def format_duration(seconds: float) -> str:
    """``45s``, ``12m 03s``, ``2h 05m``: precise enough to compare runs, short enough for a table."""
    s = round(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m {s % 60:02d}s"
    return f"{s // 3600}h {s % 3600 // 60:02d}m"

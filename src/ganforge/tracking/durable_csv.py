"""A CSV table that survives crashes and resumes, one row per step (behind metrics.csv and plots/*.csv).

Each ``save`` reaches the file at once (an appended row, flushed and closed: it survives a ``kill -9``), a
new column or a second call for the same step rewrites the file atomically, an existing file is kept
(a row cut short by a crash is dropped), and :meth:`DurableCSVWriter.truncate_after` drops the rows past a
step. Built on Lightning's ExperimentWriter, which offers none of these (see ganforge.tracking.csv_logger).
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from lightning.pytorch.loggers.csv_logs import ExperimentWriter

from ganforge.io import atomic_write_text


def _step(row: dict[str, Any]) -> int:
    return int(float(row["step"]))


class DurableCSVWriter(ExperimentWriter):
    """One durable CSV table, ``log_dir/file_name``: one row per step (see the module docstring)."""

    def __init__(self, log_dir: str, file_name: str = "metrics.csv"):
        self.NAME_METRICS_FILE = file_name  # read by Lightning's __init__ to build metrics_file_path
        super().__init__(log_dir=log_dir)

    def _check_log_dir_exists(self) -> None:
        # Lightning deletes an existing metrics.csv here; a resumed run keeps its history instead.
        self._path = Path(self.metrics_file_path)
        rows = self._read()
        if self._path.is_file() and not self._path.read_text().endswith("\n"):
            self._rewrite(rows)  # a row cut short by a crash (power loss) is dropped, not appended to
        self._last = rows[-1] if rows else None

    def _read(self) -> list[dict[str, str]]:
        if not self._path.is_file():
            return []
        text = self._path.read_text()
        if not text.endswith("\n"):
            text = text[: text.rfind("\n") + 1]
        reader = csv.DictReader(io.StringIO(text))
        rows = [row for row in reader if row.get("step")]
        self.metrics_keys = sorted(set(self.metrics_keys) | set(reader.fieldnames or []))
        return rows

    def _rewrite(self, rows: list[dict[str, Any]]) -> None:
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=self.metrics_keys)
        writer.writeheader()
        writer.writerows(rows)
        atomic_write_text(self._path, out.getvalue())

    def save(self) -> None:
        for row in self.metrics:
            new_keys = set(row) - set(self.metrics_keys)
            self.metrics_keys = sorted(set(self.metrics_keys) | new_keys)
            if self._last is not None and _step(self._last) == _step(row):
                # More metrics for the step just written (e.g. eval/* after loss/*): one row per step.
                rows = self._read()
                rows[-1] = {**rows[-1], **{k: v for k, v in row.items()}}
                self._rewrite(rows)
                self._last = rows[-1]
            elif new_keys or not self._path.is_file():
                self._rewrite([*self._read(), row])
                self._last = row
            else:
                with self._path.open("a", newline="") as file:
                    csv.DictWriter(file, fieldnames=self.metrics_keys).writerow(row)
                self._last = row
        self.metrics = []

    def truncate_after(self, step: int) -> None:
        rows = self._read()
        kept = [row for row in rows if _step(row) <= step]
        if len(kept) != len(rows):
            self._rewrite(kept)
        self._last = kept[-1] if kept else None

"""Lightning's CSVLogger with a metrics.csv that survives crashes and resumes: one row per logged step.

Lightning's writer keeps rows in memory until a flush (every 100 steps), rewrites the whole file in place
when a new column appears, and deletes an existing file on start. Here each ``log_metrics`` call reaches
the file at once (an appended row, flushed and closed: it survives a ``kill -9`` of the process), a new
column or a second call for the same step (eval metrics after the training metrics) rewrites the file
atomically, an existing file is kept, and a resume first drops the rows past the checkpoint's step
(:meth:`ResumableCSVLogger.truncate_after`, called by MetricLogger when Lightning restores a checkpoint).
Written by hand because Lightning's writer offers none of these; only local run directories.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter
from lightning.pytorch.loggers.logger import rank_zero_experiment
from lightning.pytorch.utilities import rank_zero_only

from ganforge.io import atomic_write_text


def _step(row: dict[str, Any]) -> int:
    return int(float(row["step"]))


class _DurableWriter(ExperimentWriter):
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


class ResumableCSVLogger(CSVLogger):
    @property
    @rank_zero_experiment
    def experiment(self) -> ExperimentWriter:
        if self._experiment is None:
            self._fs.makedirs(self.root_dir, exist_ok=True)
            self._experiment = _DurableWriter(log_dir=self.log_dir)
        return self._experiment

    @rank_zero_only
    def log_metrics(self, metrics: dict[str, Any], step: int | None = None) -> None:
        super().log_metrics(metrics, step)
        self.experiment.save()  # every row reaches the file now, not at Lightning's next flush

    @rank_zero_only
    def truncate_after(self, step: int) -> None:
        """Forget the rows logged after ``step`` (a resume from a checkpoint at that step logs them anew)."""
        self.experiment.truncate_after(step)

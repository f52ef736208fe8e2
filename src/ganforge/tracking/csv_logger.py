"""Lightning's CSVLogger with a metrics.csv that survives crashes and resumes: one row per logged step.

Lightning's writer keeps rows in memory until a flush (every 100 steps), rewrites the whole file in place
when a new column appears, and deletes an existing file on start. Here each ``log_metrics`` call reaches
the file at once (an appended row, flushed and closed: it survives a ``kill -9`` of the process), a new
column or a second call for the same step (eval metrics after the training metrics) rewrites the file
atomically, an existing file is kept, and a resume first drops the rows past the checkpoint's step
(:meth:`ResumableCSVLogger.truncate_after`, called by MetricLogger when Lightning restores a checkpoint).
The same values also go to ``plots/<family>.csv`` (:mod:`ganforge.tracking.plot_files`), the tables
``dvc plots`` draws: metrics.csv has blank cells wherever a metric was not logged at a row's step.
Written by hand because Lightning's writer offers none of these; only local run directories.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lightning.pytorch.loggers import CSVLogger
from lightning.pytorch.loggers.csv_logs import ExperimentWriter
from lightning.pytorch.loggers.logger import rank_zero_experiment
from lightning.pytorch.utilities import rank_zero_only

from ganforge.tracking.durable_csv import DurableCSVWriter
from ganforge.tracking.plot_files import PlotFiles


class ResumableCSVLogger(CSVLogger):
    @property
    @rank_zero_experiment
    def experiment(self) -> ExperimentWriter:
        if self._experiment is None:
            self._fs.makedirs(self.root_dir, exist_ok=True)
            self._experiment = DurableCSVWriter(log_dir=self.log_dir)
        return self._experiment

    @property
    def plot_files(self) -> PlotFiles:
        """plots/<family>.csv beside metrics.csv: the same values, one complete table per metric family."""
        if getattr(self, "_plot_files", None) is None:
            self._plot_files = PlotFiles(Path(self.log_dir) / PlotFiles.DIRNAME)
        return self._plot_files

    @rank_zero_only
    def log_metrics(self, metrics: dict[str, Any], step: int | None = None) -> None:
        super().log_metrics(metrics, step)
        self.experiment.save()  # every row reaches the file now, not at Lightning's next flush
        if step is not None:
            self.plot_files.log(metrics, step)

    @rank_zero_only
    def truncate_after(self, step: int) -> None:
        """Forget the rows logged after ``step`` (a resume from a checkpoint at that step logs them anew)."""
        self.experiment.truncate_after(step)
        self.plot_files.truncate_after(step)

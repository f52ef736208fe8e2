"""``plots/<family>.csv`` in a run directory: one table per metric family, the data ``dvc plots`` draws.

metrics.csv holds every metric in one row per logged step, so a metric logged at other steps than the
losses (``eval/*``: every ``eval.every_n_steps``) leaves blank cells, which DVC's Vega templates draw as
0. Here each family, the part of a metric name before its first ``/`` (``loss/d``, ``loss/g`` ->
``loss.csv``; ``d/real`` -> ``d.csv``; ``eval/fid2k_classifier`` -> ``eval.csv``; ``lr/g`` -> ``lr.csv``),
gets its own table with a row for each step the family was logged at: the metrics of a family are logged
together, so every cell is filled. Names without a ``/`` (``epoch``) are left out. The tables are as
durable as metrics.csv (:class:`~ganforge.tracking.durable_csv.DurableCSVWriter`: written as they come,
kept on restart, rows past the checkpoint's step dropped on resume).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ganforge.tracking.durable_csv import DurableCSVWriter

UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")


def family_of(name: str) -> str | None:
    """The family a metric name belongs to (its first path part), or None for a name without one."""
    family, sep, _ = name.partition("/")
    return UNSAFE.sub("_", family) if sep and family else None


class PlotFiles:
    """The family tables of one run, written under ``directory`` (``<run>/plots``)."""

    DIRNAME = "plots"

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self._writers: dict[str, DurableCSVWriter] = {}

    def _writer(self, family: str) -> DurableCSVWriter:
        if family not in self._writers:
            self._writers[family] = DurableCSVWriter(str(self.directory), f"{family}.csv")
        return self._writers[family]

    def log(self, metrics: Mapping[str, Any], step: int) -> None:
        """Append (or merge into the row of the same step) each family's share of ``metrics``."""
        by_family: dict[str, dict[str, Any]] = {}
        for name, value in metrics.items():
            family = family_of(name)
            if family is not None:
                by_family.setdefault(family, {})[name] = value
        for family, values in by_family.items():
            writer = self._writer(family)
            writer.log_metrics(values, step)
            writer.save()

    def truncate_after(self, step: int) -> None:
        """Drop the rows past ``step`` in every table on disk (also those not logged since the restart)."""
        for path in sorted(self.directory.glob("*.csv")):
            self._writer(path.stem).truncate_after(step)

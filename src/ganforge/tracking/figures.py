"""The matplotlib figures of ganforge-compare: metric curves, grids over time, and the whole PNG page.

:func:`page_figure` returns the figure with its axes by role (:class:`PageLayout`), so what the page
holds (a table, a legend on every curve panel, each run's grids) can be checked without reading pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from ganforge.tracking.runs import Run

CURVE_COLUMNS = 3
LEGEND_CHARS = 44  # longer run names are cut in the middle: sweep names end with their overrides
TABLE_FONT = 8
TABLE_NAME_CHARS = 60


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def short_name(name: str, limit: int = LEGEND_CHARS) -> str:
    if len(name) <= limit:
        return name
    half = (limit - 3) // 2
    return f"{name[:half]}...{name[-half:]}"


def plot_metric(ax: Any, runs: list[Run], metric: str) -> None:
    """Every run's curve of ``metric``, each labelled in this panel's own legend."""
    from matplotlib.ticker import MaxNLocator

    for run in runs:
        points = run.curves.get(metric, [])
        if points:
            steps, values = zip(*points)
            ax.plot(steps, values, label=short_name(run.name), marker="." if len(points) < 20 else None)
    ax.set_title(metric, fontsize=10)
    ax.set_xlabel("generator step", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # steps are whole numbers
    ax.grid(alpha=0.3)
    if ax.lines:
        ax.legend(fontsize=7, loc="best")


def plotted_metrics(runs: list[Run], metrics: list[str]) -> list[str]:
    return [m for m in metrics if any(r.curves.get(m) for r in runs)]


def _curve_axes(fig: Any, runs: list[Run], plotted: list[str]) -> list[Any]:
    cols = min(CURVE_COLUMNS, len(plotted))
    axes = fig.subplots(math.ceil(len(plotted) / cols), cols, squeeze=False)
    for ax, metric in zip(axes.flat, plotted):
        plot_metric(ax, runs, metric)
    for ax in list(axes.flat)[len(plotted) :]:
        ax.axis("off")
    return list(axes.flat)[: len(plotted)]


def curves_figure(runs: list[Run], metrics: list[str]) -> Any | None:
    """All metric panels in one figure (the HTML page's), or None when no run has a curve."""
    plotted = plotted_metrics(runs, metrics)
    if not plotted:
        return None
    cols = min(CURVE_COLUMNS, len(plotted))
    fig = _pyplot().figure(figsize=(4.5 * cols, 3.2 * math.ceil(len(plotted) / cols)), layout="constrained")
    _curve_axes(fig, runs, plotted)
    return fig


@dataclass
class PageLayout:
    """The PNG page's figure and its axes by role."""

    figure: Any
    table: Any
    curves: list[Any] = field(default_factory=list)
    grids: dict[str, list[Any]] = field(default_factory=dict)  # run name -> first, middle, last grid


def _table_inches(header: list[str], rows: list[list[str]]) -> float:
    # ~0.07 in a character at 8 pt, plus each cell's padding: the figure is made wide enough for the table.
    return sum(max(len(str(c)) for c in col) * 0.07 + 0.2 for col in zip(header, *rows))


def _draw_table(ax: Any, header: list[str], rows: list[list[str]]) -> None:
    ax.axis("off")
    ax.set_title("Final metrics and the settings that differ", loc="left", fontsize=10)
    table = ax.table(cellText=rows, colLabels=header, loc="upper left", cellLoc="left", colLoc="left")
    table.auto_set_font_size(False)
    table.set_fontsize(TABLE_FONT)
    table.auto_set_column_width(list(range(len(header))))
    table.scale(1, 1.4)
    for (row, _), cell in table.get_celld().items():
        cell.set_edgecolor("#bbbbbb")
        if row == 0:
            cell.set_facecolor("#eeeeee")
            cell.get_text().set_fontweight("bold")


def _draw_grids(fig: Any, runs: list[Run]) -> dict[str, list[Any]]:
    import matplotlib.image as mpimg

    shown = [run for run in runs if run.sample_grids]
    grids: dict[str, list[Any]] = {}
    if not shown:
        return grids
    fig.suptitle("Sample grids over time (first, middle, last)", x=0.01, ha="left", fontsize=10)
    for sub, run in zip(fig.subfigures(len(shown), 1, squeeze=False).flat, shown):
        sub.suptitle(short_name(run.name, 100), x=0.01, ha="left", fontsize=9)
        axes = list(sub.subplots(1, 3, squeeze=False).flat)
        grids[run.name] = []
        for ax, (step, path) in zip(axes, run.grids_over_time):
            ax.imshow(mpimg.imread(path), cmap="gray")
            ax.set_title(f"step {step}", fontsize=8)
            ax.set_xticks([])
            ax.set_yticks([])
            grids[run.name].append(ax)
        for ax in axes[len(run.grids_over_time) :]:
            ax.axis("off")
    return grids


def page_figure(runs: list[Run], metrics: list[str], header: list[str], rows: list[list[str]]) -> PageLayout:
    """The PNG page: the table, the curve panels, each run's grids over time, top to bottom."""
    plotted = plotted_metrics(runs, metrics)
    curve_rows = math.ceil(len(plotted) / CURVE_COLUMNS)
    with_grids = sum(1 for run in runs if run.sample_grids)
    # The run column cut like the legends: the settings that tell sweep jobs apart have their own columns.
    rows = [[short_name(str(row[0]), TABLE_NAME_CHARS), *row[1:]] for row in rows]
    width = max(4.5 * CURVE_COLUMNS, _table_inches(header, rows) + 0.5)
    # Three grids a run across the page's width, each about square.
    grid_row = min(5.0, width / 3)
    heights = [0.6 + 0.3 * (len(rows) + 1), 3.2 * curve_rows, 0.4 + (grid_row + 0.5) * with_grids]
    fig = _pyplot().figure(figsize=(width, sum(heights)), layout="constrained")
    parts = [True, bool(plotted), bool(with_grids)]  # the table always; curves and grids where there are
    subs = iter(
        fig.subfigures(
            sum(parts), 1, height_ratios=[h for h, p in zip(heights, parts) if p], squeeze=False
        ).flat
    )
    fig.suptitle(f"ganforge-compare: {len(runs)} runs", x=0.01, ha="left", fontsize=12, fontweight="bold")
    table_ax = next(subs).subplots()
    _draw_table(table_ax, header, rows)
    layout = PageLayout(fig, table_ax)
    if parts[1]:
        layout.curves = _curve_axes(next(subs), runs, plotted)
    if parts[2]:
        layout.grids = _draw_grids(next(subs), runs)
    return layout

"""The comparison page of ganforge-compare: metric curves of all runs and each run's last sample grid.

One self-contained HTML file (images embedded as base64) or one PNG, written atomically.
"""

from __future__ import annotations

import base64
import html
import io
import math
from pathlib import Path

from ganforge.errors import ConfigError
from ganforge.io import atomic_path
from ganforge.tracking.runs import Run


def _plot_metric(ax, runs: list[Run], metric: str) -> None:
    for run in runs:
        points = run.curves.get(metric, [])
        if points:
            steps, values = zip(*points)
            ax.plot(steps, values, label=run.name, marker="." if len(points) < 20 else None)
    ax.set_title(metric, fontsize=10)
    ax.set_xlabel("generator step", fontsize=8)
    ax.grid(alpha=0.3)


def _figure_curves(runs: list[Run], metrics: list[str]):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plotted = [m for m in metrics if any(len(r.curves.get(m, [])) > 0 for r in runs)]
    if not plotted:
        return None
    cols = min(3, len(plotted))
    rows = math.ceil(len(plotted) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.5 * cols, 3.2 * rows), squeeze=False)
    for ax, metric in zip(axes.flat, plotted):
        _plot_metric(ax, runs, metric)
    for ax in list(axes.flat)[len(plotted) :]:
        ax.axis("off")
    axes.flat[0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def _png_bytes(fig) -> bytes:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    return buffer.getvalue()


def _data_uri(png: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def render_html(runs: list[Run], metrics: list[str], header: list[str], rows: list[list[str]]) -> str:
    esc = html.escape
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'><title>ganforge-compare</title><style>",
        "body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse}",
        "td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}td:first-child{text-align:left}",
        ".grids{display:flex;flex-wrap:wrap;gap:1em}.grids figure{margin:0;text-align:center}",
        ".grids img{width:256px;image-rendering:pixelated}</style></head><body>",
        f"<h1>ganforge-compare: {len(runs)} runs</h1><h2>Final metrics</h2><table>",
        "<tr>" + "".join(f"<th>{esc(h)}</th>" for h in header) + "</tr>",
        *("<tr>" + "".join(f"<td>{esc(str(c))}</td>" for c in row) + "</tr>" for row in rows),
        "</table>",
    ]
    fig = _figure_curves(runs, metrics)
    if fig is not None:
        parts.append(f"<h2>Curves</h2><img alt='metric curves' src='{_data_uri(_png_bytes(fig))}'>")
    parts.append("<h2>Last sample grid</h2><div class='grids'>")
    for run in runs:
        grid = run.last_samples
        body = f"<img alt='samples' src='{_data_uri(grid.read_bytes())}'>" if grid else "<p>(no samples)</p>"
        caption = esc(run.name + (f" ({grid.stem})" if grid else ""))
        parts.append(f"<figure>{body}<figcaption>{caption}</figcaption></figure>")
    parts.append("</div></body></html>")
    return "\n".join(parts)


def render_png(runs: list[Run], metrics: list[str]) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.image as mpimg
    import matplotlib.pyplot as plt

    plotted = [m for m in metrics if any(r.curves.get(m) for r in runs)]
    curve_rows = math.ceil(len(plotted) / 3) if plotted else 0
    n = len(runs)
    cols = max(3, n) if not plotted else max(min(3, len(plotted)), n)
    fig = plt.figure(figsize=(3.6 * cols, 3.2 * (curve_rows + 1)))
    grid = fig.add_gridspec(curve_rows + 1, cols)
    for i, metric in enumerate(plotted):
        ax = fig.add_subplot(grid[i // 3, (i % 3) * cols // 3 : (i % 3 + 1) * cols // 3])
        _plot_metric(ax, runs, metric)
        if i == 0:
            ax.legend(fontsize=6)
    for j, run in enumerate(runs):
        ax = fig.add_subplot(grid[curve_rows, j])
        ax.axis("off")
        ax.set_title(run.name, fontsize=7)
        if run.last_samples is not None:
            ax.imshow(mpimg.imread(run.last_samples), cmap="gray")
    fig.tight_layout()
    return _png_bytes(fig)


def write_page(
    out: Path, runs: list[Run], metrics: list[str], header: list[str], rows: list[list[str]]
) -> None:
    suffix = Path(out).suffix.lower()
    if suffix not in (".html", ".htm", ".png"):
        raise ConfigError(f"--out {out}: use a .html (curves, table and samples) or a .png file.")
    with atomic_path(out) as tmp:
        if suffix == ".png":
            tmp.write_bytes(render_png(runs, metrics))
        else:
            tmp.write_text(render_html(runs, metrics, header, rows), encoding="utf-8")

"""The comparison page of ganforge-compare: the table, the metric curves of all runs (a legend on every
panel) and each run's first, middle and last sample grid.

One self-contained HTML file (images embedded as base64) or one PNG (the same table, curves and grids in
one matplotlib figure: ganforge.tracking.figures), written atomically.
"""

from __future__ import annotations

import base64
import html
import io
from pathlib import Path

from ganforge.errors import ConfigError
from ganforge.io import atomic_path
from ganforge.tracking.figures import curves_figure, page_figure
from ganforge.tracking.runs import Run


def _png_bytes(fig, dpi: int = 100) -> bytes:
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
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
        ".grids img{width:320px;image-rendering:pixelated}h3{margin:1em 0 .3em}</style></head><body>",
        f"<h1>ganforge-compare: {len(runs)} runs</h1><h2>Final metrics</h2><table>",
        "<tr>" + "".join(f"<th>{esc(h)}</th>" for h in header) + "</tr>",
        *("<tr>" + "".join(f"<td>{esc(str(c))}</td>" for c in row) + "</tr>" for row in rows),
        "</table>",
    ]
    fig = curves_figure(runs, metrics)
    if fig is not None:
        parts.append(f"<h2>Curves</h2><img alt='metric curves' src='{_data_uri(_png_bytes(fig))}'>")
    parts.append("<h2>Sample grids over time (first, middle, last)</h2>")
    for run in runs:
        parts.append(f"<h3>{esc(run.name)}</h3><div class='grids'>")
        grids = run.grids_over_time
        if not grids:
            parts.append("<p>(no samples)</p>")
        for step, path in grids:  # embedded as written: the labelled PNGs of the sample-grid callback
            parts.append(
                f"<figure><img alt='samples at step {step}' src='{_data_uri(path.read_bytes())}'>"
                f"<figcaption>step {step}</figcaption></figure>"
            )
        parts.append("</div>")
    parts.append("</body></html>")
    return "\n".join(parts)


def render_png(runs: list[Run], metrics: list[str], header: list[str], rows: list[list[str]]) -> bytes:
    return _png_bytes(page_figure(runs, metrics, header, rows).figure)


def write_page(
    out: Path, runs: list[Run], metrics: list[str], header: list[str], rows: list[list[str]]
) -> None:
    suffix = Path(out).suffix.lower()
    if suffix not in (".html", ".htm", ".png"):
        raise ConfigError(f"--out {out}: use a .html (curves, table and samples) or a .png file.")
    with atomic_path(out) as tmp:
        if suffix == ".png":
            tmp.write_bytes(render_png(runs, metrics, header, rows))
        else:
            tmp.write_text(render_html(runs, metrics, header, rows), encoding="utf-8")

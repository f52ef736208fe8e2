"""``ganforge-compare``: compare finished runs side by side, offline.

    ganforge-compare outputs/multirun/2026-01-01_12-00-00             # every run of a sweep
    ganforge-compare outputs/runs/a outputs/runs/b --out compare.html  # or --out compare.png

Prints a table of each run's final metrics (metrics.csv, metrics.json), wall time (run_time.json) and
the settings that differ between the runs (their config.yaml files, a column per dotted key, e.g.
model.g_optimizer.lr), and writes one page (self-contained HTML with embedded images, or a PNG) with that
table, the metric curves of all runs (a legend on every panel) and each run's first, middle and last
sample grid.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ganforge.errors import GanforgeError
from ganforge.tracking.runs import Run, differing_settings, discover_runs

# Shown first when present; other metrics follow in name order.
PREFERRED = ("loss/d", "loss/g", "d/real", "d/fake")
HIDDEN_PREFIXES = ("lr/", "epoch", "step")


def metric_columns(runs: list[Run], requested: list[str] | None) -> list[str]:
    if requested:
        return requested
    names = {k for run in runs for k in run.final_metrics}
    shown = [n for n in names if not n.startswith(HIDDEN_PREFIXES)]
    return [n for n in PREFERRED if n in shown] + sorted(n for n in shown if n not in PREFERRED)


SHOWN = ("model.name", "loss.name", "data.name")
# Differ between runs without being a setting of the run.
NOT_SETTINGS = ("run_name", "trainer.progress_bar", "ckpt_path")


def table_rows(runs: list[Run], metrics: list[str]) -> tuple[list[str], list[list[str]]]:
    """One row per run: its name, family, the settings that differ between the runs, step, wall time
    (run_time.json; ``>=`` while a run is running or after it was killed) and metrics.

    Settings of a group whose name differs (model, loss, data) are left out: that group's column shows it.

    A run without metrics.csv gets a ``note`` saying why (e.g. logger=wandb alone) rather than bare "-".
    """
    differing = differing_settings(runs, skip=(*SHOWN, *NOT_SETTINGS))
    # Runs of different models (losses, data) differ in every setting of that group; the group's column
    # already tells them apart, and dozens of columns would bury the settings that were swept.
    swapped = tuple(f"{k.split('.')[0]}." for k in SHOWN if len({run.setting(k) for run in runs}) > 1)
    differing = [k for k in differing if not k.startswith(swapped)] if swapped else differing
    notes = [run.missing_metrics for run in runs]
    header = ["run", "model", "loss", "data", *differing, "step", "duration", *metrics]
    header += ["note"] if any(notes) else []
    rows = []
    for run, note in zip(runs, notes):
        values = [run.final_metrics.get(m) for m in metrics]
        rows.append(
            [
                run.name,
                *(run.setting(k) for k in SHOWN),
                *(run.flat_config.get(k, "-") for k in differing),
                str(run.last_step if run.last_step is not None else "-"),
                str(run.duration or "-"),
                *("-" if v is None else f"{v:.4g}" for v in values),
                *([note or ""] if any(notes) else []),
            ]
        )
    return header, rows


def format_table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(str(c)) for c in col) for col in zip(header, *rows)]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(line, widths)).rstrip() for line in [header, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="ganforge-compare", description=__doc__.split("\n")[0])
    parser.add_argument("paths", nargs="+", type=Path, help="run directories or sweep directories")
    parser.add_argument(
        "--out", type=Path, default=Path("compare.html"), help="page to write (.html or .png)"
    )
    parser.add_argument("--metrics", help="comma-separated metrics to show (default: all but lr/epoch)")
    args = parser.parse_args(argv)
    from ganforge.tracking.report import write_page

    try:
        runs = discover_runs(args.paths)
        metrics = metric_columns(runs, args.metrics.split(",") if args.metrics else None)
        header, rows = table_rows(runs, metrics)
        print(format_table(header, rows))
        write_page(args.out, runs, metrics, header, rows)
    except GanforgeError as exc:
        print(f"ganforge-compare: error: {exc}", file=sys.stderr)
        sys.exit(2)
    print(f"\nganforge-compare: {len(runs)} runs; page written to {args.out}")


if __name__ == "__main__":
    main()

"""Every benchmark script's ``--table-only`` prints the README table from the committed docs/*.jsonl,
from the repository root and from anywhere else, without training."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ROOT / "scripts"
# bench_fid, bench_modes, bench_ddp and bench_throughput print their numbers as they measure them and
# have no --table-only.
TABLE_SCRIPTS = [
    "bench_families_fid",
    "bench_families_modes",
    "bench_cyclegan",
    "bench_srgan",
    "bench_stylegan",
    "bench_text_to_image",
    "bench_audio",
]


def _table_rows(script: str, cwd: Path) -> list[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run(
        [sys.executable, str(SCRIPTS / f"{script}.py"), "--table-only"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    separator = next(i for i, line in enumerate(lines) if line.startswith("|---"))
    assert lines[separator - 1].startswith("| ")  # the header
    return [line for line in lines[separator + 1 :] if line.startswith("| ")]


@pytest.mark.parametrize("script", TABLE_SCRIPTS)
def test_table_only_prints_the_committed_results(script):
    rows = _table_rows(script, ROOT)
    assert rows, f"{script} --table-only printed a table without rows"
    assert all(row.count("|") >= 3 for row in rows)


def test_table_only_finds_docs_from_another_working_directory(tmp_path):
    assert _table_rows("bench_families_modes", tmp_path) == _table_rows("bench_families_modes", ROOT)
    assert not list(tmp_path.iterdir())  # printing a table creates no outputs/ folder


def test_no_rows_stops_with_the_file_named(tmp_path, monkeypatch):
    monkeypatch.syspath_prepend(str(SCRIPTS))
    from bench_results import require_rows

    with pytest.raises(SystemExit, match="nothing.jsonl: no results to tabulate"):
        require_rows(tmp_path / "nothing.jsonl", [])

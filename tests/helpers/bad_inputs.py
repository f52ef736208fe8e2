"""Running one bad-input case of tests/test_bad_inputs.py: prepare its files, run the console script, capture.

A case runs in-process by default (the console script's ``main(argv)``, SystemExit caught, output captured)
because 100 Python start-ups would take minutes on 2 cores; ``subprocess=True`` runs the installed console
script itself, as a user does (each script has at least one such case).
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import subprocess
import sys
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import tomllib

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def console_scripts() -> dict[str, str]:
    """{script name: "module:function"} from pyproject.toml, so the suite follows what is installed."""
    with open(REPO / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["project"]["scripts"]


@dataclass(frozen=True)
class Case:
    """One bad input: ``script argv`` must exit non-zero, print no traceback and match ``expect``.

    ``argv`` may name prepared files as ``{name}`` (see FILES in the test module) and ``{tmp}``, the
    case's own temporary folder (also its working directory). ``env`` entries are formatted the same way.
    """

    id: str
    script: str
    argv: tuple[str, ...]
    expect: str
    env: dict[str, str] = field(default_factory=dict)
    subprocess: bool = False
    xfail: str | None = None


Builder = Callable[[Path], Path]


def placeholders(texts: tuple[str, ...] | list[str]) -> set[str]:
    import string

    return {name for t in texts for _, name, _, _ in string.Formatter().parse(t) if name}


@contextlib.contextmanager
def preserved_process_state() -> Iterator[None]:
    """Undo what an in-process CLI run changes globally: logging handlers (Hydra's job logging), warning
    filters and environment variables."""
    root = logging.getLogger()
    saved = {name: (lg.handlers[:], lg.level, lg.propagate, lg.disabled) for name, lg in _loggers()}
    saved_root = (root.handlers[:], root.level)
    env = dict(os.environ)
    with warnings.catch_warnings():
        try:
            yield
        finally:
            for name, lg in _loggers():
                if name in saved:
                    lg.handlers[:], lg.level, lg.propagate, lg.disabled = saved[name]
                else:  # created during the run: its handlers may hold the closed captured streams
                    lg.handlers.clear()
            root.handlers[:], root.level = saved_root
            os.environ.clear()
            os.environ.update(env)


def _loggers() -> Iterator[tuple[str, logging.Logger]]:
    for name, lg in list(logging.Logger.manager.loggerDict.items()):
        if isinstance(lg, logging.Logger):
            yield name, lg


def run_in_process(script: str, argv: list[str], capsys) -> tuple[int, str]:
    module, function = console_scripts()[script].split(":")
    main = getattr(importlib.import_module(module), function)
    code: int | str | None = 0
    with preserved_process_state():
        try:
            main(argv)
        except SystemExit as exc:
            code = exc.code
    out = capsys.readouterr()
    if isinstance(code, str):  # sys.exit("message") prints the message and exits 1
        return 1, out.out + out.err + code
    return int(code or 0), out.out + out.err


def run_subprocess(script: str, argv: list[str], cwd: Path, env: dict[str, str]) -> tuple[int, str]:
    done = subprocess.run(
        [str(BIN / script), *argv],
        cwd=cwd,
        env={**os.environ, "PYTHONWARNINGS": "ignore", **env},
        capture_output=True,
        text=True,
        timeout=300,
    )
    return done.returncode, done.stdout + done.stderr

"""Run ganforge's console entry points on many argument lists in one fresh process.

    python tests/helpers/cli_cases.py CASES.json RESULTS.json

CASES.json holds ``[[cli, [arg, ...]], ...]`` with cli one of ``sample``, ``eval``, ``train``.
RESULTS.json gets one JSON list of ``{"code": exit status, "stderr": text}``, one per case (a file, not
stdout: Hydra's log handlers write there). Each case calls the same ``main`` the console
script calls; an exception other than SystemExit is reported with its traceback in ``stderr``, as the console
script would print it. One process for all cases because each start imports torch and Lightning (seconds).
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import traceback

from hydra.core.global_hydra import GlobalHydra


def run_case(cli: str, args: list[str]) -> dict:
    from ganforge.cli import eval as eval_cli
    from ganforge.cli import sample, train

    err, argv = io.StringIO(), sys.argv
    code = 0
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        try:
            if cli == "train":
                sys.argv = ["ganforge-train", *args]  # @hydra.main reads sys.argv
                train.main()
            else:
                {"sample": sample.main, "eval": eval_cli.main}[cli](args)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:  # noqa: BLE001 - report what a user would see
            traceback.print_exc()
            code = 1
        finally:
            sys.argv = argv
            GlobalHydra.instance().clear()  # the next @hydra.main call initialises it again
    return {"code": code, "stderr": err.getvalue()}


def main() -> None:
    cases_path, results_path = sys.argv[1:3]  # before run_case replaces sys.argv
    with open(cases_path) as f:
        cases = json.load(f)
    results = [run_case(cli, args) for cli, args in cases]
    with open(results_path, "w") as f:
        json.dump(results, f)


if __name__ == "__main__":
    main()

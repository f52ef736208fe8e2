"""``ganforge-train``: Hydra entry point. Example: ganforge-train model=dcgan data=fashion_mnist"""

from __future__ import annotations

import os
import sys
import traceback
import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.errors import HydraException
from hydra.types import RunMode
from omegaconf import DictConfig
from omegaconf.errors import OmegaConfBaseException

from ganforge.cli.checks import os_error_reason
from ganforge.config.hydra_errors import composition_message
from ganforge.config.loading import CONF_DIR, register_resolvers
from ganforge.config.rundirs import RefusedBeforeRun
from ganforge.errors import ConfigError, GanforgeError

register_resolvers()

# Hydra prints errors of its own machinery (composition, creating the run directory) itself, with the
# schema's internal options and a pointer to HYDRA_FULL_ERROR, unless that variable is set; then it
# re-raises them. main() sets it around Hydra so that it receives them and prints one ganforge message;
# a job unsets it while it runs, so its own failures and DDP's child processes behave as without it.
FULL_ERROR = "HYDRA_FULL_ERROR"
_translating = False


def main(argv: list[str] | None = None) -> None:
    """The console script: Hydra's CLI (--help, --cfg, -m ...), with user errors as one message, exit 2."""
    global _translating
    saved_argv = sys.argv
    if argv is not None:
        sys.argv = [sys.argv[0], *argv]  # Hydra parses sys.argv (in-process callers, e.g. tests)
    translate = not os.environ.get(FULL_ERROR)  # else the user asked for Hydra's full tracebacks
    if translate:
        os.environ[FULL_ERROR] = "1"
        _translating = True
    try:
        hydra_main()
    except RefusedBeforeRun as refused:
        # A bad ckpt_path or an unwritable output dir, found before anything was written (rundirs.py).
        print(f"ganforge: error: {refused.error}", file=sys.stderr)
        sys.exit(2)
    except Exception as exc:  # noqa: BLE001 - a user error becomes a message; anything else re-raises
        message = _user_message(exc) if translate else None
        if message is None:
            raise
        print(f"ganforge: error: {message}", file=sys.stderr)
        sys.exit(2)
    finally:
        sys.argv = saved_argv
        if translate:
            _translating = False
            os.environ.pop(FULL_ERROR, None)


def _user_message(exc: BaseException) -> str | None:
    """The message for an error of Hydra's machinery; None for a failure inside a job (a bug: re-raised)."""
    cause: BaseException | None = exc
    while cause is not None:  # a GanforgeError raised by a resolver arrives wrapped by OmegaConf
        if isinstance(cause, GanforgeError):
            return str(cause)
        cause = cause.__cause__
    if any(frame.f_code is run_job.__code__ for frame, _ in traceback.walk_tb(exc.__traceback__)):
        return None
    if isinstance(exc, HydraException | OmegaConfBaseException):
        return composition_message(exc, multirun=bool({"-m", "--multirun"} & set(sys.argv[1:])))
    if isinstance(exc, OSError) and exc.filename:
        return _run_dir_message(exc)
    return None


def _run_dir_message(exc: OSError) -> str:
    # Hydra creates the run directory (and .hydra/, train.log) before the job starts.
    return (
        f"Cannot create the run directory ({os_error_reason(exc)}). Runs are written under paths.output_dir "
        "(default ./outputs): point it at a writable directory, e.g. paths.output_dir=$HOME/ganforge-runs, "
        "or set hydra.run.dir=<dir>."
    )


@contextmanager
def _job_scope() -> Iterator[None]:
    """Inside a job, Hydra handles failures as usual; the setting returns for the next job of a sweep."""
    if _translating:
        os.environ.pop(FULL_ERROR, None)
    try:
        yield
    finally:
        if _translating:
            os.environ[FULL_ERROR] = "1"


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="config")
def hydra_main(cfg: DictConfig) -> float | None:
    with _job_scope():
        return run_job(cfg)


def run_job(cfg: DictConfig) -> float | None:
    from ganforge.tracking.console import follow_redirected_streams, quiet_lightning_console
    from ganforge.tracking.objective import objective_value
    from ganforge.training import train

    quiet_lightning_console()  # Hydra's root handlers already print and write train.log
    follow_redirected_streams()  # log lines print above the progress bar, not into it
    warnings.filterwarnings("ignore", message=".*LeafSpec.*")
    warnings.filterwarnings("ignore", message=".*all_gather is deprecated.*")
    try:
        _refuse_multirun_ddp(cfg)
        summary = train(cfg, HydraConfig.get().runtime.output_dir)
        value = objective_value(summary, cfg.optimized_metric) if cfg.get("optimized_metric") else None
    except GanforgeError as exc:
        print(f"\nganforge: error: {exc}", file=sys.stderr)
        sys.exit(2)
    if summary["trainer"].is_global_zero and summary["preempted_at"] is not None:
        print(
            f"ganforge: preempted at generator step {summary['preempted_at']}; resume with "
            f"ckpt_path={summary['run_dir']}/checkpoints/last.ckpt"
        )
    elif summary["trainer"].is_global_zero:
        print(
            f"ganforge: finished {summary['gen_step']} generator steps; run directory: {summary['run_dir']}"
        )
        if value is not None:
            print(f"ganforge: {cfg.optimized_metric} = {value:.6g}")
    # Returned to Hydra's sweeper (hparams_search=...): the value it minimises or maximises.
    return value


def _refuse_multirun_ddp(cfg: DictConfig) -> None:
    # Lightning re-launches sys.argv for ranks >= 1: under -m that would re-run the whole sweep.
    hw = cfg.hardware
    several = hw.num_nodes > 1 or hw.devices == -1 or (isinstance(hw.devices, int) and hw.devices > 1)
    if HydraConfig.get().mode == RunMode.MULTIRUN and several and hw.strategy != "auto":
        raise ConfigError(
            "A multirun sweep (-m) cannot launch multi-process DDP jobs: Lightning re-launches the command "
            "line for each extra rank, which would re-run the sweep. Sweep with hardware=cpu or "
            "hardware=gpu, or start each DDP job with its own ganforge-train command."
        )


if __name__ == "__main__":
    main()

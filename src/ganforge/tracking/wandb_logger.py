"""Weights & Biases through Lightning's WandbLogger: online when logged in, offline otherwise, never fatal.

``conf/logger/wandb.yaml`` instantiates :func:`wandb_logger`. The logger

* goes online when an API key is available (``WANDB_API_KEY`` or a netrc entry for the W&B host) and
  offline otherwise, or when asked (``logger.wandb.offline=true``, ``WANDB_MODE=offline``);
* logs the run's resolved config (sent by the RunRecord callback at fit start), every metric the
  callbacks send (losses, D(x), D(G(z)), learning rates, evaluation metrics), the sample grids as
  images and an audio family's clips as audio (``log_audio``), all against the generator-step counter
  ``gen_step``;
* uploads ``checkpoints/last.ckpt`` as a model artifact at the end of a successful online run;
* turns every W&B failure into a warning: tracking never stops training;
* is finished by :func:`finish_loggers` at the end of every job (also a failed one), so each Hydra job
  gets exactly one W&B run, and prints the ``wandb sync`` command for offline runs.
"""

from __future__ import annotations

import functools
import logging
import netrc
import os
import warnings
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from lightning.pytorch.loggers import WandbLogger
from lightning.pytorch.loggers.logger import rank_zero_experiment
from lightning.pytorch.utilities import rank_zero_only

from ganforge.config import sweeps
from ganforge.errors import ConfigError

log = logging.getLogger(__name__)

STEP_KEY = "gen_step"
DEFAULT_HOST = "https://api.wandb.ai"


def wandb_logged_in() -> bool:
    """True when W&B credentials are available without asking: an API key in the env or in ~/.netrc."""
    if os.environ.get("WANDB_API_KEY") or os.environ.get("WANDB_IDENTITY_TOKEN_FILE"):
        return True
    host = urlparse(os.environ.get("WANDB_BASE_URL", DEFAULT_HOST)).hostname or ""
    path = Path(os.environ.get("NETRC", Path.home() / ".netrc"))
    try:
        return path.is_file() and netrc.netrc(path).authenticators(host) is not None
    except (netrc.NetrcParseError, OSError):
        return False


def choose_mode(offline: bool | None) -> str:
    """``online``, ``offline`` or ``disabled``: an explicit request, then WANDB_MODE, then the login state."""
    if offline:
        return "offline"
    env_mode = os.environ.get("WANDB_MODE", "").lower()
    if env_mode in ("offline", "dryrun"):
        return "offline"
    if env_mode == "disabled":
        return "disabled"
    if offline is False:
        return "online"
    return "online" if wandb_logged_in() else "offline"


def _hydra_job() -> tuple[str | None, int | None, dict[str, str]]:
    """(sweep name, job number, the job's overrides) inside a Hydra multirun job, else (None, None, {})."""
    try:
        from hydra.core.hydra_config import HydraConfig
        from hydra.types import RunMode

        hc = HydraConfig.get()
    except (ImportError, ValueError):
        return None, None, {}
    if hc.mode != RunMode.MULTIRUN:
        return None, None, {}
    return Path(hc.sweep.dir).name, int(hc.job.num), sweeps.hydra_job_overrides(hc)


def _never_fatal(method: Callable) -> Callable:
    """Run a logger method; a W&B error becomes a warning and turns the logger off for the rest of the run."""

    @functools.wraps(method)
    def wrapper(self: GanforgeWandbLogger, *args: Any, **kwargs: Any) -> Any:
        if self.broken:
            return None
        try:
            return method(self, *args, **kwargs)
        except Exception as exc:  # noqa: BLE001 - tracking must never stop training
            self.broken = True
            warnings.warn(
                f"W&B logging failed in {method.__name__} ({type(exc).__name__}: {exc}); "
                "training continues without W&B.",
                stacklevel=2,
            )
            return None

    return wrapper


class GanforgeWandbLogger(WandbLogger):
    """WandbLogger with ganforge's step axis, mode selection, checkpoint artifacts and failure handling."""

    def __init__(self, *, mode: str, log_checkpoints: bool = True, **kwargs: Any):
        # mode goes to wandb.init; WandbLogger(offline=True) would set WANDB_MODE for the whole process.
        super().__init__(offline=False, log_model=False, mode=mode, **kwargs)
        self.mode = mode
        self.log_checkpoints = log_checkpoints
        self.broken = False
        self.last_step: int | None = None

    @property
    @rank_zero_experiment
    def experiment(self) -> Any:
        if self._experiment is None and not self.broken:
            self._experiment = self._start()
        return self._experiment

    def _start(self) -> Any:
        import wandb

        if wandb.run is not None:
            # Lightning would reuse it, putting this job's metrics into an earlier job's run.
            warnings.warn(
                f"Finishing a W&B run left open ({wandb.run.id}) before starting this job's run.",
                stacklevel=2,
            )
            wandb.finish()
        try:
            run = wandb.init(**self._wandb_init)
        except Exception as exc:  # noqa: BLE001 - no network, bad key, server down
            if self._wandb_init.get("mode") != "online":
                return self._give_up(exc)
            warnings.warn(f"W&B could not start online ({exc}); logging offline instead.", stacklevel=2)
            self.mode = self._wandb_init["mode"] = "offline"
            try:
                run = wandb.init(**self._wandb_init)
            except Exception as offline_exc:  # noqa: BLE001 - e.g. an unwritable save_dir
                return self._give_up(offline_exc)
        run.define_metric(STEP_KEY)
        run.define_metric("*", step_metric=STEP_KEY, step_sync=True)
        return run

    def _give_up(self, exc: Exception) -> None:
        self.broken = True
        warnings.warn(f"W&B could not start ({exc}); training continues without W&B.", stacklevel=3)
        return None

    @rank_zero_only
    @_never_fatal
    def log_metrics(self, metrics: Mapping[str, Any], step: int | None = None) -> None:
        run = self.experiment
        if run is None:
            return
        if step is not None:
            self.last_step = step
            metrics = {**metrics, STEP_KEY: step}
        run.log(dict(metrics))

    log_hyperparams = rank_zero_only(_never_fatal(WandbLogger.log_hyperparams))
    log_image = rank_zero_only(_never_fatal(WandbLogger.log_image))
    log_table = rank_zero_only(_never_fatal(WandbLogger.log_table))
    log_audio = rank_zero_only(_never_fatal(WandbLogger.log_audio))

    @rank_zero_only
    @_never_fatal
    def finalize(self, status: str) -> None:
        if (
            status != "success"
            or self._experiment is None
            or self.mode != "online"
            or not self.log_checkpoints
        ):
            return
        ckpt = Path(self._save_dir or ".") / "checkpoints" / "last.ckpt"
        if ckpt.is_file():
            import wandb

            artifact = wandb.Artifact(
                f"model-{self._experiment.id}", type="model", metadata={STEP_KEY: self.last_step}
            )
            artifact.add_file(str(ckpt))
            aliases = ["latest"] + ([f"step_{self.last_step}"] if self.last_step is not None else [])
            self._experiment.log_artifact(artifact, aliases=aliases)

    @rank_zero_only
    def finish(self, failed: bool = False) -> None:
        """Close this job's W&B run (exactly one per job); for an offline run, say how to upload it."""
        run, self._experiment = self._experiment, None
        if run is None:
            return
        try:
            sync_dir = getattr(run, "sync_dir", None) or str(Path(run.dir).parent)
            run.finish(exit_code=1 if failed else 0)
        except Exception as exc:  # noqa: BLE001
            warnings.warn(f"W&B run did not finish cleanly ({exc}).", stacklevel=2)
            return
        if self.mode == "offline":
            print(f"ganforge: W&B run saved offline; upload it with: wandb sync {sync_dir}", flush=True)


def wandb_logger(
    save_dir: str,
    project: str = "ganforge",
    entity: str | None = None,
    name: str | None = None,
    group: str | None = None,
    tags: Iterable[str] = (),
    notes: str | None = None,
    offline: bool | None = None,
    log_checkpoints: bool = True,
    settings: Mapping[str, Any] | None = None,
) -> GanforgeWandbLogger:
    """The factory ``conf/logger/wandb.yaml`` instantiates. ``offline=None`` means: online iff logged in.

    In a Hydra multirun job the run joins a group named after the sweep directory, is named like the job's
    directory (``<job number>_<name>_<the job's overrides>``), gets each override as a tag and the overrides
    under ``sweep`` in its config, so the jobs of one sweep sit together and can be told apart in the W&B
    UI. A single run's group is its name (``run_name``), so repeated runs of one setting sit together.
    """
    try:
        import wandb
    except ImportError as exc:
        raise ConfigError(
            "logger=wandb needs the wandb package: pip install 'ganforge[tracking]' (or pip install wandb), "
            "or choose another logger (logger=csv, logger=tensorboard, logger=none)."
        ) from exc

    sweep, job_num, overrides = _hydra_job()
    tags = list(tags)
    config: dict[str, Any] = {}
    if sweep is not None:
        group = group or sweep
        name = sweeps.job_name(job_num, name or "", overrides)
        tags += [t for t in sweeps.wandb_tags(overrides) if t not in tags]
        config = {"sweep": {"group": group, "job": job_num, "overrides": overrides}}
    else:
        group = group or name
    mode = choose_mode(offline)
    if mode == "offline" and offline is None and not os.environ.get("WANDB_MODE"):
        log.info("W&B: no API key found (WANDB_API_KEY or `wandb login`); logging offline.")
    return GanforgeWandbLogger(
        mode=mode,
        log_checkpoints=log_checkpoints,
        save_dir=save_dir,
        project=project,
        entity=entity,
        name=name,
        group=group,
        tags=tags,
        notes=notes,
        config=config,
        settings=wandb.Settings(**dict(settings or {})),
    )


def finish_loggers(loggers: Iterable[Any], failed: bool = False) -> None:
    """Close every logger that holds an external run (W&B): one run per job, also after a failure."""
    for logger in loggers:
        finish = getattr(logger, "finish", None)
        if callable(finish):
            finish(failed=failed)

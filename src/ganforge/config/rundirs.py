"""Run and sweep directories that cannot collide, chosen before Hydra writes anything into them.

``hydra.run.dir`` and ``hydra.sweep.dir`` (conf/config.yaml) call the resolvers below. A new run gets
``<output_dir>/runs/<date>_<time>_<run_name>_<6 hex digits>``, created with an exclusive ``os.mkdir``: a
second process that drew the same name gets FileExistsError and draws again, so two runs started in the same
second never share a directory. A sweep gets ``<output_dir>/multirun/<date>_<time>_<6 hex>`` the same way
(its jobs are ``<job number>_<run_name>_<the job's overrides>`` inside it, see sweeps.py). A resume
(``ckpt_path=<run>/checkpoints/x.ckpt``) continues in ``<run>``, but only after the checkpoint was read and
matched against the requested config: Hydra writes ``.hydra/`` and ``train.log`` into whatever directory
this returns, so a refused resume must be refused here, before any directory is chosen.

Hydra resolves ``hydra.run.dir`` more than once per job (``run_job``, then Lightning's DDP launcher when it
builds the command line of ranks >= 1, which then get ``hydra.run.dir=<rank 0's dir>`` and never call the
resolver). Every resolution of one config must give one directory, so the choice is cached in the config's
resolver cache (OmegaConf's own per-config cache, which Hydra copies into each sweep job's config). A new
composition (a new run) starts with an empty cache and so gets a new directory.
"""

from __future__ import annotations

import os
import re
import secrets
from datetime import datetime
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from ganforge.config import sweeps
from ganforge.errors import ConfigError, GanforgeError

RUN_DIR_RESOLVER = "ganforge_run_dir"
SWEEP_DIR_RESOLVER = "ganforge_sweep_dir"
SUFFIX_HEX = 6  # 16.7 million names per second and run name; a clash only means drawing again
_SAFE_ID = re.compile(r"[^A-Za-z0-9_.-]+")


class RefusedBeforeRun(BaseException):
    """Carries a GanforgeError out of a Hydra resolver to ``ganforge-train``'s entry point.

    A BaseException on purpose: OmegaConf wraps every ``Exception`` raised in a resolver, and Hydra's
    ``run_and_report`` prints any ``Exception`` with a stack trace and exit status 1. The CLI catches this
    one, prints ``error`` as every other ganforge error (no traceback) and exits with status 2.
    """

    def __init__(self, error: GanforgeError):
        super().__init__(str(error))
        self.error = error


def timestamp() -> str:
    return datetime.now().strftime("%Y-%m-%d_%H-%M-%S")


def create_unique_dir(parent: str | Path, stem: str) -> str:
    """Create ``parent/<stem>_<random hex>`` exclusively and return its path (relative if ``parent`` is)."""
    try:
        Path(parent).mkdir(parents=True, exist_ok=True)
        for _ in range(100):
            candidate = os.path.join(str(parent), f"{stem}_{secrets.token_hex(SUFFIX_HEX // 2)}")
            try:
                os.mkdir(candidate)  # no exist_ok: whoever creates it owns it
            except FileExistsError:
                continue
            return candidate
    except OSError as exc:
        raise RefusedBeforeRun(
            ConfigError(
                f"Cannot create a run directory under {parent} ({exc.strerror or exc}). Point "
                "paths.output_dir (or paths.root_dir) at a writable directory."
            )
        ) from None
    raise RuntimeError(f"100 random names under {parent} were all taken")  # not reachable in practice


def external_job_id() -> str | None:
    """An id shared by all processes of a job that a cluster tool launched (srun, torchrun), else None.

    Those processes each compose the config themselves (Lightning does not re-launch them with rank 0's
    ``hydra.run.dir``), so they must agree on a new run directory without talking to each other.
    """
    env = os.environ
    if env.get("SLURM_JOB_ID") and env.get("SLURM_PROCID") and int(env.get("SLURM_NTASKS", "1")) > 1:
        step = env.get("SLURM_STEP_ID")
        return _SAFE_ID.sub("-", f"slurm{env['SLURM_JOB_ID']}" + (f".{step}" if step else ""))
    if "TORCHELASTIC_RUN_ID" in env and int(env.get("WORLD_SIZE", "1")) > 1:
        run_id = env["TORCHELASTIC_RUN_ID"]
        if run_id in ("", "none"):
            raise RefusedBeforeRun(
                ConfigError(
                    "torchrun without --rdzv-id: its processes cannot agree on a new run directory. Pass "
                    "--rdzv-id=<unique id> (or --standalone on one node), or hydra.run.dir=<dir> (the same "
                    "on every node)."
                )
            )
        return "torchrun-" + _SAFE_ID.sub("-", run_id)
    return None


def new_run_dir(runs_root: str, run_name: str) -> str:
    job = external_job_id()
    if job is not None:
        # Every process of the job computes this same name; the clock may differ between nodes.
        path = os.path.join(runs_root, f"{run_name}_{job}")
        try:
            Path(path).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RefusedBeforeRun(
                ConfigError(f"Cannot create the run directory {path} ({exc.strerror or exc}).")
            ) from None
        return path
    return create_unique_dir(runs_root, f"{timestamp()}_{run_name}")


def checked_resume_dir(ckpt_path: str, root: DictConfig) -> Path | None:
    """The run directory a checkpoint belongs to, after checking it can resume the requested config.

    None when the checkpoint does not sit in a run's ``checkpoints/`` folder (e.g. a copied file): the
    resumed run then gets a new directory rather than writing two levels above an arbitrary file.
    """
    from ganforge.checkpoints import RESUME_MUST_MATCH, check_resume_matches, load_checkpoint

    try:
        ckpt = load_checkpoint(ckpt_path, "ckpt_path")
        requested = {
            section: OmegaConf.to_container(root[section], resolve=True, enum_to_str=True)
            for section in RESUME_MUST_MATCH
            if section in root
        }
        check_resume_matches(ckpt, requested, ckpt_path)
    except GanforgeError as exc:
        raise RefusedBeforeRun(exc) from None
    path = Path(ckpt_path).expanduser().resolve()
    return path.parent.parent if path.parent.name == "checkpoints" else None


def _cached(root: DictConfig, key: str, choose: Any) -> str:
    # OmegaConf's use_cache cannot be combined with _root_; this is the same cache, filled by hand.
    cache = OmegaConf.get_cache(root)[RUN_DIR_RESOLVER]
    if key not in cache:
        cache[key] = choose()
    return cache[key]


def resolve_run_dir(ckpt_path: str | None, runs_root: str, run_name: str, *, _root_: DictConfig) -> str:
    """``hydra.run.dir``: the checkpoint's run directory on resume, else a new, exclusively created one."""

    def choose() -> str:
        if ckpt_path:
            resumed = checked_resume_dir(str(ckpt_path), _root_)
            if resumed is not None:
                return str(resumed)
        return new_run_dir(str(runs_root), str(run_name))

    return _cached(_root_, f"{ckpt_path}|{runs_root}|{run_name}", choose)


def resolve_sweep_dir(sweeps_root: str) -> str:
    """``hydra.sweep.dir``: a new, exclusively created directory per sweep (cached: one per sweep)."""
    return create_unique_dir(sweeps_root, timestamp())


def register() -> None:
    if not OmegaConf.has_resolver(RUN_DIR_RESOLVER):
        OmegaConf.register_new_resolver(RUN_DIR_RESOLVER, resolve_run_dir)
    if not OmegaConf.has_resolver(SWEEP_DIR_RESOLVER):
        OmegaConf.register_new_resolver(SWEEP_DIR_RESOLVER, resolve_sweep_dir, use_cache=True)
    if not OmegaConf.has_resolver(sweeps.JOB_NAME_RESOLVER):
        OmegaConf.register_new_resolver(sweeps.JOB_NAME_RESOLVER, sweeps.resolve_job_name)

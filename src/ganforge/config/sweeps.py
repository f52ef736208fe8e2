"""Names that tell the jobs of a sweep apart: the job's overrides in its directory and W&B run names.

``-m model.g_optimizer.lr=1e-4,3e-4`` gives every job the same ``run_name``; what differs is the job's
command-line overrides (``hydra.overrides.task``). As Hydra's ``hydra.job.override_dirname`` does, a job is
labelled with those overrides less ``hydra.job.config.override_dirname.exclude_keys`` (conf/config.yaml:
paths, the progress bar, and the config groups already in ``run_name``). Hydra's own ``override_dirname``
is not used as is because it is neither filesystem-safe (a value may hold ``/``) nor bounded in length.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable

from omegaconf import DictConfig

JOB_NAME_RESOLVER = "ganforge_job_name"
MAX_NAME = 160  # well below the 255-byte file-name limit, leaving room for prefixes and suffixes
WANDB_TAG_MAX = 64  # W&B rejects longer tags
_UNSAFE = re.compile(r"[^A-Za-z0-9_.=,+-]+")  # ASCII only, so characters == bytes on every filesystem


def job_overrides(task_overrides: Iterable[str], exclude_keys: Iterable[str]) -> dict[str, str]:
    """``{key: value}`` of a job's overrides, parsed by Hydra, less the excluded keys.

    In command-line order (Hydra's override_dirname sorts them): a name too long is cut at the end, so the
    overrides given first stay readable.
    """
    from hydra.core.override_parser.overrides_parser import OverridesParser

    excluded = set(exclude_keys)
    parsed = OverridesParser.create().parse_overrides([str(o) for o in task_overrides])
    kept = {o.key_or_group: o.get_value_element_as_str() for o in parsed if o.key_or_group not in excluded}
    return kept


def bounded(text: str, limit: int) -> str:
    """``text`` made filesystem-safe and cut to ``limit`` characters, a cut one ending in a short hash."""
    safe = _UNSAFE.sub("-", text)
    if len(safe) <= limit:
        return safe
    digest = hashlib.sha1(text.encode()).hexdigest()[:8]
    return f"{safe[: limit - 9]}~{digest}"


def label(overrides: dict[str, str]) -> str:
    return ",".join(f"{k}={v}" for k, v in overrides.items())


def job_name(num: int | str, run_name: str, overrides: dict[str, str]) -> str:
    """``<job number>_<run_name>[_<overrides>]``, filesystem-safe and at most MAX_NAME characters."""
    text = f"{num}_{run_name}" + (f"_{label(overrides)}" if overrides else "")
    return bounded(text, MAX_NAME)


def wandb_tags(overrides: dict[str, str]) -> list[str]:
    return [bounded(f"{k}={v}", WANDB_TAG_MAX) for k, v in overrides.items()]


def hydra_job_overrides(hydra_cfg: DictConfig) -> dict[str, str]:
    """The labelling overrides of the running job, from its Hydra config (``HydraConfig.get()``)."""
    return job_overrides(hydra_cfg.overrides.task, hydra_cfg.job.config.override_dirname.exclude_keys)


def resolve_job_name(num: int, run_name: str, *, _root_: DictConfig) -> str:
    """``hydra.sweep.subdir``: the job's directory inside the sweep directory."""
    return job_name(num, str(run_name), hydra_job_overrides(_root_.hydra))

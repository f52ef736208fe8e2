"""Load an already composed config (DVC's ``params.yaml``) instead of composing ``conf/`` again.

DVC composes ``conf/`` with ``dvc exp run -S`` overrides into ``params.yaml``; a stage that recomposed
``conf/`` itself would silently drop those overrides (dvc #10186), so the pipeline's tools read this file.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from ganforge.config.loading import compose_config
from ganforge.errors import ConfigError


def load_params(path: str | Path, overrides: Sequence[str] = ()) -> DictConfig:
    """The config in ``path`` with ``key=value`` overrides of existing keys applied."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(
            f"--params {path} does not exist. Run inside the repository (dvc repro creates nothing: "
            "params.yaml is committed; `dvc exp run` regenerates it from conf/pipeline.yaml)."
        )
    cfg = OmegaConf.load(path)
    if not isinstance(cfg, DictConfig):
        raise ConfigError(f"{path} is not a mapping of config groups; regenerate it with `dvc exp run`.")
    OmegaConf.set_struct(cfg, True)
    for override in overrides:
        key, sep, value = override.partition("=")
        if not sep:
            raise ConfigError(f"Override {override!r} is not key=value.")
        try:
            OmegaConf.update(cfg, key, OmegaConf.create(f"v: {value}").v, merge=False)
        except Exception as exc:  # noqa: BLE001 - unknown key, wrong type
            raise ConfigError(f"Override {override!r} does not apply to {path}: {exc}") from exc
    return cfg


def load_config(params: str | Path | None, overrides: Sequence[str] = ()) -> DictConfig:
    """``params.yaml`` when given (the DVC pipeline), else ``conf/`` composed with Hydra overrides."""
    return load_params(params, overrides) if params else compose_config(overrides)


def config_from_argv(argv: Sequence[str]) -> DictConfig:
    """What the pipeline's tools take: ``--params FILE [key=value ...]`` (a composed config, the DVC
    stages) or Hydra overrides of conf/, with composition errors as one ganforge paragraph."""
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    from ganforge.config.hydra_errors import composition_message

    try:
        if list(argv[:1]) == ["--params"] and len(argv) > 1:
            return load_params(argv[1], argv[2:])
        return compose_config(list(argv))
    except (HydraException, OmegaConfBaseException) as exc:
        raise ConfigError(composition_message(exc)) from exc


def split_when_used(argv: Sequence[str]) -> tuple[bool, list[str]]:
    """(whether ``--when-used`` was given, the other arguments): the flag of DVC stages that every
    pipeline runs but only some configs need (train_text_encoder, synth_digits)."""
    return "--when-used" in argv, [a for a in argv if a != "--when-used"]


def write_not_used(note: Path, reason: dict) -> Path:
    """The output such a stage writes when the pipeline's config does not use it: ``note`` (JSON, written
    atomically), so DVC still finds the stage's declared output."""
    import json

    from ganforge.io import atomic_write_text

    note.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(note, json.dumps(reason, indent=2) + "\n")
    return note

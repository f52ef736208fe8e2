"""Hydra's composition errors as one ganforge paragraph: the bad override, what is allowed, the fix.

Hydra's own messages list the schema's internal ConfigStore entries (``schema_model``, ...) among a
group's options, suggest ``+key=value`` for a misspelt key (which would then add a key nothing reads),
and end with the config search path. The CLIs print :func:`composition_message` instead.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from hydra.errors import HydraException, MissingConfigException, OverrideParseException
from omegaconf import DictConfig
from omegaconf.errors import ConfigAttributeError, ConfigKeyError, OmegaConfBaseException

from ganforge.config.loading import CONF_DIR
from ganforge.errors import ConfigError

# ConfigStore entries of the schema (ganforge.config.schema.register_configs): not user-facing options.
SCHEMA_PREFIX = "schema_"
GRAMMAR_URL = "https://hydra.cc/docs/advanced/override_grammar/basic/"


def group_options(group: str, listed: Sequence[str] | None = None) -> list[str]:
    """A config group's user-facing options: Hydra's list (else ``conf/<group>/*.yaml``), no schema_*."""
    names = listed if listed else [p.stem for p in (CONF_DIR / group).glob("*.yaml")]
    return sorted({n for n in names if not n.startswith(SCHEMA_PREFIX)})


def _first_line(text: str) -> str:
    return next((line.strip() for line in str(text).splitlines() if line.strip()), "").rstrip(".")


def _did_you_mean(name: str, choices: Sequence[str], prefix: str = "") -> str:
    close = difflib.get_close_matches(name, list(choices), n=1)
    return f" Did you mean {prefix}{close[0]}?" if close else ""


def _missing_option(exc: MissingConfigException) -> str | None:
    if not exc.missing_cfg_file or "/" not in exc.missing_cfg_file:
        return None  # e.g. the primary config itself: Hydra's first line says it
    group, name = exc.missing_cfg_file.rsplit("/", 1)
    options = group_options(group, exc.options)
    if not options:
        return None
    return (
        f"{group}={name}: config group '{group}' has no option '{name}'."
        f"{_did_you_mean(name, options, f'{group}=')} Available options: {', '.join(options)}."
    )


def _unknown_key(cause: ConfigAttributeError | ConfigKeyError, multirun: bool = False) -> str:
    full_key = str(cause.full_key)
    parent, _, key = full_key.rpartition(".")
    node = cause.parent_node
    keys = [str(k) for k in node.keys() if k != "hydra"] if isinstance(node, DictConfig) else []
    where = f"'{parent}'" if parent else "the config"
    listing = f" Its keys: {', '.join(keys)}." if keys else ""
    # Hydra's multirun composes the overrides that do not sweep against the groups' default options first
    # (Hydra #2888, expected behaviour there), so a key only the swept options have fails there although
    # every job would accept it.
    sweep = (
        f" In a sweep over config groups (-m model=a,b), Hydra checks the other overrides against the "
        f"groups' default options first: write ++{full_key}=... for a key that only the swept options have."
        if multirun and parent
        else ""
    )
    return (
        f"{full_key} is not a key of {where}.{_did_you_mean(key, keys, f'{parent}.' if parent else '')}"
        f"{listing} `ganforge-train --cfg job` prints the whole config.{sweep}"
    )


def composition_message(exc: BaseException, multirun: bool = False) -> str:
    """One paragraph for a Hydra / OmegaConf composition error (unknown option or key, bad value, syntax);
    ``multirun``: the command is a sweep (-m), whose unknown keys get a hint of their own."""
    if isinstance(exc, MissingConfigException) and (message := _missing_option(exc)):
        return message
    if isinstance(exc, OverrideParseException):
        return (
            f"Cannot parse the override {exc.override!r} ({_first_line(exc.message)}). Overrides are "
            f"key=value, group=option or group=[a,b]; quote values with spaces or brackets ({GRAMMAR_URL})."
        )
    cause = exc if isinstance(exc, OmegaConfBaseException) else exc.__cause__
    if isinstance(cause, ConfigAttributeError | ConfigKeyError) and cause.full_key:
        return _unknown_key(cause, multirun)
    if isinstance(cause, OmegaConfBaseException) and cause.full_key:
        return f"{cause.full_key}: {_first_line(cause.msg or str(cause))}."
    # Anything else (a missing primary config, --config-dir not found): Hydra's text, minus the search path.
    text = str(exc).split("Config search path:")[0]
    return " ".join(line.strip() for line in text.splitlines() if line.strip())


@contextmanager
def composition_errors() -> Iterator[None]:
    """Turn Hydra / OmegaConf errors raised while composing a config into a ConfigError."""
    try:
        yield
    except (HydraException, OmegaConfBaseException) as exc:
        raise ConfigError(composition_message(exc)) from exc

"""Which ``_target_``s a checkpoint's stored config may name: only those ganforge's own configs produce.

A checkpoint stores its run's resolved config, and ganforge-sample / ganforge-eval rebuild the model from it
with ``hydra.utils.instantiate``. ``torch.load(weights_only=True)`` stops pickle code in the file, but every
``_target_`` in the stored config is a call Hydra makes: a crafted file naming ``os.system`` (or
``torch.load`` over pickle bytes) would run it. So a stored config is checked, node by node, before anything
is built from it.

The allow-list is derived, not written down: every ``ganforge.*`` ``_target_`` found in ``conf/**/*.yaml``
and in the schema registered in Hydra's ConfigStore, so a family, network, loss or data module added under
``conf/`` is accepted with no edit here. Outside the ``ganforge`` package only two kinds of callables are
accepted, both constructors that do nothing but build an object: lr schedulers (a class of
``torch.optim.lr_scheduler`` that subclasses ``LRScheduler``, checked on the object, not on the name) and
``LIBRARY_TARGETS``.

Configs of one's own outside ganforge (a family in another package, reached with ``hydra.searchpath``) are
trusted only when the user says so: ``GANFORGE_TRUSTED_CONF=<dir>[:<dir>...]`` adds every ``_target_``
named in those directories' YAML files.
"""

from __future__ import annotations

import functools
import inspect
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch
import yaml

from ganforge.config.loading import CONF_DIR, register_resolvers

GANFORGE_PREFIX = "ganforge."
SCHEDULER_MODULE = "torch.optim.lr_scheduler"
# Library classes ganforge's own conf/ names (conf/logger/tensorboard.yaml). A test fails when conf/ gains
# another non-ganforge target, so each addition here is a reviewed decision.
LIBRARY_TARGETS = frozenset({"lightning.pytorch.loggers.TensorBoardLogger"})
TRUSTED_CONF_ENV = "GANFORGE_TRUSTED_CONF"
# Config values a resolved ganforge config holds (OmegaConf containers of these, nothing else).
PLAIN_VALUES = (str, int, float, bool, type(None))
ALLOWED_DESCRIPTION = (
    "ganforge's own classes and functions named in conf/ or the config schema, torch.optim.lr_scheduler "
    f"classes, and {', '.join(sorted(LIBRARY_TARGETS))}"
)


def _targets_in(tree: Any) -> Iterator[str]:
    if isinstance(tree, dict):
        target = tree.get("_target_")
        if isinstance(target, str):
            yield target
        for value in tree.values():
            yield from _targets_in(value)
    elif isinstance(tree, list):
        for value in tree:
            yield from _targets_in(value)


def conf_targets(conf_dir: Path = CONF_DIR) -> set[str]:
    """Every ``_target_`` string in the YAML files under ``conf_dir`` (Hydra's own nodes included)."""
    found: set[str] = set()
    for path in sorted(Path(conf_dir).rglob("*.yaml")):
        found.update(_targets_in(yaml.safe_load(path.read_text())))
    return found


def schema_targets() -> set[str]:
    """Every ``_target_`` default of the schema nodes registered in Hydra's ConfigStore."""
    from hydra.core.config_store import ConfigStore
    from omegaconf import OmegaConf

    register_resolvers()  # registers the schema (idempotent)

    def nodes(repo: dict) -> Iterator[Any]:
        for value in repo.values():
            yield from nodes(value) if isinstance(value, dict) else [value.node]

    found: set[str] = set()
    for node in nodes(ConfigStore.instance().repo):
        found.update(_targets_in(OmegaConf.to_container(node, resolve=False, throw_on_missing=False)))
    return found


@functools.cache
def allowed_targets(conf_dir: Path = CONF_DIR) -> frozenset[str]:
    """The ``ganforge.*`` targets ganforge's configs produce, plus ``LIBRARY_TARGETS``."""
    found = conf_targets(conf_dir) | schema_targets()
    return frozenset(t for t in found if t.startswith(GANFORGE_PREFIX)) | LIBRARY_TARGETS


def is_scheduler_class(target: str) -> bool:
    """``torch.optim.lr_scheduler.<Name>`` where the attribute is an ``LRScheduler`` subclass.

    Checked on the object: the module also holds ``functools.partial``, ``Optimizer``, ``Tensor`` and the
    modules ``math``/``types``/``warnings``, which a string prefix would let through.
    """
    module, _, name = target.rpartition(".")
    if module != SCHEDULER_MODULE or not name.isidentifier():
        return False
    obj = getattr(torch.optim.lr_scheduler, name, None)
    return inspect.isclass(obj) and issubclass(obj, torch.optim.lr_scheduler.LRScheduler)


@functools.cache
def _trusted_targets(dirs: tuple[str, ...]) -> frozenset[str]:
    return frozenset(t for d in dirs if Path(d).is_dir() for t in conf_targets(Path(d)))


def trusted_targets() -> frozenset[str]:
    """Targets of the user's own config directories named in ``GANFORGE_TRUSTED_CONF``."""
    dirs = tuple(d for d in os.environ.get(TRUSTED_CONF_ENV, "").split(os.pathsep) if d)
    return _trusted_targets(dirs)


def is_allowed_target(target: Any, conf_dir: Path = CONF_DIR) -> bool:
    return isinstance(target, str) and (
        target in allowed_targets(conf_dir) or is_scheduler_class(target) or target in trusted_targets()
    )


def _join(path: str, key: Any) -> str:
    return f"{path}[{key}]" if isinstance(key, int) else f"{path}.{key}" if path else str(key)


def unsafe_node(tree: Any, path: str = "", conf_dir: Path = CONF_DIR) -> str | None:
    """Describe the first node of a stored config that ganforge never writes, or None if all are safe."""
    if isinstance(tree, dict):
        if "_target_" in tree and not is_allowed_target(tree["_target_"], conf_dir):
            return (
                f"{_join(path, '_target_')}: {tree['_target_']!r}, a target no ganforge config produces "
                f"(allowed: {ALLOWED_DESCRIPTION})"
            )
        if "_args_" in tree:
            return f"{_join(path, '_args_')}, positional arguments, which ganforge's configs never use"
        for key, value in tree.items():
            if not isinstance(key, (str, int)) or isinstance(key, bool):
                return f"a {type(key).__name__} key under {path or 'the top level'}"
            found = unsafe_node(value, _join(path, key), conf_dir)
            if found:
                return found
        return None
    if isinstance(tree, list):
        for i, value in enumerate(tree):
            found = unsafe_node(value, _join(path, i), conf_dir)
            if found:
                return found
        return None
    if not isinstance(tree, PLAIN_VALUES):
        return f"{path}: a {type(tree).__name__}, which is not a config value"
    # Stored configs are resolved containers: an interpolation here would be resolved (by any resolver
    # registered in this process) only when the config is read back.
    if isinstance(tree, str) and "${" in tree:
        return f"{path}: {tree!r}, an interpolation (ganforge stores configs fully resolved)"
    if tree == "???":
        return f"{path}: '???', a missing value (a run with one cannot have trained)"
    return None

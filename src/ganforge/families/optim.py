"""Optimizers and schedulers from a network's ``OptimizerConfig``.

``name`` is any ``torch.optim`` optimizer class (``Adamax``, ``NAdam``, ``SGD``...), matched without regard
to case so that the lowercase names of older configs and checkpoints (``adam``, ``adamw``, ``rmsprop``,
``sgd``) keep working. It is a name looked up in ``torch.optim`` and checked to be an ``Optimizer``
subclass, never a ``_target_``: a stored config cannot make it name any other callable.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Mapping
from enum import Enum
from typing import Any

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from ganforge.errors import ConfigError

# The schema's own optimizer fields; each is passed to the class only when its constructor takes it
# (betas to Adam-like classes, momentum to SGD/RMSprop, alpha to RMSprop...).
SCHEMA_ARGUMENTS = ("lr", "betas", "momentum", "alpha", "eps", "weight_decay")
# torch.optim classes that cannot run in ganforge's manual-optimisation step (opt.step() without a closure,
# dense gradients): refused with the reason instead of failing mid-run.
_UNSUPPORTED = {
    "LBFGS": "needs a closure that re-evaluates the loss at every step",
    "SparseAdam": "supports sparse gradients only",
}


def optimizer_name(cfg: Mapping[str, Any]) -> str:
    name = cfg["name"]
    return name.value if isinstance(name, Enum) else str(name)


def optimizer_classes() -> dict[str, type[torch.optim.Optimizer]]:
    """The usable ``torch.optim`` optimizer classes by name (the ``Optimizer`` base class excluded)."""
    found = {}
    for name in dir(torch.optim):
        obj = getattr(torch.optim, name)
        is_optimizer = inspect.isclass(obj) and issubclass(obj, torch.optim.Optimizer)
        if is_optimizer and obj is not torch.optim.Optimizer and name not in _UNSUPPORTED:
            found[name] = obj
    return found


def optimizer_class(name: str, key: str = "optimizer") -> type[torch.optim.Optimizer]:
    """The ``torch.optim`` class ``name`` names (case-insensitive; ``torch.optim.`` prefix optional)."""
    classes = optimizer_classes()
    bare = name.removeprefix("torch.optim.")
    if bare in classes:
        return classes[bare]
    by_lower = {n.lower(): cls for n, cls in classes.items()}
    if bare.lower() in by_lower:
        return by_lower[bare.lower()]
    reason = f" ({_UNSUPPORTED[bare]})" if bare in _UNSUPPORTED else ""
    raise ConfigError(
        f"{key}.name={name!r} is not an optimizer ganforge can use{reason}; allowed values: any torch.optim "
        f"optimizer class: {', '.join(sorted(classes))} (case-insensitive, so the older lowercase names "
        "adam, adamw, rmsprop and sgd work too)."
    )


def optimizer_kwargs(cfg: Mapping[str, Any], cls: type[torch.optim.Optimizer]) -> dict[str, Any]:
    """The schema fields ``cls`` takes, then ``cfg.kwargs`` (which wins) as plain values."""
    accepted = inspect.signature(cls).parameters
    kwargs = {k: cfg[k] for k in SCHEMA_ARGUMENTS if k in accepted and k in cfg}
    if "betas" in kwargs:
        kwargs["betas"] = tuple(kwargs["betas"])
    extra = cfg.get("kwargs") or {}
    if isinstance(extra, DictConfig):
        extra = OmegaConf.to_container(extra, resolve=True)
    kwargs.update(extra)
    return kwargs


def check_optimizer_choice(key: str, cfg: Mapping[str, Any]) -> None:
    """Fail before training on an unknown class, or a keyword in ``cfg.kwargs`` the class does not take."""
    cls = optimizer_class(optimizer_name(cfg), key)
    accepted = inspect.signature(cls).parameters
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in accepted.values()):
        return
    unknown = sorted(k for k in (cfg.get("kwargs") or {}) if k not in accepted or k == "params")
    if unknown:
        known = ", ".join(k for k in accepted if k != "params")
        raise ConfigError(
            f"{key}.kwargs: torch.optim.{cls.__name__} takes no argument {', '.join(unknown)}; "
            f"it takes: {known}."
        )


def build_optimizer(
    params: Iterable[torch.nn.Parameter], cfg: Mapping[str, Any], key: str = "optimizer"
) -> torch.optim.Optimizer:
    cls = optimizer_class(optimizer_name(cfg), key)
    kwargs = optimizer_kwargs(cfg, cls)
    try:
        return cls(params, **kwargs)
    except (TypeError, ValueError) as exc:  # a misspelt keyword, a value the class refuses
        raise ConfigError(
            f"{key}: torch.optim.{cls.__name__}({', '.join(f'{k}={v!r}' for k, v in kwargs.items())}) "
            f"failed ({exc}). Fix {key}.kwargs (the class's keyword arguments) or the fields it takes."
        ) from exc


def build_scheduler(optimizer: torch.optim.Optimizer, cfg: Mapping[str, Any]) -> Any:
    """The configured lr scheduler for ``optimizer``, or None. Accepts a partial or a _target_ mapping."""
    spec = cfg.get("scheduler")
    if spec is None:
        return None
    factory = instantiate(spec) if isinstance(spec, Mapping) else spec
    return factory(optimizer)

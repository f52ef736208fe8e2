"""Optimizers and schedulers from a network's ``OptimizerConfig``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import Enum
from typing import Any

import torch
from hydra.utils import instantiate

from ganforge.errors import ConfigError

_OPTIMIZERS = {
    "adam": lambda p, c: torch.optim.Adam(p, lr=c["lr"], betas=tuple(c["betas"]), eps=c["eps"],
                                          weight_decay=c["weight_decay"]),
    "adamw": lambda p, c: torch.optim.AdamW(p, lr=c["lr"], betas=tuple(c["betas"]), eps=c["eps"],
                                            weight_decay=c["weight_decay"]),
    "rmsprop": lambda p, c: torch.optim.RMSprop(p, lr=c["lr"], alpha=c["alpha"], eps=c["eps"],
                                                momentum=c["momentum"], weight_decay=c["weight_decay"]),
    "sgd": lambda p, c: torch.optim.SGD(p, lr=c["lr"], momentum=c["momentum"],
                                        weight_decay=c["weight_decay"]),
}  # fmt: skip


def optimizer_name(cfg: Mapping[str, Any]) -> str:
    name = cfg["name"]
    return name.value if isinstance(name, Enum) else str(name)


def build_optimizer(params: Iterable[torch.nn.Parameter], cfg: Mapping[str, Any]) -> torch.optim.Optimizer:
    name = optimizer_name(cfg)
    if name not in _OPTIMIZERS:
        raise ConfigError(f"optimizer name={name!r} is unknown; allowed values: {sorted(_OPTIMIZERS)}.")
    return _OPTIMIZERS[name](params, cfg)


def build_scheduler(optimizer: torch.optim.Optimizer, cfg: Mapping[str, Any]) -> Any:
    """The configured lr scheduler for ``optimizer``, or None. Accepts a partial or a _target_ mapping."""
    spec = cfg.get("scheduler")
    if spec is None:
        return None
    factory = instantiate(spec) if isinstance(spec, Mapping) else spec
    return factory(optimizer)

"""The two sides of an adversarial family, each one optimizer over one or more named networks.

A family passes each side as one network (named ``generator`` / ``discriminator``, as every family before
the multi-network engine did) or as a mapping of names to networks (``{"g_ab": G, "g_ba": F}``, a dict or
an ``nn.ModuleDict``). Every network is registered on the module under its own name, so state_dict keys
are ``<name>.<parameter>`` and ``<name>_ema.module.<parameter>`` for its EMA copy: single-network families
keep the keys they always had (``generator.*``, ``discriminator.*``, ``generator_ema.*``).

Whatever the engine does to a side covers all of its networks: one optimizer (``model.g_optimizer`` /
``model.d_optimizer``) over all their parameters, so DDP gradient averaging (per optimizer step) and
gradient clipping (per optimizer) include every one; the EMA copies (generator side) and the checkpoint
hold each network.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from ganforge.errors import ConfigError

GENERATOR, DISCRIMINATOR = "generator", "discriminator"
#: short keys: logged as lr/<key>, configured as model.<key>_optimizer
SIDE_KEYS = {GENERATOR: "g", DISCRIMINATOR: "d"}

NetworksSpec = nn.Module | Mapping[str, nn.Module] | None


def named_networks(spec: NetworksSpec, side: str) -> dict[str, nn.Module]:
    """One network -> {side: network}; a mapping (or ModuleDict) -> its items; None -> no network."""
    if spec is None:
        return {}
    if isinstance(spec, nn.Module) and not isinstance(spec, nn.ModuleDict):
        return {side: spec}
    if not isinstance(spec, (Mapping, nn.ModuleDict)):
        raise ConfigError(
            f"The {side} side must be a network or a mapping of names to networks; got {type(spec).__name__}."
        )
    networks = dict(spec.items())
    for name, net in networks.items():
        if not isinstance(net, nn.Module) or not str(name).isidentifier():
            raise ConfigError(
                f"model.{side}.{name}: each entry of the {side} side must be a network (nn.Module) under a "
                f"name that is a Python identifier; got {type(net).__name__}."
            )
    return networks


@dataclass
class Side:
    name: str
    networks: dict[str, nn.Module]
    optimizer_cfg: dict[str, Any]
    #: EMA copies by network name (generator side, with model.ema_decay)
    emas: dict[str, AveragedModel] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return SIDE_KEYS[self.name]

    def parameters(self) -> list[nn.Parameter]:
        """All parameters of the side's networks, each once (networks may share modules)."""
        seen: set[int] = set()
        params = []
        for net in self.networks.values():
            for p in net.parameters():
                if id(p) not in seen:
                    seen.add(id(p))
                    params.append(p)
        return params

    def update_emas(self) -> None:
        for name, ema in self.emas.items():
            ema.update_parameters(self.networks[name])


def make_ema(network: nn.Module, decay: float) -> AveragedModel:
    ema = AveragedModel(network, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)
    ema.requires_grad_(False)  # updated by averaging, never by gradients (or DDP)
    return ema


def has_spectral_norm(module: nn.Module) -> bool:
    return any(
        type(p).__name__ == "_SpectralNorm"
        for m in module.modules()
        for plist in getattr(m, "parametrizations", {}).values()
        for p in plist
    )

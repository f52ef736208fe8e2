"""Training stabilisers any family switches on from ``model.stabilizers`` (schema: StabilizersConfig).

Each stabiliser is a small piece that touches the family through at most three seams: it changes the
discriminator once at build time (``install``), transforms every batch D sees (``augment``), or adds a
penalty to D's objective (``regularizer``). Feature matching replaces G's adversarial loss and is read
by the engine from :attr:`Stabilizers.feature_matching`. Generator EMA (``model.ema_decay``) and label
smoothing (``loss.real_label_smoothing``) live where they act: the engine and the loss.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import fields
from typing import Any

import torch
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm as apply_spectral_norm

from ganforge.config.schema import StabilizersConfig as StabilizerOptions
from ganforge.errors import ConfigError
from ganforge.losses.penalties import R1Penalty, Regularizer
from ganforge.stabilizers.diffaugment import DiffAugment
from ganforge.stabilizers.minibatch import MinibatchDiscrimination, MinibatchStdDev


def stabilizer_options(cfg: Mapping[str, Any] | None) -> StabilizerOptions:
    """``model.stabilizers`` as the schema's dataclass, from a config node or plain keyword arguments."""
    cfg = dict(cfg or {})
    allowed = [f.name for f in fields(StabilizerOptions)]
    unknown = sorted(set(cfg) - set(allowed))
    if unknown:
        raise ConfigError(f"model.stabilizers has unknown key(s) {unknown}; allowed: {allowed}.")
    cfg["diffaugment"] = list(cfg.get("diffaugment") or ())
    options = StabilizerOptions(**cfg)
    for key in ("minibatch_discrimination", "r1_gamma"):
        value = getattr(options, key)
        if not 0 <= value < math.inf:  # also refuses NaN, which compares False with everything
            raise ConfigError(f"model.stabilizers.{key}={value} must be >= 0 and finite (0 disables it).")
    for key in ("minibatch_discrimination_dim", "minibatch_std_group"):
        if getattr(options, key) < 1:
            raise ConfigError(f"model.stabilizers.{key}={getattr(options, key)} must be >= 1.")
    return options


def check_stabilizers(cfg: Mapping[str, Any] | None, data_shape: list[int]) -> StabilizerOptions:
    """Validate ``model.stabilizers`` against the data before anything is built."""
    options = stabilizer_options(cfg)
    if options.diffaugment:
        DiffAugment(options.diffaugment)  # unknown policies fail here
        if len(data_shape) != 3:
            raise ConfigError(
                f"model.stabilizers.diffaugment={list(options.diffaugment)} augments images, but the data "
                f"has samples of shape {data_shape}. Use image data or set model.stabilizers.diffaugment=[]."
            )
    return options


class Stabilizer:
    """One stabiliser; override only the seams it uses."""

    def install(self, discriminator: nn.Module) -> None:
        """Change the discriminator once, at build time."""

    def augment(self, x: torch.Tensor) -> torch.Tensor:
        return x

    regularizer: Regularizer | None = None


class MinibatchLayers(Stabilizer):
    def __init__(self, factories: list[Callable[[tuple[int, ...]], nn.Module]]):
        self.factories = factories

    def install(self, discriminator: nn.Module) -> None:
        add = getattr(discriminator, "add_minibatch_layers", None)
        if add is None:
            raise ConfigError(
                f"Minibatch discrimination / minibatch std need a discriminator with features and a head "
                f"(ganforge.networks.discriminator.FeatureDiscriminator); {type(discriminator).__name__} "
                "is not one. Set model.stabilizers.minibatch_discrimination=0 and minibatch_std=false."
            )
        add(self.factories)


class SpectralNorm(Stabilizer):
    """Spectral normalisation (Miyato et al. 2018) of every weight layer of D not normalised already."""

    LAYERS = (nn.Linear, nn.Conv2d, nn.ConvTranspose2d, nn.Embedding)

    def install(self, discriminator: nn.Module) -> None:
        for module in list(discriminator.modules()):
            if isinstance(module, self.LAYERS) and not parametrize.is_parametrized(module, "weight"):
                apply_spectral_norm(module)


class Augment(Stabilizer):
    def __init__(self, policies: tuple[str, ...]):
        self.fn = DiffAugment(policies)

    def augment(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(x)


class Penalty(Stabilizer):
    def __init__(self, regularizer: Regularizer):
        self.regularizer = regularizer


def _minibatch(o: StabilizerOptions) -> Stabilizer | None:
    factories: list[Callable[[tuple[int, ...]], nn.Module]] = []
    if o.minibatch_discrimination:
        factories.append(
            lambda shape: MinibatchDiscrimination(
                int(torch.Size(shape).numel()), o.minibatch_discrimination, o.minibatch_discrimination_dim
            )
        )
    if o.minibatch_std:
        factories.append(lambda shape: MinibatchStdDev(o.minibatch_std_group))
    return MinibatchLayers(factories) if factories else None


# In order: minibatch layers widen D's head before spectral normalisation covers every layer.
PIECES: tuple[Callable[[StabilizerOptions], Stabilizer | None], ...] = (
    _minibatch,
    lambda o: SpectralNorm() if o.spectral_norm else None,
    lambda o: Penalty(R1Penalty(o.r1_gamma)) if o.r1_gamma else None,
    lambda o: Augment(o.diffaugment) if o.diffaugment else None,
)


class Stabilizers:
    def __init__(self, options: StabilizerOptions | Mapping[str, Any] | None = None):
        self.options = options if isinstance(options, StabilizerOptions) else stabilizer_options(options)
        self.pieces = [p for make in PIECES if (p := make(self.options)) is not None]

    @property
    def feature_matching(self) -> bool:
        return self.options.feature_matching

    def install(self, discriminator: nn.Module) -> None:
        for piece in self.pieces:
            piece.install(discriminator)

    def augment(self, x: torch.Tensor) -> torch.Tensor:
        for piece in self.pieces:
            x = piece.augment(x)
        return x

    def regularizers(self) -> list[Regularizer]:
        return [p.regularizer for p in self.pieces if p.regularizer is not None]

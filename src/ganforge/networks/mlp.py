"""Fully connected generator and discriminator (Goodfellow et al. 2014), for images or points."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from ganforge.errors import ConfigError
from ganforge.networks.discriminator import FeatureDiscriminator


def _mlp(dims: Sequence[int], activation: nn.Module, dropout: float = 0.0) -> list[nn.Module]:
    layers: list[nn.Module] = []
    for d_in, d_out in zip(dims[:-1], dims[1:]):
        layers += [nn.Linear(d_in, d_out), activation]
        if dropout > 0:
            layers.append(nn.Dropout(dropout))
    return layers


def _check_dims(hidden_dims: Sequence[int], key: str) -> list[int]:
    dims = [int(d) for d in hidden_dims]
    if not dims or any(d < 1 for d in dims):
        raise ConfigError(f"{key}={list(hidden_dims)} must be a non-empty list of positive layer widths.")
    return dims


class MLPGenerator(nn.Module):
    """z -> hidden layers (LeakyReLU 0.2) -> sample of ``data_shape``; tanh output for bounded data."""

    def __init__(
        self, latent_dim: int, data_shape: Sequence[int], hidden_dims: Sequence[int], bounded: bool = True
    ):
        super().__init__()
        self.data_shape = tuple(int(s) for s in data_shape)
        dims = [latent_dim, *_check_dims(hidden_dims, "model.generator.hidden_dims")]
        layers = _mlp(dims, nn.LeakyReLU(0.2))
        layers.append(nn.Linear(dims[-1], math.prod(self.data_shape)))
        if bounded:
            layers.append(nn.Tanh())
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).view(len(z), *self.data_shape)


class MLPDiscriminator(FeatureDiscriminator):
    """sample -> hidden layers (LeakyReLU 0.2, optional dropout) = features -> one logit."""

    def __init__(self, data_shape: Sequence[int], hidden_dims: Sequence[int], dropout: float = 0.0):
        super().__init__(data_shape)
        dims = [
            math.prod(int(s) for s in data_shape),
            *_check_dims(hidden_dims, "model.discriminator.hidden_dims"),
        ]
        self.features = nn.Sequential(nn.Flatten(), *_mlp(dims, nn.LeakyReLU(0.2), dropout))
        self.head = nn.Linear(dims[-1], 1)

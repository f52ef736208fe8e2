"""The shape every ganforge discriminator shares: D(x) = head(minibatch(features(x))), one score per sample.

``features`` is the body whose output feature matching compares (Salimans et al. 2016); layers that see
the whole minibatch (minibatch discrimination, minibatch standard deviation) slot in between body and
head through :meth:`FeatureDiscriminator.add_minibatch_layers`, which widens the head to match.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.parametrizations import spectral_norm as apply_spectral_norm

from ganforge.errors import ConfigError
from ganforge.networks.init import dcgan_init

#: builds a minibatch layer from the shape of one sample's features; the layer appends ``extra`` channels
MinibatchLayerFactory = Callable[[tuple[int, ...]], nn.Module]


class FeatureDiscriminator(nn.Module):
    """Subclasses set ``self.features`` (body) and ``self.head`` (a Linear or Conv2d to one score)."""

    features: nn.Module
    head: nn.Module

    def __init__(self, data_shape: Sequence[int]):
        super().__init__()
        self.data_shape = tuple(int(s) for s in data_shape)
        self.minibatch: nn.Module = nn.Identity()

    def classify(self, h: torch.Tensor) -> torch.Tensor:
        """Score features ``h`` (from :attr:`features`): one number per sample."""
        return self.head(self.minibatch(h)).flatten()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.classify(self.features(x))

    @torch.no_grad()
    def feature_shape(self) -> tuple[int, ...]:
        """Shape of one sample's features, probed in eval mode so no running statistic moves."""
        was_training = self.training
        self.eval()
        try:
            return tuple(self.features(torch.zeros(2, *self.data_shape)).shape[1:])
        finally:
            self.train(was_training)

    def add_minibatch_layers(self, factories: Sequence[MinibatchLayerFactory]) -> None:
        shape = self.feature_shape()
        layers = []
        for make in factories:
            layer = make(shape)
            layers.append(layer)
            shape = (shape[0] + layer.extra, *shape[1:])
        self.minibatch = nn.Sequential(*layers)
        self.head = widen(self.head, shape[0] - self.feature_shape()[0])


def widen(layer: nn.Module, extra: int) -> nn.Module:
    """A fresh copy of a Linear/Conv2d head taking ``extra`` more input channels (spectral norm kept)."""
    base = layer
    if isinstance(layer, nn.Linear):
        new: nn.Module = nn.Linear(layer.in_features + extra, layer.out_features, bias=layer.bias is not None)
    elif isinstance(layer, nn.Conv2d):
        new = nn.Conv2d(
            layer.in_channels + extra,
            layer.out_channels,
            layer.kernel_size,
            layer.stride,
            layer.padding,
            bias=layer.bias is not None,
        )
        dcgan_init(new)
    else:
        raise ConfigError(
            f"minibatch layers need a Linear or Conv2d discriminator head; this one is {type(base).__name__}."
        )
    if parametrize.is_parametrized(layer, "weight"):
        apply_spectral_norm(new)
    return new

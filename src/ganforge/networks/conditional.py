"""Class-conditional networks: any ganforge generator/discriminator made conditional on a label.

Generator (Mirza & Osindero 2014): G(z, y) = net(concat(z, onehot(y))).
Discriminator, two ways:
- ``conditioning=concat`` (Mirza & Osindero): D(x, y) = net(concat(x, onehot(y))), the one-hot vector
  appended to the flattened input (``label_input=flat``, for MLPs) or as K constant feature maps
  (``label_input=channels``, for convolutional nets).
- ``conditioning=projection`` (Miyato & Koyama 2018): D(x, y) = head(phi(x)) + <embed(y), pool(phi(x))>,
  phi the net's features, pool a sum over spatial positions.

``net`` is a partial of the unconditional network (``_partial_: true`` in the config); the wrapper
supplies the widened ``latent_dim`` / ``data_shape`` it needs.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.errors import ConfigError

CONDITIONINGS = ("concat", "projection")
LABEL_INPUTS = ("flat", "channels")


def _check_classes(num_classes: int | None) -> int:
    if num_classes is None or num_classes < 2:
        raise ConfigError(
            f"A conditional model needs a labelled dataset with data.num_classes >= 2; got {num_classes}. "
            "Use labelled data (mnist5k, digits, fashion_mnist, mnist, cifar10), set data.num_classes "
            "(e.g. data.num_classes=8 for data=ring, whose labels are mixture components), or use an "
            "unconditional model."
        )
    return int(num_classes)


class ConditionalGenerator(nn.Module):
    def __init__(self, net: Callable[..., nn.Module], latent_dim: int, num_classes: int | None):
        super().__init__()
        self.num_classes = _check_classes(num_classes)
        self.net = net(latent_dim=latent_dim + self.num_classes)

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([z, F.one_hot(labels, self.num_classes).to(z.dtype)], dim=1))


class ConditionalDiscriminator(nn.Module):
    def __init__(
        self,
        net: Callable[..., nn.Module],
        data_shape: Sequence[int],
        num_classes: int | None,
        conditioning: str = "concat",
        label_input: str = "channels",
    ):
        super().__init__()
        self.num_classes = _check_classes(num_classes)
        if conditioning not in CONDITIONINGS:
            raise ConfigError(
                f"model.discriminator.conditioning={conditioning!r} is unknown; "
                f"allowed: {list(CONDITIONINGS)}."
            )
        if label_input not in LABEL_INPUTS:
            raise ConfigError(
                f"model.discriminator.label_input={label_input!r} is unknown; allowed: {list(LABEL_INPUTS)}."
            )
        self.data_shape = tuple(int(s) for s in data_shape)
        self.conditioning = conditioning
        # Points ([D]) have no channels to broadcast over: flat and channels are the same there.
        self.flat = label_input == "flat" or len(self.data_shape) == 1
        if conditioning == "projection":
            self.net = net(data_shape=list(self.data_shape))
            self.embed = nn.Embedding(self.num_classes, self.net.feature_shape()[0])
            nn.init.normal_(self.embed.weight, 0.0, 0.02)
        elif self.flat:
            self.net = net(data_shape=[math.prod(self.data_shape) + self.num_classes])
        else:
            self.net = net(data_shape=[self.data_shape[0] + self.num_classes, *self.data_shape[1:]])

    def _input(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        if self.conditioning == "projection":
            return x
        onehot = F.one_hot(labels, self.num_classes).to(x.dtype)
        if self.flat:
            return torch.cat([x.flatten(1), onehot], dim=1)
        maps = onehot.view(*onehot.shape, *([1] * (x.dim() - 2))).expand(-1, -1, *x.shape[2:])
        return torch.cat([x, maps], dim=1)

    def features(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.net.features(self._input(x, labels))

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        h = self.features(x, labels)
        out = self.net.classify(h)
        if self.conditioning == "projection":
            pooled = h.flatten(2).sum(2) if h.dim() > 2 else h
            out = out + (self.embed(labels) * pooled).sum(1)
        return out

    def add_minibatch_layers(self, factories) -> None:
        self.net.add_minibatch_layers(factories)

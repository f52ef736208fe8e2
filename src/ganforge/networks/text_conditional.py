"""Text-conditional networks (Reed et al. 2016, GAN-INT-CLS): any ganforge G / D conditioned on a caption
embedding.

The embedding (e.g. 384-d MiniLM, 1024-d char-CNN-RNN) is first compressed by a learned projection to
``projection_dim`` (128 in the paper) with a LeakyReLU 0.2:

- G(z, t) = net(concat(z, proj_g(t))), the DCGAN generator widened by ``projection_dim`` inputs;
- D(x, t): at D's last feature map (4x4 for DCGAN) ``proj_d(t)`` is replicated spatially and
  depth-concatenated, then a 1x1 convolution with LeakyReLU 0.2 joins image and text before D's own
  4x4 head computes the score.

``net`` is a partial of the unconditional network (``_partial_: true`` in the config).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
from torch import nn

from ganforge.errors import ConfigError


def _projection(text_dim: int, projection_dim: int) -> nn.Module:
    if text_dim < 1 or projection_dim < 1:
        raise ConfigError(
            f"text_dim={text_dim} and model.projection_dim={projection_dim} must be positive (the text "
            "encoder's embedding width and the width it is projected to)."
        )
    return nn.Sequential(nn.Linear(text_dim, projection_dim), nn.LeakyReLU(0.2, True))


class TextConditionalGenerator(nn.Module):
    def __init__(
        self, net: Callable[..., nn.Module], latent_dim: int, text_dim: int, projection_dim: int = 128
    ):
        super().__init__()
        self.text_dim, self.latent_dim = int(text_dim), int(latent_dim)
        self.project = _projection(self.text_dim, projection_dim)
        self.net = net(latent_dim=latent_dim + projection_dim)

    def forward(self, z: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([z, self.project(text)], dim=1))


class TextConditionalDiscriminator(nn.Module):
    def __init__(
        self,
        net: Callable[..., nn.Module],
        data_shape: Sequence[int],
        text_dim: int,
        projection_dim: int = 128,
    ):
        super().__init__()
        self.text_dim = int(text_dim)
        self.net = net(data_shape=list(data_shape))
        if not hasattr(self.net, "feature_shape") or len(self.net.feature_shape()) != 3:
            raise ConfigError(
                "model.discriminator.net must be a convolutional ganforge discriminator with spatial "
                f"features (e.g. ganforge.networks.dcgan.DCGANDiscriminator); got {type(self.net).__name__}."
            )
        channels = self.net.feature_shape()[0]
        self.project = _projection(self.text_dim, projection_dim)
        self.join = nn.Sequential(nn.Conv2d(channels + projection_dim, channels, 1), nn.LeakyReLU(0.2, True))

    def features(self, x: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        """Joint image-text features at D's last map (what feature matching compares)."""
        h = self.net.features(x)
        t = self.project(text)[:, :, None, None].expand(-1, -1, *h.shape[2:])
        return self.join(torch.cat([h, t], dim=1))

    def forward(self, x: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        return self.net.classify(self.features(x, text))

    def add_minibatch_layers(self, factories) -> None:
        self.net.add_minibatch_layers(factories)

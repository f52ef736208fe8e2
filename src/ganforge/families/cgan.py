"""Conditional GAN (Mirza & Osindero 2014): generator and discriminator both see the class label.

Fakes are generated for the labels of the real batch, so D judges (x, y) pairs. Sample grids show one
row per class; ``ganforge-sample ckpt=... class=<c>`` draws a single class. Networks:
ganforge.networks.conditional (one-hot concatenation, or a projection discriminator).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ganforge.families.gan import GAN


class ConditionalGAN(GAN):
    def __init__(self, generator: nn.Module, discriminator: nn.Module, *args, **kwargs):
        super().__init__(generator, discriminator, *args, **kwargs)
        self.num_classes = int(generator.num_classes)
        self.grid_nrow: int | None = None

    def required_fields(self) -> tuple[str, ...]:
        return (*super().required_fields(), "label")

    def generate(self, z: torch.Tensor, labels: torch.Tensor | None, generator: nn.Module | None = None):
        return (generator or self.generator)(z, labels)

    def discriminate(self, x: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        return self.discriminator(x, labels)

    def discriminator_features(self, x: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        return self.discriminator.features(x, labels)

    def grid_inputs(self, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Noise plus labels 0, 0, ..., 1, 1, ...: row c of the grid shows class c."""
        g = torch.Generator().manual_seed(seed)
        per_row = math.ceil(n / self.num_classes)
        self.grid_nrow = per_row
        return torch.randn(n, self.latent_dim, generator=g), torch.arange(n) // per_row

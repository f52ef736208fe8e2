"""Least-squares GAN (Mao et al. 2017) with the paper's a-b-c coding a = 0, b = 1, c = 1.

D minimises 1/2 E[(D(x) - b)^2] + 1/2 E[(D(G(z)) - a)^2]; G minimises 1/2 E[(D(G(z)) - c)^2]. D's output
is a raw score (no sigmoid). One-sided label smoothing moves the real target b to 1 - s.
"""

from __future__ import annotations

import torch

from ganforge.losses.base import AdversarialLoss

FAKE_TARGET = 0.0  # a
GENERATOR_TARGET = 1.0  # c


class LeastSquaresLoss(AdversarialLoss):
    name = "least_squares"
    supports_label_smoothing = True

    def discriminator_loss(self, real_out: torch.Tensor, fake_out: torch.Tensor) -> torch.Tensor:
        real = (real_out - self.real_target).pow(2).mean()
        fake = (fake_out - FAKE_TARGET).pow(2).mean()
        return 0.5 * (real + fake)

    def generator_loss(self, fake_out: torch.Tensor, real_out: torch.Tensor | None = None) -> torch.Tensor:
        return 0.5 * (fake_out - GENERATOR_TARGET).pow(2).mean()

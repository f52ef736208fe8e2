"""Wasserstein loss (Arjovsky et al. 2017): the critic minimises E[D(G(z))] - E[D(x)], the negated
Kantorovich-Rubinstein estimate of W1; G minimises -E[D(G(z))]. The estimate is only a distance for a
1-Lipschitz critic, so this loss declares ``critic = True`` and families refuse it without a constraint
(weight clipping in wgan, a gradient penalty in wgan_gp, or spectral normalisation).
"""

from __future__ import annotations

import torch

from ganforge.losses.base import AdversarialLoss


class WassersteinLoss(AdversarialLoss):
    name = "wasserstein"
    critic = True

    def discriminator_loss(self, real_out: torch.Tensor, fake_out: torch.Tensor) -> torch.Tensor:
        return fake_out.mean() - real_out.mean()

    def generator_loss(self, fake_out: torch.Tensor, real_out: torch.Tensor | None = None) -> torch.Tensor:
        return -fake_out.mean()

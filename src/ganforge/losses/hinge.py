"""Hinge loss (Lim & Ye 2017; Miyato et al. 2018): D minimises E[relu(1 - D(x))] + E[relu(1 + D(G(z)))],
G minimises -E[D(G(z))]. The margin bounds what D gains from any one sample, so D needs no Lipschitz
constraint to keep the loss finite (spectral normalisation is the usual companion, not a requirement).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ganforge.losses.base import AdversarialLoss


class HingeLoss(AdversarialLoss):
    name = "hinge"

    def discriminator_loss(self, real_out: torch.Tensor, fake_out: torch.Tensor) -> torch.Tensor:
        return F.relu(1.0 - real_out).mean() + F.relu(1.0 + fake_out).mean()

    def generator_loss(self, fake_out: torch.Tensor, real_out: torch.Tensor | None = None) -> torch.Tensor:
        return -fake_out.mean()

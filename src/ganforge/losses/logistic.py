"""The original GAN objectives (Goodfellow et al. 2014), computed from logits for numerical stability.

With D(x) = sigmoid(l): log D(x) = -softplus(-l) and log(1 - D(x)) = -softplus(l).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ganforge.losses.base import AdversarialLoss


class _LogisticLoss(AdversarialLoss):
    supports_label_smoothing = True
    readout_is_probability = True

    def discriminator_loss(self, real_out: torch.Tensor, fake_out: torch.Tensor) -> torch.Tensor:
        # -[t log D(x) + (1 - t) log(1 - D(x))] - log(1 - D(G(z))), t the (smoothed) real target.
        real = F.binary_cross_entropy_with_logits(real_out, torch.full_like(real_out, self.real_target))
        fake = F.softplus(fake_out).mean()
        return real + fake

    def readout(self, out: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(out)


class MinimaxLoss(_LogisticLoss):
    """The saturating game of the paper: G minimises log(1 - D(G(z)))."""

    name = "minimax"

    def generator_loss(self, fake_out: torch.Tensor, real_out: torch.Tensor | None = None) -> torch.Tensor:
        return -F.softplus(fake_out).mean()


class NonSaturatingLoss(_LogisticLoss):
    """The heuristic of the paper: G minimises -log D(G(z)), strong gradients early in training."""

    name = "non_saturating"

    def generator_loss(self, fake_out: torch.Tensor, real_out: torch.Tensor | None = None) -> torch.Tensor:
        return F.softplus(-fake_out).mean()

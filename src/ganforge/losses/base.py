"""The adversarial loss interface every GAN objective implements.

Losses see only discriminator outputs (logits or critic values), never the networks, so any family can
use any loss that makes sense for it. Penalties that need the networks (gradient penalty, R1) are
separate regularisers added by the family.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import torch


class AdversarialLoss(ABC):
    #: short name used in logs and run names
    name: str = "loss"

    def __init__(self, name: str | None = None):
        # ``name`` comes from the loss config; the class attribute is the default.
        if name:
            self.name = name

    @abstractmethod
    def discriminator_loss(self, real_out: torch.Tensor, fake_out: torch.Tensor) -> torch.Tensor:
        """Loss the discriminator minimises, from its outputs on real and generated samples."""

    @abstractmethod
    def generator_loss(self, fake_out: torch.Tensor, real_out: torch.Tensor | None = None) -> torch.Tensor:
        """Loss the generator minimises, from the discriminator's outputs on generated samples."""

    def readout(self, out: torch.Tensor) -> torch.Tensor:
        """The discriminator output as users read it (a probability for logit losses), for logging."""
        return out

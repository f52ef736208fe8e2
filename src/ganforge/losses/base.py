"""The adversarial loss interface every GAN objective implements.

Losses see only discriminator outputs (logits or critic values), never the networks, so any family can
use any loss that makes sense for it. Penalties that need the networks (gradient penalty, R1) are
separate regularisers added by the family.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import torch

from ganforge.errors import ConfigError


class AdversarialLoss(ABC):
    #: short name used in logs and run names
    name: str = "loss"
    #: True when the discriminator is a *critic*: its raw output estimates a distance the loss does not
    #: bound (the Wasserstein-1 dual), so training is only meaningful with a Lipschitz constraint on it
    #: (weight clipping, a gradient penalty or spectral normalisation). Families check this pairing.
    critic: bool = False
    #: True when the loss has a real-sample target that one-sided label smoothing can move.
    supports_label_smoothing: bool = False
    #: True when :meth:`readout` is D's probability that a sample is real (logit losses); a discriminator
    #: stuck at ~1 on real and ~0 on fake samples has saturated (ganforge.callbacks.saturation).
    readout_is_probability: bool = False

    def __init__(self, name: str | None = None, real_label_smoothing: float = 0.0):
        # ``name`` comes from the loss config; the class attribute is the default.
        if name:
            self.name = name
        # One-sided label smoothing (Salimans et al. 2016): real targets 1 - s instead of 1.
        if not 0.0 <= real_label_smoothing < 0.5:
            raise ConfigError(f"loss.real_label_smoothing={real_label_smoothing} must be in [0, 0.5).")
        if real_label_smoothing and not self.supports_label_smoothing:
            raise ConfigError(
                f"loss.real_label_smoothing={real_label_smoothing}: loss={self.name} has no real-sample "
                "target to smooth. Use it with loss=non_saturating, minimax or least_squares, or set "
                "loss.real_label_smoothing=0."
            )
        self.real_target = 1.0 - real_label_smoothing

    @abstractmethod
    def discriminator_loss(self, real_out: torch.Tensor, fake_out: torch.Tensor) -> torch.Tensor:
        """Loss the discriminator minimises, from its outputs on real and generated samples."""

    @abstractmethod
    def generator_loss(self, fake_out: torch.Tensor, real_out: torch.Tensor | None = None) -> torch.Tensor:
        """Loss the generator minimises, from the discriminator's outputs on generated samples."""

    def readout(self, out: torch.Tensor) -> torch.Tensor:
        """The discriminator output as users read it (a probability for logit losses), for logging."""
        return out

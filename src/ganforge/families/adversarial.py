"""Adversarial loss pieces with the stabilisers, for any family's objectives (a mixin of the engine).

Stabilisers (``model.stabilizers``, ganforge.stabilizers) act on every network of the discriminator side:
installed once at build time (spectral norm, minibatch layers), augmenting what D sees and adding
regularisers (:meth:`AdversarialTerms.discriminator_terms`), or replacing G's adversarial loss by feature
matching (:meth:`AdversarialTerms.generator_terms`). A family whose objectives use these two pieces gets
every stabiliser without code of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch

from ganforge.errors import ConfigError
from ganforge.families.sides import DISCRIMINATOR, has_spectral_norm
from ganforge.losses.feature_matching import feature_matching_loss
from ganforge.losses.penalties import Regularizer
from ganforge.stabilizers import Stabilizers


class AdversarialTerms:
    """Needs ``self.sides``, ``self.loss`` and ``self.name`` (set by AdversarialModule)."""

    def install_stabilizers(self, stabilizers: Mapping[str, Any] | None) -> None:
        """Build the stabilisers and install them on every discriminator-side network."""
        self.stabilizers = Stabilizers(stabilizers)
        for net_name, net in self.sides[DISCRIMINATOR].networks.items():
            self.stabilizers.install(net)
            if self.stabilizers.feature_matching and not hasattr(net, "features"):
                raise ConfigError(
                    "model.stabilizers.feature_matching=true needs a discriminator exposing features(x) "
                    "(see ganforge.networks.discriminator.FeatureDiscriminator); "
                    f"{net_name} ({type(net).__name__}) has none."
                )
        self.regularizers: list[Regularizer] = []
        for regularizer in self.stabilizers.regularizers():
            self.add_regularizer(regularizer)
        self.check_loss()

    def add_regularizer(self, regularizer: Regularizer) -> None:
        """Add a penalty to the discriminator's objective (gradient penalty, R1, ...)."""
        for net in self.sides[DISCRIMINATOR].networks.values():
            regularizer.check_discriminator(net)
        self.regularizers.append(regularizer)

    def check_loss(self) -> None:
        """Refuse a loss this family cannot train with (raise ConfigError naming the fix)."""
        nets = self.sides[DISCRIMINATOR].networks.values()
        if self.loss.critic and not (
            self.lipschitz_constraint or (nets and all(map(has_spectral_norm, nets)))
        ):
            raise ConfigError(
                f"loss={self.loss.name} treats the discriminator as a critic whose raw output estimates "
                "the Wasserstein distance, which is only meaningful for a Lipschitz critic, and "
                f"model={self.name} does not constrain it (its critic would grow without bound). Use "
                "model=wgan (weight clipping) or model=wgan_gp (gradient penalty), set "
                "model.stabilizers.spectral_norm=true, or choose loss=hinge, least_squares or non_saturating."
            )

    def discriminator_terms(
        self,
        real: torch.Tensor,
        fake: torch.Tensor,
        discriminate: Callable[[torch.Tensor], torch.Tensor],
        prefix: str = "",
        negatives: Mapping[str, tuple[torch.Tensor, Callable[[torch.Tensor], torch.Tensor]]] | None = None,
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """One discriminator's adversarial loss on (real, fake) with the stabilisers' augmentation and
        regularisers, and its readouts (``<prefix>d/real``, ``<prefix>d/fake``, ``<prefix>penalty/*``).

        ``negatives`` ({name: (samples, discriminate)}) are more inputs D must call fake, each judged by
        its own ``discriminate`` (GAN-INT-CLS: real images with mismatching text). The fake and every
        negative share the fake side's weight: the loss is the mean of the loss on (real, fake) and on
        (real, each negative), i.e. real term + mean of the fake-side terms, as in Reed et al.'s
        ``log D(x, h) + (log(1 - D(x, h')) + log(1 - D(G(z, h), h))) / 2``. Read out as ``<prefix>d/<name>``.
        """
        real, fake = self.stabilizers.augment(real), self.stabilizers.augment(fake)
        real_out = discriminate(real)
        fake_out = discriminate(fake)
        loss = self.loss.discriminator_loss(real_out, fake_out)
        metrics = {
            f"{prefix}d/real": self.loss.readout(real_out.detach()).mean(),
            f"{prefix}d/fake": self.loss.readout(fake_out.detach()).mean(),
        }
        for name, (samples, judge) in (negatives or {}).items():
            negative_out = judge(self.stabilizers.augment(samples))
            loss = loss + self.loss.discriminator_loss(real_out, negative_out)
            metrics[f"{prefix}d/{name}"] = self.loss.readout(negative_out.detach()).mean()
        loss = loss / (1 + len(negatives or {}))
        for regularizer in self.regularizers:
            penalty = regularizer(discriminate, real, fake)
            metrics[f"{prefix}penalty/{regularizer.name}"] = penalty.detach()
            loss = loss + penalty
        return loss, metrics

    def generator_terms(
        self,
        fake: torch.Tensor,
        discriminate: Callable[[torch.Tensor], torch.Tensor],
        real: torch.Tensor | None = None,
        features: Callable[[torch.Tensor], torch.Tensor] | None = None,
    ) -> torch.Tensor:
        """The generator's adversarial loss for ``fake`` (augmented as D sees it); with feature matching
        on, the distance of D's mean ``features`` on ``real`` and on ``fake`` instead."""
        fake = self.stabilizers.augment(fake)
        if self.stabilizers.feature_matching:
            if real is None or features is None:
                raise ConfigError(f"model={self.name} does not support model.stabilizers.feature_matching.")
            return feature_matching_loss(features(self.stabilizers.augment(real)), features(fake))
        return self.loss.generator_loss(discriminate(fake))

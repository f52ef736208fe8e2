"""Noise-to-sample families: the vanilla MLP GAN (Goodfellow et al.) and DCGAN (Radford et al.).

They differ only in their networks (``conf/model/vanilla.yaml``, ``conf/model/dcgan.yaml``); the training
algorithm is the engine's: k discriminator updates, then one generator update. :class:`GAN` is also the
base of the families that keep this shape (cgan, wgan, wgan_gp): one generator G(z) (and labels), one
discriminator D(x), real samples read from the datamodule's sample field (``image``, or ``point`` for the
2-D mixtures).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from ganforge.families.base import AdversarialModule, Batch


class GAN(AdversarialModule):
    """Labels in the batch are ignored: G(z) and D(x) only."""

    sample_field: str | None = "image"

    def bind_data(self, datamodule: Any) -> None:
        self.sample_field = getattr(datamodule, "sample_field", None) or self.sample_field
        super().bind_data(datamodule)

    def required_fields(self) -> tuple[str, ...]:
        return (self.sample_field,)

    # ----------------------------------------------------------------- how a batch feeds the networks
    def sample_noise(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.latent_dim, device=self.device)

    def generate(self, z: torch.Tensor, labels: torch.Tensor | None, generator: nn.Module | None = None):
        """Run a generator (the trained one by default) on noise (and labels, for conditional families)."""
        return (generator or self.generator)(z)

    def discriminate(self, x: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        return self.discriminator(x)

    def discriminator_features(self, x: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        """D's intermediate features of x, which feature matching compares."""
        return self.discriminator.features(x)

    # ----------------------------------------------------------------- objectives
    def discriminator_objective(self, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        real, labels = batch[self.sample_field], batch.get("label")
        with torch.no_grad():
            fake = self.generate(self.sample_noise(len(real)), labels)
        loss, metrics = self.discriminator_terms(real, fake, lambda x: self.discriminate(x, labels))
        metrics["loss/d"] = loss.detach()
        return loss, metrics

    def generator_objective(self, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        real, labels = batch[self.sample_field], batch.get("label")
        fake = self.generate(self.sample_noise(len(real)), labels)
        loss = self.generator_terms(
            fake,
            lambda x: self.discriminate(x, labels),
            real,
            lambda x: self.discriminator_features(x, labels),
        )
        return loss, {"loss/g": loss.detach()}

    # ----------------------------------------------------------------- sampling
    def grid_inputs(self, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The fixed (noise, labels) used for sample grids and evaluation."""
        g = torch.Generator().manual_seed(seed)
        return torch.randn(n, self.latent_dim, generator=g), None

    @property
    def sampling_generator(self) -> nn.Module:
        return self.sampling_network()

    @torch.no_grad()
    def sample(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Samples in model space from the EMA generator if there is one, in eval mode."""
        with self.sampling_mode() as nets:
            labels = None if labels is None else labels.to(self.device)
            return self.generate(z.to(self.device), labels, nets["generator"])

    def sampling_inputs(self, n: int, seed: int, datamodule: Any = None) -> dict[str, torch.Tensor]:
        z, labels = self.grid_inputs(n, seed)
        return {"z": z} if labels is None else {"z": z, "label": labels}

    def sample_inputs(self, inputs: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return self.sample(inputs["z"], inputs.get("label"))

"""GAN-INT-CLS (Reed et al. 2016, "Generative Adversarial Text to Image Synthesis").

A DCGAN whose G and D see a caption's embedding (ganforge.networks.text_conditional), with the paper's
two additions, each switchable for ablations:

- CLS, the matching-aware discriminator (``model.matching_aware``): besides (real image, its text) and
  (fake image, its text), D must also reject (real image, *mismatching* text), so it judges whether image
  and text agree, not only realism: L_D = log D(x, h) + (log(1 - D(x, h')) + log(1 - D(G(z, h), h))) / 2
  (the engine's ``discriminator_terms(negatives=...)``). Mismatching texts are other captions of the batch
  with a different meaning (paraphrases of the same content do not count).
- INT, interpolated embeddings for G (``model.interpolation``): G is also trained on
  beta * h1 + (1 - beta) * h2 of two captions of the batch (beta = ``model.interpolation_beta``, 0.5),
  points between captions that have no image, which D judges with that embedding.

Captions, their embeddings, mismatches and sampling (test-split captions, or any text with
``ganforge-sample ckpt=... text="a small red sandal"`` and ``text_to="..."``) are the text-to-image
families' shared part, ganforge.families.text_conditioning.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ganforge.errors import ConfigError
from ganforge.families.base import AdversarialModule, Batch
from ganforge.families.text_conditioning import TextConditioned
from ganforge.text.encoders import TextEncoder


class GANINTCLS(TextConditioned, AdversarialModule):
    def __init__(
        self,
        generator: nn.Module,
        discriminator: nn.Module,
        *args: Any,
        text_encoder: TextEncoder,
        matching_aware: bool = True,
        interpolation: bool = True,
        interpolation_beta: float = 0.5,
        embedding_cache: str | None = None,
        paraphrases: bool = False,
        **kwargs: Any,
    ):
        super().__init__(generator, discriminator, *args, **kwargs)
        self.setup_text(
            text_encoder,
            embedding_cache,
            {"generator": generator, "discriminator": discriminator},
            paraphrases=paraphrases,
        )
        if not 0.0 <= interpolation_beta <= 1.0:
            raise ConfigError(
                f"model.interpolation_beta={interpolation_beta} must lie in [0, 1] (paper: 0.5)."
            )
        self.matching_aware = bool(matching_aware)
        self.interpolation = bool(interpolation)
        self.interpolation_beta = float(interpolation_beta)

    # ----------------------------------------------------------------- objectives
    def discriminator_objective(self, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        real, ids = batch["image"], self.training_captions(batch)
        text = self.embed(ids)
        with torch.no_grad():
            fake = self.generator(self.noise(len(real)), text)
        negatives = {}
        if self.matching_aware:
            wrong = self.embed(self.mismatching(ids))
            negatives["mismatch"] = (real, lambda x: self.discriminator(x, wrong))
        loss, metrics = self.discriminator_terms(
            real, fake, lambda x: self.discriminator(x, text), negatives=negatives
        )
        metrics["loss/d"] = loss.detach()
        return loss, metrics

    def generator_objective(self, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        real, ids = batch["image"], self.training_captions(batch)
        text = self.embed(ids)
        loss = self._generator_term(real, text)
        metrics = {"loss/g_text": loss.detach()}
        if self.interpolation:
            beta = self.interpolation_beta
            mixed = beta * text + (1 - beta) * text[torch.randperm(len(text), device=text.device)]
            interpolated = self._generator_term(real, mixed)
            metrics["loss/g_interpolated"] = interpolated.detach()
            loss = loss + interpolated
        metrics["loss/g"] = loss.detach()
        return loss, metrics

    def _generator_term(self, real: torch.Tensor, text: torch.Tensor) -> torch.Tensor:
        fake = self.generator(self.noise(len(real)), text)
        return self.generator_terms(
            fake,
            lambda x: self.discriminator(x, text),
            real,
            lambda x: self.discriminator.features(x, text),
        )

    # ----------------------------------------------------------------- sampling
    @torch.no_grad()
    def sample_inputs(self, inputs: Mapping[str, torch.Tensor]) -> torch.Tensor:
        with self.sampling_mode() as nets:
            return nets["generator"](inputs["z"].to(self.device), inputs["embedding"].to(self.device))

    def render_samples(self, path: Path, inputs, samples, datamodule, nrow: int | None = None) -> None:
        """Each sample with its caption under it, and ``<name>.captions.txt``."""
        self.render_captioned(path, {"generated": samples}, inputs)

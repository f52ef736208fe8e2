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

Captions come as ids into the datamodule's caption table (ganforge.data.captioned_datamodule), embedded
once by the run's text encoder (``text_encoder=``) and cached by content hash. Sampling draws test-split
captions, or any text: ``ganforge-sample ckpt=... text="a small red sandal"`` (and ``text_to="..."``
for an interpolation from one caption to the other with fixed noise).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ganforge.errors import ConfigError, GanforgeError
from ganforge.families.base import AdversarialModule, Batch
from ganforge.families.sampling_options import SamplingOption
from ganforge.text.embedding_cache import embed_table
from ganforge.text.encoders import TextEncoder


class GANINTCLS(AdversarialModule):
    sample_field = "image"

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
        **kwargs: Any,
    ):
        super().__init__(generator, discriminator, *args, **kwargs)
        if not isinstance(text_encoder, TextEncoder):
            raise ConfigError(f"model={self.name} needs a text encoder (text_encoder=minilm or precomputed).")
        for side, net in (("generator", generator), ("discriminator", discriminator)):
            if getattr(net, "text_dim", text_encoder.dim) != text_encoder.dim:
                raise ConfigError(
                    f"model.{side} takes {net.text_dim}-d text embeddings, but the text encoder gives "
                    f"{text_encoder.dim}-d ones; set model.{side}.text_dim=${{text_encoder.dim}}."
                )
        if not 0.0 <= interpolation_beta <= 1.0:
            raise ConfigError(
                f"model.interpolation_beta={interpolation_beta} must lie in [0, 1] (paper: 0.5)."
            )
        self.text_encoder = text_encoder
        self.matching_aware = bool(matching_aware)
        self.interpolation = bool(interpolation)
        self.interpolation_beta = float(interpolation_beta)
        self.embedding_cache = embedding_cache
        # The caption table's embeddings: rebuilt from the cache at bind_data, never stored in checkpoints.
        self.register_buffer("caption_embeddings", torch.zeros(0, text_encoder.dim), persistent=False)
        self.register_buffer("caption_meanings", torch.zeros(0, dtype=torch.int64), persistent=False)
        self.caption_texts: list[str] = []
        self.sampling_text: str | None = None
        self.sampling_text_to: str | None = None

    # ----------------------------------------------------------------- data
    def required_fields(self) -> tuple[str, ...]:
        return ("image", "caption")

    def bind_data(self, datamodule: Any) -> None:
        super().bind_data(datamodule)
        if not hasattr(datamodule, "caption_table"):
            raise ConfigError(
                f"model={self.name} needs captioned data (a datamodule with a caption table, e.g. "
                f"data=captioned_fashion_mnist); data={datamodule.name} has none."
            )
        self.caption_texts = datamodule.caption_table()
        table = embed_table(self.text_encoder, self.caption_texts, self.embedding_cache)
        self.caption_embeddings = table.to(self.device)
        self.caption_meanings = datamodule.caption_meanings().to(self.device)

    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        return self.caption_embeddings[ids]

    def mismatching(self, ids: torch.Tensor, tries: int = 8) -> torch.Tensor:
        """For each row, another row of the batch whose caption means something else (a few redraws;
        a batch of one meaning has none, and keeps its draw)."""
        meanings = self.caption_meanings[ids]
        pick = torch.randint(0, len(ids), ids.shape, device=ids.device)
        for _ in range(tries):
            same = meanings[pick] == meanings
            if not bool(same.any()):
                break
            pick = torch.where(same, torch.randint(0, len(ids), ids.shape, device=ids.device), pick)
        return ids[pick]

    def noise(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.latent_dim, device=self.device)

    # ----------------------------------------------------------------- objectives
    def discriminator_objective(self, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        real, ids = batch["image"], batch["caption"]
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
        real, ids = batch["image"], batch["caption"]
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
    def sampling_options(self) -> Mapping[str, SamplingOption]:
        return {
            "text": SamplingOption(str, "a caption every sample is drawn for"),
            "text_to": SamplingOption(str, "with text=: interpolate the embedding from text to this caption"),
        }

    def apply_sampling_options(self, values: Mapping[str, Any]) -> None:
        self.sampling_text = values.get("text", self.sampling_text)
        self.sampling_text_to = values.get("text_to", self.sampling_text_to)
        if self.sampling_text_to is not None and self.sampling_text is None:
            raise GanforgeError("text_to= interpolates from text= to it; give text=<caption> as well.")
        for text in (self.sampling_text, self.sampling_text_to):
            if text is not None and not text.strip():
                raise GanforgeError("text= / text_to= must hold a caption, e.g. text='a small red sandal'.")

    def _encode(self, text: str) -> torch.Tensor:
        if text in self.caption_texts:  # the table's own row (exactly what training saw)
            return self.caption_embeddings[self.caption_texts.index(text)].cpu()
        return self.text_encoder.encode([text])[0]

    def sampling_inputs(self, n: int, seed: int, datamodule: Any = None) -> dict[str, torch.Tensor]:
        """Noise and caption embeddings of ``n`` samples: test-split captions drawn by ``seed`` (ids in
        ``caption``), or the sampling text (``caption`` = -1), interpolated towards ``text_to``."""
        g = torch.Generator().manual_seed(seed)
        z = torch.randn(n, self.latent_dim, generator=g)
        if self.sampling_text is not None:
            start = self._encode(self.sampling_text)
            if self.sampling_text_to is None:
                embedding = start.expand(n, -1).clone()
            else:
                betas = torch.linspace(0, 1, n)[:, None]
                embedding = (1 - betas) * start + betas * self._encode(self.sampling_text_to)
                z = z[:1].expand(n, -1).clone()  # fixed noise: only the text moves
            return {"z": z, "caption": torch.full((n,), -1), "embedding": embedding}
        if datamodule is None:
            raise ConfigError(f"model={self.name} samples for test-split captions, which need the data.")
        test_ids = datamodule.split_fields("test")["caption"]
        rows = torch.randperm(len(test_ids), generator=g)
        rows = rows[torch.arange(n) % len(rows)]
        ids = test_ids[rows].to(torch.int64)
        return {"z": z, "caption": ids, "embedding": self.caption_embeddings.cpu()[ids]}

    @torch.no_grad()
    def sample_inputs(self, inputs: Mapping[str, torch.Tensor]) -> torch.Tensor:
        with self.sampling_mode() as nets:
            return nets["generator"](inputs["z"].to(self.device), inputs["embedding"].to(self.device))

    def render_samples(self, path: Path, inputs, samples, datamodule, nrow: int | None = None) -> None:
        """The datamodule's grid, and next to it ``<name>.captions.txt``: the caption of every cell in grid
        order (row by row), so a picture can be read against its words."""
        super().render_samples(path, inputs, samples, datamodule, nrow)
        from ganforge.io import atomic_write_text

        texts = []
        for i, caption in enumerate(inputs["caption"][: len(samples)].tolist()):
            if caption >= 0:
                texts.append(self.caption_texts[caption])
            elif self.sampling_text_to is not None:
                beta = i / max(len(samples) - 1, 1)
                texts.append(
                    f"{1 - beta:.2f} x '{self.sampling_text}' + {beta:.2f} x '{self.sampling_text_to}'"
                )
            else:
                texts.append(str(self.sampling_text))
        lines = [f"{i}: {t}" for i, t in enumerate(texts)]
        atomic_write_text(Path(path).with_suffix(".captions.txt"), "\n".join(lines) + "\n")

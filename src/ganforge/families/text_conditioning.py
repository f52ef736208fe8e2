"""What every text-to-image family shares: the caption table's embeddings, mismatching captions,
sampling for test captions or for any text, and pictures with their captions (a mixin of the engine).

Captions arrive as ids into the datamodule's caption table (ganforge.data.captioned_datamodule), embedded
once by the run's text encoder (``text_encoder=``) and cached by content hash
(ganforge.text.embedding_cache); the embeddings are buffers rebuilt at ``bind_data``, never stored in
checkpoints. ``ganforge-sample`` takes ``text=`` (every sample for that caption) and ``text_to=`` (the
embedding moves from text to text_to across the samples, with fixed noise).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ganforge.errors import ConfigError, GanforgeError
from ganforge.families.sampling_options import SamplingOption
from ganforge.text.embedding_cache import embed_table
from ganforge.text.encoders import TextEncoder


class TextConditioned:
    """Needs ``self.name``, ``self.device``, ``self.latent_dim`` and ``register_buffer`` (an
    AdversarialModule); call :meth:`setup_text` from ``__init__``."""

    sample_field = "image"

    def setup_text(
        self,
        text_encoder: TextEncoder,
        embedding_cache: str | None,
        networks: Mapping[str, nn.Module],
        paraphrases: bool = False,
    ):
        """Keep the encoder, check every network's ``text_dim`` against it, and make the empty buffers.
        ``paraphrases``: train each step on a random caption of the row's meaning (:meth:`paraphrase`)."""
        if not isinstance(text_encoder, TextEncoder):
            raise ConfigError(f"model={self.name} needs a text encoder (text_encoder=minilm or precomputed).")
        for key, net in networks.items():
            if getattr(net, "text_dim", text_encoder.dim) != text_encoder.dim:
                raise ConfigError(
                    f"model.{key} takes {net.text_dim}-d text embeddings, but the text encoder gives "
                    f"{text_encoder.dim}-d ones; set model.{key}.text_dim=${{text_encoder.dim}}."
                )
        self.text_encoder = text_encoder
        self.embedding_cache = embedding_cache
        self.register_buffer("caption_embeddings", torch.zeros(0, text_encoder.dim), persistent=False)
        self.register_buffer("caption_meanings", torch.zeros(0, dtype=torch.int64), persistent=False)
        # Caption ids grouped by meaning (a stable sort) and the sorted meanings: each group is a slice.
        self.register_buffer("_by_meaning", torch.zeros(0, dtype=torch.int64), persistent=False)
        self.register_buffer("_sorted_meanings", torch.zeros(0, dtype=torch.int64), persistent=False)
        self.paraphrases = bool(paraphrases)
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
        self._sorted_meanings, self._by_meaning = torch.sort(self.caption_meanings, stable=True)

    def embed(self, ids: torch.Tensor) -> torch.Tensor:
        return self.caption_embeddings[ids]

    def training_captions(self, batch: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """The caption ids an objective trains on: the batch's, or random paraphrases of them."""
        ids = batch["caption"]
        return self.paraphrase(ids) if self.paraphrases else ids

    def paraphrase(self, ids: torch.Tensor) -> torch.Tensor:
        """For each id, a uniformly drawn caption of the same meaning (itself included)."""
        meanings = self.caption_meanings[ids]
        first = torch.searchsorted(self._sorted_meanings, meanings)
        count = torch.searchsorted(self._sorted_meanings, meanings, right=True) - first
        offset = (torch.rand(ids.shape, device=ids.device) * count).long().clamp_(max=count - 1)
        return self._by_meaning[first + offset]

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

    def sample_captions(self, inputs: Mapping[str, torch.Tensor], n: int) -> list[str]:
        """The caption each of the first ``n`` samples was drawn for (its mix, for a text_to walk)."""
        texts = []
        for i, caption in enumerate(inputs["caption"][:n].tolist()):
            if caption >= 0:
                texts.append(self.caption_texts[caption])
            elif self.sampling_text_to is not None:
                beta = i / max(n - 1, 1)
                texts.append(
                    f"{1 - beta:.2f} x '{self.sampling_text}' + {beta:.2f} x '{self.sampling_text_to}'"
                )
            else:
                texts.append(str(self.sampling_text))
        return texts

    def picture_caption(self, inputs: Mapping[str, torch.Tensor], n: int) -> str | None:
        """The grid's captions in order, numbered as in ``<grid>.captions.txt``: W&B shows them under the
        image, searchable, where the text printed in the picture is only pixels."""
        return "\n".join(f"{i}: {t}" for i, t in enumerate(self.sample_captions(inputs, n)))

    def render_captioned(self, path: Path, panels: Mapping[str, torch.Tensor], inputs) -> None:
        """The caption -> image grid (ganforge.data.render_captions) and ``<name>.captions.txt`` beside it:
        the caption of every sample in order, machine-readable."""
        from ganforge.data.render_captions import save_captioned_grid
        from ganforge.io import atomic_write_text

        n = len(next(iter(panels.values())))
        texts = self.sample_captions(inputs, n)
        save_captioned_grid(panels, texts, Path(path), per_row=min(16, max(1, round(n**0.5))))
        lines = [f"{i}: {t}" for i, t in enumerate(texts)]
        atomic_write_text(Path(path).with_suffix(".captions.txt"), "\n".join(lines) + "\n")

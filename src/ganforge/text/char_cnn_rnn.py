"""The papers' own text encoder: a character-level CNN-RNN (Reed et al. 2016, "Learning Deep
Representations of Fine-Grained Visual Descriptions"), as ``text_encoder=char_cnn_rnn``.

A caption is read as one-hot characters (:data:`ALPHABET`, the paper's 70 symbols; others are dropped),
three 1-D convolutions with ReLU (max-pooling by 3 after the first two) turn it into a short sequence,
a GRU reads that sequence and the mean of its hidden states is projected to the embedding. It is trained
jointly with an image encoder on the dataset's (image, caption) pairs by ``ganforge-train-text-encoder``
(ganforge.text.joint_embedding), which saves it; :class:`CharCNNRNNEncoder` loads that file.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.errors import ConfigError
from ganforge.text.encoders import TextEncoder, _file_digest

ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789-,;.!?:'\"/\\|_@#$%^&*~`+=<>()[]{} "
MAX_CHARS = 201  # the paper's caption length (ganforge reads up to the longest caption of the data)


def one_hot_characters(texts: Sequence[str], max_chars: int = MAX_CHARS) -> torch.Tensor:
    """float [N, len(ALPHABET), max_chars]: lower-cased, unknown characters dropped, zero-padded."""
    index = {c: i for i, c in enumerate(ALPHABET)}
    out = torch.zeros(len(texts), len(ALPHABET), max_chars)
    for row, text in enumerate(texts):
        codes = [index[c] for c in str(text).lower() if c in index][:max_chars]
        if codes:
            out[row, codes, torch.arange(len(codes))] = 1.0
    return out


class CharCNNRNN(nn.Module):
    def __init__(self, dim: int = 1024, width: int = 256, max_chars: int = MAX_CHARS):
        super().__init__()
        if max_chars < 30:
            raise ConfigError(f"text_training.max_chars={max_chars} must be >= 30 (the CNN pools 9x).")
        self.dim, self.max_chars = int(dim), int(max_chars)
        self.cnn = nn.Sequential(
            nn.Conv1d(len(ALPHABET), width // 2, 4),
            nn.ReLU(True),
            nn.MaxPool1d(3),
            nn.Conv1d(width // 2, width, 4),
            nn.ReLU(True),
            nn.MaxPool1d(3),
            nn.Conv1d(width, width, 4),
            nn.ReLU(True),
        )
        self.rnn = nn.GRU(width, width, batch_first=True)
        self.project = nn.Linear(width, dim)

    def forward(self, chars: torch.Tensor) -> torch.Tensor:
        """[N, alphabet, max_chars] one-hot -> unit-normalised [N, dim]."""
        h = self.cnn(chars).transpose(1, 2)  # [N, time, width]
        out, _ = self.rnn(h)
        return F.normalize(self.project(out.mean(dim=1)), dim=1)

    def embed(self, texts: Sequence[str]) -> torch.Tensor:
        device = next(self.parameters()).device
        return self(one_hot_characters(texts, self.max_chars).to(device))


class CharCNNRNNEncoder(TextEncoder):
    """``text_encoder=char_cnn_rnn``: the text side of a joint embedding saved by
    ``ganforge-train-text-encoder`` (its file and its width are checked)."""

    def __init__(self, path: str, dim: int):
        from ganforge.text.joint_embedding import load_joint_embedding

        self.path = Path(path).expanduser()
        self.model = load_joint_embedding(self.path, "text_encoder.path").text
        if self.model.dim != int(dim):
            raise ConfigError(
                f"text_encoder.dim={dim}, but {self.path} embeds into {self.model.dim} dimensions; set "
                f"text_encoder.dim={self.model.dim} (or text_training.dim when training it)."
            )
        self.dim = int(dim)

    def identity(self) -> str:
        return f"char-cnn-rnn:{_file_digest(self.path)}"

    def encode(self, texts: Sequence[str]) -> torch.Tensor:
        long = [t for t in texts if len(str(t)) > self.model.max_chars]
        if long:
            import warnings

            warnings.warn(
                f"{len(long)} caption(s) are longer than the {self.model.max_chars} characters the "
                f"char-CNN-RNN reads and are cut to their start (the first: {long[0][:60]!r}...).",
                stacklevel=2,
            )
        with torch.inference_mode():
            return self.model.eval().embed(list(texts)).float().cpu().clone()

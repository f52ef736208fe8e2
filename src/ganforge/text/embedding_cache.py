"""Caption embeddings computed once per (encoder, caption table) and cached on disk by content hash.

A dataset's captions are a fixed table (ganforge.data.captioned.all_captions: 1,440 captions); embedding
it takes seconds with MiniLM but would be repeated by every run, sampling call and DDP rank. The cache
key hashes the encoder's identity (model and weights digest) and every caption, so a changed caption or
encoder can never be served stale rows; files are written atomically.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from pathlib import Path

import torch

from ganforge.io import atomic_path
from ganforge.text.encoders import TextEncoder


def table_key(encoder: TextEncoder, captions: Sequence[str]) -> str:
    digest = hashlib.sha256(encoder.identity().encode())
    for caption in captions:
        digest.update(b"\0" + str(caption).encode())
    return digest.hexdigest()[:24]


def embed_table(encoder: TextEncoder, captions: Sequence[str], cache_dir: str | Path | None) -> torch.Tensor:
    """float32 [len(captions), encoder.dim]: row i embeds captions[i]; read from / written to the cache."""
    path = (
        None
        if cache_dir is None
        else Path(cache_dir) / "text_embeddings" / f"{table_key(encoder, captions)}.pt"
    )
    if path is not None and path.is_file():
        table = torch.load(path, map_location="cpu", weights_only=True)
        if isinstance(table, torch.Tensor) and tuple(table.shape) == (len(captions), encoder.dim):
            return table
    table = encoder.encode(list(captions)).float()
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(path) as tmp:
            torch.save(table, tmp)
    return table

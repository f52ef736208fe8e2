"""Real-data features cached on disk, keyed by what they depend on, not by a name.

The key hashes the split's content (samples and labels), the split name, the extractor's weights and its
preprocessing. A retrained classifier, a changed dataset or a different resize each get a new entry, so
stale statistics are never reused (torch-fidelity keys its cache by name only). Files are written
atomically; concurrent writers (DDP ranks) write identical content.

Full features (not only mean and covariance) are stored because KID and precision/recall need them.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path

import torch

from ganforge.io import atomic_path
from ganforge.metrics.extractors import Extractor, extract, tensor_hash

log = logging.getLogger(__name__)
CACHE_VERSION = 1


def cache_key(data_hash: str, split: str, extractor: Extractor) -> str:
    material = {"version": CACHE_VERSION, "data": data_hash, "split": split, **extractor.identity()}
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()


def cache_file(
    cache_dir: str | Path, data_name: str, split: str, extractor: Extractor, data_hash: str
) -> Path:
    key = cache_key(data_hash, split, extractor)
    return Path(cache_dir) / f"{data_name}-{split}-{extractor.route}-{key[:20]}.pt"


def real_features(
    extractor: Extractor,
    samples: torch.Tensor,
    labels: torch.Tensor,
    data_name: str,
    split: str,
    cache_dir: str | Path | None,
    batch_size: int = 500,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(features, logits) of a real split, from the cache when its key matches, else computed and stored."""
    data_hash = tensor_hash(samples, labels)
    path = cache_file(cache_dir, data_name, split, extractor, data_hash) if cache_dir else None
    if path is not None and path.is_file():
        try:
            saved = torch.load(path, map_location="cpu", weights_only=True)
            if saved["key"] == cache_key(data_hash, split, extractor):
                return saved["features"], saved["logits"]
        except Exception as exc:  # noqa: BLE001 - an unreadable cache entry is recomputed, not fatal
            log.warning("ignoring unreadable statistics cache %s (%s)", path, exc)
    features, logits = extract(extractor, samples, batch_size)
    if path is not None:
        with atomic_path(path) as tmp:
            torch.save(
                {
                    "key": cache_key(data_hash, split, extractor),
                    "features": features,
                    "logits": logits,
                    "meta": {
                        "data": data_name,
                        "split": split,
                        "count": len(samples),
                        **extractor.identity(),
                    },
                },
                tmp,
            )
    return features, logits

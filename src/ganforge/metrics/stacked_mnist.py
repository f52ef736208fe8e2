"""Stacked MNIST (VEEGAN / PacGAN): three digits as the R, G, B channels make 1,000 modes.

The dataset (``data=stacked_mnist5k``) is built from the bundled mnist5k digits. Generated samples are
scored by classifying each channel with the mnist5k digit classifier (``ganforge-train-evaluator
data=mnist5k``); the mode of a sample is 100 * digit(R) + 10 * digit(G) + digit(B).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ganforge.data.sources import mnist5k
from ganforge.errors import EvaluationError
from ganforge.metrics.extractors import Extractor, extract
from ganforge.metrics.mode_coverage import mode_histogram_kl

NUM_MODES = 1000


def stacked_mnist5k(
    root: str | Path, split: str, num_samples: int = 50_000, seed: int = 0
) -> tuple[torch.Tensor, torch.Tensor]:
    """``num_samples`` RGB images whose channels are three random digits of the mnist5k split."""
    digits, labels = mnist5k(root, split)
    rng = np.random.default_rng(seed + (0 if split == "train" else 1))
    idx = torch.from_numpy(rng.integers(0, len(digits), size=(num_samples, 3)))
    images = digits[idx].squeeze(2)  # [N, 3, 28, 28]
    modes = labels[idx[:, 0]] * 100 + labels[idx[:, 1]] * 10 + labels[idx[:, 2]]
    return images.contiguous(), modes


def stacked_modes(images: torch.Tensor, digit_classifier: Extractor, batch_size: int = 500) -> dict:
    """Keys: ``modes`` (covered of 1,000) and ``kl`` (KL(generated mode histogram || uniform))."""
    if images.dim() != 4 or images.shape[1] != 3:
        raise EvaluationError(
            f"stacked_modes scores 3-channel stacked digits; got samples of shape {list(images.shape)}. "
            "Train on data=stacked_mnist5k."
        )
    digits = [extract(digit_classifier, images[:, c : c + 1], batch_size)[1].argmax(1) for c in range(3)]
    modes = digits[0] * 100 + digits[1] * 10 + digits[2]
    counts = torch.bincount(modes, minlength=NUM_MODES)
    return {"modes": int((counts > 0).sum()), "kl": mode_histogram_kl(counts)}

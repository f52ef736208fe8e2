"""Mode coverage on the 2-D mixtures, VEEGAN / PacGAN protocol.

A generated sample is *high quality* if it lies within ``threshold`` standard deviations of its nearest
mode (PacGAN: a Mahalanobis distance with the mixture's diagonal variance; the mixtures are isotropic, so
this is the Euclidean distance over std). A mode is *captured* if it is the nearest mode of at least one
high-quality sample. The reverse KL is KL(histogram of the high-quality samples' modes || uniform).
For samples from the true 2-D mixture the high-quality fraction is 1 - exp(-9/2) = 98.89%.
"""

from __future__ import annotations

import math

import torch


def mode_histogram_kl(counts: torch.Tensor) -> float:
    """KL(p || uniform) of a histogram of counts; log(num modes) when it is empty (all mass nowhere)."""
    total = counts.sum()
    if total == 0:
        return math.log(len(counts))
    p = counts.double() / total
    nz = p > 0
    return float((p[nz] * (p[nz] * len(counts)).log()).sum())


def mode_coverage(samples: torch.Tensor, means: torch.Tensor, std: float, threshold: float = 3.0) -> dict:
    """Keys: ``modes`` (captured, int), ``high_quality`` (fraction 0..1), ``reverse_kl``."""
    samples = samples.detach().double().cpu()
    means = means.double().cpu()
    dist, nearest = torch.cdist(samples, means).min(dim=1)
    high = dist <= threshold * std
    counts = torch.bincount(nearest[high], minlength=len(means))
    return {
        "modes": int((counts > 0).sum()),
        "high_quality": float(high.double().mean()),
        "reverse_kl": mode_histogram_kl(counts),
    }

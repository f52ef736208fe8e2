"""Feature matching (Salimans et al. 2016): G minimises ||E f(x) - E f(G(z))||^2 over a batch, f an
intermediate layer of D (its ``features``), instead of maximising D's output."""

from __future__ import annotations

import torch


def feature_matching_loss(real_features: torch.Tensor, fake_features: torch.Tensor) -> torch.Tensor:
    """Squared L2 distance between the batch-mean features; real features are a fixed target."""
    target = real_features.detach().flatten(1).mean(0)
    return (fake_features.flatten(1).mean(0) - target).pow(2).sum()

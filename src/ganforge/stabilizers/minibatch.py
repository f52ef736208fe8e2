"""Discriminator layers that see the whole minibatch, so D can tell a collapsed batch from a varied one.

Both append channels to the features of each sample (features [N, C] or [N, C, H, W]); for feature maps
the per-sample statistics are broadcast over the spatial positions.
"""

from __future__ import annotations

import math

import torch
from torch import nn


def _as_channels(stats: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """[N, K] statistics -> [N, K, *spatial of like], ready to concatenate along channels."""
    view = stats.view(*stats.shape, *([1] * (like.dim() - 2)))
    return view.expand(*stats.shape, *like.shape[2:])


class MinibatchStdDev(nn.Module):
    """Minibatch standard deviation (Karras et al. 2018): the std of every feature over groups of
    ``group_size`` samples, averaged to one number per group and appended as one extra channel."""

    extra = 1

    def __init__(self, group_size: int = 4):
        super().__init__()
        self.group_size = group_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n = len(x)
        # Largest group size <= group_size that divides the batch (the last batch may be smaller).
        g = next(d for d in range(min(self.group_size, n), 0, -1) if n % d == 0)
        groups = x.reshape(g, n // g, *x.shape[1:])  # sample i belongs to group i % (n // g)
        std = (groups.var(0, unbiased=False) + 1e-8).sqrt().flatten(1).mean(1)  # [n // g]
        return torch.cat([x, _as_channels(std.repeat(g).unsqueeze(1), x)], dim=1)


class MinibatchDiscrimination(nn.Module):
    """Minibatch discrimination (Salimans et al. 2016): features f(x_i) are projected by a tensor T to
    B kernels of dimension C, M_i in R^{B x C}; each kernel b contributes
    o_b(x_i) = sum_{j != i} exp(-||M_i,b - M_j,b||_1), appended as B extra channels."""

    def __init__(self, in_features: int, num_kernels: int, kernel_dim: int = 5):
        super().__init__()
        self.extra = num_kernels
        self.num_kernels, self.kernel_dim = num_kernels, kernel_dim
        self.T = nn.Parameter(torch.randn(in_features, num_kernels * kernel_dim) / math.sqrt(in_features))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        m = (x.flatten(1) @ self.T).view(len(x), self.num_kernels, self.kernel_dim).transpose(0, 1)
        distances = torch.cdist(m, m, p=1)  # [B, N, N]
        o = torch.exp(-distances).sum(2).t() - 1.0  # minus the j = i term, exp(0) = 1
        return torch.cat([x, _as_channels(o, x)], dim=1)

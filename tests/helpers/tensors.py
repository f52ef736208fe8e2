"""Small tensor helpers shared by tests."""

from __future__ import annotations

import torch


def flat_params(module: torch.nn.Module) -> torch.Tensor:
    """All of a module's parameters as one detached vector (for exact weight comparisons)."""
    return torch.cat([p.detach().flatten() for p in module.parameters()])


def random_outputs(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Float64 discriminator outputs for a real batch (scaled by 2) and a fake batch, from one seed."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, generator=g, dtype=torch.float64) * 2, torch.randn(
        n, generator=g, dtype=torch.float64
    )

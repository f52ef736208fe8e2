"""Small tensor helpers shared by tests."""

from __future__ import annotations

import torch


def flat_params(module: torch.nn.Module) -> torch.Tensor:
    """All of a module's parameters as one detached vector (for exact weight comparisons)."""
    return torch.cat([p.detach().flatten() for p in module.parameters()])


def state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    """A detached copy of a module's state_dict (weights and buffers), to compare before and after."""
    return {k: v.detach().clone() for k, v in module.state_dict().items()}


def changed(before: dict, after: dict, prefix: str) -> bool:
    """Whether any floating-point entry under ``prefix`` differs (asserting the prefix names some)."""
    keys = [k for k in before if k.startswith(prefix) and before[k].is_floating_point()]
    assert keys, prefix
    return any(not torch.equal(before[k], after[k]) for k in keys)


def random_outputs(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Float64 discriminator outputs for a real batch (scaled by 2) and a fake batch, from one seed."""
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, generator=g, dtype=torch.float64) * 2, torch.randn(
        n, generator=g, dtype=torch.float64
    )

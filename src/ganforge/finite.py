"""Finiteness checks shared by training, sampling and evaluation: NaN/Inf never pass silently.

Each check costs one pass over the tensors and one host synchronisation (the per-tensor flags are stacked
on the tensors' device and copied once), so callers run them at checkpoints and CLI boundaries, not per
training step.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import torch

from ganforge.errors import CheckpointError, EvaluationError


def nonfinite_names(named: Iterable[tuple[str, Any]]) -> list[str]:
    """Names of the floating-point tensors among ``named`` that hold a NaN or an infinity."""
    tensors = [(k, t) for k, t in named if torch.is_tensor(t) and t.is_floating_point() and t.numel()]
    by_device: dict[torch.device, list[tuple[str, torch.Tensor]]] = {}
    for k, t in tensors:
        by_device.setdefault(t.device, []).append((k, t))
    bad: list[str] = []
    for group in by_device.values():
        flags = torch.stack([torch.isfinite(t).all() for _, t in group]).tolist()
        bad += [k for (k, _), ok in zip(group, flags) if not ok]
    return bad


def networks_of(names: Iterable[str]) -> list[str]:
    """The top-level modules ("generator", "discriminator", ...) that state-dict keys belong to."""
    return sorted({name.split(".", 1)[0] for name in names})


def check_finite_weights(state_dict: Mapping[str, Any], path: Any) -> None:
    """Refuse a checkpoint whose weights (or buffers) hold NaN/Inf: its samples would be meaningless."""
    bad = nonfinite_names(state_dict.items())
    if bad:
        raise CheckpointError(
            f"Checkpoint {path} holds non-finite (NaN/Inf) weights in {', '.join(networks_of(bad))} "
            f"({len(bad)} tensor(s), e.g. {bad[0]}): the run that wrote it diverged, and samples from it "
            "would be NaN. Use an earlier checkpoint of the run (checkpoints/step_*.ckpt), or retrain after "
            "fixing the cause (a learning rate too high, an unconstrained critic, float16 overflow)."
        )


def check_finite_samples(samples: torch.Tensor, source: Any) -> None:
    """Refuse samples holding NaN/Inf instead of scoring them (a metric of NaN images means nothing)."""
    if not samples.is_floating_point() or not len(samples):
        return
    bad = int((~torch.isfinite(samples.reshape(len(samples), -1))).any(dim=1).sum())
    if bad:
        raise EvaluationError(
            f"{source}: {bad} of {len(samples)} samples ({100 * bad / len(samples):.3g}%) contain NaN or Inf "
            "values; refusing to score them. They come from a diverged generator or a broken export: "
            "evaluate an earlier checkpoint, or regenerate the samples."
        )

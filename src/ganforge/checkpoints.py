"""Reading ganforge checkpoints with clear errors, and checking a resume matches its run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ganforge.errors import CheckpointError
from ganforge.families.base import CHECKPOINT_KEY

# Sections whose change would make a resumed run a different experiment.
RESUME_MUST_MATCH = ("model", "data", "loss")


def load_checkpoint(path: str | Path) -> dict[str, Any]:
    path = Path(path).expanduser()
    if not path.is_file():
        raise CheckpointError(
            f"Checkpoint {path} does not exist. Pass ckpt=<run>/checkpoints/last.ckpt of a run."
        )
    try:
        ckpt = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means the file is unusable
        reason = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        raise CheckpointError(
            f"Checkpoint {path} cannot be read ({reason}). It is truncated, corrupt or not a ganforge "
            "checkpoint; use another one from the run's checkpoints/ folder (last.ckpt or step_*.ckpt)."
        ) from exc
    if not isinstance(ckpt, dict) or CHECKPOINT_KEY not in ckpt or "state_dict" not in ckpt:
        raise CheckpointError(
            f"{path} is not a ganforge checkpoint (no '{CHECKPOINT_KEY}' section); "
            "ganforge can only resume from or sample with checkpoints it wrote."
        )
    return ckpt


def _flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(tree, dict):
        out: dict[str, Any] = {}
        for k, v in tree.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: tree}


def check_resume_matches(ckpt: dict[str, Any], config: dict[str, Any], path: str | Path) -> None:
    saved = ckpt[CHECKPOINT_KEY].get("config") or {}
    diffs = []
    for section in RESUME_MUST_MATCH:
        a, b = _flatten(saved.get(section, {}), section), _flatten(config.get(section, {}), section)
        diffs += [
            f"{k}: {a.get(k)!r} -> {b.get(k)!r}" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)
        ]
    if diffs:
        raise CheckpointError(
            f"Cannot resume from {path}: the requested config differs from the run's in "
            f"{'; '.join(diffs[:8])}{' ...' if len(diffs) > 8 else ''}. Resume with the same model/data/loss "
            "overrides as the original run (only trainer.* may change), or start a new run without ckpt_path."
        )

"""Checks that every process holds the same weights after training (the point of DDP).

At the end of fit, each rank hashes the parameters and buffers of every network of both sides (for
single-network families ``generator`` and ``discriminator``); rank 0 writes them to ``replicas.json`` in
the run directory and a mismatch is logged as an error. It costs one
all_gather of a few strings, so it is always on for multi-process runs.
"""

from __future__ import annotations

import hashlib
import json
import logging
from pathlib import Path
from typing import Any

import lightning as L
import torch
import torch.distributed as dist

from ganforge.io import atomic_write_text

log = logging.getLogger(__name__)


def state_digest(module: torch.nn.Module, include_buffers: bool = False) -> str:
    """SHA-256 over a module's parameters (and optionally buffers), in name order."""
    h = hashlib.sha256()
    tensors = dict(module.named_parameters())
    if include_buffers:
        tensors.update(dict(module.named_buffers()))
    for name in sorted(tensors):
        h.update(name.encode())
        h.update(tensors[name].detach().cpu().contiguous().numpy().tobytes())
    return h.hexdigest()


class ReplicaConsistencyCheck(L.Callback):
    def __init__(self, run_dir: str | Path):
        self.run_dir = Path(run_dir)

    def on_train_end(self, trainer: L.Trainer, pl_module: Any) -> None:
        if trainer.world_size < 2 or not dist.is_available() or not dist.is_initialized():
            return
        sync_buffers = getattr(trainer.strategy, "sync_buffers", None)
        if callable(sync_buffers):
            sync_buffers()  # running statistics follow rank 0 (the strategy's own hook runs after callbacks)
        networks = pl_module.networks()
        mine = {
            "rank": trainer.global_rank,
            "gen_step": pl_module.gen_step,
            **{name: state_digest(net, include_buffers=True) for name, net in networks.items()},
        }
        gathered: list[Any] = [None] * trainer.world_size
        dist.all_gather_object(gathered, mine)
        if trainer.is_global_zero:
            in_sync = all(g[k] == gathered[0][k] for g in gathered for k in ("gen_step", *networks))
            report = {"in_sync": in_sync, "world_size": trainer.world_size, "ranks": gathered}
            atomic_write_text(self.run_dir / "replicas.json", json.dumps(report, indent=2))
            (log.info if in_sync else log.error)(
                "DDP replicas %s after %d generator steps",
                "identical" if in_sync else "DIFFER",
                pl_module.gen_step,
            )

"""Data-parallel GAN training on Lightning's DDP machinery, without the DistributedDataParallel wrapper.

Why not DDP's wrapper: a GAN training step runs two backward passes, each meant to update only one
network. Wrapped in DistributedDataParallel, Lightning's documented GAN pattern fails with "parameters
that were not used in producing the loss" (Lightning #20328, #20866, #19238); ``find_unused_parameters``
makes it run, but traverses the autograd graph and all-reduces both networks' buckets on every backward,
and ``static_graph`` fails because the graph alternates.

What this strategy does instead, keeping everything else of Lightning's DDP (process launch for
torchrun/SLURM/subprocess, process groups, rank-zero IO, barriers, collectives, SyncBatchNorm):
- at setup, every process copies rank 0's weights and buffers;
- before each optimizer step, the gradients of exactly that optimizer's parameters (all networks of the
  side it trains, ganforge.families.sides; frozen networks have none) are averaged across processes in
  one flattened all-reduce (under 16-bit AMP, on the scaled gradients: identical averages give every
  process the same overflow decision);
- BatchNorm layers normalise with each process's own batch (``hardware.sync_batchnorm=true`` converts
  them to SyncBatchNorm on GPUs); buffers (running statistics) are broadcast from rank 0 before every
  training step, as DDP's ``broadcast_buffers`` does, and by :meth:`GANDDPStrategy.sync_buffers` before
  anything that samples in eval mode, so every process generates exactly what rank 0 would.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

import torch
import torch.distributed as dist
from lightning.pytorch.overrides.distributed import _sync_module_states
from lightning.pytorch.strategies import DDPStrategy
from torch.distributed.distributed_c10d import _get_default_group
from torch.optim import Optimizer


def average_gradients(params: Iterable[torch.nn.Parameter], world_size: int) -> None:
    """Replace each parameter's gradient by its mean over all processes (one all-reduce)."""
    grads = [p.grad for p in params if p.grad is not None]
    if not grads or world_size < 2:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat.div_(world_size)
    offset = 0
    for g in grads:
        g.copy_(flat[offset : offset + g.numel()].view_as(g))
        offset += g.numel()


class GANDDPStrategy(DDPStrategy):
    strategy_name = "gan_ddp"

    def configure_ddp(self) -> None:
        # No DistributedDataParallel wrapper (see module docstring); start every replica from rank 0.
        _sync_module_states(self.model)

    def sync_buffers(self) -> None:
        """Copy rank 0's buffers (BatchNorm running statistics, EMA counters) to every process."""
        buffers = list(self.lightning_module.buffers())
        if buffers and self.world_size > 1:
            # DDP's own coalesced broadcast (what broadcast_buffers=True runs before each forward).
            dist._broadcast_coalesced(_get_default_group(), buffers, 256 * 1024 * 1024, 0)

    def training_step(self, *args: Any, **kwargs: Any) -> Any:
        self.sync_buffers()
        return super().training_step(*args, **kwargs)

    def on_train_end(self) -> None:
        self.sync_buffers()  # replicas end identical, buffers included
        super().on_train_end()

    def optimizer_step(
        self, optimizer: Optimizer, closure: Callable[[], Any], model: Any = None, **kwargs: Any
    ) -> Any:
        # Manual optimization: the backward has already run, so the gradients are ready to average.
        params = (p for group in optimizer.param_groups for p in group["params"])
        average_gradients(params, self.world_size)
        return super().optimizer_step(optimizer, closure, model, **kwargs)


# Strategy strings that would wrap the module in DDP, which fails for alternating G/D updates.
UNSAFE_STRATEGY_STRINGS = {
    "ddp",
    "ddp_spawn",
    "ddp_fork",
    "ddp_notebook",
    "ddp_find_unused_parameters_false",
    "ddp_spawn_find_unused_parameters_false",
}

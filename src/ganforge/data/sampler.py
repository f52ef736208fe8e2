"""Resumable, shardable batch sampling over in-memory datasets.

Lightning saves and restores any train dataloader that has ``state_dict``/``load_state_dict``. Resuming
mid-epoch then continues with exactly the batches a straight run would have drawn: every batch is a pure
function of (seed, epoch, position in the epoch), and the sampler skips the batches already consumed.

- :class:`ShuffledBatchSampler`: one source (fields drawn together, e.g. image + label, or paired lr + hr).
- :class:`IndependentBatchSampler`: several sources of different lengths, each drawn by its own shuffled
  stream with its own epochs (unpaired domains). Loader batch ``P = epoch * len + b`` (counted over the
  loader's epochs) takes batch ``P mod n_s`` of epoch ``P div n_s`` of source ``s`` (``n_s`` its batches
  per epoch): a position the loader's own (epoch, consumed) state already pins down, so resuming needs no
  per-source state.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

# Source s > 0 shuffles with seed + epoch + s * SOURCE_SEED_STRIDE, so its permutations differ from source
# 0's (seed + epoch, unchanged from the one-source sampler) for a million epochs.
SOURCE_SEED_STRIDE = 1_000_003


def _shard(num_samples: int, seed: int, rank: int, world_size: int) -> torch.Tensor:
    order = torch.randperm(num_samples, generator=torch.Generator().manual_seed(seed))
    return order[rank::world_size]


def _check_size(num_samples: int, batch_size: int, world_size: int, what: str = "the dataset") -> None:
    if batch_size * world_size > num_samples:
        raise ValueError(
            f"batch size {batch_size} x {world_size} process(es) exceeds the size {num_samples} of {what}"
        )


class EpochBatchSampler(Sampler[Any]):
    """Position bookkeeping shared by the samplers: epoch, batches consumed, resume point."""

    def __init__(self, num_batches: int, batch_size: int, seed: int, rank: int = 0, world_size: int = 1):
        self.num_batches = num_batches
        self.batch_size = batch_size
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.epoch = 0
        self.consumed = 0  # batches of the current epoch already handed to a training step
        self._resume: tuple[int, int] | None = None

    def __len__(self) -> int:
        return self.num_batches

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def batch(self, epoch: int, b: int) -> Any:
        """Batch ``b`` of ``epoch``: index tensor(s) into the dataset."""
        raise NotImplementedError

    def __iter__(self) -> Iterator[Any]:
        start = 0
        if self._resume is not None and self._resume[0] == self.epoch:
            start = self._resume[1]
        self._resume = None
        self.consumed = start
        epoch = self.epoch
        for b in range(start, len(self)):
            yield self.batch(epoch, b)

    def mark_consumed(self) -> None:
        self.consumed += 1

    def state_dict(self) -> dict[str, Any]:
        return {"epoch": self.epoch, "consumed": self.consumed}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._resume = (int(state["epoch"]), int(state["consumed"]))


class ShuffledBatchSampler(EpochBatchSampler):
    """Yields index tensors of full batches; each rank takes its own slice of the epoch's permutation."""

    def __init__(self, num_samples: int, batch_size: int, seed: int, rank: int = 0, world_size: int = 1):
        _check_size(num_samples, batch_size, world_size)
        super().__init__(num_samples // (batch_size * world_size), batch_size, seed, rank, world_size)
        self.num_samples = num_samples
        self._order: tuple[int, torch.Tensor] | None = None

    def batch(self, epoch: int, b: int) -> torch.Tensor:
        if self._order is None or self._order[0] != epoch:
            self._order = (epoch, _shard(self.num_samples, self.seed + epoch, self.rank, self.world_size))
        return self._order[1][b * self.batch_size : (b + 1) * self.batch_size]


class IndependentBatchSampler(EpochBatchSampler):
    """Yields a tuple of index tensors, one per source, each source shuffled and epoched on its own.

    One loader epoch is as many batches as the longest source has; shorter sources wrap around into their
    next epoch (a new permutation) meanwhile.
    """

    def __init__(self, sizes: Sequence[int], batch_size: int, seed: int, rank: int = 0, world_size: int = 1):
        for s, n in enumerate(sizes):
            _check_size(n, batch_size, world_size, f"source {s}")
        self.sizes = [int(n) for n in sizes]
        self.source_batches = [n // (batch_size * world_size) for n in self.sizes]
        super().__init__(max(self.source_batches), batch_size, seed, rank, world_size)
        self._orders: dict[int, tuple[int, torch.Tensor]] = {}

    def source_batch(self, source: int, position: int) -> torch.Tensor:
        """The ``position``-th batch (counted from the start of training) of one source."""
        epoch, b = divmod(position, self.source_batches[source])
        cached = self._orders.get(source)
        if cached is None or cached[0] != epoch:
            seed = self.seed + epoch + source * SOURCE_SEED_STRIDE
            cached = (epoch, _shard(self.sizes[source], seed, self.rank, self.world_size))
            self._orders[source] = cached
        return cached[1][b * self.batch_size : (b + 1) * self.batch_size]

    def batch(self, epoch: int, b: int) -> tuple[torch.Tensor, ...]:
        position = epoch * len(self) + b
        return tuple(self.source_batch(s, position) for s in range(len(self.sizes)))


class ResumableDataLoader(DataLoader):
    """A DataLoader over pre-batched indices whose position Lightning checkpoints."""

    def __init__(self, dataset: Dataset, batch_sampler: EpochBatchSampler, num_workers: int = 0):
        # batch_size=None: the sampler already yields whole index batches, which the dataset slices in one
        # tensor op. Our own generator keeps DataLoader from drawing its base seed from the global RNG.
        super().__init__(
            dataset,
            batch_size=None,
            sampler=batch_sampler,
            num_workers=num_workers,
            generator=torch.Generator().manual_seed(batch_sampler.seed),
            persistent_workers=num_workers > 0,
        )
        self.batch_sampler_state = batch_sampler

    def state_dict(self) -> dict[str, Any]:
        return self.batch_sampler_state.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.batch_sampler_state.load_state_dict(state)

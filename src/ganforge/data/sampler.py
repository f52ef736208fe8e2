"""Resumable, shardable batch sampling over an in-memory dataset.

Lightning saves and restores any train dataloader that has ``state_dict``/``load_state_dict``. Resuming
mid-epoch then continues with exactly the batches a straight run would have drawn: the permutation of an
epoch depends only on (seed, epoch), and the sampler skips the batches already consumed.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import torch
from torch.utils.data import DataLoader, Dataset, Sampler

from ganforge.errors import DatasetError


class ShuffledBatchSampler(Sampler[torch.Tensor]):
    """Yields index tensors of full batches; each rank takes its own slice of the epoch's permutation."""

    def __init__(self, num_samples: int, batch_size: int, seed: int, rank: int = 0, world_size: int = 1):
        if batch_size * world_size > num_samples:
            fix = (
                f"Lower data.batch_size to at most {num_samples // world_size}, or add samples"
                if num_samples >= world_size
                else "Add samples"
            )
            raise DatasetError(
                f"The training set has {num_samples} sample(s), fewer than one batch: data.batch_size="
                f"{batch_size} x {world_size} process(es) = {batch_size * world_size}. {fix} (for "
                "data=folder, more images under data.loader.path)."
            )
        self.num_samples = num_samples
        self.batch_size = batch_size
        self.seed = seed
        self.rank = rank
        self.world_size = world_size
        self.epoch = 0
        self.consumed = 0  # batches of the current epoch already handed to a training step
        self._resume: tuple[int, int] | None = None

    def __len__(self) -> int:
        return self.num_samples // (self.batch_size * self.world_size)

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self) -> Iterator[torch.Tensor]:
        start = 0
        if self._resume is not None and self._resume[0] == self.epoch:
            start = self._resume[1]
        self._resume = None
        self.consumed = start
        order = torch.randperm(
            self.num_samples, generator=torch.Generator().manual_seed(self.seed + self.epoch)
        )
        shard = order[self.rank :: self.world_size]
        for b in range(start, len(self)):
            yield shard[b * self.batch_size : (b + 1) * self.batch_size]

    def mark_consumed(self) -> None:
        self.consumed += 1

    def state_dict(self) -> dict[str, Any]:
        return {"epoch": self.epoch, "consumed": self.consumed}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self._resume = (int(state["epoch"]), int(state["consumed"]))


class ResumableDataLoader(DataLoader):
    """A DataLoader over pre-batched indices whose position Lightning checkpoints."""

    def __init__(self, dataset: Dataset, batch_sampler: ShuffledBatchSampler, num_workers: int = 0):
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

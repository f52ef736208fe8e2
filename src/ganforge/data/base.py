"""Base LightningDataModule for datasets held in memory as tensors."""

from __future__ import annotations

from abc import abstractmethod
from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch.utils.data import Dataset

from ganforge.data.sampler import ResumableDataLoader, ShuffledBatchSampler


class TensorPairs(Dataset):
    """(samples, labels) indexed by a whole batch of indices at once."""

    def __init__(self, samples: torch.Tensor, labels: torch.Tensor):
        self.samples = samples
        self.labels = labels

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, index: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.samples[index], self.labels[index]


class InMemoryDataModule(L.LightningDataModule):
    """Loads a split once into memory; batches are index slices, converted to model space on device.

    Subclasses say how to load a split (:meth:`load_split`), how stored samples map into the model's
    value space (:meth:`to_model_space`) and how to draw generated samples (:meth:`render`).
    """

    def __init__(
        self,
        name: str,
        shape: list[int],
        batch_size: int = 64,
        num_workers: int = 0,
        root: str = "data",
        num_classes: int | None = None,
        seed: int = 0,
        bounded: bool = True,
    ):
        super().__init__()
        self.name = name
        self.shape = tuple(int(s) for s in shape)
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.root = Path(root)
        self.num_classes = num_classes
        self.seed = seed
        self.bounded = bounded
        self.train_set: TensorPairs | None = None
        self._sampler: ShuffledBatchSampler | None = None

    @abstractmethod
    def load_split(self, split: str) -> tuple[torch.Tensor, torch.Tensor]:
        """Return (samples, int64 labels) of a split ("train" or "test")."""

    @abstractmethod
    def to_model_space(self, samples: torch.Tensor) -> torch.Tensor:
        """Map stored samples (e.g. uint8 images) to the float tensors the networks see."""

    @abstractmethod
    def render(self, samples: torch.Tensor, path: Path, nrow: int | None = None) -> None:
        """Write a picture of generated samples (model space) to ``path``."""

    def setup(self, stage: str | None = None) -> None:
        if self.train_set is None:
            self.train_set = TensorPairs(*self.load_split("train"))

    def train_dataloader(self) -> ResumableDataLoader:
        assert self.train_set is not None, "setup() must run first"
        rank, world = (self.trainer.global_rank, self.trainer.world_size) if self.trainer else (0, 1)
        self._sampler = ShuffledBatchSampler(len(self.train_set), self.batch_size, self.seed, rank, world)
        return ResumableDataLoader(self.train_set, self._sampler, self.num_workers)

    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        samples, labels = batch
        if self.trainer is not None and self.trainer.training and self._sampler is not None:
            self._sampler.mark_consumed()
        return self.to_model_space(samples), labels

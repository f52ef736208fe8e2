"""The evaluator classifier as a LightningModule: cross-entropy with Adam and a one-cycle schedule, random
shifts of small training sets (translations of images, time shifts of clips), and top-1 accuracy of each
test dataloader (torchmetrics).

ganforge.metrics.train_classifier builds the data and the Trainer around it; the network itself is
ganforge.metrics.extractors' (what load_classifier rebuilds from the saved file).
"""

from __future__ import annotations

from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics.classification import MulticlassAccuracy

from ganforge.metrics.audio_classifier import random_time_shift
from ganforge.metrics.extractors import prepare_samples

# Names of the test dataloaders' accuracies, in the order train_classifier passes them to trainer.test.
ACCURACY_NAMES = ("test_accuracy", "train_accuracy")


def random_shift(x: torch.Tensor, max_shift: float, generator: torch.Generator) -> torch.Tensor:
    """Random translations of up to ``max_shift`` pixels (bilinear, border padding), one per image."""
    n, _, h, w = x.shape
    # Drawn on the CPU from a seeded generator, so a run's shifts are the same on every device.
    offsets = (torch.rand(n, 2, generator=generator) * 2 - 1) * max_shift * 2 / torch.tensor([w, h])
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = theta[:, 1, 1] = 1.0
    theta[:, :, 2] = offsets
    grid = F.affine_grid(theta.to(x.device), list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, align_corners=False, padding_mode="border")


class ClassifierModule(L.LightningModule):
    """Trains ``net`` (features, logits) = net(x) on storage-space batches (uint8 images or float points)."""

    def __init__(
        self,
        net: nn.Module,
        shape: list[int],
        num_classes: int,
        lr: float,
        weight_decay: float,
        total_steps: int,
        augment_shift: float,
        seed: int,
    ):
        super().__init__()
        self.net = net
        self.shape = [int(s) for s in shape]
        self.lr, self.weight_decay, self.total_steps = lr, weight_decay, total_steps
        self.augment_shift = augment_shift if len(shape) in (2, 3) else 0.0  # points are not shifted
        # A stream of its own (not the sampler's), offset so the two seeds do not draw the same numbers.
        self.shift_generator = torch.Generator().manual_seed(seed + 1)
        self.accuracies = nn.ModuleList(
            MulticlassAccuracy(num_classes, average="micro") for _ in ACCURACY_NAMES
        )

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> torch.Tensor:
        samples, labels = batch
        x = prepare_samples(samples, self.shape)  # as the metrics convert samples
        if self.augment_shift > 0 and len(self.shape) == 3:
            x = random_shift(x, self.augment_shift, self.shift_generator)
        elif self.augment_shift > 0:  # clips: up to augment_shift spectrogram frames (hops) either way
            x = random_time_shift(x, self.augment_shift, self.shift_generator)
        _, logits = self.net(x)
        loss = F.cross_entropy(logits, labels)
        self.log("loss", loss, prog_bar=True, logger=False)
        return loss

    def test_step(
        self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int, dataloader_idx: int = 0
    ) -> None:
        samples, labels = batch
        _, logits = self.net(prepare_samples(samples, self.shape))
        accuracy = self.accuracies[dataloader_idx]
        accuracy.update(logits, labels)
        self.log(ACCURACY_NAMES[dataloader_idx], accuracy, add_dataloader_idx=False, logger=False)

    def configure_optimizers(self) -> dict[str, Any]:
        optimizer = torch.optim.Adam(self.net.parameters(), lr=self.lr, weight_decay=self.weight_decay)
        scheduler = torch.optim.lr_scheduler.OneCycleLR(
            optimizer, max_lr=self.lr, total_steps=self.total_steps
        )
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": scheduler, "interval": "step"}}

"""Image datasets: decoded once to uint8 tensors, resized once, scaled to [-1, 1] on the device."""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F

from ganforge.data.base import InMemoryDataModule
from ganforge.data.render import save_image_grid
from ganforge.data.sources import Loader
from ganforge.errors import ConfigError


def fit_images(images: torch.Tensor, image_size: int, channels: int) -> torch.Tensor:
    """Resize uint8 images [N, C, H, W] to a square ``image_size`` and convert to ``channels``."""
    if channels not in (1, 3):
        raise ConfigError(f"data.channels={channels} is not supported; use 1 (grayscale) or 3 (RGB).")
    if images.shape[1] == 1 and channels == 3:
        images = images.expand(-1, 3, -1, -1)
    elif images.shape[1] == 3 and channels == 1:
        weights = torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)
        images = (images.float() * weights).sum(1, keepdim=True).round().clamp(0, 255).to(torch.uint8)
    if images.shape[-2:] != (image_size, image_size):
        out = []
        for chunk in images.split(4096):  # bounded memory for large datasets
            resized = F.interpolate(
                chunk.float(), size=(image_size, image_size), mode="bilinear", antialias=True
            )
            out.append(resized.round().clamp(0, 255).to(torch.uint8))
        images = torch.cat(out)
    return images.contiguous()


class ImageDataModule(InMemoryDataModule):
    def __init__(self, loader: Loader, image_size: int, channels: int, **kwargs):
        super().__init__(**kwargs)
        self.loader = loader
        self.image_size = image_size
        self.channels = channels

    def load_split(self, split: str) -> tuple[torch.Tensor, torch.Tensor]:
        images, labels = self.loader(root=self.root, split=split)
        return fit_images(images, self.image_size, self.channels), labels

    def to_model_space(self, samples: torch.Tensor) -> torch.Tensor:
        return samples.float().div_(127.5).sub_(1.0)

    def render(self, samples: torch.Tensor, path: Path, nrow: int | None = None) -> None:
        save_image_grid(samples, path, nrow)

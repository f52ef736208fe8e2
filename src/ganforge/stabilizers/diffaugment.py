"""DiffAugment (Zhao et al. 2020, "Differentiable Augmentation for Data-Efficient GAN Training").

The same random, differentiable augmentations are applied to real and generated images every time D
sees them (D's and G's updates alike), so D cannot memorise a small training set while G still receives
gradients through the augmentation. Policies follow the authors' reference implementation
(mit-han-lab/data-efficient-gans, DiffAugment_pytorch.py): color (brightness, saturation, contrast),
translation (up to 1/8 of the image, zero padded) and cutout (a square of half the image side).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

from ganforge.errors import ConfigError


def _rand(x: torch.Tensor) -> torch.Tensor:
    return torch.rand(x.size(0), 1, 1, 1, dtype=x.dtype, device=x.device)


def rand_brightness(x: torch.Tensor) -> torch.Tensor:
    return x + (_rand(x) - 0.5)


def rand_saturation(x: torch.Tensor) -> torch.Tensor:
    mean = x.mean(dim=1, keepdim=True)
    return (x - mean) * (_rand(x) * 2) + mean


def rand_contrast(x: torch.Tensor) -> torch.Tensor:
    mean = x.mean(dim=[1, 2, 3], keepdim=True)
    return (x - mean) * (_rand(x) + 0.5) + mean


def rand_translation(x: torch.Tensor, ratio: float = 0.125) -> torch.Tensor:
    n, _, h, w = x.shape
    sh, sw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    tx = torch.randint(-sh, sh + 1, size=[n, 1, 1], device=x.device)
    ty = torch.randint(-sw, sw + 1, size=[n, 1, 1], device=x.device)
    gb, gx, gy = torch.meshgrid(
        torch.arange(n, device=x.device),
        torch.arange(h, device=x.device),
        torch.arange(w, device=x.device),
        indexing="ij",
    )
    gx = torch.clamp(gx + tx + 1, 0, h + 1)
    gy = torch.clamp(gy + ty + 1, 0, w + 1)
    padded = F.pad(x, [1, 1, 1, 1, 0, 0, 0, 0])
    return padded.permute(0, 2, 3, 1).contiguous()[gb, gx, gy].permute(0, 3, 1, 2)


def rand_cutout(x: torch.Tensor, ratio: float = 0.5) -> torch.Tensor:
    n, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    ox = torch.randint(0, h + (1 - ch % 2), size=[n, 1, 1], device=x.device)
    oy = torch.randint(0, w + (1 - cw % 2), size=[n, 1, 1], device=x.device)
    gb, gx, gy = torch.meshgrid(
        torch.arange(n, device=x.device),
        torch.arange(ch, device=x.device),
        torch.arange(cw, device=x.device),
        indexing="ij",
    )
    gx = torch.clamp(gx + ox - ch // 2, min=0, max=h - 1)
    gy = torch.clamp(gy + oy - cw // 2, min=0, max=w - 1)
    mask = torch.ones(n, h, w, dtype=x.dtype, device=x.device)
    mask[gb, gx, gy] = 0
    return x * mask.unsqueeze(1)


POLICIES: dict[str, list[Callable[[torch.Tensor], torch.Tensor]]] = {
    "color": [rand_brightness, rand_saturation, rand_contrast],
    "translation": [rand_translation],
    "cutout": [rand_cutout],
}


class DiffAugment:
    def __init__(self, policies: Sequence[str]):
        unknown = sorted(set(policies) - set(POLICIES))
        if unknown:
            raise ConfigError(
                f"model.stabilizers.diffaugment={list(policies)}: unknown policies {unknown}; "
                f"allowed values: {list(POLICIES)}."
            )
        self.policies = list(policies)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4:
            raise ConfigError(
                f"model.stabilizers.diffaugment={self.policies} augments images, but the samples have shape "
                f"{list(x.shape[1:])}. Use image data or set model.stabilizers.diffaugment=[]."
            )
        for policy in self.policies:
            for fn in POLICIES[policy]:
                x = fn(x)
        return x

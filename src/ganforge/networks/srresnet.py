"""SRResNet, the generator of SRGAN (Ledig et al. 2017, Fig. 4), for ×2, ×4 and ×8 super-resolution.

    9x9 conv(width) + PReLU
    B residual blocks: 3x3 conv, BN, PReLU, 3x3 conv, BN, + skip
    3x3 conv, BN, + long skip (from the first PReLU)
    log2(scale) upsampling stages: 3x3 conv to 4*width, PixelShuffle(2), PReLU
    9x9 conv to C channels

Output: linear (no tanh), as in the paper's figure and in mmagic's MSRResNet. Targets are HR images in
[-1, 1]; a linear output gets the full MSE gradient everywhere, where a tanh saturates exactly on the
flat black/white backgrounds (-1 / +1) that Fashion-MNIST is full of. In training mode the raw output is
returned (the content loss and D see it); in eval mode (sampling, upscaling, metrics) it is clamped to
[-1, 1], which can only move a pixel closer to any target in that range.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ganforge.errors import ConfigError

SCALES = (2, 4, 8)


def check_scale(scale: int | None) -> int:
    """The number of ×2 pixel-shuffle stages for ``scale``, or a ConfigError."""
    if scale is None:  # the model configs read data.scale, which only paired SR data has
        raise ConfigError(
            "SRResNet needs the scale factor of paired super-resolution data (data.scale), and this data has "
            "none: use data=paired_sr_fashion_mnist, paired_sr_photos, paired_sr (any image source or "
            "folder) or paired_sr_div2k."
        )
    if scale not in SCALES:
        raise ConfigError(
            f"scale={scale} is not supported by SRResNet, which upsamples by ×2 pixel-shuffle stages: "
            f"use one of {list(SCALES)} (data.scale and the generator's scale must agree)."
        )
    return int(math.log2(scale))


class ResidualBlock(nn.Module):
    """3x3 conv, BN, activation, 3x3 conv, BN, plus the identity (He et al. 2016): PReLU inside as in
    SRResNet; StackGAN's Stage-II passes ``activation=ReLU`` and ``after_sum=ReLU`` (its authors' block)."""

    def __init__(
        self, width: int, activation: type[nn.Module] | None = None, after_sum: nn.Module | None = None
    ):
        super().__init__()
        # Convolutions followed by BatchNorm carry no bias: BN's shift makes it redundant.
        self.body = nn.Sequential(
            nn.Conv2d(width, width, 3, 1, 1, bias=False),
            nn.BatchNorm2d(width),
            nn.PReLU(width) if activation is None else activation(),
            nn.Conv2d(width, width, 3, 1, 1, bias=False),
            nn.BatchNorm2d(width),
        )
        self.after_sum = after_sum or nn.Identity()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.after_sum(x + self.body(x))


class SRResNet(nn.Module):
    """LR images [N, C, h, w] (model space [-1, 1]) -> SR images [N, C, scale*h, scale*w].

    ``width`` (64 in the paper) and ``num_blocks`` (B = 16) can be lowered for small data; PReLUs are
    channel-wise (He et al. 2015's default).
    """

    def __init__(self, channels: int = 3, scale: int = 4, width: int = 64, num_blocks: int = 16):
        super().__init__()
        stages = check_scale(scale)
        if channels < 1 or width < 1 or num_blocks < 0:
            raise ConfigError(
                f"SRResNet needs channels >= 1, width >= 1 and num_blocks >= 0; got channels={channels}, "
                f"width={width}, num_blocks={num_blocks}."
            )
        self.channels = channels
        self.scale = scale
        self.head = nn.Sequential(nn.Conv2d(channels, width, 9, 1, 4), nn.PReLU(width))
        self.blocks = nn.Sequential(*(ResidualBlock(width) for _ in range(num_blocks)))
        self.trunk_end = nn.Sequential(nn.Conv2d(width, width, 3, 1, 1, bias=False), nn.BatchNorm2d(width))
        upsampling: list[nn.Module] = []
        for _ in range(stages):
            # Sub-pixel convolution (Shi et al. 2016), not a transposed convolution: no checkerboard.
            upsampling += [nn.Conv2d(width, 4 * width, 3, 1, 1), nn.PixelShuffle(2), nn.PReLU(width)]
        self.upsample = nn.Sequential(*upsampling)
        self.tail = nn.Conv2d(width, channels, 9, 1, 4)

    def forward(self, lr: torch.Tensor) -> torch.Tensor:
        if lr.dim() != 4 or lr.shape[1] != self.channels:
            raise ConfigError(
                f"SRResNet was built for {self.channels}-channel images [N, C, h, w]; got {list(lr.shape)}."
            )
        features = self.head(lr)
        out = self.tail(self.upsample(features + self.trunk_end(self.blocks(features))))
        return out if self.training else out.clamp(-1.0, 1.0)

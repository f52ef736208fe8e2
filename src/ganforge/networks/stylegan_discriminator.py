"""StyleGAN / ProGAN discriminator: the generator mirrored, with equalized learning rate.

Per resolution r (target down to 8) a 1x1 fromRGB and a block of two 3x3 convs (LeakyReLU 0.2) followed
by 2x2 average pooling; the 4x4 block is minibatch standard deviation (ganforge.stabilizers.minibatch),
a 3x3 conv, a dense layer and the one-logit head.

Progressive growing: :meth:`StyleDiscriminator.set_growth` selects the resolution it reads. Inputs come at
the data's size (what the generator always outputs) and are average-pooled to the current resolution;
while fading in, the new block's output is blended with the previous resolution's fromRGB of the
2x-pooled input: ``lerp(fromRGB_{r/2}(pool(x)), block_r(fromRGB_r(x)), alpha)`` (ProGAN figure 2).
``features(x)`` is the 4x4 block's dense output, which feature matching compares.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.networks.equalized import EqualizedConv2d, EqualizedLinear
from ganforge.networks.stylegan import channels_at, check_growth, resolve_resolution
from ganforge.stabilizers.minibatch import MinibatchStdDev


class DownBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.conv0 = EqualizedConv2d(c_in, c_in, 3)
        self.conv1 = EqualizedConv2d(c_in, c_out, 3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.leaky_relu(self.conv0(x), 0.2)
        x = F.leaky_relu(self.conv1(x), 0.2)
        return F.avg_pool2d(x, 2)


class StyleDiscriminator(nn.Module):
    def __init__(
        self,
        data_shape: Sequence[int],
        channel_base: int = 8192,
        channel_max: int = 512,
        mbstd_group: int = 4,
    ):
        super().__init__()
        self.channels, self.target_resolution = resolve_resolution(data_shape)
        self.resolutions = [4 * 2**k for k in range(self.target_resolution.bit_length() - 2)]
        width = [channels_at(r, channel_base, channel_max) for r in self.resolutions]
        self.from_rgb = nn.ModuleList(EqualizedConv2d(self.channels, c, 1) for c in width)
        # blocks[k] takes resolution 4 * 2^k to 2^(k+1); blocks[0] is unused (the 4x4 block is the head)
        self.blocks = nn.ModuleList(
            [nn.Identity()] + [DownBlock(width[k], width[k - 1]) for k in range(1, len(width))]
        )
        self.mbstd = MinibatchStdDev(mbstd_group)
        self.conv4 = EqualizedConv2d(width[0] + MinibatchStdDev.extra, width[0], 3)
        self.dense = EqualizedLinear(width[0] * 16, width[0])
        self.head = EqualizedLinear(width[0], 1, gain=1.0)
        self.resolution, self.alpha = self.target_resolution, 1.0

    def set_growth(self, resolution: int, alpha: float = 1.0) -> None:
        check_growth(int(resolution), float(alpha), self.target_resolution)
        self.resolution, self.alpha = int(resolution), float(alpha)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] != self.resolution:
            x = F.avg_pool2d(x, x.shape[-1] // self.resolution)
        top = self.resolutions.index(self.resolution)
        h = F.leaky_relu(self.from_rgb[top](x), 0.2)
        if top > 0:
            h = self.blocks[top](h)
            if self.alpha < 1.0:
                low = F.leaky_relu(self.from_rgb[top - 1](F.avg_pool2d(x, 2)), 0.2)
                h = torch.lerp(low, h, self.alpha)
        for k in range(top - 1, 0, -1):
            h = self.blocks[k](h)
        h = F.leaky_relu(self.conv4(self.mbstd(h)), 0.2)
        return F.leaky_relu(self.dense(h.flatten(1)), 0.2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x)).flatten()

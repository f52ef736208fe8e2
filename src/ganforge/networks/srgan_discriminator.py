"""SRGAN's discriminator (Ledig et al. 2017, Fig. 4): a VGG-style stack of eight 3x3 convolutions.

    conv w (s1), LReLU                          no BatchNorm on the first layer
    conv w (s2), BN, LReLU    conv 2w (s1) ...  widths w, w, 2w, 2w, 4w, 4w, 8w, 8w (w = 64: 64 -> 512),
    ...                                         stride 2 on every second layer
    Dense(1024), LReLU(0.2), Dense(1)           one logit per image; the family applies the loss

Any HR size: the paper flattens the 6x6x512 map of a 96x96 crop into Dense(1024). Here an adaptive
average pool to ceil(H / 16) x ceil(W / 16), the map size the configured HR shape gives after four
stride-2 convolutions, sits before the dense layers. For the configured size it is the identity (the
paper's network exactly: 6x6 for 96x96, 2x2 for 28x28); other sizes (full test images) still work.

It is a :class:`~ganforge.networks.discriminator.FeatureDiscriminator` (features = everything up to the
1024-d layer, head = Dense(1)), so the shared stabilisers (spectral norm, minibatch layers, feature
matching) apply to it as to every other discriminator.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from torch import nn

from ganforge.errors import ConfigError
from ganforge.networks.discriminator import FeatureDiscriminator


def _conv_block(c_in: int, c_out: int, stride: int, norm: bool) -> list[nn.Module]:
    # A convolution followed by BatchNorm carries no bias (BN's shift makes it redundant).
    layers: list[nn.Module] = [nn.Conv2d(c_in, c_out, 3, stride, 1, bias=not norm)]
    if norm:
        layers.append(nn.BatchNorm2d(c_out))
    layers.append(nn.LeakyReLU(0.2, inplace=True))
    return layers


class SRGANDiscriminator(FeatureDiscriminator):
    """HR images [N, C, H, W] in [-1, 1] -> logits [N]."""

    def __init__(self, data_shape: Sequence[int], base_width: int = 64, dense_width: int = 1024):
        super().__init__(data_shape)
        if len(self.data_shape) != 3:
            raise ConfigError(
                f"The SRGAN discriminator scores images [C, H, W]; got a sample shape {list(data_shape)}."
            )
        if base_width < 1 or dense_width < 1:
            raise ConfigError(
                f"SRGAN discriminator widths must be >= 1; got base_width={base_width}, "
                f"dense_width={dense_width}."
            )
        channels, height, width = self.data_shape
        widths = [base_width * m for m in (1, 1, 2, 2, 4, 4, 8, 8)]
        layers: list[nn.Module] = []
        c_in = channels
        for i, c_out in enumerate(widths):
            layers += _conv_block(c_in, c_out, stride=1 + i % 2, norm=i > 0)
            c_in = c_out
        # 3x3 stride-2 convolutions with padding 1 map n to ceil(n / 2); four of them: ceil(n / 16).
        pooled = (math.ceil(height / 16), math.ceil(width / 16))
        layers += [
            nn.AdaptiveAvgPool2d(pooled),
            nn.Flatten(),
            nn.Linear(c_in * pooled[0] * pooled[1], dense_width),
            nn.LeakyReLU(0.2, inplace=True),
        ]
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(dense_width, 1)

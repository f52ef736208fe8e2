"""PatchGAN discriminator (Isola et al. 2017; CycleGAN's D): one real/fake logit per overlapping patch.

    C64 - C128 - C256 - C512 - conv to 1 channel        (n_layers = 3: the 70x70 PatchGAN)

``Ck``: 4x4 convolution with k filters, instance norm, LeakyReLU(0.2); no norm on the first layer; stride 2
for the first ``n_layers`` convolutions, stride 1 for the last ``Ck`` and the 1-channel output; widths
double up to ``8 * ndf``. Each output logit sees a square of the input whose side (the receptive field)
grows with ``n_layers``:

    ==========  ================  ============================  ==================================
    n_layers    receptive field   output map for 256 / 32 / 28  use
    ==========  ================  ============================  ==================================
    1           16 x 16           126 / 14 / 12                 28-64 px images (ganforge's choice)
    2           34 x 34           62 / 6 / 5                    ~128 px images
    3           70 x 70           30 / 2 / 1                    256 px images (the paper)
    4           142 x 142         14 / - / -                    512 px images
    ==========  ================  ============================  ==================================

On 256x256 images the paper's 70x70 patch is ~27% of the side. :func:`layers_for_image_size` keeps that
ratio as closely as the layer count allows, which gives n_layers = 1 (16x16 patches, about half the side)
for 28x28 and 32x32 images: with 2 or more layers every logit would see the whole digit, turning the
PatchGAN into a global image discriminator, whereas the point of the patch is to judge local texture
(stroke style) and leave content to the cycle-consistency loss. Try n_layers = 2 as the stronger variant.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm as apply_spectral_norm

from ganforge.errors import ConfigError
from ganforge.networks.discriminator import FeatureDiscriminator
from ganforge.networks.init import dcgan_init
from ganforge.networks.resnet_generator import norm_layer

PAPER_PATCH_FRACTION = 70 / 256  # the 70x70 PatchGAN on 256x256 images


def _layer_specs(n_layers: int) -> list[tuple[int, int]]:
    """(kernel, stride) of every convolution, input to output."""
    return [(4, 2)] * n_layers + [(4, 1), (4, 1)]


def patchgan_receptive_field(n_layers: int) -> int:
    """Side of the input square each output logit depends on: 16, 34, 70, 142 for 1..4 layers."""
    if n_layers < 1:
        raise ConfigError(f"PatchGAN n_layers={n_layers} must be >= 1.")
    field = 1
    for kernel, stride in reversed(_layer_specs(n_layers)):
        field = (field - 1) * stride + kernel
    return field


def patchgan_output_size(size: int, n_layers: int) -> int:
    """Side of the logit map for an input side ``size`` (every convolution pads by 1)."""
    for kernel, stride in _layer_specs(n_layers):
        size = (size + 2 - kernel) // stride + 1
    return size


def layers_for_image_size(size: int) -> int:
    """The n_layers whose receptive field is nearest (in log scale) to the paper's 70/256 of the side."""
    target = PAPER_PATCH_FRACTION * size
    candidates = [n for n in range(1, 8) if patchgan_output_size(size, n) >= 1] or [1]
    return min(candidates, key=lambda n: abs(math.log(patchgan_receptive_field(n) / target)))


class PatchGANDiscriminator(FeatureDiscriminator):
    """[N, C, H, W] images -> [N, 1, h, w] patch logits (raw scores; the loss applies any sigmoid).

    ``n_layers=None`` picks :func:`layers_for_image_size` of the data (1 for 28-32 px, 3 for 256 px).

    ``features`` is every layer before the final 1-channel convolution (``head``), so ganforge's feature
    matching, spectral norm and minibatch layers work on it as on the other discriminators.
    """

    def __init__(
        self,
        data_shape: Sequence[int],
        ndf: int = 64,
        n_layers: int | None = 3,
        norm: str = "instance",
        spectral_norm: bool = False,
    ):
        super().__init__(data_shape)
        if len(self.data_shape) != 3:
            raise ConfigError(
                "The PatchGAN discriminator scores images, but the data has samples of shape "
                f"{list(data_shape)}."
            )
        channels, height, width = self.data_shape
        if n_layers is None:  # the paper's patch-to-image ratio for this image size
            n_layers = layers_for_image_size(min(height, width))
        field = patchgan_receptive_field(n_layers)
        if min(patchgan_output_size(height, n_layers), patchgan_output_size(width, n_layers)) < 1:
            raise ConfigError(
                f"A PatchGAN with n_layers={n_layers} ({field}x{field} patches) leaves no output for "
                f"{height}x{width} images. Use n_layers={layers_for_image_size(min(height, width))} for "
                "this size."
            )
        self.n_layers = n_layers
        self.receptive_field = field

        def conv(c_in: int, c_out: int, stride: int, bias: bool = True) -> nn.Module:
            return nn.Conv2d(c_in, c_out, 4, stride, 1, bias=bias)

        bias = norm == "none"  # a bias before a normalisation is cancelled by it
        layers: list[nn.Module] = [conv(channels, ndf, 2), nn.LeakyReLU(0.2, True)]
        width_ = ndf
        for n in range(1, n_layers + 1):
            stride = 2 if n < n_layers else 1
            out = ndf * min(2**n, 8)
            layers += [conv(width_, out, stride, bias), norm_layer(norm, out), nn.LeakyReLU(0.2, True)]
            width_ = out
        self.features = nn.Sequential(*layers)
        self.head = conv(width_, 1, 1)
        self.apply(dcgan_init)
        if spectral_norm:
            # After the init: spectral norm reparametrises the weight, and an in-place init of the
            # parametrised weight would write into a temporary and change nothing.
            for module in self.modules():
                if isinstance(module, nn.Conv2d):
                    apply_spectral_norm(module)

    def classify(self, h: torch.Tensor) -> torch.Tensor:
        """The logit map of features ``h``: [N, 1, h, w] (the base class flattens; patches keep places)."""
        return self.head(self.minibatch(h))

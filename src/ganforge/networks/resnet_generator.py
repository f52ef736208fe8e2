"""The ResNet image-to-image generator of Johnson et al. (2016) as CycleGAN uses it (Zhu et al. 2017).

    c7s1-ngf, d(2 ngf), d(4 ngf), R(4 ngf) x n_blocks, u(2 ngf), u(ngf), c7s1-out, tanh

``c7s1-k``: reflection pad 3, 7x7 convolution with k filters, stride 1, instance norm, ReLU; ``dk``: 3x3
convolution, stride 2, instance norm, ReLU; ``Rk``: residual block of two reflection-padded 3x3
convolutions with instance norm (ReLU between them, none after the sum); ``uk``: 3x3 fractionally strided
convolution, stride 1/2, instance norm, ReLU. The paper uses 6 blocks for 128x128 training images and 9 for
256x256 and larger.

A stride-2 convolution (kernel 3, padding 1) maps a side ``s`` to ``ceil(s / 2)`` and each upsampling
doubles it, so the output has the input's size exactly when the side is divisible by
``2 ** n_downsampling``: 28 -> 14 -> 7 -> 14 -> 28 with two samplings, while 28 with three would come back
as 32. Such sizes are refused up front with a ConfigError.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ganforge.errors import ConfigError
from ganforge.networks.init import dcgan_init

NORMS = ("instance", "batch", "none")
UPSAMPLINGS = ("transpose", "resize")


def norm_layer(kind: str, channels: int) -> nn.Module:
    """CycleGAN's normalisations: instance norm without affine parameters (the authors'), batch norm."""
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=False, track_running_stats=False)
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "none":
        return nn.Identity()
    raise ConfigError(f"norm={kind!r} is unknown; allowed values: {list(NORMS)}.")


def resnet_output_size(size: int, n_downsampling: int) -> int:
    """The side a ResnetGenerator returns for an input side ``size``."""
    for _ in range(n_downsampling):
        size = (size + 1) // 2  # (size + 2*1 - 3) // 2 + 1
    return size * 2**n_downsampling


def check_resnet_size(height: int, width: int, n_downsampling: int) -> None:
    """Raise ConfigError unless the generator returns images of the input's size."""
    factor = 2**n_downsampling
    if height % factor or width % factor:
        raise ConfigError(
            f"The ResNet generator with n_downsampling={n_downsampling} returns "
            f"{resnet_output_size(height, n_downsampling)}x{resnet_output_size(width, n_downsampling)} "
            f"images for {height}x{width} inputs: sides must be divisible by {factor}. Resize the data to a "
            f"multiple of {factor} (data.image_size) or lower model.generator.n_downsampling."
        )


class ResnetBlock(nn.Module):
    """x + conv-norm-relu-conv-norm(x), each 3x3 convolution reflection-padded by 1."""

    def __init__(self, channels: int, norm: str = "instance", dropout: float = 0.0):
        super().__init__()
        bias = norm == "none"  # a per-channel bias before a normalisation is cancelled by it
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3, bias=bias),
            norm_layer(norm, channels),
            nn.ReLU(True),
        ]
        if dropout:
            layers.append(nn.Dropout(dropout))
        layers += [
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3, bias=bias),
            norm_layer(norm, channels),
        ]
        self.block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.block(x)


def _upsample(c_in: int, c_out: int, mode: str, bias: bool) -> list[nn.Module]:
    if mode == "transpose":
        # The paper's fractionally strided convolution: kernel 3, stride 2, padding 1, output padding 1.
        return [nn.ConvTranspose2d(c_in, c_out, 3, stride=2, padding=1, output_padding=1, bias=bias)]
    if mode == "resize":
        # Nearest-neighbour resize then a 3x3 convolution (Odena et al. 2016, "Deconvolution and
        # Checkerboard Artifacts"): every output pixel gets the same number of kernel taps, so the
        # checkerboard pattern a stride-2 transposed convolution can print is impossible by construction.
        return [
            nn.Upsample(scale_factor=2, mode="nearest"),
            nn.ReflectionPad2d(1),
            nn.Conv2d(c_in, c_out, 3, bias=bias),
        ]
    raise ConfigError(f"upsample={mode!r} is unknown; allowed values: {list(UPSAMPLINGS)}.")


class ResnetGenerator(nn.Module):
    """Image-to-image generator: [N, C_in, H, W] in [-1, 1] -> [N, C_out, H, W] in [-1, 1].

    Args:
        data_shape: [C_in, H, W] of the input domain (H and W are checked against ``n_downsampling``).
        out_channels: channels of the output domain (default: C_in).
        ngf: width of the first layer; the residual blocks run at ``ngf * 2 ** n_downsampling``.
        n_blocks: residual blocks (the paper: 6 for 128x128, 9 for 256x256).
        n_downsampling: stride-2 downsamplings, mirrored by as many upsamplings (the paper: 2).
        upsample: ``transpose`` (the paper) or ``resize`` (nearest resize + conv, free of checkerboards).
        norm: ``instance`` (the paper), ``batch`` or ``none``.
        dropout: dropout inside the residual blocks (the authors' ``--no_dropout`` default is 0).
    """

    def __init__(
        self,
        data_shape: Sequence[int],
        out_channels: int | None = None,
        ngf: int = 64,
        n_blocks: int = 9,
        n_downsampling: int = 2,
        upsample: str = "transpose",
        norm: str = "instance",
        dropout: float = 0.0,
    ):
        super().__init__()
        if len(data_shape) != 3:
            raise ConfigError(
                "The ResNet generator translates images, but the data has samples of shape "
                f"{list(data_shape)}."
            )
        in_channels, height, width = (int(s) for s in data_shape)
        if ngf < 1 or n_blocks < 0 or n_downsampling < 0 or not 0.0 <= dropout < 1.0:
            raise ConfigError(
                f"ResNet generator: ngf={ngf} must be >= 1, n_blocks={n_blocks} and "
                f"n_downsampling={n_downsampling} >= 0, dropout={dropout} in [0, 1)."
            )
        if upsample not in UPSAMPLINGS:
            raise ConfigError(f"upsample={upsample!r} is unknown; allowed values: {list(UPSAMPLINGS)}.")
        check_resnet_size(height, width, n_downsampling)
        self.data_shape = (in_channels, height, width)
        self.n_downsampling = n_downsampling
        out_channels = in_channels if out_channels is None else int(out_channels)
        bias = norm == "none"

        layers: list[nn.Module] = [
            nn.ReflectionPad2d(3),
            nn.Conv2d(in_channels, ngf, 7, bias=bias),
            norm_layer(norm, ngf),
            nn.ReLU(True),
        ]
        width_ = ngf
        for _ in range(n_downsampling):
            layers += [
                nn.Conv2d(width_, width_ * 2, 3, stride=2, padding=1, bias=bias),
                norm_layer(norm, width_ * 2),
                nn.ReLU(True),
            ]
            width_ *= 2
        layers += [ResnetBlock(width_, norm, dropout) for _ in range(n_blocks)]
        for _ in range(n_downsampling):
            layers += [
                *_upsample(width_, width_ // 2, upsample, bias),
                norm_layer(norm, width_ // 2),
                nn.ReLU(True),
            ]
            width_ //= 2
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(width_, out_channels, 7), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.apply(dcgan_init)  # N(0, 0.02) weights, zero biases: the authors' init_type="normal"

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_resnet_size(x.shape[-2], x.shape[-1], self.n_downsampling)
        return self.net(x)

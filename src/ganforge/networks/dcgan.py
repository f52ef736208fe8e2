"""DCGAN generator and discriminator (Radford et al. 2016) for square images of many sizes.

The generator starts from a 4x4 or 7x7 map and doubles it with stride-2 transposed convolutions, so
sizes 4*2^n and 7*2^n (n >= 1) are supported: 8, 14, 16, 28, 32, 56, 64, 128, ...
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm as apply_spectral_norm

from ganforge.errors import ConfigError
from ganforge.networks.discriminator import FeatureDiscriminator
from ganforge.networks.init import dcgan_init

NORMS = ("batch", "instance", "layer", "none")


def resolve_geometry(data_shape: Sequence[int], model_name: str = "dcgan") -> tuple[int, int, int]:
    """Return (channels, start size, number of doublings) for a [C, H, W] shape, or raise ConfigError."""
    if len(data_shape) != 3:
        raise ConfigError(
            f"model={model_name} generates images, but the data has samples of shape {list(data_shape)}. "
            "Use image data (e.g. data=mnist5k) or model=vanilla for points."
        )
    channels, height, width = (int(s) for s in data_shape)
    if height != width:
        raise ConfigError(f"model={model_name} needs square images; got {height}x{width}.")
    for start in (4, 7):
        n, size = 0, height
        while size > start and size % 2 == 0:
            size //= 2
            n += 1
        if size == start and n >= 1:
            return channels, start, n
    raise ConfigError(
        f"data.image_size={height} cannot be produced by model={model_name}: allowed sizes are 4*2^n or "
        "7*2^n with n >= 1 (8, 14, 16, 28, 32, 56, 64, 128, ...). Set data.image_size to one of them."
    )


def _norm(kind: str, channels: int) -> nn.Module:
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    if kind == "layer":
        return nn.GroupNorm(1, channels)
    if kind == "none":
        return nn.Identity()
    raise ConfigError(f"norm={kind!r} is unknown; allowed values: {list(NORMS)}.")


class DCGANGenerator(nn.Module):
    def __init__(self, latent_dim: int, data_shape: Sequence[int], base_width: int = 64, norm: str = "batch"):
        super().__init__()
        channels, start, n = resolve_geometry(data_shape)
        widths = [base_width * 2 ** (n - 1 - i) for i in range(n)]
        layers: list[nn.Module] = [
            nn.ConvTranspose2d(latent_dim, widths[0], start, 1, 0, bias=False),
            _norm(norm, widths[0]),
            nn.ReLU(True),
        ]
        for w_in, w_out in zip(widths[:-1], widths[1:]):
            layers += [
                nn.ConvTranspose2d(w_in, w_out, 4, 2, 1, bias=False),
                _norm(norm, w_out),
                nn.ReLU(True),
            ]
        layers += [nn.ConvTranspose2d(widths[-1], channels, 4, 2, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        self.apply(dcgan_init)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z.view(len(z), -1, 1, 1))


class DCGANDiscriminator(FeatureDiscriminator):
    def __init__(
        self,
        data_shape: Sequence[int],
        base_width: int = 64,
        norm: str = "batch",
        spectral_norm: bool = False,
    ):
        super().__init__(data_shape)
        channels, start, n = resolve_geometry(data_shape)
        widths = [base_width * 2**i for i in range(n)]

        def conv(*args, **kwargs) -> nn.Module:
            layer = nn.Conv2d(*args, **kwargs)
            return apply_spectral_norm(layer) if spectral_norm else layer

        # No normalisation on the first layer (Radford et al.).
        layers: list[nn.Module] = [conv(channels, widths[0], 4, 2, 1), nn.LeakyReLU(0.2, True)]
        for w_in, w_out in zip(widths[:-1], widths[1:]):
            layers += [
                conv(w_in, w_out, 4, 2, 1, bias=norm == "none"),
                _norm(norm, w_out),
                nn.LeakyReLU(0.2, True),
            ]
        self.features = nn.Sequential(*layers)
        self.head = conv(widths[-1], 1, start, 1, 0)
        self.apply(dcgan_init)

"""StackGAN's networks (Zhang et al. 2017): conditioning augmentation, the Stage-I generator and the
Stage-II generator. Both stages' discriminators are text-conditional DCGAN discriminators
(ganforge.networks.text_conditional.TextConditionalDiscriminator: image features down to 4x4, the
compressed text replicated and joined, a 4x4 head), at the stage's resolution.

- Conditioning augmentation: a linear layer maps the text embedding to (mu, log sigma^2) of a
  ``condition_dim`` Gaussian; the generator sees c = mu + sigma * eps (a fresh eps per call), and the family
  adds KL(N(mu, sigma) || N(0, I)) to G's loss, which smooths the conditioning manifold.
- Stage-I: G(z, c) as in the authors' code: a linear layer to a 4x4 map, then (nearest 2x upsampling,
  3x3 conv, batch norm, ReLU) blocks up to ``size``, a 3x3 conv and tanh.
- Stage-II: G(s1, c) takes the Stage-I image: a 3x3 conv and two stride-2 4x4 convs encode it (down 4x),
  c is replicated and joined by a 3x3 conv, residual blocks refine, and upsampling blocks go to
  ``size`` (4x Stage-I's side in the paper: 64 -> 256; offline 16 -> 64).

Every generator returns (images, mu, logvar).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from ganforge.errors import ConfigError
from ganforge.networks.init import dcgan_init
from ganforge.networks.srresnet import ResidualBlock


class ConditioningAugmentation(nn.Module):
    def __init__(self, text_dim: int, condition_dim: int = 128):
        super().__init__()
        if text_dim < 1 or condition_dim < 1:
            raise ConfigError(f"text_dim={text_dim} and condition_dim={condition_dim} must be positive.")
        self.condition_dim = int(condition_dim)
        self.fc = nn.Sequential(nn.Linear(text_dim, 2 * condition_dim), nn.ReLU(True))

    def forward(self, text: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        stats = self.fc(text)
        mu, logvar = stats[:, : self.condition_dim], stats[:, self.condition_dim :]
        c = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        return c, mu, logvar


def kl_to_standard_normal(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """KL(N(mu, exp(logvar)) || N(0, I)), averaged over batch and dimensions (the authors' KL_loss)."""
    return (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp())).mean()


def _up(w_in: int, w_out: int) -> nn.Module:
    return nn.Sequential(
        nn.Upsample(scale_factor=2, mode="nearest"),
        nn.Conv2d(w_in, w_out, 3, 1, 1, bias=False),
        nn.BatchNorm2d(w_out),
        nn.ReLU(True),
    )


def _doublings(size: int, start: int, what: str) -> int:
    n = round(math.log2(size / start)) if size >= start else -1
    if n < 1 or start * 2**n != size:
        raise ConfigError(f"{what}={size} must be {start} times a power of 2 (2, 4, 8, ...); got {size}.")
    return n


def _check_square(data_shape) -> tuple[int, int]:
    channels, height, width = (int(s) for s in data_shape)
    if height != width:
        raise ConfigError(f"model=stackgan needs square images; got {height}x{width}.")
    return channels, height


class StageIGenerator(nn.Module):
    def __init__(self, latent_dim: int, text_dim: int, size: int, channels: int = 3, condition_dim: int = 128,
                 base_width: int = 64):  # fmt: skip
        super().__init__()
        self.text_dim, self.latent_dim, self.size = int(text_dim), int(latent_dim), int(size)
        n = _doublings(self.size, 4, "model.stage1_size")
        widths = [max(base_width, base_width * 2 ** (n - i)) for i in range(n + 1)]
        self.ca = ConditioningAugmentation(text_dim, condition_dim)
        self.fc = nn.Sequential(
            nn.Linear(latent_dim + condition_dim, widths[0] * 16, bias=False),
            nn.BatchNorm1d(widths[0] * 16),
            nn.ReLU(True),
        )
        self.ups = nn.Sequential(*(_up(a, b) for a, b in zip(widths[:-1], widths[1:])))
        self.to_image = nn.Sequential(nn.Conv2d(widths[-1], channels, 3, 1, 1), nn.Tanh())
        self.start_width = widths[0]
        self.apply(dcgan_init)

    def forward(self, z: torch.Tensor, text: torch.Tensor):
        c, mu, logvar = self.ca(text)
        h = self.fc(torch.cat([z, c], dim=1)).view(len(z), self.start_width, 4, 4)
        return self.to_image(self.ups(h)), mu, logvar


class StageIIGenerator(nn.Module):
    def __init__(self, text_dim: int, data_shape, stage1_size: int, condition_dim: int = 128,
                 base_width: int = 32, num_residual: int = 2):  # fmt: skip
        super().__init__()
        channels, size = _check_square(data_shape)
        self.text_dim, self.size, self.stage1_size = int(text_dim), size, int(stage1_size)
        s1, ratio = self.stage1_size, size // max(self.stage1_size, 1)
        if s1 < 4 or s1 % 4 or size % s1 or ratio < 2 or ratio & (ratio - 1):
            raise ConfigError(
                f"Stage-II draws data.canvas={size} px from Stage-I's model.stage1_size={s1} px: the canvas "
                "must be the Stage-I size times a power of 2 >= 2 (the paper: 4x, 64 -> 256), and the "
                "Stage-I size a multiple of 4."
            )
        n_up = round(math.log2(size // (s1 // 4)))  # Stage-II encodes Stage-I's image 4x down first
        w = base_width
        self.ca = ConditioningAugmentation(text_dim, condition_dim)
        self.encode = nn.Sequential(
            nn.Conv2d(channels, w, 3, 1, 1),
            nn.ReLU(True),
            nn.Conv2d(w, 2 * w, 4, 2, 1, bias=False),
            nn.BatchNorm2d(2 * w),
            nn.ReLU(True),
            nn.Conv2d(2 * w, 4 * w, 4, 2, 1, bias=False),
            nn.BatchNorm2d(4 * w),
            nn.ReLU(True),
        )
        self.join = nn.Sequential(
            nn.Conv2d(4 * w + condition_dim, 4 * w, 3, 1, 1, bias=False), nn.BatchNorm2d(4 * w), nn.ReLU(True)
        )
        self.residual = nn.Sequential(
            *(ResidualBlock(4 * w, activation=nn.ReLU, after_sum=nn.ReLU()) for _ in range(num_residual))
        )
        widths = [max(w // 2, 4 * w // 2**i) for i in range(n_up + 1)]
        self.ups = nn.Sequential(*(_up(a, b) for a, b in zip(widths[:-1], widths[1:])))
        self.to_image = nn.Sequential(nn.Conv2d(widths[-1], channels, 3, 1, 1), nn.Tanh())
        self.apply(dcgan_init)

    def forward(self, stage1: torch.Tensor, text: torch.Tensor):
        c, mu, logvar = self.ca(text)
        h = self.encode(stage1)
        h = self.join(torch.cat([h, c[:, :, None, None].expand(-1, -1, *h.shape[2:])], dim=1))
        return self.to_image(self.ups(self.residual(h))), mu, logvar

"""SpecGAN's networks (Donahue et al. 2019), ported from the authors' ``specgan.py`` (chrisdonahue/wavegan):
DCGAN-like 2-D networks on 128x128 normalised log spectrograms ([B, 1, 128 frequency bins, 128 frames]).

G: z (100) -> dense -> [16 * model_dim, 4, 4] -> 5 transposed convolutions 5x5 stride 2 (TF 'same':
size x 2, here ``padding=2, output_padding=1``), ReLU between them, tanh: [1, 128, 128].
D: 5 convolutions 5x5 stride 2 (``padding=2``), LeakyReLU 0.2, linear to one output; no BatchNorm
(WGAN-GP, the authors' default).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.networks.wavegan import check_audio_shape, tf_default_init

SIDE = 128  # the spectrogram's frequency bins and frames


class SpecGANGenerator(nn.Module):
    def __init__(self, latent_dim: int = 100, model_dim: int = 64, data_shape: Sequence[int] | None = None):
        super().__init__()
        check_audio_shape(data_shape, "specgan")
        d = self.model_dim = int(model_dim)
        self.latent_dim = int(latent_dim)
        self.project = nn.Linear(latent_dim, 4 * 4 * 16 * d)
        widths = [16 * d, 8 * d, 4 * d, 2 * d, d, 1]
        layers: list[nn.Module] = []
        for c_in, c_out in zip(widths[:-1], widths[1:]):
            layers += [nn.ConvTranspose2d(c_in, c_out, 5, 2, padding=2, output_padding=1), nn.ReLU()]
        layers[-1] = nn.Tanh()
        self.layers = nn.Sequential(*layers)
        tf_default_init(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.layers(F.relu(self.project(z).view(len(z), 16 * self.model_dim, 4, 4)))


class SpecGANDiscriminator(nn.Module):
    def __init__(self, model_dim: int = 64, data_shape: Sequence[int] | None = None):
        super().__init__()
        check_audio_shape(data_shape, "specgan")
        d = int(model_dim)
        widths = [1, d, 2 * d, 4 * d, 8 * d, 16 * d]
        layers: list[nn.Module] = []
        for c_in, c_out in zip(widths[:-1], widths[1:]):
            layers += [nn.Conv2d(c_in, c_out, 5, 2, padding=2), nn.LeakyReLU(0.2)]
        self.layers = nn.Sequential(*layers)
        self.output = nn.Linear(4 * 4 * 16 * d, 1)
        tf_default_init(self)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.output(self.features(x)).squeeze(1)

"""WaveGAN's networks (Donahue et al. 2019), ported from the authors' ``wavegan.py`` (chrisdonahue/wavegan).

G: z (100) -> dense -> [16 * model_dim, 16] -> transposed 1-D convolutions, kernel 25, stride 4 (TF's
``conv2d_transpose(..., padding='same')``: length x 4, here ``padding=11, output_padding=1``), ReLU between
them, tanh at the end: 16,384 samples (slice_len 32,768 / 65,536 add a layer of stride 2 / 4, as theirs).
Optional learned post-processing filter (``post_filter_len``: the paper's 512, no bias, 'same' padding).

D: the mirror, 1-D convolutions kernel 25 stride 4 (TF's 'same' length: ``padding=11``), LeakyReLU 0.2,
phase shuffle between layers (not after the last), linear to one output. No BatchNorm (WGAN-GP; the
authors' default). The authors draw one phase-shuffle shift per layer for the whole batch; here each
example draws its own (the paper's description reads either way; per example decorrelates the batch).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.errors import ConfigError

SLICE_LENS = {16_384: None, 32_768: 2, 65_536: 4}  # slice_len -> stride of the extra layer (None: none)
KERNEL = 25


def check_audio_shape(data_shape: Sequence[int] | None, model_name: str) -> None:
    """Refuse non-audio data early (the networks are built before the family meets the datamodule)."""
    if data_shape is not None and (len(data_shape) != 2 or int(data_shape[0]) != 1):
        raise ConfigError(
            f"model={model_name} generates mono audio clips [1, num_samples], but the data has samples of "
            f"shape {list(data_shape)}. Use audio data (e.g. data=spoken_digits)."
        )


def tf_default_init(module: nn.Module) -> None:
    """The initialisation the authors trained with, TF 1.x layers' default: Glorot-uniform weights, zero
    biases (PyTorch's default is Kaiming-uniform with random biases)."""
    for m in module.modules():
        if isinstance(m, nn.Linear | nn.Conv1d | nn.Conv2d | nn.ConvTranspose1d | nn.ConvTranspose2d):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


def phase_shuffle(x: torch.Tensor, n: int) -> torch.Tensor:
    """Shift each example of x [B, C, L] by its own random s in [-n, n] samples, reflection-padded, length
    kept (the authors' ``apply_phaseshuffle``, whose single shift per batch is drawn here per example)."""
    if n <= 0:
        return x
    length = x.shape[-1]
    padded = F.pad(x, (n, n), mode="reflect")
    shift = torch.randint(-n, n + 1, (x.shape[0], 1), device=x.device)
    # out[t] = x[t - s]: start reading the padded signal at n - s
    index = torch.arange(length, device=x.device) + (n - shift)
    return padded.gather(-1, index.unsqueeze(1).expand(-1, x.shape[1], -1))


class PhaseShuffle(nn.Module):
    def __init__(self, n: int):
        super().__init__()
        self.n = int(n)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # Only while training: a critic scored in eval mode (tests, analyses) is deterministic.
        return phase_shuffle(x, self.n) if self.training else x

    def extra_repr(self) -> str:
        return f"n={self.n}"


def _check_slice_len(slice_len: int) -> int | None:
    if slice_len not in SLICE_LENS:
        raise ConfigError(
            f"model.slice_len={slice_len}: WaveGAN generates one of {sorted(SLICE_LENS)} samples."
        )
    return SLICE_LENS[slice_len]


def _up(c_in: int, c_out: int, stride: int) -> nn.ConvTranspose1d:
    # TF 'same' transposed conv: out = in * stride; (L-1)s - 2p + k + op = sL  =>  2p - op = k - s
    pad = (KERNEL - stride + 1) // 2
    return nn.ConvTranspose1d(
        c_in, c_out, KERNEL, stride, padding=pad, output_padding=2 * pad - KERNEL + stride
    )


def _down(c_in: int, c_out: int, stride: int) -> nn.Conv1d:
    # TF 'same' strided conv: out = in / stride (lengths are multiples of the stride here)
    return nn.Conv1d(c_in, c_out, KERNEL, stride, padding=(KERNEL - stride + 1) // 2)


class WaveGANGenerator(nn.Module):
    def __init__(
        self,
        latent_dim: int = 100,
        model_dim: int = 64,
        slice_len: int = 16_384,
        post_filter_len: int | None = None,
        data_shape: Sequence[int] | None = None,
    ):
        super().__init__()
        check_audio_shape(data_shape, "wavegan")
        extra = _check_slice_len(slice_len)
        self.latent_dim, self.slice_len, self.model_dim = int(latent_dim), int(slice_len), int(model_dim)
        d = self.model_dim
        mul = 16 if extra is None else 32
        self.start_channels = d * mul
        self.project = nn.Linear(latent_dim, 16 * d * mul)
        widths = [d * mul // 2**i for i in range(5)]  # 16d, 8d, 4d, 2d, d (x2 with an extra layer)
        layers: list[nn.Module] = []
        for c_in, c_out in zip(widths[:-1], widths[1:]):
            layers += [_up(c_in, c_out, 4), nn.ReLU()]
        if extra is None:
            layers += [_up(widths[-1], 1, 4)]
        else:  # [4096, 2d] -> [16384, d] -> [slice_len, 1]
            layers += [_up(widths[-1], d, 4), nn.ReLU(), _up(d, 1, extra)]
        self.layers = nn.Sequential(*layers, nn.Tanh())
        # The paper's post-processing filter: one learned FIR filter after tanh (TF 'same' padding, no bias).
        self.post_filter = None
        if post_filter_len:
            self.post_filter = nn.Conv1d(1, 1, int(post_filter_len), bias=False)
        tf_default_init(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.project(z).view(len(z), self.start_channels, 16))
        x = self.layers(x)
        if self.post_filter is not None:
            k = self.post_filter.kernel_size[0]
            x = self.post_filter(F.pad(x, ((k - 1) // 2, k // 2)))
        return x


class WaveGANDiscriminator(nn.Module):
    def __init__(
        self,
        model_dim: int = 64,
        slice_len: int = 16_384,
        phase_shuffle: int = 2,
        data_shape: Sequence[int] | None = None,
    ):
        super().__init__()
        check_audio_shape(data_shape, "wavegan")
        extra = _check_slice_len(slice_len)
        d = int(model_dim)
        widths = [1, d, 2 * d, 4 * d, 8 * d, 16 * d]
        layers: list[nn.Module] = []
        for i, (c_in, c_out) in enumerate(zip(widths[:-1], widths[1:])):
            layers += [_down(c_in, c_out, 4), nn.LeakyReLU(0.2)]
            if i < 4:  # between layers: none after the fifth convolution (nor the extra one)
                layers.append(PhaseShuffle(phase_shuffle))
        out_channels = 16 * d
        if extra is not None:
            layers += [_down(16 * d, 32 * d, extra), nn.LeakyReLU(0.2)]
            out_channels = 32 * d
        self.layers = nn.Sequential(*layers)
        self.slice_len = int(slice_len)
        self.output = nn.Linear(16 * out_channels, 1)
        tf_default_init(self)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.output(self.features(x)).squeeze(1)

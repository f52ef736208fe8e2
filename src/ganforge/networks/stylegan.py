"""StyleGAN generator (Karras et al. 2019): mapping network z -> w, and a synthesis network whose layers
each take their own style input (``ws[:, i]``), for square images of a power-of-2 size >= 8.

- Mapping: pixel-norm on z, ``mapping_layers`` equalized fully connected layers (LeakyReLU 0.2) with the
  learning-rate multiplier ``mapping_lr_mul`` (the paper: 8 x 512, 0.01).
- Synthesis: a learned constant 4x4 input; two layers per resolution, ``num_ws = 2 * (log2(target) - 1)``
  style inputs (8 for 32x32). ``modulation="adain"`` (StyleGAN): each layer is [bilinear upsampling,
  on the first layer of a resolution above 4] -> 3x3 conv (the 4x4 resolution's first layer has none: it
  starts from the constant, as in the paper) -> per-pixel noise times a learned per-channel scale -> bias
  -> LeakyReLU 0.2 -> AdaIN with a learned affine of w (style scale initialised to 1, bias to 0).
  ``modulation="demod"`` (StyleGAN2's weight modulation/demodulation, no instance normalisation: it
  removes the droplet artefacts): every layer is a modulated 3x3 conv (style scales the conv's input
  channels, then each output filter is renormalised) -> noise -> bias -> LeakyReLU.
  A 1x1 toRGB per resolution; output in model space ([-1, 1]-ish, not squashed).
- Progressive growing (ProGAN / StyleGAN1): :meth:`StyleGenerator.set_growth` picks the resolution the
  synthesis currently stops at and the fade-in ``alpha``: the output is
  ``lerp(up2(toRGB_{r/2}(h_{r/2})), toRGB_r(h_r), alpha)`` (nearest upsampling on the skip, so alpha=0
  is exactly the previous resolution's image), then upsampled to the target size with nearest
  neighbours, so samples and metrics always have the data's size. Every layer exists from construction
  (the optimizer is built once); layers above the current resolution just get no gradient.

Every weight layer uses the equalized learning rate (ganforge.networks.equalized). The discriminator is in
ganforge.networks.stylegan_discriminator. Interface agreed in the StyleGAN issue (13) for ganforge-mix
and the style metrics: ``mapping``, ``broadcast``, ``truncate``, ``synthesis``, ``layer_resolution``,
``style_levels``, ``w_avg``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.errors import ConfigError
from ganforge.networks.equalized import EqualizedConv2d, EqualizedLinear, PixelNorm

MODULATIONS = ("adain", "demod")
NOISE_MODES = ("random", "const", "none")


def resolve_resolution(data_shape: Sequence[int], model_name: str = "stylegan") -> tuple[int, int]:
    """(channels, target resolution) of a [C, H, W] shape, or a ConfigError for anything else."""
    shape = [int(s) for s in data_shape]
    if len(shape) != 3:
        raise ConfigError(
            f"model={model_name} generates images, but the data has samples of shape {shape}. Use image "
            "data (e.g. data=fashion_mnist data.image_size=32)."
        )
    channels, height, width = shape
    if height != width or height < 8 or height & (height - 1):
        raise ConfigError(
            f"model={model_name} needs square images whose size is a power of 2 >= 8 (8, 16, 32, 64, ...); "
            f"the data has {height}x{width}. Set data.image_size (e.g. data.image_size=32)."
        )
    return channels, height


def channels_at(resolution: int, channel_base: int, channel_max: int) -> int:
    """Feature maps at a resolution: min(channel_max, channel_base / resolution), as in the paper's code."""
    return max(1, min(channel_max, channel_base // resolution))


def check_growth(resolution: int, alpha: float, target: int) -> None:
    if resolution < 4 or resolution > target or resolution & (resolution - 1):
        raise ConfigError(
            f"Growth resolution {resolution} is not a power of 2 between 4 and the target {target}."
        )
    if not 0.0 <= alpha <= 1.0:
        raise ConfigError(f"Fade-in alpha={alpha} must lie in [0, 1].")


class MappingNetwork(nn.Module):
    def __init__(self, latent_dim: int, w_dim: int, num_layers: int, width: int, lr_mul: float):
        super().__init__()
        if num_layers < 1:
            raise ConfigError(f"model.generator.mapping_layers={num_layers} must be >= 1.")
        dims = [latent_dim] + [width] * (num_layers - 1) + [w_dim]
        layers: list[nn.Module] = [PixelNorm()]
        for d_in, d_out in zip(dims[:-1], dims[1:]):
            layers += [EqualizedLinear(d_in, d_out, lr_mul=lr_mul), nn.LeakyReLU(0.2)]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


def adain(x: torch.Tensor, scale: torch.Tensor, bias: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Adaptive instance normalisation: each channel of each sample normalised to zero mean and unit
    std over its pixels, then given the style's per-channel std ``scale`` and mean ``bias`` ([B, C])."""
    x = x - x.mean(dim=(2, 3), keepdim=True)
    x = x * torch.rsqrt(x.pow(2).mean(dim=(2, 3), keepdim=True) + eps)
    return x * scale[:, :, None, None] + bias[:, :, None, None]


def modulated_conv(x: torch.Tensor, weight: torch.Tensor, style: torch.Tensor, demodulate: bool = True):
    """StyleGAN2's modulated convolution: ``weight`` [O, I, k, k] scaled per sample by ``style`` [B, I],
    each output filter renormalised to unit norm, run as one grouped convolution over the batch."""
    b, c, h, w = x.shape
    wts = weight[None] * style[:, None, :, None, None]  # [B, O, I, k, k]
    if demodulate:
        wts = wts * torch.rsqrt(wts.pow(2).sum(dim=(2, 3, 4), keepdim=True) + 1e-8)
    out = F.conv2d(x.reshape(1, b * c, h, w), wts.flatten(0, 1), padding=weight.shape[-1] // 2, groups=b)
    return out.reshape(b, -1, h, w)


class StyleLayer(nn.Module):
    """One synthesis layer with its style input (see the module docstring for its order of operations)."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        w_dim: int,
        resolution: int,
        conv: bool,
        upsample: bool,
        modulation: str,
        noise_seed: int,
    ):
        super().__init__()
        self.resolution, self.upsample, self.modulation = resolution, upsample, modulation
        self.conv = EqualizedConv2d(in_channels, out_channels, 3, bias=False) if conv else None
        if modulation == "adain":
            # [scale | bias] of AdaIN; the scale starts at 1 so the initial network is a plain conv net
            init = torch.cat([torch.ones(out_channels), torch.zeros(out_channels)])
            self.style = EqualizedLinear(w_dim, 2 * out_channels, bias_init=init, gain=1.0)
        else:
            self.style = EqualizedLinear(w_dim, in_channels, bias_init=1.0, gain=1.0)
        self.noise_strength = nn.Parameter(torch.zeros(out_channels))  # zero at init, as in the paper
        self.bias = nn.Parameter(torch.zeros(out_channels))
        # The fixed noise of noise_mode="const" (a buffer: saved, identical on every DDP rank); its own
        # generator so that building a network does not depend on or move the global RNG.
        g = torch.Generator().manual_seed(noise_seed)
        self.register_buffer("noise_const", torch.randn(1, 1, resolution, resolution, generator=g))

    def forward(self, x: torch.Tensor, w: torch.Tensor, noise_mode: str = "random") -> torch.Tensor:
        if self.upsample:
            x = F.interpolate(x, scale_factor=2, mode="bilinear", align_corners=False)
        style = self.style(w)
        if self.modulation == "demod":
            assert self.conv is not None
            x = modulated_conv(x, self.conv.effective_weight(), style)
        elif self.conv is not None:
            x = self.conv(x)
        if noise_mode == "random":
            noise = torch.randn(len(x), 1, *x.shape[2:], device=x.device, dtype=x.dtype)
            x = x + noise * self.noise_strength[None, :, None, None]
        elif noise_mode == "const":
            x = x + self.noise_const * self.noise_strength[None, :, None, None]
        x = F.leaky_relu(x + self.bias[None, :, None, None], 0.2)
        if self.modulation == "adain":
            scale, bias = style.chunk(2, dim=1)
            x = adain(x, scale, bias)
        return x


class StyleGenerator(nn.Module):
    """G(z) = synthesis(broadcast(mapping(z))); see the module docstring."""

    def __init__(
        self,
        latent_dim: int,
        data_shape: Sequence[int],
        w_dim: int = 512,
        mapping_layers: int = 8,
        mapping_width: int | None = None,
        mapping_lr_mul: float = 0.01,
        channel_base: int = 8192,
        channel_max: int = 512,
        modulation: str = "adain",
    ):
        super().__init__()
        if modulation not in MODULATIONS:
            raise ConfigError(f"model.modulation={modulation!r} is unknown; use one of {list(MODULATIONS)}.")
        if latent_dim < 1 or w_dim < 1 or channel_base < 1 or channel_max < 1:
            raise ConfigError(
                f"StyleGAN sizes must be >= 1: latent_dim={latent_dim}, w_dim={w_dim}, "
                f"channel_base={channel_base}, channel_max={channel_max}."
            )
        self.channels, self.target_resolution = resolve_resolution(data_shape)
        self.latent_dim, self.w_dim, self.modulation = int(latent_dim), int(w_dim), modulation
        self.resolutions = [2**k for k in range(2, int(math.log2(self.target_resolution)) + 1)]
        self.num_ws = 2 * len(self.resolutions)
        self.mapping_network = MappingNetwork(
            latent_dim, w_dim, mapping_layers, mapping_width or w_dim, mapping_lr_mul
        )
        width = [channels_at(r, channel_base, channel_max) for r in self.resolutions]
        self.const = nn.Parameter(torch.ones(1, width[0], 4, 4))
        layers, to_rgb = [], []
        for k, r in enumerate(self.resolutions):
            c_in = width[max(k - 1, 0)]
            first_conv = modulation == "demod" or k > 0  # AdaIN's 4x4 starts from the constant itself
            layers.append(StyleLayer(c_in, width[k], w_dim, r, first_conv, k > 0, modulation, 2 * k))
            layers.append(StyleLayer(width[k], width[k], w_dim, r, True, False, modulation, 2 * k + 1))
            to_rgb.append(EqualizedConv2d(width[k], self.channels, 1, gain=1.0))
        self.layers = nn.ModuleList(layers)
        self.to_rgb = nn.ModuleList(to_rgb)
        self.register_buffer("w_avg", torch.zeros(w_dim))
        self.resolution, self.alpha = self.target_resolution, 1.0

    # ----------------------------------------------------------------- growth
    def set_growth(self, resolution: int, alpha: float = 1.0) -> None:
        """Where progressive growing stands: the synthesis stops at ``resolution``, fading it in by alpha."""
        check_growth(int(resolution), float(alpha), self.target_resolution)
        self.resolution, self.alpha = int(resolution), float(alpha)

    def active_ws(self) -> int:
        """Style inputs the current resolution uses (mixing crossovers are drawn among them)."""
        return 2 * self.resolutions.index(self.resolution) + 2

    # ----------------------------------------------------------------- styles
    def mapping(self, z: torch.Tensor) -> torch.Tensor:
        return self.mapping_network(z)

    def broadcast(self, w: torch.Tensor) -> torch.Tensor:
        return w[:, None, :].expand(-1, self.num_ws, -1)

    def truncate(self, ws: torch.Tensor, psi: float, cutoff: int | None = None) -> torch.Tensor:
        """ws' = w_avg + psi (ws - w_avg) on style inputs < cutoff (all if None)."""
        truncated = torch.lerp(self.w_avg.to(ws.dtype), ws, psi)
        if cutoff is None:
            return truncated
        keep = torch.arange(ws.shape[1], device=ws.device)[None, :, None] < cutoff
        return torch.where(keep, truncated, ws)

    def layer_resolution(self, index: int) -> int:
        if not 0 <= index < self.num_ws:
            raise ConfigError(f"Style input {index} does not exist; this generator has {self.num_ws}.")
        return self.resolutions[index // 2]

    def style_levels(self) -> dict[str, list[int]]:
        """Style-input indices per level: coarse 4-8 px, middle 16 px, fine >= 32 px (the paper's split).
        Below a 32 px target "fine" is the top resolution's inputs (16 px: the same as "middle"); at an
        8 px target "middle" is empty."""
        by_res = {r: [2 * k, 2 * k + 1] for k, r in enumerate(self.resolutions)}
        coarse = [i for r in (4, 8) for i in by_res.get(r, [])]
        middle = by_res.get(16, [])
        fine = [i for r, idx in by_res.items() if r >= 32 for i in idx] or by_res[self.target_resolution]
        return {"coarse": coarse, "middle": middle, "fine": fine}

    # ----------------------------------------------------------------- synthesis
    def synthesis(self, ws: torch.Tensor, noise_mode: str = "random", at_target: bool = True) -> torch.Tensor:
        """Images at the target size (the current resolution's, upsampled with nearest neighbours), or at
        the current resolution with ``at_target=False`` (training, where D sees that size anyway)."""
        if noise_mode not in NOISE_MODES:
            raise ConfigError(f"noise_mode={noise_mode!r} is unknown; use one of {list(NOISE_MODES)}.")
        if ws.dim() != 3 or ws.shape[1] != self.num_ws:
            raise ConfigError(
                f"synthesis takes ws of shape [batch, {self.num_ws}, {self.w_dim}]; got {list(ws.shape)}."
            )
        top = self.resolutions.index(self.resolution)
        x = self.const.expand(len(ws), -1, -1, -1)
        skip = None
        for k in range(top + 1):
            x = self.layers[2 * k](x, ws[:, 2 * k], noise_mode)
            x = self.layers[2 * k + 1](x, ws[:, 2 * k + 1], noise_mode)
            if k == top - 1 and self.alpha < 1.0:
                skip = self.to_rgb[k](x)
        image = self.to_rgb[top](x)
        if skip is not None:
            image = torch.lerp(F.interpolate(skip, scale_factor=2, mode="nearest"), image, self.alpha)
        if at_target and self.resolution < self.target_resolution:
            image = F.interpolate(image, size=self.target_resolution, mode="nearest")
        return image

    def forward(
        self, z: torch.Tensor, psi: float = 1.0, cutoff: int | None = None, noise_mode: str = "random"
    ) -> torch.Tensor:
        ws = self.broadcast(self.mapping(z))
        if psi != 1.0:
            ws = self.truncate(ws, psi, cutoff)
        return self.synthesis(ws, noise_mode)


def mix_styles(ws_a: torch.Tensor, ws_b: torch.Tensor, crossover: int) -> torch.Tensor:
    """Style mixing: style inputs < crossover from ``ws_a``, the rest from ``ws_b`` (crossover 0: pure B)."""
    return torch.cat([ws_a[:, :crossover], ws_b[:, crossover:]], dim=1)

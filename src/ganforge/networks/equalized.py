"""Equalized-learning-rate layers (Karras et al. 2018, ProGAN section 4.1; used throughout StyleGAN).

Weights are stored as N(0, 1 / lr_mul) and scaled at run time by ``lr_mul * gain / sqrt(fan_in)`` (He's
constant times the layer's learning-rate multiplier); biases are stored divided by ``lr_mul`` and
multiplied back at run time. Adam's step is invariant to a parameter's scale, so every layer then learns
at the same effective speed, and ``lr_mul = 0.01`` slows the mapping network by 100x (StyleGAN, appendix
C). Written by hand because torch has no such layer: the scaling must happen in forward, not at init.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

#: He's gain for ReLU-like activations, StyleGAN's default for every hidden layer
HE_GAIN = math.sqrt(2.0)


class EqualizedLinear(nn.Module):
    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        bias_init: float | torch.Tensor = 0.0,
        lr_mul: float = 1.0,
        gain: float = HE_GAIN,
    ):
        super().__init__()
        self.in_features, self.out_features, self.lr_mul = in_features, out_features, float(lr_mul)
        self.weight = nn.Parameter(torch.randn(out_features, in_features) / lr_mul)
        self.weight_gain = lr_mul * gain / math.sqrt(in_features)
        init = torch.as_tensor(bias_init, dtype=torch.float32).expand(out_features)
        self.bias = nn.Parameter(init / lr_mul) if bias else None
        self.bias_gain = lr_mul

    def effective_weight(self) -> torch.Tensor:
        return self.weight * self.weight_gain

    def effective_bias(self) -> torch.Tensor | None:
        return None if self.bias is None else self.bias * self.bias_gain

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.effective_weight(), self.effective_bias())

    def extra_repr(self) -> str:
        return f"{self.in_features}, {self.out_features}, lr_mul={self.lr_mul}"


class EqualizedConv2d(nn.Module):
    """A same-padded k x k convolution with equalized learning rate."""

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int,
        bias: bool = True,
        lr_mul: float = 1.0,
        gain: float = HE_GAIN,
    ):
        super().__init__()
        self.in_channels, self.out_channels, self.kernel_size = in_channels, out_channels, kernel_size
        self.weight = nn.Parameter(torch.randn(out_channels, in_channels, kernel_size, kernel_size) / lr_mul)
        self.weight_gain = lr_mul * gain / math.sqrt(in_channels * kernel_size**2)
        self.bias = nn.Parameter(torch.zeros(out_channels)) if bias else None
        self.bias_gain = lr_mul

    def effective_weight(self) -> torch.Tensor:
        return self.weight * self.weight_gain

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        bias = None if self.bias is None else self.bias * self.bias_gain
        return F.conv2d(x, self.effective_weight(), bias, padding=self.kernel_size // 2)

    def extra_repr(self) -> str:
        return f"{self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}"


class PixelNorm(nn.Module):
    """x / sqrt(mean(x^2) + eps) over the feature dimension (ProGAN 4.2; StyleGAN normalises z with it)."""

    def __init__(self, eps: float = 1e-8):
        super().__init__()
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + self.eps)

"""Super-resolution fidelity as the SR papers measure it: PSNR and SSIM on the Y channel, border cropped.

Protocol (Ledig et al. 2017 and the SR literature's MATLAB code): images are compared as saved, uint8;
RGB is converted to luma Y of ITU-R BT.601 (MATLAB ``rgb2ycbcr``, studio swing: Y = 16 + 65.481 R +
128.553 G + 24.966 B with RGB in [0, 1], so Y in [16, 235]); for grayscale images Y is the image itself
(there is no chroma to remove). ``scale`` pixels are cropped from each border (the upscaler cannot know
what lies beyond the LR image's edge). PSNR uses a peak of 255; SSIM a Gaussian window of 11 pixels,
sigma 1.5, K1 0.01, K2 0.03 (Wang et al. 2004), data range 255. Y is kept in floating point (not rounded
to uint8 as MATLAB does on uint8 input: a difference of ~0.01 dB). Both are computed per image
(torchmetrics) and averaged over images, as the papers report them. Names carry the protocol:
``psnr_y_crop4``, ``ssim_y_crop4``.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from ganforge.errors import EvaluationError

# BT.601 luma coefficients for RGB in [0, 1] (MATLAB rgb2ycbcr, skimage.color.rgb2ycbcr).
BT601_Y = (65.481, 128.553, 24.966)
PEAK = 255.0


def metric_names(scale: int) -> tuple[str, str]:
    return f"psnr_y_crop{scale}", f"ssim_y_crop{scale}"


def _check_images(x: torch.Tensor, what: str) -> torch.Tensor:
    if x.dtype != torch.uint8 or x.dim() != 4 or x.shape[1] not in (1, 3):
        raise EvaluationError(
            f"SR metrics compare uint8 images [N, 1 or 3, H, W] (as saved); {what} is {x.dtype} "
            f"{list(x.shape)}."
        )
    return x


def rgb_to_y(images: torch.Tensor) -> torch.Tensor:
    """uint8 [N, 3, H, W] RGB -> float64 [N, 1, H, W] BT.601 Y in [16, 235]; [N, 1, H, W] passes through."""
    _check_images(images, "the input")
    x = images.double()
    if x.shape[1] == 1:
        return x  # grayscale: the image is its own luma
    weights = torch.tensor(BT601_Y, dtype=torch.float64).view(1, 3, 1, 1)
    return 16.0 + (x / 255.0 * weights).sum(1, keepdim=True)


def _crop(x: torch.Tensor, border: int) -> torch.Tensor:
    if border == 0:
        return x
    if x.shape[-1] <= 2 * border or x.shape[-2] <= 2 * border:
        raise EvaluationError(
            f"Images of {list(x.shape[-2:])} are too small for a {border}-pixel border crop."
        )
    return x[..., border:-border, border:-border]


def psnr_ssim_y(sr: torch.Tensor, hr: torch.Tensor, scale: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-image (PSNR [N], SSIM [N]) on Y with a ``scale``-pixel border crop. PSNR is +inf for identical
    images (zero error): reported as is, not capped."""
    from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

    _check_images(sr, "the SR output")
    _check_images(hr, "the HR target")
    if sr.shape != hr.shape:
        raise EvaluationError(f"SR output {list(sr.shape)} and HR target {list(hr.shape)} differ in shape.")
    y_sr, y_hr = _crop(rgb_to_y(sr), scale), _crop(rgb_to_y(hr), scale)
    psnr = peak_signal_noise_ratio(y_sr, y_hr, data_range=PEAK, reduction="none", dim=(1, 2, 3))
    # SSIM in float32: float64 convolutions are ~4x slower on CPU and change SSIM by < 1e-7.
    ssim = structural_similarity_index_measure(
        y_sr.float(),
        y_hr.float(),
        gaussian_kernel=True,
        sigma=1.5,
        kernel_size=11,
        data_range=PEAK,
        reduction="none",
    ).double()
    return psnr, ssim


def sr_metrics(
    sr: torch.Tensor | Sequence[torch.Tensor], hr: torch.Tensor | Sequence[torch.Tensor], scale: int
) -> dict[str, float]:
    """Mean PSNR / SSIM over images: ``{"psnr_y_crop<scale>": dB, "ssim_y_crop<scale>": ...}``.

    Batches [N, C, H, W] or lists of [C, H, W] images of different sizes (whole test images) are accepted.
    """
    if isinstance(sr, torch.Tensor) and isinstance(hr, torch.Tensor):
        psnr, ssim = psnr_ssim_y(sr, hr, scale)
    else:
        if len(sr) != len(hr) or not len(sr):
            raise EvaluationError(f"Got {len(sr)} SR images for {len(hr)} HR images; need equal, nonzero.")
        pairs = [psnr_ssim_y(s[None], h[None], scale) for s, h in zip(sr, hr)]
        psnr, ssim = torch.cat([p for p, _ in pairs]), torch.cat([q for _, q in pairs])
    psnr_name, ssim_name = metric_names(scale)
    return {psnr_name: float(psnr.mean()), ssim_name: float(ssim.mean())}


def hf_ratio_name(scale: int) -> str:
    return f"hf_ratio_y_crop{scale}"


def _band_and_total_power(image: torch.Tensor, scale: int) -> tuple[float, float]:
    """(power above the 1/scale image's Nyquist limit, all power) of one uint8 image's Y: border cropped,
    mean removed, Hann-windowed, along either axis above ``1 / (2 * scale)`` cycles per pixel."""
    y = _crop(rgb_to_y(_check_images(image[None], "an image")), scale)[0, 0]
    y = y - y.mean()
    window = torch.outer(
        torch.hann_window(y.shape[0], periodic=False, dtype=y.dtype),
        torch.hann_window(y.shape[1], periodic=False, dtype=y.dtype),
    )
    power = torch.fft.fft2(y * window).abs().square()
    fy = torch.fft.fftfreq(power.shape[0], dtype=torch.float64).abs()[:, None]
    fx = torch.fft.fftfreq(power.shape[1], dtype=torch.float64).abs()[None, :]
    band = torch.maximum(fy, fx) > 0.5 / scale
    return float(power[band].sum()), float(power.sum())


def high_frequency_ratio(
    sr: torch.Tensor | Sequence[torch.Tensor], hr: torch.Tensor | Sequence[torch.Tensor], scale: int
) -> float:
    """How much detail beyond the LR image's resolution SR has, relative to HR (1 = as much as HR).

    Per image: the power spectrum of Y (border cropped, mean removed, Hann-windowed) summed over the
    frequencies the LR image cannot hold (above its Nyquist limit, ``1 / (2 * scale)`` cycles per HR
    pixel, along either axis), SR's sum divided by HR's; the mean over images. Pixel-loss SR is known to
    be overly smooth (ratio well below 1, bicubic lower still); an adversarial loss restores texture
    energy. It measures the *amount* of high-frequency content, not whether it is right (noise raises it
    too), so it is read next to PSNR/SSIM, never alone. Hand-written: no library offers a weight-free
    texture measure, and the learned perceptual ones (LPIPS, NIQE models) need downloads.
    """
    if isinstance(sr, torch.Tensor) and isinstance(hr, torch.Tensor):
        sr, hr = list(sr), list(hr)
    if len(sr) != len(hr) or not len(sr):
        raise EvaluationError(f"Got {len(sr)} SR images for {len(hr)} HR images; need equal, nonzero.")
    ratios = []
    for s, h in zip(sr, hr):
        if s.shape != h.shape:
            raise EvaluationError(f"SR output {list(s.shape)} and HR target {list(h.shape)} differ in shape.")
        reference = _band_and_total_power(h, scale)[0]
        if reference > 0:  # a flat HR image has no detail to compare with
            ratios.append(_band_and_total_power(s, scale)[0] / reference)
    if not ratios:
        raise EvaluationError("Every HR image is flat: the high-frequency ratio is undefined.")
    return sum(ratios) / len(ratios)


def high_frequency_share(images: torch.Tensor, scale: int) -> float:
    """The unpaired form for generated images (no HR twin): per uint8 image, the share of its Y power
    (border cropped, mean removed, windowed as above) that lies above the Nyquist limit of a ``scale``
    times smaller image; the mean over non-flat images. An image upsampled from that smaller size holds
    almost none; real images set the reference. Like the ratio, it counts detail, not whether it is right."""
    _check_images(images, "the images")
    shares = []
    for image in images:
        band, total = _band_and_total_power(image, scale)
        if total > 0:
            shares.append(band / total)
    if not shares:
        raise EvaluationError("Every image is flat: the high-frequency share is undefined.")
    return sum(shares) / len(shares)


def bicubic_upscale(lr: torch.Tensor, scale: int) -> torch.Tensor:
    """The bicubic baseline: uint8 LR [N, C, h, w] -> uint8 [N, C, scale*h, scale*w].

    ``F.interpolate(mode="bicubic", antialias=True)``: with antialias torch uses the a = -0.5 cubic
    kernel of PIL and MATLAB's imresize (without it, a = -0.75), the kernel the paired data's
    downsampling uses too (ganforge.data.paired_sources).
    """
    if lr.dtype != torch.uint8 or lr.dim() != 4:
        raise EvaluationError(f"bicubic_upscale takes uint8 [N, C, h, w]; got {lr.dtype} {list(lr.shape)}.")
    size = (lr.shape[-2] * scale, lr.shape[-1] * scale)
    up = F.interpolate(lr.float(), size=size, mode="bicubic", align_corners=False, antialias=True)
    return up.round_().clamp_(0, 255).to(torch.uint8)

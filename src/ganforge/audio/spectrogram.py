"""SpecGAN's spectrograms (Donahue et al. 2019): 128x128 log-magnitude STFT, normalised per frequency bin.

Following the authors' ``train_specgan.py`` (chrisdonahue/wavegan): a clip is padded or cropped to 16,384
samples (at 16 kHz), framed with a 256-sample periodic Hann window every 128 samples with zeros padded at
the end (TensorFlow's ``stft(x, 256, 128, pad_end=True)``: 128 frames), transformed to 129 frequency bins,
``log(|X| + 1e-6)``; the Nyquist bin is dropped (128 bins), each bin is standardised with the mean and
standard deviation of that bin over every frame of the *training* set, divided by 3 and clipped to
[-1, 1] (clipping at 3 sigma). The inverse pads the Nyquist bin back (at its mean), undoes the scaling,
exponentiates and estimates a phase by Griffin-Lim, 16 iterations by default as in the paper.

Layout here: ``[B, 1, 128 frequency bins (low first), 128 frames]``, an image whose rows are frequencies
(the authors' tensors are [B, time, frequency, 1]; the 2-D networks do not care, pictures read better).

Written with ``torch.stft`` and a hand-written inverse instead of torchaudio (no torchaudio build exists for
torch 2.14: pip offers 2.11.1 at most) or librosa (it installs, but is numpy-only, one clip at a time and
pulls numba): this runs batched on the device the generator runs on. ``torch.istft`` is not used because
with ``center=False`` it refuses a periodic Hann window (its first sample is 0, so the window envelope
vanishes at the clip's first sample); the overlap-add below divides by the envelope where it is non-zero.
The authors' TF 1.x ``inverse_stft`` did not divide by the envelope at all; this is the least-squares
inverse Griffin & Lim (1984) assume, so reconstructions are at least as close.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

N_FFT = 256
HOP = 128
SLICE_SAMPLES = 16_384
LOG_EPS = 1e-6
CLIP_NSTD = 3.0
GRIFFIN_LIM_ITERATIONS = 16
FREQ_BINS = N_FFT // 2 + 1  # 129; 128 after dropping the Nyquist bin
assert HOP * 2 == N_FFT  # istft's overlap-add relies on it


def _window(device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    return torch.hann_window(N_FFT, periodic=True, device=device, dtype=dtype)


def _as_batch(waveforms: torch.Tensor) -> torch.Tensor:
    """[B, 1, T] or [B, T] or [T] -> float [B, T]."""
    x = waveforms.float()
    if x.dim() == 3:
        if x.shape[1] != 1:
            raise ValueError(f"waveforms must be mono [B, 1, T]; got shape {list(waveforms.shape)}")
        x = x[:, 0]
    return x.unsqueeze(0) if x.dim() == 1 else x


def fit_samples(waveforms: torch.Tensor, length: int = SLICE_SAMPLES) -> torch.Tensor:
    """Zero-pad at the end or crop the last dimension to ``length`` (WaveGAN / SpecGAN's 16,384)."""
    n = waveforms.shape[-1]
    return F.pad(waveforms, (0, length - n)) if n < length else waveforms[..., :length]


def stft(waveforms: torch.Tensor, pad_end: bool = True) -> torch.Tensor:
    """Complex STFT [B, 129, frames] of [B, T]; ``pad_end``: zeros appended so frames = ceil(T / 128)."""
    x = _as_batch(waveforms)
    if pad_end:
        frames = max(1, math.ceil(x.shape[-1] / HOP))
        x = F.pad(x, (0, (frames - 1) * HOP + N_FFT - x.shape[-1]))
    return torch.stft(x, N_FFT, HOP, window=_window(x.device, x.dtype), center=False, return_complex=True)


def _overlap_add(chunks: torch.Tensor) -> torch.Tensor:
    """[..., frames, 256] -> [..., (frames + 1) * 128]: with a hop of half the window, each 128-sample
    block is the first half of one frame plus the second half of the one before (no F.fold: faster)."""
    first = F.pad(chunks[..., :HOP], (0, 0, 0, 1))
    second = F.pad(chunks[..., HOP:], (0, 0, 1, 0))
    return (first + second).flatten(-2)


def istft(spectrum: torch.Tensor) -> torch.Tensor:
    """Least-squares inverse of :func:`stft` (pad_end kept): [B, 129, frames] -> [B, (frames-1)*128+256]."""
    frames = spectrum.shape[-1]
    window = _window(spectrum.device, spectrum.real.dtype)
    chunks = torch.fft.irfft(spectrum.transpose(-1, -2), n=N_FFT, dim=-1) * window  # [B, frames, 256]
    signal = _overlap_add(chunks)
    envelope = _overlap_add((window**2).expand(frames, N_FFT))
    return torch.where(envelope > 1e-10, signal / envelope.clamp_min(1e-10), torch.zeros_like(signal))


def log_magnitude(waveforms: torch.Tensor, length: int = SLICE_SAMPLES) -> torch.Tensor:
    """log(|STFT| + 1e-6) with every bin, [B, 129, frames] (128 frames for 16,384 samples)."""
    return torch.log(stft(fit_samples(_as_batch(waveforms), length)).abs() + LOG_EPS)


def griffin_lim(
    magnitude: torch.Tensor, n_iter: int = GRIFFIN_LIM_ITERATIONS, length: int | None = SLICE_SAMPLES
) -> torch.Tensor:
    """Waveforms [B, length] whose STFT magnitude approximates ``magnitude`` [B, 129, frames].

    The authors' loop: start from zero phase; ``n_iter`` times invert, re-analyse and keep the new phase
    with the given magnitude; invert once more. Deterministic (no random initial phase).
    """
    spectrum = magnitude.to(torch.complex64)
    for _ in range(int(n_iter)):
        estimate = stft(istft(spectrum), pad_end=False)
        spectrum = magnitude * (estimate / estimate.abs().clamp_min(1e-8))
    signal = istft(spectrum)
    return signal if length is None else fit_samples(signal, length)


def spectral_convergence(reference: torch.Tensor, estimate: torch.Tensor) -> torch.Tensor:
    """|| |S(ref)| - |S(est)| ||_F / || |S(ref)| ||_F per clip, on SpecGAN's STFT of both [B]."""
    ref = stft(fit_samples(_as_batch(reference))).abs()
    est = stft(fit_samples(_as_batch(estimate))).abs()
    return torch.linalg.vector_norm(ref - est, dim=(-2, -1)) / torch.linalg.vector_norm(ref, dim=(-2, -1))


class SpectrogramNormalizer(nn.Module):
    """SpecGAN's per-frequency-bin standardisation, fitted on the training set; the mean and standard
    deviation of each of the 129 bins are buffers, so they travel with the family's checkpoint.

    >>> norm = SpectrogramNormalizer.fit(train_waveforms)     # [N, 1, T] floats in [-1, 1]
    >>> x = norm(waveforms)                                    # [B, 1, 128, 128] in [-1, 1]
    >>> audio = norm.to_waveform(x)                            # [B, 1, 16384] by Griffin-Lim
    """

    def __init__(self, mean: torch.Tensor | None = None, std: torch.Tensor | None = None):
        super().__init__()
        self.register_buffer("mean", torch.zeros(FREQ_BINS) if mean is None else mean.float().clone())
        self.register_buffer("std", torch.ones(FREQ_BINS) if std is None else std.float().clone())

    @classmethod
    @torch.no_grad()
    def fit(
        cls, waveforms: torch.Tensor, batch_size: int = 256, length: int = SLICE_SAMPLES
    ) -> SpectrogramNormalizer:
        """Moments over every frame of every clip (float64 sums, in batches: bounded memory). Stored int16
        clips are accepted as they are (scaled by 1/32768)."""
        total = torch.zeros(FREQ_BINS, dtype=torch.float64)
        squares = torch.zeros(FREQ_BINS, dtype=torch.float64)
        count = 0
        for chunk in waveforms.split(batch_size):
            chunk = chunk.float() / 32768.0 if chunk.dtype == torch.int16 else chunk
            lm = log_magnitude(chunk, length).double().cpu()  # [b, 129, frames]
            total += lm.sum(dim=(0, 2))
            squares += (lm**2).sum(dim=(0, 2))
            count += lm.shape[0] * lm.shape[2]
        if count == 0:
            raise ValueError("SpectrogramNormalizer.fit needs at least one clip")
        mean = total / count
        std = (squares / count - mean**2).clamp_min(0).sqrt()
        return cls(mean.float(), std.float())

    def normalize(self, log_mag: torch.Tensor) -> torch.Tensor:
        """[B, 129, T] log magnitudes -> [B, 1, 128, T] in [-1, 1] (Nyquist dropped, clipped at 3 sigma)."""
        mean, std = self.mean[:-1, None], self.std[:-1, None].clamp_min(1e-6)
        return ((log_mag[:, :-1] - mean) / std / CLIP_NSTD).clamp(-1.0, 1.0).unsqueeze(1)

    def denormalize(self, normalized: torch.Tensor) -> torch.Tensor:
        """[B, 1, 128, T] -> [B, 129, T] log magnitudes; the Nyquist bin comes back at its mean."""
        x = F.pad(normalized[:, 0].float(), (0, 0, 0, 1)) * CLIP_NSTD
        return x * self.std[:, None] + self.mean[:, None]

    def forward(self, waveforms: torch.Tensor) -> torch.Tensor:
        return self.normalize(log_magnitude(waveforms))

    @torch.no_grad()
    def to_waveform(
        self, normalized: torch.Tensor, n_iter: int = GRIFFIN_LIM_ITERATIONS, length: int = SLICE_SAMPLES
    ) -> torch.Tensor:
        """Generated spectrograms [B, 1, 128, T] -> waveforms [B, 1, length] (Griffin-Lim, n_iter)."""
        magnitude = torch.exp(self.denormalize(normalized))
        return griffin_lim(magnitude, n_iter, length).clamp(-1.0, 1.0).unsqueeze(1)


def spectrogram_picture(
    waveforms: torch.Tensor, floor_db: float = -80.0, top_db: float = 30.0
) -> torch.Tensor:
    """Pictures [B, 1, 128, 128] in [-1, 1] of clips: 20 log10 |STFT| between ``floor_db`` and ``top_db``
    (a full-scale sine peaks near +36 dB with this window), low frequencies at the bottom. A fixed scale,
    not per-clip, so quiet and loud clips look different."""
    db = 20.0 * torch.log10(stft(fit_samples(_as_batch(waveforms))).abs()[:, :-1] + LOG_EPS)
    picture = ((db - floor_db) / (top_db - floor_db) * 2.0 - 1.0).clamp(-1.0, 1.0)
    return picture.flip(-2).unsqueeze(1)

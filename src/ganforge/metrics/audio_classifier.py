"""The classifier route's network for audio clips: a small CNN on log-magnitude spectrograms.

WaveGAN's paper scores generated speech with the Inception score of a digit classifier trained on the
training set (theirs: a spectrogram CNN on SC09). This is ganforge's counterpart, trained by
``ganforge-train-evaluator data=spoken_digits`` like every classifier evaluator: its logits give the
Inception score and class histogram, its penultimate layer the features of the classifier FID / KID / PR.

Front end: SpecGAN's STFT (``ganforge.audio.spectrogram``: 256-sample periodic Hann window, hop 128,
clips padded to 16,384 samples), ``log(|X| + 1e-6)`` of the 128 bins below Nyquist, average-pooled 2x2
to 64 x 64 (the digits need no finer resolution, and it quarters the cost of scoring 50k clips), then a
BatchNorm without affine terms (the log magnitudes' scale is learned from the training set). Body: four
3x3 conv / BatchNorm / ReLU / max-pool blocks (16-32-64-64 channels), global average pooling, a
``feature_dim`` fully connected layer (the features) and a linear head. Written here because no library
ships a speech-digit classifier that runs offline on this torch (torchaudio has no build for 2.14).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.audio.spectrogram import log_magnitude

FRONT_END = "int16/32768;stft256/hop128;log(|X|+1e-6);128 bins;avgpool2->64x64"


def spectrogram_input(waveforms: torch.Tensor) -> torch.Tensor:
    """Float clips [B, 1, T] in [-1, 1] -> [B, 1, 64, 64] pooled log magnitudes (low frequencies first)."""
    lm = log_magnitude(waveforms)[:, :-1]  # [B, 128, 128]: the Nyquist bin dropped
    return F.avg_pool2d(lm.unsqueeze(1), 2)


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(), nn.MaxPool2d(2))


class AudioClassifier(nn.Module):
    def __init__(self, num_classes: int, feature_dim: int = 256, dropout: float = 0.3):
        super().__init__()
        self.input_norm = nn.BatchNorm2d(1, affine=False)
        self.body = nn.Sequential(
            _block(1, 16),
            _block(16, 32),
            _block(32, 64),
            _block(64, 64),
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(64, feature_dim),
            nn.ReLU(),
        )
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(feature_dim, num_classes))
        self.num_features = feature_dim

    def forward(self, waveforms: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.body(self.input_norm(spectrogram_input(waveforms)))
        return features, self.head(features)


def random_time_shift(x: torch.Tensor, max_frames: float, generator: torch.Generator) -> torch.Tensor:
    """Shift each clip [B, 1, T] by a whole number of samples of up to ``max_frames`` STFT hops (128
    samples, the spectrogram's pixel) either way, zeros shifted in: the classifier's counterpart of an
    image classifier's random translations, so it does not learn the words' exact position."""
    from ganforge.audio.spectrogram import HOP

    limit = int(round(max_frames * HOP))
    if limit <= 0:
        return x
    shifts = torch.randint(-limit, limit + 1, (len(x),), generator=generator).tolist()
    padded = F.pad(x, (limit, limit))
    length = x.shape[-1]
    return torch.stack([padded[i, :, limit - s : limit - s + length] for i, s in enumerate(shifts)])

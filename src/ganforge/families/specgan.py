"""SpecGAN (Donahue et al. 2019): a GAN on normalised log spectrograms, heard through Griffin-Lim.

G and D (``ganforge.networks.specgan``) work on [B, 1, 128, 128] spectrograms normalised per frequency bin
(``ganforge.audio.spectrogram.SpectrogramNormalizer``: 256-sample window, hop 128, log magnitude, each bin
standardised with the training set's moments, clipped at 3 sigma). The family fits those moments on the
training clips the first time it meets the data (:meth:`bind_data`) and keeps them as buffers
(``spectrogram.mean`` / ``spectrogram.std``, with a ``spectrogram_fitted`` flag) in the checkpoint, so
sampling and evaluation use the training run's moments. Real batches become spectrograms before D; the
family's samples are waveforms (Griffin-Lim, ``model.griffin_lim_iterations``, 16 as the paper), so every
metric, picture and WAV file is audio. Training as WaveGAN: WGAN-GP, lambda 10, 5 critic updates, Adam 1e-4
(0.5, 0.9), z ~ U[-1, 1]^100.
"""

from __future__ import annotations

import logging
from typing import Any

import torch

from ganforge.audio.spectrogram import GRIFFIN_LIM_ITERATIONS, SpectrogramNormalizer, fit_samples
from ganforge.errors import ConfigError
from ganforge.families.wavegan import AudioGAN

log = logging.getLogger(__name__)


class SpecGAN(AudioGAN):
    def __init__(self, *args: Any, griffin_lim_iterations: int = GRIFFIN_LIM_ITERATIONS, **kwargs: Any):
        super().__init__(*args, **kwargs)
        if griffin_lim_iterations < 0:
            raise ConfigError(f"model.griffin_lim_iterations={griffin_lim_iterations} must be >= 0.")
        self.griffin_lim_iterations = int(griffin_lim_iterations)
        # Not a trained network (no optimizer, no EMA): buffers that travel with the checkpoint.
        self.spectrogram = SpectrogramNormalizer()
        self.register_buffer("spectrogram_fitted", torch.zeros((), dtype=torch.bool))

    def bind_data(self, datamodule: Any) -> None:
        super().bind_data(datamodule)
        if bool(self.spectrogram_fitted):
            return  # a checkpoint's moments (or an earlier bind): never refitted on other data
        train = datamodule.split_fields("train")[self.sample_field]
        fitted = SpectrogramNormalizer.fit(train)
        self.spectrogram.mean.copy_(fitted.mean)
        self.spectrogram.std.copy_(fitted.std)
        self.spectrogram_fitted.fill_(True)
        log.info("SpecGAN: per-bin spectrogram moments fitted on %d training clips", len(train))

    def real_input(self, audio: torch.Tensor) -> torch.Tensor:
        if not bool(self.spectrogram_fitted):
            raise ConfigError("SpecGAN's spectrogram moments are not fitted: bind_data(datamodule) first.")
        return self.spectrogram(audio)

    def to_audio(self, generated: torch.Tensor) -> torch.Tensor:
        audio = self.spectrogram.to_waveform(generated, self.griffin_lim_iterations)
        return fit_samples(audio, self.clip_samples or audio.shape[-1])

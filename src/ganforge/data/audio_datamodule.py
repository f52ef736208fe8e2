"""The datamodule of the audio families: batches ``{"audio", "label"[, "speaker"]}`` of one-second clips.

A :class:`~ganforge.data.fields.FieldsDataModule` over any loader of ``ganforge.data.audio_digits`` /
``ganforge.data.audio_sources``. Clips are held in memory as int16 ``[N, 1, num_samples]`` (16,000 at
16 kHz: 0.5 GB per 16,000 clips less than float32) and reach the networks as float32 in [-1, 1)
(``x / 32768``), converted on the device. ``label`` is the class (the digit), ``speaker`` an integer id of
the voice or speaker (int64 ``[B]``). Families that want WaveGAN's 16,384 samples pad at the end
(``ganforge.audio.spectrogram.fit_samples``); SpecGAN's spectrograms do the same.

What a family gets from it: ``sample_field`` ("audio"), ``sample_rate``, ``num_samples``,
``render(samples, path)`` (a grid of spectrogram pictures, low frequencies at the bottom) and
``write_audio(samples, directory)`` (16-bit WAV files).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from ganforge.audio import CLIP_SAMPLES, SAMPLE_RATE
from ganforge.audio.io import int16_to_float, write_wavs
from ganforge.data.base import Fields
from ganforge.data.fields import FieldsDataModule, FieldsLoader
from ganforge.errors import ConfigError, DatasetError


class AudioDataModule(FieldsDataModule):
    def __init__(
        self,
        loader: FieldsLoader,
        sample_rate: int = SAMPLE_RATE,
        num_samples: int = CLIP_SAMPLES,
        fields: Sequence[str] = ("audio", "label", "speaker"),
        sample_field: str | None = "audio",
        **kwargs: Any,
    ):
        super().__init__(loader, fields, sample_field=sample_field, **kwargs)
        self.sample_rate, self.num_samples = int(sample_rate), int(num_samples)
        self._distance_moments: Any = None  # fitted at the first distance_features call
        if self.sample_field is None:
            raise ConfigError(f"data={self.name}: audio data needs data.sample_field (the clips' field).")
        if self.shape != (1, self.num_samples):
            raise ConfigError(
                f"data.shape={list(self.shape)} does not match data.num_samples={self.num_samples}: audio "
                f"clips are [1, num_samples]; leave data.shape at its default [1, ${{data.num_samples}}]."
            )

    def load_fields(self, split: str) -> Fields:
        fields = super().load_fields(split)
        clips = fields.get(self.sample_field)
        if clips is not None and (clips.dim() != 3 or tuple(clips.shape[1:]) != (1, self.num_samples)):
            raise DatasetError(
                f"The {split} split of data={self.name} has clips of shape {list(clips.shape)[1:]}, not "
                f"[1, {self.num_samples}]; make the loader's num_samples equal data.num_samples."
            )
        labels = fields.get("label")
        if self.num_classes and labels is not None and len(labels) and int(labels.max()) >= self.num_classes:
            raise DatasetError(
                f"The {split} split of data={self.name} has labels up to {int(labels.max())}, but "
                f"data.num_classes={self.num_classes}; set data.num_classes={int(labels.max()) + 1} (the "
                "number of classes the loader keeps)."
            )
        return fields

    def field_to_model_space(self, name: str, values: torch.Tensor) -> torch.Tensor:
        return int16_to_float(values) if name == self.sample_field else values

    def distance_features(self, samples: torch.Tensor) -> torch.Tensor:
        """Clips (storage space) -> SpecGAN's log-magnitude spectrogram, each bin standardised with the
        training clips' moments (not clipped), flattened: the frequency domain WaveGAN's paper compares
        nearest neighbours in (a waveform distance would mostly measure phase)."""
        from ganforge.audio.spectrogram import SpectrogramNormalizer, log_magnitude

        if self._distance_moments is None:
            self._distance_moments = SpectrogramNormalizer.fit(self.split_fields("train")[self.sample_field])
        norm = self._distance_moments
        out = [
            (
                (log_magnitude(int16_to_float(c)) - norm.mean[:, None]) / norm.std[:, None].clamp_min(1e-6)
            ).flatten(1)
            for c in samples.split(256)
        ]
        return torch.cat(out)

    def render(self, samples: torch.Tensor, path: Path, nrow: int | None = None) -> None:
        """Spectrogram pictures (dB, fixed scale) of generated clips [B, 1, T] in [-1, 1], as one grid."""
        from ganforge.audio.spectrogram import spectrogram_picture
        from ganforge.data.render import save_image_grid

        save_image_grid(spectrogram_picture(samples.detach().float().cpu()), path, nrow)

    def write_audio(self, samples: torch.Tensor, directory: str | Path, prefix: str = "sample") -> list[Path]:
        """Clips [B, 1, T] in [-1, 1] as 16-bit WAV files at ``sample_rate`` in ``directory``."""
        return write_wavs(samples, directory, self.sample_rate, prefix)

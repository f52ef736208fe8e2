"""WaveGAN (Donahue et al. 2019): a raw-waveform GAN for one-second sounds, trained as WGAN-GP.

WGAN-GP as the authors' ``train_wavegan.py``: gradient penalty lambda 10, 5 critic updates per generator
update, Adam 1e-4 betas (0.5, 0.9), z ~ U[-1, 1]^100 (their noise; not a Gaussian). The networks are
``ganforge.networks.wavegan``. Real clips ([B, 1, 16000] from ``ganforge.data.audio_datamodule``) are
zero-padded at the end to the generator's ``slice_len`` (16,384) before D, like the authors' loader;
generated clips leave the family (samples, metrics, WAVs) cut back to the data's length, so they compare
with the real clips sample for sample.

:class:`AudioGAN` is the part WaveGAN and SpecGAN share: what D sees of a real clip (:meth:`real_input`),
how a generator output becomes audio (:meth:`to_audio`), and the WAV files written at every sample step
and by ``ganforge-sample`` (:meth:`extra_media`, sent to W&B as ``samples/audio``).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from ganforge.audio.spectrogram import fit_samples
from ganforge.errors import ConfigError
from ganforge.families.base import Batch
from ganforge.families.wgan_gp import WGANGP


class AudioGAN(WGANGP):
    """WGAN-GP on audio clips: a noise-to-sample family whose samples are waveforms [B, 1, T]."""

    sample_field = "audio"

    def __init__(self, *args: Any, model_dim: int = 64, audio_clips: int = 16, **kwargs: Any):
        # model_dim reaches the networks by interpolation (${model.model_dim}); kept here for reference.
        super().__init__(*args, **kwargs)
        self.model_dim = int(model_dim)
        if audio_clips < 0:
            raise ConfigError(f"model.audio_clips={audio_clips} must be >= 0 (WAV files per sample step).")
        self.audio_clips = int(audio_clips)
        self.clip_samples: int | None = None  # the data's clip length, learned in bind_data

    def bind_data(self, datamodule: Any) -> None:
        super().bind_data(datamodule)
        if not callable(getattr(datamodule, "write_audio", None)):
            raise ConfigError(
                f"model={self.name} generates audio, but data={datamodule.name} is not audio. Use audio data "
                "(e.g. data=spoken_digits)."
            )
        self.clip_samples = int(datamodule.num_samples)

    # ----------------------------------------------------------------- audio <-> what the networks see
    def real_input(self, audio: torch.Tensor) -> torch.Tensor:
        """What D sees of real clips [B, 1, T] in [-1, 1]."""
        raise NotImplementedError

    def to_audio(self, generated: torch.Tensor) -> torch.Tensor:
        """Generator outputs -> clips [B, 1, clip_samples] in [-1, 1]."""
        raise NotImplementedError

    def _network_batch(self, batch: Batch) -> dict[str, torch.Tensor]:
        return {**batch, self.sample_field: self.real_input(batch[self.sample_field])}

    def discriminator_objective(self, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        return super().discriminator_objective(self._network_batch(batch))

    def generator_objective(self, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        return super().generator_objective(self._network_batch(batch))

    # ----------------------------------------------------------------- noise: the authors' U[-1, 1]
    def sample_noise(self, n: int) -> torch.Tensor:
        return torch.rand(n, self.latent_dim, device=self.device) * 2.0 - 1.0

    def grid_inputs(self, n: int, seed: int) -> tuple[torch.Tensor, None]:
        g = torch.Generator().manual_seed(seed)
        return torch.rand(n, self.latent_dim, generator=g) * 2.0 - 1.0, None

    # ----------------------------------------------------------------- samples are audio
    def sample_inputs(self, inputs: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return self.to_audio(super().sample_inputs(inputs))

    def extra_media(
        self, path_prefix: Path, samples: torch.Tensor, datamodule: Any, limit: int | None = None
    ) -> dict[str, tuple[str, list[Path]]]:
        """The first ``limit`` (default ``model.audio_clips``) clips as WAVs in ``<path_prefix>_audio/``."""
        count = self.audio_clips if limit is None else int(limit)
        if count <= 0:
            return {}
        directory = Path(f"{path_prefix}_audio")
        return {"audio": ("audio", datamodule.write_audio(samples[:count], directory))}


class WaveGAN(AudioGAN):
    def __init__(
        self,
        *args: Any,
        slice_len: int = 16_384,
        phase_shuffle: int = 2,
        post_filter_len: int | None = None,
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        # phase_shuffle and post_filter_len are the networks' (interpolated into their configs).
        self.slice_len, self.phase_shuffle = int(slice_len), phase_shuffle
        self.post_filter_len = post_filter_len
        made = getattr(self.generator, "slice_len", self.slice_len)
        if made != self.slice_len:
            raise ConfigError(
                f"model.slice_len={self.slice_len} but the generator makes {made} samples; leave "
                "model.generator.slice_len at ${model.slice_len}."
            )

    def real_input(self, audio: torch.Tensor) -> torch.Tensor:
        return fit_samples(audio, self.slice_len)  # zeros at the end, as the authors' loader

    def to_audio(self, generated: torch.Tensor) -> torch.Tensor:
        return fit_samples(generated, self.clip_samples or generated.shape[-1])

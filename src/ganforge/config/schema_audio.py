"""The schema of the audio parts: one-second clips and the audio families WaveGAN, SpecGAN (docs/audio.md).

Kept beside ganforge.config.schema (registered by its ``register_configs``) so that file stays one
screenful per family group.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hydra.core.config_store import ConfigStore

from ganforge.config.schema import FieldsDataConfig, WGANGPModelConfig


@dataclass
class AudioDataConfig(FieldsDataConfig):
    """Audio clips (ganforge.data.audio_datamodule): rows of audio, label (the class) and speaker id."""

    _target_: str = "ganforge.data.audio_datamodule.AudioDataModule"
    # Hz of every clip; files at other rates are resampled while decoding.
    sample_rate: int = 16_000
    # Samples per stored clip (16,000: one second, as SC09); WaveGAN / SpecGAN pad to 16,384 themselves.
    num_samples: int = 16_000
    shape: list[int] = field(default_factory=lambda: [1, "${data.num_samples}"])
    num_classes: int | None = 10
    fields: list[str] = field(default_factory=lambda: ["audio", "label", "speaker"])
    sample_field: str | None = "audio"


@dataclass
class AudioGANModelConfig(WGANGPModelConfig):
    """The audio families' shared keys (ganforge.families.wavegan.AudioGAN: WGAN-GP on audio clips)."""

    # Width of the networks (the paper's d: 64); tiny in tests.
    model_dim: int = 64
    # WAV files written (and sent to W&B) per sample step; ganforge-sample writes one per pictured sample.
    audio_clips: int = 16


@dataclass
class WaveGANModelConfig(AudioGANModelConfig):
    """model=wavegan: 1-D transposed convolutions to slice_len samples; phase shuffle in D."""

    _target_: str = "ganforge.families.wavegan.WaveGAN"
    # Samples the generator makes: 16384 (one second at 16 kHz, the paper), 32768 or 65536 (one more layer).
    slice_len: int = 16_384
    # Phase shuffle radius n in D (0: off); the paper's 2.
    phase_shuffle: int = 2
    # Length of the learned post-processing filter after G's tanh (the paper's 512); null: off.
    post_filter_len: int | None = None


@dataclass
class SpecGANModelConfig(AudioGANModelConfig):
    """model=specgan: 2-D networks on 128x128 normalised log spectrograms; audio by Griffin-Lim."""

    _target_: str = "ganforge.families.specgan.SpecGAN"
    # Griffin-Lim iterations from a generated spectrogram to a waveform (the paper's 16).
    griffin_lim_iterations: int = 16


def register_audio_configs(cs: ConfigStore) -> None:
    cs.store(group="data", name="schema_audio_data", node=AudioDataConfig)
    cs.store(group="model", name="schema_model_wavegan", node=WaveGANModelConfig)
    cs.store(group="model", name="schema_model_specgan", node=SpecGANModelConfig)

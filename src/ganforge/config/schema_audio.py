"""The schema of the audio parts: one-second clips (docs/audio.md).

Kept beside ganforge.config.schema (registered by its ``register_configs``) so that file stays one
screenful per family group.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from hydra.core.config_store import ConfigStore

from ganforge.config.schema import FieldsDataConfig


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


def register_audio_configs(cs: ConfigStore) -> None:
    cs.store(group="data", name="schema_audio_data", node=AudioDataConfig)

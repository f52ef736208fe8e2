"""Value-range and cross-group checks the schema's types cannot express.

Each failure raises ConfigError naming the key, the value and what is allowed, before anything is built.
"""

from __future__ import annotations

import math

from omegaconf import DictConfig, OmegaConf

from ganforge.callbacks.nonfinite import check_mode as check_nonfinite_mode
from ganforge.distributed.strategy import UNSAFE_STRATEGY_STRINGS
from ganforge.errors import ConfigError
from ganforge.families.optim import check_optimizer_choice
from ganforge.stabilizers import check_stabilizers

PRECISIONS = ("32", "32-true", "16-mixed", "bf16-mixed", "64", "64-true")
ACCELERATORS = ("cpu", "gpu", "cuda", "mps", "auto")


def check_accelerator(accelerator: str) -> None:
    if accelerator not in ACCELERATORS:
        raise ConfigError(
            f"hardware.accelerator={accelerator!r} is unknown; allowed values: {list(ACCELERATORS)}."
        )


def _positive(key: str, value: float, strict: bool = True) -> None:
    # NaN compares False with everything, so `nan <= 0` would let it through; inf is no usable setting.
    if value is None or not math.isfinite(value) or (value <= 0 if strict else value < 0):
        raise ConfigError(f"{key}={value} must be {'> 0' if strict else '>= 0'} (a finite number).")


def _check_optimizer(key: str, opt: DictConfig) -> None:
    check_optimizer_choice(key, opt)
    _positive(f"{key}.lr", opt.lr)
    if len(opt.betas) != 2 or not all(0.0 <= b < 1.0 for b in opt.betas):
        raise ConfigError(f"{key}.betas={list(opt.betas)} must be two numbers in [0, 1).")
    _positive(f"{key}.weight_decay", opt.weight_decay, strict=False)
    _positive(f"{key}.momentum", opt.momentum, strict=False)
    _positive(f"{key}.eps", opt.eps)
    if not 0.0 <= opt.alpha <= 1.0:
        raise ConfigError(f"{key}.alpha={opt.alpha} (RMSprop smoothing) must be in [0, 1].")
    if opt.grad_clip_norm is not None:
        _positive(f"{key}.grad_clip_norm", opt.grad_clip_norm)


def _check_text_encoder(encoder: DictConfig | None) -> None:
    """Mandatory keys of the chosen text encoder (text_encoder=precomputed: its file and width), named
    before the networks that interpolate them fail with a bare "missing value"."""
    if encoder is None:
        return
    missing = [key for key in encoder if OmegaConf.is_missing(encoder, key)]
    if missing:
        given = " ".join(
            f"text_encoder.{key}=<{'file .pt or .npz' if key == 'path' else key}>" for key in missing
        )
        raise ConfigError(
            f"The text encoder {encoder.get('_target_', '')} needs {given} (missing: "
            f"{', '.join('text_encoder.' + k for k in missing)}); e.g. text_encoder=precomputed "
            "text_encoder.path=embeddings.pt text_encoder.dim=1024, or text_encoder=minilm."
        )


def validate(cfg: DictConfig) -> None:
    _check_text_encoder(cfg.get("text_encoder"))
    model, data, trainer, hardware = cfg.model, cfg.data, cfg.trainer, cfg.hardware
    if model.d_steps < 1:
        raise ConfigError(
            f"model.d_steps={model.d_steps}: k must be >= 1 (discriminator updates per generator update)."
        )
    _positive("model.latent_dim", model.latent_dim)
    _check_optimizer("model.g_optimizer", model.g_optimizer)
    _check_optimizer("model.d_optimizer", model.d_optimizer)
    for key, strict in (("clip_value", True), ("gp_weight", False)):  # WGAN, WGAN-GP
        if key in model:
            _positive(f"model.{key}", model[key], strict=strict)
    smoothing = cfg.loss.get("real_label_smoothing", 0.0)
    if not 0.0 <= smoothing < 1.0:
        raise ConfigError(f"loss.real_label_smoothing={smoothing} must be in [0, 1) (0 disables it).")
    if model.ema_decay is not None and not 0.0 < model.ema_decay < 1.0:
        raise ConfigError(f"model.ema_decay={model.ema_decay} must be in (0, 1), or null to disable the EMA.")
    _positive("data.batch_size", data.batch_size)
    if "image_size" in data:
        _positive("data.image_size", data.image_size)
    if any(int(size) < 1 for size in data.shape):
        raise ConfigError(f"data.shape={list(data.shape)}: every size must be >= 1.")
    for key in ("max_steps", "log_every_n_steps", "sample_every_n_steps", "checkpoint_every_n_steps"):
        _positive(f"trainer.{key}", trainer[key])
    _positive("trainer.num_sample_images", trainer.num_sample_images)
    check_nonfinite_mode(trainer.on_nonfinite)
    if str(hardware.precision) not in PRECISIONS:
        raise ConfigError(
            f"hardware.precision={hardware.precision!r} is unknown; allowed values: {list(PRECISIONS)}."
        )
    check_accelerator(hardware.accelerator)
    if isinstance(hardware.strategy, str) and hardware.strategy in UNSAFE_STRATEGY_STRINGS:
        raise ConfigError(
            f"hardware.strategy={hardware.strategy!r} wraps the model in DistributedDataParallel, which "
            "fails for alternating G/D updates (unused parameters in each backward). Use hardware=ddp, "
            "hardware=ddp_cpu or hardware=multinode, which use ganforge.distributed.strategy.GANDDPStrategy."
        )
    if data.num_classes is not None and data.num_classes < 1:
        raise ConfigError(f"data.num_classes={data.num_classes} must be >= 1.")
    if model.get("stabilizers") is not None:
        check_stabilizers(OmegaConf.to_container(model.stabilizers), list(data.shape))
    # Family x loss pairings (e.g. model=wgan needs loss=wasserstein) are checked when the family is
    # built (AdversarialModule.check_loss), where the discriminator's real constraints are known.
    ev = cfg.get("eval")
    if ev is not None and ev.metrics:
        _positive("eval.every_n_steps", ev.every_n_steps)
        _positive("eval.batch_size", ev.batch_size)

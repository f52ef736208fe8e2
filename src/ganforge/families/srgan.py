"""Super-resolution families: SRResNet (pixel MSE) and SRGAN (Ledig et al. 2017).

Both read paired batches ``{"lr", "hr"}`` (ganforge.data.paired_datamodule) and train the SRResNet
generator (ganforge.networks.srresnet) G: LR -> SR.

- ``model=srresnet`` (:class:`SRResNetMSE`): no discriminator (the side is empty); one phase ``mse``
  with k = 0: every batch is one generator step on ``MSE(G(lr), hr)``.
- ``model=srgan`` (:class:`SRGAN`): phase ``pretrain`` (``model.pretrain_steps`` generator steps, k = 0)
  is SRResNet on MSE; phase ``adversarial`` (k = ``model.d_steps``) trains the paper's discriminator
  (ganforge.networks.srgan_discriminator) on HR vs SR and G on the perceptual loss
  ``content_weight * content(G(lr), hr) + adversarial_weight * adversarial`` (1 and 1e-3; the adversarial
  term is ``loss=...``'s generator loss, non-saturating -log D(G(x)) by default, as in the paper).
  ``model.content`` picks the content loss (ganforge.losses.content): ``vgg54``, ``classifier`` or
  ``mse``. It is built when training starts, so a missing VGG19 file or evaluator fails then, with its
  own message, and is never replaced by another; train.log and the checkpoint record which one ran.

``model.init_from=<checkpoint>`` starts G from a trained SR checkpoint (the paper's "SRGAN initialised
with SRResNet": ``model=srgan model.pretrain_steps=0 model.init_from=<srresnet>/checkpoints/last.ckpt``).
It is read with ganforge's checkpoint loader (weights only) and refused with a clear error if it is not a
super-resolution checkpoint, or its scale, channels or architecture differ.

Samples are the test split's LR images super-resolved; pictures show LR | bicubic | SR | HR.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from ganforge.data.base import uint8_to_model_space
from ganforge.data.render import save_panels
from ganforge.errors import ConfigError
from ganforge.families.base import CHECKPOINT_KEY, AdversarialModule, Batch
from ganforge.families.phases import Phase
from ganforge.losses.content import CONTENT_KINDS, ContentLoss, build_content_loss, perceptual_loss
from ganforge.metrics.super_resolution import bicubic_upscale

log = logging.getLogger(__name__)


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """Model-space images [-1, 1] -> uint8 pixels as saved to PNG."""
    return ((images.detach().float().cpu() + 1.0) * 127.5).round_().clamp_(0, 255).to(torch.uint8)


def bicubic_model_space(lr: torch.Tensor, scale: int) -> torch.Tensor:
    """The bicubic baseline of model-space LR images, through uint8 as the SR benchmarks compute it."""
    return uint8_to_model_space(bicubic_upscale(to_uint8(lr), scale))


class SuperResolution(AdversarialModule):
    """What SRResNet and SRGAN share: paired data, the generator's scale, init_from, sampling, pictures."""

    sample_field = "hr"

    def __init__(self, *args: Any, init_from: str | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.init_from = init_from
        self.scale = int(getattr(self.generator, "scale", 0))
        self.channels = int(getattr(self.generator, "channels", 0))
        if not self.scale or not self.channels:
            raise ConfigError(
                f"model={self.name}: the generator must say its scale and channels (attributes .scale and "
                ".channels, as ganforge.networks.srresnet.SRResNet does)."
            )

    def required_fields(self) -> tuple[str, ...]:
        return ("lr", "hr")

    def bind_data(self, datamodule: Any) -> None:
        super().bind_data(datamodule)
        for key, ours in (("scale", self.scale), ("channels", self.channels)):
            theirs = getattr(datamodule, key, None)
            if theirs is not None and int(theirs) != ours:
                raise ConfigError(
                    f"model={self.name}'s generator has {key}={ours}, but data={datamodule.name} has "
                    f"data.{key}={theirs}; leave model.generator.{key} at data.{key} (the default)."
                )

    # ----------------------------------------------------------------- training setup
    def setup(self, stage: str) -> None:
        super().setup(stage)
        if stage != "fit":
            return
        resuming = bool((self.run_config or {}).get("ckpt_path"))
        if self.init_from and not resuming:  # a resume restores every weight from its own checkpoint
            self.load_generator_from(self.init_from)
        self.prepare_training()

    def prepare_training(self) -> None:
        """Build what only training needs (SRGAN: the content loss) and say in train.log what runs."""

    def announce(self, message: str, *args: Any) -> None:
        if self.trainer is None or self.trainer.is_global_zero:
            log.info(message, *args)

    def load_generator_from(self, path: str | Path) -> None:
        """G's weights from a trained SR checkpoint: its EMA copy if the run kept one (what it sampled)."""
        from ganforge.checkpoints import load_checkpoint

        ckpt = load_checkpoint(path)
        model_cfg = (ckpt[CHECKPOINT_KEY].get("config") or {}).get("model") or {}
        target = str(model_cfg.get("_target_", ""))
        if target not in SR_FAMILY_TARGETS:
            raise ConfigError(
                f"model.init_from={path} is a checkpoint of model={model_cfg.get('name')} ({target}), not "
                "of a super-resolution family; pass a checkpoint of model=srresnet or model=srgan."
            )
        saved = model_cfg.get("generator") or {}
        configured = ((self.run_config or {}).get("model") or {}).get("generator") or {}
        ours = {"scale": self.scale, "channels": self.channels}
        ours.update({k: configured[k] for k in ("width", "num_blocks") if k in configured})
        diffs = [f"{k}={saved.get(k)} (ours {v})" for k, v in ours.items() if k in saved and saved[k] != v]
        if diffs:
            raise ConfigError(
                f"model.init_from={path}: its generator differs from this one in {', '.join(diffs)}; "
                "initialise from a checkpoint of the same scale, channels and generator size."
            )
        state = ckpt["state_dict"]
        ema = "generator_ema.module."
        prefix = ema if any(k.startswith(ema) for k in state) else "generator."
        weights = {k.removeprefix(prefix): v for k, v in state.items() if k.startswith(prefix)}
        try:
            self.generator.load_state_dict(weights)
        except RuntimeError as exc:
            raise ConfigError(
                f"model.init_from={path}: its generator weights do not fit this generator "
                f"({str(exc).splitlines()[0]}); use a checkpoint trained with the same model.generator "
                "settings."
            ) from exc
        self.announce(
            "model=%s: generator initialised from %s (%s weights, generator step %d of model=%s)",
            self.name,
            path,
            "EMA" if prefix == ema else "trained",
            int(ckpt[CHECKPOINT_KEY]["gen_step"]),
            model_cfg.get("name"),
        )

    # ----------------------------------------------------------------- objectives
    def mse_objective(self, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        loss = F.mse_loss(self.generator(batch["lr"]), batch["hr"])
        return loss, {"loss/g": loss.detach(), "loss/mse": loss.detach()}

    # ----------------------------------------------------------------- sampling
    def sampling_inputs(self, n: int, seed: int, datamodule: Any = None) -> dict[str, torch.Tensor]:
        """``n`` test-split pairs (a seeded permutation, repeated if n exceeds the split), model space."""
        test = datamodule.split_fields("test")
        count = len(test["lr"])
        g = torch.Generator().manual_seed(seed)
        idx = torch.randperm(count, generator=g).repeat(-(-n // count))[:n]
        return {k: datamodule.field_to_model_space(k, test[k][idx]) for k in ("lr", "hr")}

    def upscale(self, lr: torch.Tensor) -> torch.Tensor:
        """SR images (model space, clamped) for LR images of any size, from the sampling generator."""
        with self.sampling_mode() as nets:
            return nets["generator"](lr.to(self.device))

    def sample_inputs(self, inputs: Mapping[str, torch.Tensor]) -> torch.Tensor:
        return self.upscale(inputs["lr"])

    def render_samples(
        self,
        path: Path,
        inputs: Mapping[str, torch.Tensor],
        samples: torch.Tensor,
        datamodule: Any,
        nrow: int | None = None,
    ) -> None:
        lr = inputs["lr"].cpu()
        panels = {"LR": lr, "bicubic": bicubic_model_space(lr, self.scale), "SR": samples.cpu()}
        save_panels({**panels, "HR": inputs["hr"].cpu()}, path)


class SRResNetMSE(SuperResolution):
    """``model=srresnet``: G on pixel MSE, no discriminator."""

    def phases(self) -> Sequence[Phase]:
        return (Phase("mse", d_steps=0),)

    def prepare_training(self) -> None:
        self.announce(
            "model=%s: pixel MSE only, no discriminator (loss=%s is not used)", self.name, self.loss.name
        )

    def generator_objective(self, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        return self.mse_objective(batch)


class SRGAN(SuperResolution):
    """``model=srgan``: MSE pre-training, then the perceptual loss against the SRGAN discriminator."""

    def __init__(
        self,
        *args: Any,
        pretrain_steps: int = 1000,
        content: str = "vgg54",
        content_weight: float = 1.0,
        adversarial_weight: float = 1e-3,
        content_classifier_path: str | None = None,
        content_layer: str = "conv",
        content_feature_scale: float | None = None,
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        if content not in CONTENT_KINDS:
            raise ConfigError(f"model.content={content!r} is unknown; use one of {list(CONTENT_KINDS)}.")
        if pretrain_steps < 0 or content_weight < 0 or adversarial_weight < 0:
            raise ConfigError(
                f"model.pretrain_steps={pretrain_steps}, content_weight={content_weight} and "
                f"adversarial_weight={adversarial_weight} must be >= 0."
            )
        if not self.sides["discriminator"].networks:
            raise ConfigError(
                "model=srgan needs a discriminator (model.discriminator); model=srresnet has none."
            )
        self.pretrain_steps = int(pretrain_steps)
        self.content = content
        self.content_weight, self.adversarial_weight = float(content_weight), float(adversarial_weight)
        self.content_classifier_path = content_classifier_path
        self.content_layer = content_layer
        self.content_feature_scale = content_feature_scale
        # Not a submodule (ganforge.losses.content): no optimizer, no DDP averaging, not in checkpoints.
        self.content_loss: ContentLoss | None = None
        self._data_name: str | None = None

    def phases(self) -> Sequence[Phase]:
        adversarial = Phase("adversarial")  # k = model.d_steps
        if not self.pretrain_steps:
            return (adversarial,)
        return (Phase("pretrain", steps=self.pretrain_steps, d_steps=0), adversarial)

    def bind_data(self, datamodule: Any) -> None:
        super().bind_data(datamodule)
        self._data_name = datamodule.name  # whose evaluator content=classifier must use

    def prepare_training(self) -> None:
        if self.content_loss is None:
            self.content_loss = build_content_loss(
                self.content,
                classifier_path=self.content_classifier_path,
                data_name=self._data_name,
                classifier_layer=self.content_layer,
                feature_scale=self.content_feature_scale,
            )
        pretrain = (
            f"phase 'pretrain': {self.pretrain_steps} generator steps of pixel MSE, then"
            if self.pretrain_steps
            else "no pretraining phase;"
        )
        self.announce(
            "model=%s: %s phase 'adversarial' (k=%d): %g x content + %g x adversarial (loss=%s); "
            "content loss: %s",
            self.name,
            pretrain,
            self.d_steps,
            self.content_weight,
            self.adversarial_weight,
            self.loss.name,
            self.content_loss.describe(),
        )

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        super().on_save_checkpoint(checkpoint)
        if self.content_loss is not None:
            checkpoint[CHECKPOINT_KEY]["content_loss"] = self.content_loss.describe()

    def generator_objective(self, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        if self.phase.name == "pretrain":
            return self.mse_objective(batch)
        if self.content_loss is None:
            self.prepare_training()
        lr, hr = batch["lr"], batch["hr"]
        sr = self.generator(lr)
        content = self.content_loss(sr, hr)
        adversarial = self.generator_terms(sr, self.discriminator, hr, self.discriminator.features)
        loss = perceptual_loss(content, adversarial, self.content_weight, self.adversarial_weight)
        return loss, {
            "loss/g": loss.detach(),
            "loss/content": content.detach(),
            "loss/adversarial": adversarial.detach(),
            "loss/mse": F.mse_loss(sr.detach(), hr),
        }

    def discriminator_objective(self, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        with torch.no_grad():
            sr = self.generator(batch["lr"])
        loss, metrics = self.discriminator_terms(batch["hr"], sr, self.discriminator)
        metrics["loss/d"] = loss.detach()
        return loss, metrics


#: ``_target_`` of every family whose checkpoints model.init_from accepts
SR_FAMILY_TARGETS = frozenset(f"{c.__module__}.{c.__qualname__}" for c in (SRResNetMSE, SRGAN))

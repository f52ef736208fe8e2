"""StackGAN (Zhang et al. 2017, "StackGAN: Text to Photo-realistic Image Synthesis with Stacked GANs").

Two GANs in one run, as two phases of the engine (ganforge.families.phases):

- ``stage1`` (``model.stage1_steps`` generator steps): Stage-I G draws a low-resolution image
  (``model.stage1_size``) from noise and the conditioning-augmented text; Stage-I D judges it against the
  real images area-downsampled to that size. Stage-II's networks are frozen.
- ``stage2`` (until training ends): Stage-I is frozen (and in eval mode); Stage-II G takes Stage-I's image
  and the text again and draws the full-size image (``data.canvas``, 4x in the paper); Stage-II D judges
  it against the real images.

Both discriminators are matching-aware (real image + mismatching text is a negative, as in GAN-INT-CLS:
the engine's ``discriminator_terms(negatives=...)``), and both generators add ``model.kl_weight`` x
KL(N(mu, sigma) || N(0, I)) of their conditioning augmentation (``loss/kl``). ``model.stage1_from=<ckpt>``
starts from the Stage-I networks of another StackGAN checkpoint (then ``model.stage1_steps=0`` trains
Stage-II only). Samples: Stage-I images (upsampled to the full size) during stage1, Stage-II's afterwards;
pictures: each caption under its images (stage-I, then stage-I | stage-II) and the captions file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.errors import ConfigError
from ganforge.families.base import CHECKPOINT_KEY, AdversarialModule, Batch, Phase, PhaseState
from ganforge.families.text_conditioning import TextConditioned
from ganforge.networks.stackgan import kl_to_standard_normal
from ganforge.text.encoders import TextEncoder

STAGE1, STAGE2 = ("g1", "d1"), ("g2", "d2")


class StackGAN(TextConditioned, AdversarialModule):
    def __init__(
        self,
        generator: Mapping[str, nn.Module],
        discriminator: Mapping[str, nn.Module],
        *args: Any,
        text_encoder: TextEncoder,
        stage1_size: int = 16,
        stage1_steps: int = 2000,
        stage1_from: str | None = None,
        kl_weight: float = 1.0,
        embedding_cache: str | None = None,
        paraphrases: bool = False,
        **kwargs: Any,
    ):
        if set(generator) != {"g1", "g2"} or set(discriminator) != {"d1", "d2"}:
            raise ConfigError(
                "model=stackgan needs model.generator.{g1,g2} and model.discriminator.{d1,d2} (Stage-I and "
                f"Stage-II); got {sorted(generator)} and {sorted(discriminator)}."
            )
        super().__init__(generator, discriminator, *args, **kwargs)
        self.setup_text(
            text_encoder,
            embedding_cache,
            {f"generator.{k}": v for k, v in generator.items()}
            | {f"discriminator.{k}": v for k, v in discriminator.items()},
            paraphrases=paraphrases,
        )
        if stage1_steps < 0 or (stage1_steps == 0 and not stage1_from):
            raise ConfigError(
                f"model.stage1_steps={stage1_steps}: Stage-II needs a trained Stage-I, so train it here "
                "(model.stage1_steps > 0) or start from one (model.stage1_from=<stackgan checkpoint>)."
            )
        if kl_weight < 0:
            raise ConfigError(f"model.kl_weight={kl_weight} must be >= 0 (the paper: 1).")
        self.stage1_steps, self.stage1_from, self.kl_weight = int(stage1_steps), stage1_from, float(kl_weight)
        self.stage1_size = int(stage1_size)
        for key, net in (("g1.size", self.g1.size), ("g2.stage1_size", self.g2.stage1_size)):
            if int(net) != self.stage1_size:
                raise ConfigError(
                    f"model.generator.{key}={net} differs from model.stage1_size={stage1_size}; leave it at "
                    "${model.stage1_size}."
                )

    # ----------------------------------------------------------------- phases
    def phases(self) -> Sequence[Phase]:
        stage2 = Phase("stage2", frozen=STAGE1)
        return (
            (Phase("stage1", steps=self.stage1_steps, frozen=STAGE2), stage2)
            if self.stage1_steps
            else (stage2,)
        )

    def on_phase_start(self, state: PhaseState) -> None:
        self._keep_stage1_in_eval()  # frozen: its batch-norm statistics stay those Stage-I ended with

    def setup(self, stage: str) -> None:
        super().setup(stage)
        resuming = bool((self.run_config or {}).get("ckpt_path"))
        if stage == "fit" and self.stage1_from and not resuming:
            self.load_stage1_from(self.stage1_from)

    def load_stage1_from(self, path: str | Path) -> None:
        """Stage-I's networks (g1, its EMA copy if kept, d1) from another StackGAN checkpoint."""
        from ganforge.checkpoints import load_checkpoint

        ckpt = load_checkpoint(path)
        target = str(((ckpt[CHECKPOINT_KEY].get("config") or {}).get("model") or {}).get("_target_", ""))
        if target != f"{StackGAN.__module__}.{StackGAN.__name__}":
            raise ConfigError(
                f"model.stage1_from={path} is not a StackGAN checkpoint (its model is {target})."
            )
        prefixes = ("g1.", "g1_ema.", "d1.")
        weights = {k: v for k, v in ckpt["state_dict"].items() if k.startswith(prefixes)}
        ours = {k for k in self.state_dict() if k.startswith(prefixes)}
        if set(weights) != ours or any(weights[k].shape != self.state_dict()[k].shape for k in ours):
            raise ConfigError(
                f"model.stage1_from={path}: its Stage-I networks differ from this run's (sizes, widths or "
                "text encoder); use the same model.stage1_size, widths and text_encoder as that run."
            )
        self.load_state_dict(weights, strict=False)

    # ----------------------------------------------------------------- objectives
    def _low(self, real: torch.Tensor) -> torch.Tensor:
        return F.interpolate(real, size=self.stage1_size, mode="area")

    def _keep_stage1_in_eval(self) -> None:
        """Stage-II trains on a frozen Stage-I in eval mode, whatever Lightning set the module to."""
        if self.phase.name == "stage2" and (self.g1.training or self.d1.training):
            self.g1.eval()
            self.d1.eval()

    def discriminator_objective(self, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        self._keep_stage1_in_eval()
        real, ids = batch["image"], self.training_captions(batch)
        text, wrong = self.embed(ids), self.embed(self.mismatching(ids))
        with torch.no_grad():
            fake = self.g1(self.noise(len(real)), text)[0]
            if self.phase.name == "stage2":
                fake = self.g2(fake, text)[0]
        d, real = (self.d2, real) if self.phase.name == "stage2" else (self.d1, self._low(real))
        loss, metrics = self.discriminator_terms(
            real, fake, lambda x: d(x, text), negatives={"mismatch": (real, lambda x: d(x, wrong))}
        )
        metrics["loss/d"] = loss.detach()
        return loss, metrics

    def generator_objective(self, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        self._keep_stage1_in_eval()
        real, ids = batch["image"], self.training_captions(batch)
        text = self.embed(ids)
        if self.phase.name == "stage2":
            with torch.no_grad():
                low = self.g1(self.noise(len(real)), text)[0]
            fake, mu, logvar = self.g2(low, text)
            d = self.d2
        else:
            fake, mu, logvar = self.g1(self.noise(len(real)), text)
            d, real = self.d1, self._low(real)
        adversarial = self.generator_terms(fake, lambda x: d(x, text), real, lambda x: d.features(x, text))
        kl = kl_to_standard_normal(mu, logvar)
        loss = adversarial + self.kl_weight * kl
        return loss, {
            "loss/g": loss.detach(),
            "loss/adversarial": adversarial.detach(),
            "loss/kl": kl.detach(),
        }

    # ----------------------------------------------------------------- sampling
    @torch.no_grad()
    def stage_images(self, inputs: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
        """{"stage-I": images at model.stage1_size, and "stage-II" (full size) once stage2 has begun}."""
        with self.sampling_mode() as nets:
            z, text = inputs["z"].to(self.device), inputs["embedding"].to(self.device)
            low = nets["g1"](z, text)[0]
            stages = {"stage-I": low}
            if self.phase.name == "stage2":
                stages["stage-II"] = nets["g2"](low, text)[0]
            return stages

    @torch.no_grad()
    def sample_inputs(self, inputs: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """The full-size images: Stage-II's, or Stage-I's (nearest-upsampled) before Stage-II trains."""
        stages = self.stage_images(inputs)
        if "stage-II" in stages:
            return stages["stage-II"]
        return F.interpolate(stages["stage-I"], size=self.g2.size, mode="nearest")

    def render_samples(self, path: Path, inputs, samples, datamodule, nrow: int | None = None) -> None:
        """Each caption with its images under stage1 (stage-I) or stage2 (stage-I | stage-II), and the
        captions file."""
        from ganforge.data.base import take

        if self.phase.name == "stage2":
            stages = self.stage_images(take(inputs, slice(0, len(samples))))
            panels = {"stage-I": stages["stage-I"].cpu(), "stage-II": samples}
        else:
            panels = {"stage-I": samples}
        self.render_captioned(path, panels, inputs)

"""CycleGAN (Zhu et al. 2017): unpaired image-to-image translation between domains A and B.

Networks (conf/model/cyclegan.yaml): the generator side holds G = ``g_ab`` (A -> B) and F = ``g_ba``
(B -> A), ResNet generators trained by one Adam over both, as the authors chain them; the discriminator
side holds ``d_a`` (real a vs F(b)) and ``d_b`` (real b vs G(a)), PatchGANs, also under one Adam.

Generator objective (the paper's eq. 3 plus the identity term of section 5.2)::

    w * (L_gan(D_b, G(a)) + L_gan(D_a, F(b)))                            adversarial, w = adversarial_weight
    + lambda_a |F(G(a)) - a| + lambda_b |G(F(b)) - b|                     cycle consistency (lambda = 10)
    + lambda_identity * (lambda_b |G(b) - b| + lambda_a |F(a) - a|)       identity (lambda_identity = 0.5)

Discriminator objective: ``L_D(D_b; b, pool_b(G(a))) + L_D(D_a; a, pool_a(F(b)))``, each pool holding 50
past fakes (ganforge.stabilizers.image_pool.ImagePool).

Which fakes D sees. The authors update G, then D on ``pool(fake)`` of that same G step. The engine updates
D first (k updates, then G), so each generator step leaves its fakes pending (PendingFakes) and the next
discriminator update pushes those through the pools: D sees exactly the authors' fakes, one engine step
later, and the pools hold fakes made in generator steps. A discriminator update with nothing pending (the
run's first, or the 2nd..k-th of a cycle when model.d_steps > 1) makes fresh fakes from the current batch
under no_grad and pushes them through the pools.

Sampling (sample grids, ganforge-sample, ganforge-eval, the metrics callback): the fixed inputs are test
images of both domains; the samples are G(a), compared by metrics with domain B (``sample_field = "b"``);
pictures show A | G(A) | F(G(A)) and B | F(B) | G(F(B)). ``ganforge-translate`` runs either direction on
image files (:attr:`CycleGAN.translation_directions`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch
from torch import nn

from ganforge.data.render import save_panels
from ganforge.errors import ConfigError
from ganforge.families.base import AdversarialModule, Batch
from ganforge.losses.cycle import check_cycle_weights, cycle_terms
from ganforge.stabilizers.image_pool import DEFAULT_SIZE, ImagePool, PendingFakes

log = logging.getLogger(__name__)
NETWORKS = ("g_ab", "g_ba", "d_a", "d_b")


class CycleGAN(AdversarialModule):
    sample_field = "b"
    #: ganforge-translate's directions: name -> (generator network, input domain, output domain)
    translation_directions = {"a2b": ("g_ab", "a", "b"), "b2a": ("g_ba", "b", "a")}

    def __init__(
        self,
        generator: Mapping[str, nn.Module],
        discriminator: Mapping[str, nn.Module],
        *args: Any,
        lambda_a: float = 10.0,
        lambda_b: float = 10.0,
        lambda_identity: float = 0.5,
        adversarial_weight: float = 2.0,
        pool_size: int = DEFAULT_SIZE,
        lr_constant_steps: int | None = None,
        lr_decay_steps: int | None = None,
        **kwargs: Any,
    ):
        super().__init__(generator, discriminator, *args, **kwargs)
        missing = [n for n in NETWORKS if n not in self.networks()]
        if missing or len(self.networks()) != len(NETWORKS):
            raise ConfigError(
                f"model={self.name} needs the generators g_ab, g_ba (model.generator) and the discriminators "
                f"d_a, d_b (model.discriminator); got {sorted(self.networks())}."
            )
        check_cycle_weights(lambda_a, lambda_b, lambda_identity)
        if adversarial_weight < 0:
            raise ConfigError(f"model.adversarial_weight={adversarial_weight} must be >= 0.")
        self.lambda_a, self.lambda_b, self.lambda_identity = lambda_a, lambda_b, lambda_identity
        self.adversarial_weight = adversarial_weight
        self.lr_steps = (lr_constant_steps, lr_decay_steps)
        # Not networks: no optimizer, EMA or DDP averaging; their contents are checkpointed as extra state.
        self.pool_a, self.pool_b = ImagePool(pool_size), ImagePool(pool_size)
        self.pending = PendingFakes()
        if self.loss.name != "least_squares":
            log.warning(
                "model=%s trains with loss=%s; the paper's adversarial loss is least squares "
                "(this model's default loss: leave loss= out, or pass loss=least_squares).",
                self.name,
                self.loss.name,
            )

    def required_fields(self) -> tuple[str, ...]:
        return ("a", "b")

    def on_fit_start(self) -> None:
        # The lr reaches 0 at lr_constant_steps + lr_decay_steps; a run of another length stops before it
        # or trains on at lr 0. Allowed (a run may be continued later), but worth saying.
        trainer_cfg = (self.run_config or {}).get("trainer", {})
        if None not in self.lr_steps and "max_steps" in trainer_cfg:
            if sum(self.lr_steps) != int(trainer_cfg["max_steps"]):
                log.warning(
                    "model.lr_constant_steps + model.lr_decay_steps = %d, but trainer.max_steps = %d: the "
                    "lr decays to 0 at step %d (the paper: constant for half the run, then linear to 0).",
                    sum(self.lr_steps),
                    trainer_cfg["max_steps"],
                    sum(self.lr_steps),
                )

    # ----------------------------------------------------------------- objectives
    def generator_objective(self, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        a, b = batch["a"], batch["b"]
        terms = cycle_terms(self.g_ab, self.g_ba, a, b, self.lambda_a, self.lambda_b, self.lambda_identity)
        adv_b = self.generator_terms(terms.fake_b, self.d_b, real=b, features=self.d_b.features)
        adv_a = self.generator_terms(terms.fake_a, self.d_a, real=a, features=self.d_a.features)
        # ganforge's least-squares generator loss is 0.5 (D - 1)^2, the authors' (D - 1)^2 (their MSELoss):
        # adversarial_weight = 2 (the default) restores the authors' weighting against lambda = 10.
        loss = self.adversarial_weight * (adv_a + adv_b) + terms.total
        self.pending.put(fake_a=terms.fake_a, fake_b=terms.fake_b)  # what the next D update sees
        metrics = {f"loss/{k}": v for k, v in terms.logs().items()}
        metrics.update({"loss/adv_a": adv_a.detach(), "loss/adv_b": adv_b.detach(), "loss/g": loss.detach()})
        return loss, metrics

    def discriminator_objective(self, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        a, b = batch["a"], batch["b"]
        pending = self.pending.take()
        if pending is None:
            with torch.no_grad():
                pending = {"fake_b": self.g_ab(a), "fake_a": self.g_ba(b)}
        fake_b, from_pool_b = self.pool_b.query(pending["fake_b"].to(b.device))
        fake_a, from_pool_a = self.pool_a.query(pending["fake_a"].to(a.device))
        loss_b, metrics_b = self.discriminator_terms(b, fake_b, self.d_b, prefix="b/")
        loss_a, metrics_a = self.discriminator_terms(a, fake_a, self.d_a, prefix="a/")
        loss = loss_a + loss_b
        return loss, {
            **metrics_a,
            **metrics_b,
            "a/pool_fraction": from_pool_a.float().mean(),  # share of D's fakes that were past ones
            "b/pool_fraction": from_pool_b.float().mean(),
            "loss/d": loss.detach(),
        }

    # ----------------------------------------------------------------- sampling
    def sampling_inputs(self, n: int, seed: int, datamodule: Any = None) -> dict[str, torch.Tensor]:
        """n test images of each domain (a seeded permutation, repeated if the split is smaller)."""
        test = datamodule.split_fields("test")
        inputs = {}
        for offset, name in enumerate(("a", "b")):
            g = torch.Generator().manual_seed(seed + offset)
            idx = torch.randperm(len(test[name]), generator=g).repeat(-(-n // len(test[name])))[:n]
            inputs[name] = datamodule.field_to_model_space(name, test[name][idx])
        return inputs

    def sample_inputs(self, inputs: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """G(a): the A -> B translations (compared with domain B by metrics)."""
        return self.translate(inputs["a"], "a2b")

    @torch.no_grad()
    def translate(self, images: torch.Tensor, direction: str = "a2b") -> torch.Tensor:
        """Model-space images of the input domain -> translations, by the sampling network (EMA if kept)."""
        if direction not in self.translation_directions:
            raise ConfigError(
                f"direction={direction!r} is unknown; model={self.name} translates "
                f"{sorted(self.translation_directions)}."
            )
        net_name = self.translation_directions[direction][0]
        with self.sampling_mode() as nets:
            return nets[net_name](images.to(self.device))

    def translation_shape(self, direction: str) -> tuple[int, ...]:
        """[C, H, W] of the images ``direction``'s generator takes."""
        return tuple(self.networks()[self.translation_directions[direction][0]].data_shape)

    def render_samples(
        self,
        path: Path,
        inputs: Mapping[str, torch.Tensor],
        samples: torch.Tensor,
        datamodule: Any,
        nrow: int | None = None,
    ) -> None:
        """A | G(A) | F(G(A)) | B | F(B) | G(F(B)), one sample pair per row group."""
        fake_a = self.translate(inputs["b"], "b2a")
        panels = {
            "A": inputs["a"],
            "G(A)": samples,
            "recA": self.translate(samples, "b2a").cpu(),
            "B": inputs["b"],
            "F(B)": fake_a.cpu(),
            "recB": self.translate(fake_a, "a2b").cpu(),
        }
        save_panels(panels, path)

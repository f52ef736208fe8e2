"""The adversarial training engine every GAN family shares.

One training batch = one discriminator update on a fresh real batch. After every ``d_steps`` (k)
discriminator updates comes one generator update; that completes a *generator step*, the one step counter
users see (``gen_step``: max_steps, logging, sample grids and checkpoints all count it). Lightning's
``global_step`` counts every optimizer step (k + 1 per generator step) and is not shown to users.

Families override the small hooks below (how a batch feeds the networks, extra loss terms, what happens
after an update) and never the loop itself. Stabilisers (``model.stabilizers``, ganforge.stabilizers) act
through the same hooks for every family: they change D once at build time, augment what D sees, add
regularisers to D's objective, or (feature matching) replace G's adversarial loss.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import lightning as L
import torch
from torch import nn
from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

from ganforge.errors import ConfigError
from ganforge.families.optim import build_optimizer, build_scheduler
from ganforge.losses.base import AdversarialLoss
from ganforge.losses.feature_matching import feature_matching_loss
from ganforge.losses.penalties import Regularizer
from ganforge.rng import capture_rng_state, restore_rng_state
from ganforge.stabilizers import Stabilizers

CHECKPOINT_KEY = "ganforge"


class AdversarialModule(L.LightningModule):
    #: How the family keeps D Lipschitz by itself (e.g. "weight clipping"), or None. Losses that treat D
    #: as a critic (``loss.critic``) need one, or spectral normalisation in D.
    lipschitz_constraint: str | None = None

    def __init__(
        self,
        generator: nn.Module,
        discriminator: nn.Module,
        loss: AdversarialLoss,
        latent_dim: int,
        d_steps: int = 1,
        g_optimizer: Mapping[str, Any] | None = None,
        d_optimizer: Mapping[str, Any] | None = None,
        ema_decay: float | None = None,
        name: str = "gan",
        stabilizers: Mapping[str, Any] | None = None,
    ):
        super().__init__()
        if d_steps < 1:
            raise ConfigError(
                f"model.d_steps={d_steps}: need at least one discriminator step per generator step."
            )
        self.automatic_optimization = False
        self.generator = generator
        self.discriminator = discriminator
        self.loss = loss
        self.latent_dim = latent_dim
        self.d_steps = d_steps
        self.g_optimizer_cfg = dict(g_optimizer or {"name": "adam", "lr": 2e-4, "betas": (0.5, 0.999)})
        self.d_optimizer_cfg = dict(d_optimizer or self.g_optimizer_cfg)
        self.name = name
        self.generator_ema = (
            AveragedModel(generator, multi_avg_fn=get_ema_multi_avg_fn(ema_decay), use_buffers=True)
            if ema_decay
            else None
        )
        if self.generator_ema is not None:
            self.generator_ema.requires_grad_(False)  # updated by averaging, never by gradients (or DDP)
        self.gen_step = 0  # generator steps completed: THE step counter (see module docstring)
        self.d_updates_in_cycle = 0
        self.step_metrics: dict[str, torch.Tensor | float] = {}
        self.run_config: dict[str, Any] | None = None  # resolved config, stored in checkpoints
        self._clip_norms: dict[int, tuple[nn.Module, float]] = {}
        self.active_optimizer: Any = None  # the optimizer whose network the next backward updates
        self.stabilizers = Stabilizers(stabilizers)
        self.stabilizers.install(self.discriminator)
        if self.stabilizers.feature_matching and not hasattr(self.discriminator, "features"):
            raise ConfigError(
                "model.stabilizers.feature_matching=true needs a discriminator exposing features(x) "
                "(see ganforge.networks.discriminator.FeatureDiscriminator); "
                f"{type(discriminator).__name__} has none."
            )
        self.regularizers: list[Regularizer] = []
        for regularizer in self.stabilizers.regularizers():
            self.add_regularizer(regularizer)
        self.check_loss()

    def add_regularizer(self, regularizer: Regularizer) -> None:
        """Add a penalty to the discriminator's objective (gradient penalty, R1, ...)."""
        regularizer.check_discriminator(self.discriminator)
        self.regularizers.append(regularizer)

    def check_loss(self) -> None:
        """Refuse a loss this family cannot train with (raise ConfigError naming the fix)."""
        if self.loss.critic and not (self.lipschitz_constraint or _has_spectral_norm(self.discriminator)):
            raise ConfigError(
                f"loss={self.loss.name} treats the discriminator as a critic whose raw output estimates "
                "the Wasserstein distance, which is only meaningful for a Lipschitz critic, and "
                f"model={self.name} does not constrain it (its critic would grow without bound). Use "
                "model=wgan (weight clipping) or model=wgan_gp (gradient penalty), set "
                "model.stabilizers.spectral_norm=true, or choose loss=hinge, least_squares or non_saturating."
            )

    # ----------------------------------------------------------------- family hooks
    def sample_noise(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.latent_dim, device=self.device)

    def generate(self, z: torch.Tensor, labels: torch.Tensor | None, generator: nn.Module | None = None):
        """Run a generator (the trained one by default) on noise (and labels, for conditional families)."""
        return (generator or self.generator)(z)

    def discriminate(self, x: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        return self.discriminator(x)

    def discriminator_features(self, x: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
        """D's intermediate features of x, which feature matching compares."""
        return self.discriminator.features(x)

    def discriminator_objective(
        self, real: torch.Tensor, fake: torch.Tensor, labels: torch.Tensor | None
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The discriminator's loss on one batch, plus its regularisers, and what to log."""
        real, fake = self.stabilizers.augment(real), self.stabilizers.augment(fake)
        real_out = self.discriminate(real, labels)
        fake_out = self.discriminate(fake, labels)
        loss = self.loss.discriminator_loss(real_out, fake_out)
        metrics = {
            "d/real": self.loss.readout(real_out.detach()).mean(),
            "d/fake": self.loss.readout(fake_out.detach()).mean(),
        }
        for regularizer in self.regularizers:
            penalty = regularizer(lambda x: self.discriminate(x, labels), real, fake)
            metrics[f"penalty/{regularizer.name}"] = penalty.detach()
            loss = loss + penalty
        metrics["loss/d"] = loss.detach()
        return loss, metrics

    def generator_objective(
        self, real: torch.Tensor, labels: torch.Tensor | None
    ) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        fake = self.stabilizers.augment(self.generate(self.sample_noise(len(real)), labels))
        if self.stabilizers.feature_matching:
            loss = feature_matching_loss(
                self.discriminator_features(self.stabilizers.augment(real), labels),
                self.discriminator_features(fake, labels),
            )
        else:
            loss = self.loss.generator_loss(self.discriminate(fake, labels))
        return loss, {"loss/g": loss.detach()}

    def after_discriminator_update(self) -> None:
        """Called after each discriminator optimizer step (weight clipping goes here)."""

    def grid_inputs(self, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The fixed (noise, labels) used for sample grids."""
        g = torch.Generator().manual_seed(seed)
        return torch.randn(n, self.latent_dim, generator=g), None

    # ----------------------------------------------------------------- sampling
    @property
    def sampling_generator(self) -> nn.Module:
        return self.generator_ema.module if self.generator_ema is not None else self.generator

    @torch.no_grad()
    def sample(self, z: torch.Tensor, labels: torch.Tensor | None = None) -> torch.Tensor:
        """Samples in model space from the EMA generator if there is one, in eval mode."""
        net = self.sampling_generator
        was_training = net.training
        net.eval()
        try:
            return self.generate(z.to(self.device), None if labels is None else labels.to(self.device), net)
        finally:
            net.train(was_training)

    # ----------------------------------------------------------------- the loop
    def configure_optimizers(self):
        g_opt = build_optimizer(self.generator.parameters(), self.g_optimizer_cfg)
        d_opt = build_optimizer(self.discriminator.parameters(), self.d_optimizer_cfg)
        self._clip_norms = {}
        for opt, net, cfg in (
            (g_opt, self.generator, self.g_optimizer_cfg),
            (d_opt, self.discriminator, self.d_optimizer_cfg),
        ):
            if cfg.get("grad_clip_norm"):
                self._clip_norms[id(opt)] = (net, float(cfg["grad_clip_norm"]))
        schedulers = [
            s
            for s in (
                build_scheduler(g_opt, self.g_optimizer_cfg),
                build_scheduler(d_opt, self.d_optimizer_cfg),
            )
            if s
        ]
        return [g_opt, d_opt], schedulers

    def training_step(self, batch: tuple[torch.Tensor, torch.Tensor], batch_idx: int) -> None:
        real, labels = batch
        g_opt, d_opt = self.optimizers()

        self.toggle_optimizer(d_opt)
        with torch.no_grad():
            fake = self.generate(self.sample_noise(len(real)), labels)
        d_loss, d_metrics = self.discriminator_objective(real, fake, labels)
        d_opt.zero_grad(set_to_none=True)
        self.manual_backward(d_loss)
        d_opt.step()
        self.untoggle_optimizer(d_opt)
        self.after_discriminator_update()

        self.d_updates_in_cycle += 1
        if self.d_updates_in_cycle < self.d_steps:
            return
        self.d_updates_in_cycle = 0

        self.toggle_optimizer(g_opt)
        g_loss, g_metrics = self.generator_objective(real, labels)
        g_opt.zero_grad(set_to_none=True)
        self.manual_backward(g_loss)
        g_opt.step()
        self.untoggle_optimizer(g_opt)

        self.gen_step += 1
        for scheduler in self.lr_schedulers() or []:
            scheduler.step()
        if self.generator_ema is not None:
            self.generator_ema.update_parameters(self.generator)
        self.step_metrics = {
            **d_metrics,
            **g_metrics,
            "lr/g": g_opt.param_groups[0]["lr"],
            "lr/d": d_opt.param_groups[0]["lr"],
        }
        if self.trainer.progress_bar_callback is not None:
            self.log_dict(
                {"step": float(self.gen_step), "d": d_metrics["loss/d"], "g": g_metrics["loss/g"]},
                prog_bar=True,
                logger=False,
            )

    def toggle_optimizer(self, optimizer: Any) -> None:
        # Recorded for precision plugins that keep one loss scaler per optimizer.
        self.active_optimizer = optimizer
        super().toggle_optimizer(optimizer)

    def lr_schedulers(self):
        schedulers = super().lr_schedulers()
        if schedulers is None:
            return []
        return schedulers if isinstance(schedulers, list) else [schedulers]

    def on_before_optimizer_step(self, optimizer: torch.optim.Optimizer) -> None:
        # Runs after AMP unscaling, so the clip threshold applies to true gradients (Lightning #18089).
        if id(optimizer) in self._clip_norms:
            net, max_norm = self._clip_norms[id(optimizer)]
            torch.nn.utils.clip_grad_norm_(net.parameters(), max_norm)

    def setup(self, stage: str) -> None:
        # Every process starts from the same seed (identical initial weights); from here on each draws
        # its own noise, or all processes would train on the same fake batch.
        if self.trainer is not None and self.trainer.world_size > 1:
            torch.manual_seed(torch.initial_seed() + self.trainer.global_rank)

    # ----------------------------------------------------------------- checkpoint state
    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        rng = capture_rng_state()
        if self.trainer is not None and self.trainer.world_size > 1:
            # Only rank 0 writes the file: gather every process's noise RNG so a resume continues each.
            rng["torch_per_rank"] = self._gather_rng(torch.get_rng_state())
            if self.device.type == "cuda":
                rng["cuda_per_rank"] = self._gather_rng(torch.cuda.get_rng_state(self.device))
        checkpoint[CHECKPOINT_KEY] = {
            "gen_step": self.gen_step,
            "d_updates_in_cycle": self.d_updates_in_cycle,
            "rng": rng,
            "config": self.run_config,
        }

    def _gather_rng(self, state: torch.Tensor) -> torch.Tensor:
        return self.all_gather(state.to(self.device)).cpu()

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        state = checkpoint[CHECKPOINT_KEY]
        self.gen_step = int(state["gen_step"])
        self.d_updates_in_cycle = int(state["d_updates_in_cycle"])
        rng = state["rng"]
        restore_rng_state(rng)
        if self.trainer is not None and self.trainer.world_size > 1:
            rank, world = self.trainer.global_rank, self.trainer.world_size
            if len(rng.get("torch_per_rank", ())) == world:
                torch.set_rng_state(rng["torch_per_rank"][rank].clone())  # a row view fails set_state
                if "cuda_per_rank" in rng and self.device.type == "cuda":
                    torch.cuda.set_rng_state(rng["cuda_per_rank"][rank].clone(), self.device)
            else:  # saved with another number of processes: a fresh, distinct stream per rank
                torch.manual_seed(torch.initial_seed() + 7919 * self.gen_step + rank)


def _has_spectral_norm(module: nn.Module) -> bool:
    return any(
        type(p).__name__ == "_SpectralNorm"
        for m in module.modules()
        for plist in getattr(m, "parametrizations", {}).values()
        for p in plist
    )

"""The adversarial training engine every GAN family shares.

One training batch = one discriminator update on a fresh real batch. After every k discriminator
updates comes one generator update; that completes a *generator step*, the one step counter users see
(``gen_step``: max_steps, logging, sample grids and checkpoints all count it). Lightning's ``global_step``
counts every optimizer step (k + 1 per generator step) and is not shown to users.

A family is a subclass that declares
- its networks, in two sides (``generator=``, ``discriminator=``: one network or a mapping of names to
  networks; ganforge.families.sides), each side trained by one optimizer (``model.g_optimizer`` /
  ``model.d_optimizer``);
- its objectives, :meth:`discriminator_objective` and :meth:`generator_objective`, each given the batch
  (a dict of named fields the datamodule declares) and returning ``(loss, metrics)``;
- optionally its phases (:meth:`phases`; ganforge.families.phases): k per phase, 0 for no discriminator
  update, frozen networks, a position within the phase;
- how it samples and shows samples (:meth:`sampling_inputs`, :meth:`sample_inputs`,
  :meth:`render_samples`), which the sample-grid callback, ganforge-sample and ganforge-eval call.
It never overrides the loop. Stabilisers (``model.stabilizers``, ganforge.stabilizers) act on every
network of the discriminator side and through :meth:`discriminator_terms` / :meth:`generator_terms`, the
adversarial loss pieces any family's objectives can use. docs/engine.md walks through an example.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path
from typing import Any

import lightning as L
import torch
from torch import nn

from ganforge.errors import ConfigError
from ganforge.families.adversarial import AdversarialTerms
from ganforge.families.optim import build_optimizer, build_scheduler
from ganforge.families.phases import Phase, PhaseSchedule, PhaseState
from ganforge.families.resume import CHECKPOINT_KEY, ResumeState
from ganforge.families.sampling_options import SamplingOption, check_options
from ganforge.families.sides import (
    DISCRIMINATOR,
    GENERATOR,
    NetworksSpec,
    Side,
    make_ema,
    named_networks,
)
from ganforge.losses.base import AdversarialLoss

__all__ = ["CHECKPOINT_KEY", "AdversarialModule", "Batch", "Phase", "PhaseState"]

Batch = Mapping[str, torch.Tensor]
Objective = Callable[[Batch], tuple[torch.Tensor, dict[str, torch.Tensor]]]
log = logging.getLogger(__name__)


class AdversarialModule(AdversarialTerms, ResumeState, L.LightningModule):
    #: How the family keeps D Lipschitz by itself (e.g. "weight clipping"), or None. Losses that treat D
    #: as a critic (``loss.critic``) need one, or spectral normalisation in D.
    lipschitz_constraint: str | None = None
    #: The batch field the sampling generator's outputs are distributed like (metrics compare with it).
    sample_field: str | None = None
    #: Images per row of sample grids (None: square).
    grid_nrow: int | None = None

    def __init__(
        self,
        generator: NetworksSpec,
        discriminator: NetworksSpec,
        loss: AdversarialLoss,
        latent_dim: int | None = None,
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
        self.loss = loss
        self.latent_dim = latent_dim
        self.d_steps = d_steps
        self.g_optimizer_cfg = dict(g_optimizer or {"name": "adam", "lr": 2e-4, "betas": (0.5, 0.999)})
        self.d_optimizer_cfg = dict(d_optimizer or self.g_optimizer_cfg)
        self.name = name
        self.sides = {
            GENERATOR: Side(GENERATOR, named_networks(generator, GENERATOR), self.g_optimizer_cfg),
            DISCRIMINATOR: Side(
                DISCRIMINATOR, named_networks(discriminator, DISCRIMINATOR), self.d_optimizer_cfg
            ),
        }
        if not self.sides[GENERATOR].networks:
            raise ConfigError(f"model={name} declares no generator network.")
        for side in self.sides.values():
            for net_name, net in side.networks.items():
                self._register_network(net_name, net)
        for net_name, net in self.sides[GENERATOR].networks.items():
            ema = make_ema(net, ema_decay) if ema_decay else None
            self._register_network(f"{net_name}_ema", ema)
            if ema is not None:
                self.sides[GENERATOR].emas[net_name] = ema
        self.gen_step = 0  # generator steps completed: THE step counter (see module docstring)
        self.d_updates_in_cycle = 0
        self.step_metrics: dict[str, torch.Tensor | float] = {}
        self.run_config: dict[str, Any] | None = None  # resolved config, stored in checkpoints
        self._clip_norms: dict[int, tuple[list[nn.Parameter], float]] = {}
        self._optimizer_sides: list[str] = []
        self._phase_index: int | None = None
        self._frozen: set[str] = set()
        self.active_optimizer: Any = None  # the optimizer whose network the next backward updates
        self.install_stabilizers(stabilizers)

    def _register_network(self, name: str, net: nn.Module | None) -> None:
        if name in self._modules or name in self.__dict__ or hasattr(type(self), name):
            raise ConfigError(
                f"model={self.name}: network name {name!r} is taken (by another network or by the module "
                "itself); rename it."
            )
        setattr(self, name, net)

    # ----------------------------------------------------------------- networks
    def networks(self) -> dict[str, nn.Module]:
        """Every trained network by name, generator side first."""
        return {**self.sides[GENERATOR].networks, **self.sides[DISCRIMINATOR].networks}

    def sampling_network(self, name: str = GENERATOR) -> nn.Module:
        """A generator-side network as samples use it: its EMA copy if the run keeps one."""
        side = self.sides[GENERATOR]
        ema = side.emas.get(name)
        return ema.module if ema is not None else side.networks[name]

    @contextmanager
    def sampling_mode(self) -> Iterator[dict[str, nn.Module]]:
        """The sampling networks by name, in eval mode (and no_grad) for the duration."""
        nets = {name: self.sampling_network(name) for name in self.sides[GENERATOR].networks}
        modes = {name: net.training for name, net in nets.items()}
        for net in nets.values():
            net.eval()
        try:
            with torch.no_grad():
                yield nets
        finally:
            for name, net in nets.items():
                net.train(modes[name])

    # ----------------------------------------------------------------- data binding
    def required_fields(self) -> tuple[str, ...]:
        """Batch fields the objectives read; checked against the datamodule before training."""
        return ()

    def bind_data(self, datamodule: Any) -> None:
        """Learn field names from the run's datamodule (called before training, sampling and evaluation)."""
        provided = tuple(getattr(datamodule, "fields", ()))
        missing = [f for f in self.required_fields() if f not in provided]
        if missing:
            raise ConfigError(
                f"model={self.name} reads the batch field(s) {missing}, but data={datamodule.name} provides "
                f"{list(provided)}. Choose a dataset with those fields."
            )
        self.phase_schedule  # noqa: B018 - an invalid phase declaration fails here, before training

    def load_trained(self, checkpoint: Mapping[str, Any]) -> None:
        """Weights and position of a checkpoint, for sampling outside training (ganforge-sample, -eval):
        the phase the run was in is entered, so phase-dependent sampling (a resolution, an alpha) holds."""
        self.load_state_dict(checkpoint["state_dict"])
        state = checkpoint[CHECKPOINT_KEY]
        self.gen_step, self.d_updates_in_cycle = int(state["gen_step"]), int(state["d_updates_in_cycle"])
        self._enter_phase(self.phase, announce=False)

    # ----------------------------------------------------------------- family hooks: training
    def discriminator_objective(self, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The discriminator side's loss on one batch and what to log (with ``loss/d``)."""
        raise NotImplementedError(f"{type(self).__name__} must define discriminator_objective(batch)")

    def generator_objective(self, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        """The generator side's loss on one batch and what to log (with ``loss/g``)."""
        raise NotImplementedError(f"{type(self).__name__} must define generator_objective(batch)")

    def after_discriminator_update(self) -> None:
        """Called after each discriminator optimizer step (weight clipping goes here)."""

    def phases(self) -> Sequence[Phase]:
        """The training schedule; default: one phase, k = model.d_steps, until training ends."""
        return (Phase("train"),)

    def on_phase_start(self, state: PhaseState) -> None:
        """Called when training enters a phase, also when a resume lands inside one (``state.step > 0``)."""

    # ----------------------------------------------------------------- family hooks: sampling
    def sampling_inputs(self, n: int, seed: int, datamodule: Any = None) -> dict[str, torch.Tensor]:
        """The fixed inputs of ``n`` samples (leading dimension n): noise, labels, test-split images..."""
        raise NotImplementedError(f"{type(self).__name__} must define sampling_inputs(n, seed, datamodule)")

    def sample_inputs(self, inputs: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """Model-space samples for (a slice of) :meth:`sampling_inputs`, from the sampling networks."""
        raise NotImplementedError(f"{type(self).__name__} must define sample_inputs(inputs)")

    def render_samples(
        self,
        path: Path,
        inputs: Mapping[str, torch.Tensor],
        samples: torch.Tensor,
        datamodule: Any,
        nrow: int | None = None,
    ) -> None:
        """Write a PNG of these samples (default: the datamodule's grid). Image-to-image families show
        panels instead (ganforge.data.render.save_panels: input | output | ...)."""
        datamodule.render(samples, path, nrow=nrow or self.grid_nrow)

    def picture_caption(self, inputs: Mapping[str, torch.Tensor], n: int) -> str | None:
        """Text to send with the sample picture of the first ``n`` inputs to loggers that take one (W&B's
        image caption); default: none (the picture speaks for itself)."""
        return None

    def sampling_options(self) -> Mapping[str, SamplingOption]:
        """Options ``ganforge-sample`` may pass (``truncation=0.7``), by name; default: none."""
        return {}

    def configure_sampling(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """Check sampling options against :meth:`sampling_options` (a GanforgeError before any sample is
        drawn) and apply them with :meth:`apply_sampling_options`; returns the checked values."""
        checked = check_options(self.name, self.sampling_options(), values)
        if checked:
            self.apply_sampling_options(checked)
        return checked

    def apply_sampling_options(self, values: Mapping[str, Any]) -> None:
        """Make :meth:`sample_inputs` use these (checked) options from now on."""

    def extra_figures(self, path_prefix: Path, datamodule: Any) -> dict[str, Path]:
        """More pictures at every sample step (beside :meth:`render_samples`' grid), e.g. a style-mixing
        figure: write each to ``<path_prefix>_<name>.png`` and return {name: path}. Default: none."""
        return {}

    def extra_media(
        self, path_prefix: Path, samples: torch.Tensor, datamodule: Any, limit: int | None = None
    ) -> dict[str, tuple[str, list[Path]]]:
        """Files other than pictures made from the samples (at every sample step and by ganforge-sample),
        e.g. an audio family's WAV clips: write them under ``<path_prefix>_<name>`` and return {name: (kind,
        paths)}. Kind ``"audio"`` goes to loggers that take audio (W&B's ``log_audio``) as
        ``samples/<name>``. ``limit``: at most that many files (None: the family's own choice).
        Default: none."""
        return {}

    # ----------------------------------------------------------------- phases
    @cached_property
    def phase_schedule(self) -> PhaseSchedule:
        schedule = PhaseSchedule(self.phases(), self.d_steps, self.networks())
        if not self.sides[DISCRIMINATOR].networks and any(schedule.d_steps(p) for p in schedule.phases):
            raise ConfigError(
                f"model={self.name} has no discriminator network, so every training phase needs d_steps=0 "
                f"(no discriminator update); got {[(p.name, schedule.d_steps(p)) for p in schedule.phases]}."
            )
        return schedule

    @property
    def phase(self) -> PhaseState:
        """Where training stands in the phase schedule (a function of the step counters)."""
        return self.phase_schedule.at(self.gen_step, self.d_updates_in_cycle)

    def phase_label(self) -> str | None:
        """Name of the phase of the last completed generator step (what progress bar and log lines show),
        or None when the family has a single phase."""
        if len(self.phase_schedule) < 2:
            return None
        return self.phase_schedule.at(max(self.gen_step - 1, 0)).name

    def _enter_phase(self, state: PhaseState, announce: bool = True) -> None:
        frozen = set(state.phase.frozen)
        for name, net in self.networks().items():
            if (name in frozen) != (name in self._frozen):
                net.requires_grad_(name not in frozen)  # the side's optimizer skips grad-less params
        self._frozen = frozen
        self._phase_index = state.index
        if announce and len(self.phase_schedule) > 1:
            log.info(
                "training phase %d/%d %r from generator step %d (k=%d%s)",
                state.index + 1,
                len(self.phase_schedule),
                state.name,
                self.gen_step,
                state.d_steps,
                f", frozen: {sorted(frozen)}" if frozen else "",
            )
        self.on_phase_start(state)

    # ----------------------------------------------------------------- the loop
    def configure_optimizers(self):
        optimizers, schedulers = [], []
        self._clip_norms, self._optimizer_sides = {}, []
        for side in self.sides.values():
            params = side.parameters()
            if not params:
                continue  # e.g. a family whose discriminator side is empty (all phases k = 0)
            opt = build_optimizer(params, side.optimizer_cfg, f"the {side.name} optimizer")
            if side.optimizer_cfg.get("grad_clip_norm"):
                self._clip_norms[id(opt)] = (params, float(side.optimizer_cfg["grad_clip_norm"]))
            optimizers.append(opt)
            self._optimizer_sides.append(side.name)
            scheduler = build_scheduler(opt, side.optimizer_cfg)
            if scheduler:
                schedulers.append(scheduler)
        return optimizers, schedulers

    def side_optimizers(self) -> dict[str, Any]:
        opts = self.optimizers()
        return dict(zip(self._optimizer_sides, opts if isinstance(opts, list) else [opts]))

    def _update(self, optimizer: Any, objective: Objective, batch: Batch) -> dict[str, torch.Tensor]:
        """One optimizer step of a side on the objective's loss; returns the objective's metrics."""
        self.toggle_optimizer(optimizer)
        loss, metrics = objective(batch)
        optimizer.zero_grad(set_to_none=True)
        self.manual_backward(loss)
        optimizer.step()
        self.untoggle_optimizer(optimizer)
        return metrics

    def training_step(self, batch: Batch, batch_idx: int) -> None:
        state = self.phase
        if state.index != self._phase_index:
            self._enter_phase(state)
        opts = self.side_optimizers()
        d_metrics: dict[str, torch.Tensor] = {}
        if state.d_steps:
            d_metrics = self._update(opts[DISCRIMINATOR], self.discriminator_objective, batch)
            self.after_discriminator_update()
            self.d_updates_in_cycle += 1
            if self.d_updates_in_cycle < state.d_steps:
                return
            self.d_updates_in_cycle = 0

        g_metrics = self._update(opts[GENERATOR], self.generator_objective, batch)
        self.gen_step += 1
        for scheduler in self.lr_schedulers() or []:
            scheduler.step()
        self.sides[GENERATOR].update_emas()
        self.step_metrics = {
            **d_metrics,
            **g_metrics,
            **{f"lr/{self.sides[s].key}": opt.param_groups[0]["lr"] for s, opt in opts.items()},
        }
        if len(self.phase_schedule) > 1:
            self.step_metrics["phase"] = float(state.index)

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
            params, max_norm = self._clip_norms[id(optimizer)]
            torch.nn.utils.clip_grad_norm_(params, max_norm)

    def setup(self, stage: str) -> None:
        if self.trainer is not None and self.trainer.datamodule is not None:
            self.bind_data(self.trainer.datamodule)
        # Every process starts from the same seed (identical initial weights); from here on each draws
        # its own noise, or all processes would train on the same fake batch.
        if self.trainer is not None and self.trainer.world_size > 1:
            torch.manual_seed(torch.initial_seed() + self.trainer.global_rank)

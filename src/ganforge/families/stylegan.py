"""StyleGAN (Karras et al. 2019) as a ganforge family: ``model=stylegan``.

Networks: ganforge.networks.stylegan.StyleGenerator (mapping z -> w, styles into every synthesis layer,
noise inputs) and ganforge.networks.stylegan_discriminator.StyleDiscriminator. What the family adds to
the engine's noise-to-sample loop (:class:`~ganforge.families.gan.GAN`):

- progressive growing as phases (ganforge.families.growth): each phase sets the networks' resolution and
  fade-in alpha (the phase's progress); reals are average-pooled to the current resolution and, while a
  resolution fades in, blended with their 2x-pooled version like the fakes (ProGAN's real fade-in); the
  batch of each resolution is the first ``batch_sizes[r]`` rows of the loader's batch;
- style-mixing regularisation: with probability ``style_mixing_prob`` (0.9) a fake takes its styles
  below a random crossover from one latent and the rest from a second one, among the style inputs the
  current resolution uses;
- ``w_avg``: the generator's running mean of mapping outputs (``w_avg_beta``), copied to the EMA
  generator at each step (a buffer the EMA would otherwise average a second time); truncation
  ``w' = w_avg + psi (w - w_avg)`` on style inputs below ``truncation_cutoff`` at sampling
  (``model.truncation`` for grids and metrics, ``ganforge-sample ... truncation=0.7``);
- lazy regularisation: with ``r1_interval=N`` the discriminator's penalties (R1 from
  ``model.stabilizers.r1_gamma``) run on every N-th discriminator update of a phase, times N (StyleGAN2).

Samples use ``sample_noise`` ("const" by default: a fixed noise per layer, so grids and ganforge-sample
are a function of the seed, as StyleGAN2-ADA's generate.py; "random" draws fresh noise).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from ganforge.errors import ConfigError
from ganforge.families.base import Batch
from ganforge.families.gan import GAN
from ganforge.families.growth import GrowthSchedule
from ganforge.families.phases import Phase, PhaseState
from ganforge.families.sampling_options import SamplingOption
from ganforge.losses.penalties import LazyRegularizer
from ganforge.networks.stylegan import NOISE_MODES, mix_styles


def resolution_keys(batch_sizes: Mapping[Any, Any] | None) -> dict[int, int]:
    """``model.batch_sizes`` with int keys and values ({4: 64} or {"4": 64}), else a ConfigError."""
    try:
        return {int(r): int(n) for r, n in dict(batch_sizes or {}).items()}
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"model.batch_sizes={batch_sizes!r} must map resolutions to batch sizes, e.g. {{4: 64, 32: 32}}."
        ) from exc


class StyleGAN(GAN):
    def __init__(
        self,
        *args: Any,
        progressive: bool = True,
        fade_length: int = 600_000,
        stable_length: int = 600_000,
        length_unit: str = "images",
        batch_sizes: Mapping[Any, int] | None = None,
        loader_batch: int = 64,
        style_mixing_prob: float = 0.9,
        r1_interval: int = 1,
        w_avg_beta: float = 0.995,
        truncation: float = 1.0,
        truncation_cutoff: int | None = None,
        sample_noise: str = "const",
        modulation: str = "adain",
        **kwargs: Any,
    ):
        super().__init__(*args, **kwargs)
        g = self.generator
        if not all(hasattr(g, a) for a in ("mapping", "synthesis", "set_growth", "w_avg")) or not hasattr(
            self.discriminator, "set_growth"
        ):
            raise ConfigError(
                "model=stylegan needs ganforge.networks.stylegan.StyleGenerator and ganforge.networks."
                "stylegan_discriminator.StyleDiscriminator (or networks with the same interface)."
            )
        if not 0.0 <= style_mixing_prob <= 1.0:
            raise ConfigError(f"model.style_mixing_prob={style_mixing_prob} must be in [0, 1] (0 disables).")
        if not 0.0 <= w_avg_beta < 1.0:
            raise ConfigError(f"model.w_avg_beta={w_avg_beta} must be in [0, 1).")
        if r1_interval < 1:
            raise ConfigError(f"model.r1_interval={r1_interval} must be >= 1 (1: every D update).")
        options = self.sampling_options()
        self.truncation = options["truncation"].check("model.truncation", truncation, self.name, ConfigError)
        self.truncation_cutoff = options["truncation_cutoff"].check(
            "model.truncation_cutoff", truncation_cutoff, self.name, ConfigError
        )
        self.sampling_noise = options["noise_mode"].check(
            "model.sample_noise", sample_noise, self.name, ConfigError
        )
        self.style_mixing_prob, self.w_avg_beta, self.r1_interval = style_mixing_prob, w_avg_beta, r1_interval
        self.progressive = progressive
        self.growth = GrowthSchedule(
            target=g.target_resolution,
            progressive=progressive,
            fade_length=int(fade_length),
            stable_length=int(stable_length),
            length_unit=length_unit,
            batch_sizes=resolution_keys(batch_sizes),
            default_batch=int(loader_batch),
        )
        self.growth.check_batch(int(loader_batch))
        if r1_interval > 1:
            self.regularizers = [
                LazyRegularizer(r, r1_interval, lambda: self.phase.d_update) for r in self.regularizers
            ]

    # ----------------------------------------------------------------- growth
    def phases(self) -> Sequence[Phase]:
        return tuple(self.growth.phases)

    def on_phase_start(self, state: PhaseState) -> None:
        self.apply_growth(state)

    def apply_growth(self, state: PhaseState | None = None) -> tuple[int, float]:
        """Set every network's resolution and alpha for ``state`` (default: the current position)."""
        resolution, alpha = self.growth.at(state or self.phase)
        for net in (self.generator, self.sampling_network(), self.discriminator):
            net.set_growth(resolution, alpha)
        return resolution, alpha

    def to_current(self, images: torch.Tensor, real: bool) -> torch.Tensor:
        """Target-size images as D sees them now: pooled to the current resolution; reals faded like G."""
        resolution, alpha = self.generator.resolution, self.generator.alpha
        if images.shape[-1] != resolution:
            images = F.avg_pool2d(images, images.shape[-1] // resolution)
        if real and alpha < 1.0 and resolution > 4:
            low = F.interpolate(F.avg_pool2d(images, 2), scale_factor=2, mode="nearest")
            images = torch.lerp(low, images, alpha)
        return images

    def batch_now(self, batch: Batch) -> torch.Tensor:
        return batch[self.sample_field][: self.growth.batch_sizes[self.generator.resolution]]

    # ----------------------------------------------------------------- objectives
    def generate_mixed(self, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        """n fakes at the current resolution (no upsampling to the target and pooling back) with
        style-mixing regularisation, and the first latents' w."""
        g = self.generator
        w = g.mapping(self.sample_noise(n))
        ws = g.broadcast(w)
        active = g.active_ws()
        if active > 1 and self.style_mixing_prob > 0 and torch.rand(()).item() < self.style_mixing_prob:
            crossover = int(torch.randint(1, active, ()).item())
            ws = mix_styles(ws, g.broadcast(g.mapping(self.sample_noise(n))), crossover)
        return g.synthesis(ws, at_target=False), w

    def discriminator_objective(self, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        self.apply_growth()
        real = self.to_current(self.batch_now(batch), real=True)
        with torch.no_grad():
            fake = self.to_current(self.generate_mixed(len(real))[0], real=False)
        loss, metrics = self.discriminator_terms(real, fake, self.discriminator)
        metrics["loss/d"] = loss.detach()
        return loss, metrics

    def generator_objective(self, batch: Batch) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
        resolution, alpha = self.apply_growth()
        real = self.to_current(self.batch_now(batch), real=True)
        fake, w = self.generate_mixed(len(real))
        fake = self.to_current(fake, real=False)
        loss = self.generator_terms(fake, self.discriminator, real, self.discriminator.features)
        self.track_w_avg(w.detach())
        return loss, {"loss/g": loss.detach(), "resolution": float(resolution), "alpha": alpha}

    @torch.no_grad()
    def track_w_avg(self, w: torch.Tensor) -> None:
        g = self.generator
        g.w_avg.copy_(torch.lerp(w.mean(0).to(g.w_avg.dtype), g.w_avg, self.w_avg_beta))
        ema = self.sampling_network()
        if ema is not g:  # the EMA then averages identical values: its w_avg is the generator's
            ema.w_avg.copy_(g.w_avg)

    # ----------------------------------------------------------------- sampling
    def sampling_options(self) -> dict[str, SamplingOption]:
        num_ws = int(self.generator.num_ws)
        return {
            "truncation": SamplingOption(float, "truncation psi: 1 = none, 0 = w_avg", 0.0, 1.0),
            "truncation_cutoff": SamplingOption(
                int, f"truncate style inputs below this one; null = all {num_ws}", 0, num_ws, nullable=True
            ),
            "noise_mode": SamplingOption(str, "noise inputs at sampling", choices=NOISE_MODES),
        }

    def apply_sampling_options(self, values: Mapping[str, Any]) -> None:
        self.truncation = values.get("truncation", self.truncation)
        self.truncation_cutoff = values.get("truncation_cutoff", self.truncation_cutoff)
        self.sampling_noise = values.get("noise_mode", self.sampling_noise)

    def sample_inputs(self, inputs: Mapping[str, torch.Tensor]) -> torch.Tensor:
        self.apply_growth()
        with self.sampling_mode() as nets:
            z = inputs["z"].to(self.device)
            return nets["generator"](z, self.truncation, self.truncation_cutoff, self.sampling_noise)

    def extra_figures(self, path_prefix: Path, datamodule: Any) -> dict[str, Path]:
        """The style-mixing figure (coarse / middle / fine styles of column seeds into row seeds) and the
        truncation strip of the sampling generator: ``<prefix>_mixing.png``, ``<prefix>_truncation.png``."""
        from ganforge.data.style_figures import write_style_figures

        self.apply_growth()
        prefix = Path(path_prefix)
        with self.sampling_mode() as nets:
            paths = write_style_figures(nets["generator"], prefix)
        return {Path(p).stem.removeprefix(f"{prefix.name}_"): Path(p) for p in paths}

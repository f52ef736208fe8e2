"""Wasserstein GAN (Arjovsky et al. 2017): a critic without sigmoid trained n_critic = 5 times per
generator step with RMSProp (lr 5e-5), its weights clipped to [-c, c] (c = 0.01) after every update to
keep it K-Lipschitz. Defaults in conf/model/wgan.yaml; needs loss=wasserstein.

Not reproduced: the paper's warm-up schedule (100 critic steps for the first 25 generator steps and
every 500th); the engine's k is constant.
"""

from __future__ import annotations

import torch

from ganforge.errors import ConfigError
from ganforge.families.gan import GAN
from ganforge.families.sides import DISCRIMINATOR


class WGAN(GAN):
    lipschitz_constraint = "weight clipping"

    def __init__(self, *args, clip_value: float = 0.01, **kwargs):
        if clip_value <= 0:
            raise ConfigError(f"model.clip_value={clip_value} must be > 0 (the paper uses 0.01).")
        super().__init__(*args, **kwargs)
        self.clip_value = float(clip_value)

    def check_loss(self) -> None:
        if not self.loss.critic:
            raise ConfigError(
                f"model={self.name} clips the critic's weights so that its raw output estimates the "
                f"Wasserstein distance; loss={self.loss.name} does not read the critic that way (a "
                "clipped network's outputs stay near 0, where that loss barely trains). Use "
                "loss=wasserstein, or model=wgan_gp or dcgan for other losses."
            )

    @torch.no_grad()
    def after_discriminator_update(self) -> None:
        for net in self.sides[DISCRIMINATOR].networks.values():
            for p in net.parameters():
                p.clamp_(-self.clip_value, self.clip_value)

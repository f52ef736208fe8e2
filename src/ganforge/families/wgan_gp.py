"""WGAN-GP (Gulrajani et al. 2017): the Wasserstein critic kept 1-Lipschitz by a gradient penalty
lambda * E[(||grad D(x_hat)||_2 - 1)^2] on random real/fake interpolates (lambda 10), n_critic = 5,
Adam lr 1e-4, betas (0, 0.9), and no BatchNorm in the critic (layer norm or none instead).

The penalty is an ordinary regulariser (ganforge.losses.penalties.GradientPenalty); with a loss other
than wasserstein it is the "GP" regularisation of Kurach et al. (2019), which is also allowed.
"""

from __future__ import annotations

from ganforge.families.gan import GAN
from ganforge.losses.penalties import GradientPenalty


class WGANGP(GAN):
    lipschitz_constraint = "gradient penalty"

    def __init__(self, *args, gp_weight: float = 10.0, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_regularizer(GradientPenalty(gp_weight))

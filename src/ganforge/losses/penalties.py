"""Regularisers any family can add to its discriminator objective (gradient penalty, R1).

Unlike :class:`~ganforge.losses.base.AdversarialLoss`, which sees only D's outputs, a regulariser
differentiates D with respect to its input, so it receives ``discriminate`` (x -> scores, labels already
bound for conditional families) and the real and generated batches D just saw.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable

import torch
from torch import nn

from ganforge.errors import ConfigError

Discriminate = Callable[[torch.Tensor], torch.Tensor]


def input_gradients(discriminate: Discriminate, points: torch.Tensor) -> torch.Tensor:
    """d sum(D(points)) / d points, kept in the graph so the penalty itself can be minimised."""
    points = points.detach().requires_grad_(True)
    (grad,) = torch.autograd.grad(discriminate(points).sum(), points, create_graph=True)
    return grad.flatten(1)


class Regularizer(ABC):
    #: key under which the penalty is logged (penalty/<name>)
    name: str = "penalty"

    def __init__(self, weight: float):
        if weight <= 0:
            raise ConfigError(f"{type(self).__name__} weight={weight} must be > 0.")
        self.weight = float(weight)

    @abstractmethod
    def __call__(self, discriminate: Discriminate, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        """The weighted penalty on one batch."""

    def check_discriminator(self, discriminator: nn.Module) -> None:  # noqa: B027 (optional hook)
        """Raise ConfigError if this penalty is ill-defined for ``discriminator``."""


class GradientPenalty(Regularizer):
    """WGAN-GP (Gulrajani et al. 2017): weight * E[(||grad D(x_hat)||_2 - 1)^2] at random interpolates
    x_hat = eps * x + (1 - eps) * G(z), eps ~ U[0, 1] per sample."""

    name = "gp"

    def penalty_at(self, discriminate: Discriminate, points: torch.Tensor) -> torch.Tensor:
        norms = input_gradients(discriminate, points).norm(2, dim=1)
        return self.weight * (norms - 1.0).pow(2).mean()

    def __call__(self, discriminate: Discriminate, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        eps = torch.rand(len(real), *([1] * (real.dim() - 1)), dtype=real.dtype, device=real.device)
        return self.penalty_at(discriminate, eps * real.detach() + (1 - eps) * fake.detach())

    def check_discriminator(self, discriminator: nn.Module) -> None:
        # The penalty is on each sample's own gradient; BatchNorm couples samples, so the per-sample
        # gradient norm it constrains is not the critic's (Gulrajani et al., section 4).
        if any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in discriminator.modules()):
            raise ConfigError(
                "The gradient penalty needs a discriminator without BatchNorm (it couples the samples of a "
                "batch, so per-sample gradient norms are not the critic's). Set model.discriminator.norm="
                "layer (or none, or instance)."
            )


class R1Penalty(Regularizer):
    """R1 (Mescheder et al. 2018): gamma / 2 * E[||grad D(x)||^2] on real data only."""

    name = "r1"

    def __call__(self, discriminate: Discriminate, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        return 0.5 * self.weight * input_gradients(discriminate, real).pow(2).sum(1).mean()


class LazyRegularizer(Regularizer):
    """Lazy regularisation (StyleGAN2, section 3.1): ``regularizer`` only on every ``interval``-th
    discriminator update (``position()`` says which update this is), multiplied by ``interval`` so the
    penalty's average strength is unchanged; 0 on the updates in between (what penalty/<name> then logs)."""

    def __init__(self, regularizer: Regularizer, interval: int, position: Callable[[], int]):
        if interval < 1:
            raise ConfigError(f"Lazy regularisation interval={interval} must be >= 1.")
        self.inner, self.interval, self.position = regularizer, int(interval), position
        self.name, self.weight = regularizer.name, regularizer.weight

    def __call__(self, discriminate: Discriminate, real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
        if self.position() % self.interval:
            return real.new_zeros(())
        return self.interval * self.inner(discriminate, real, fake)

    def check_discriminator(self, discriminator: nn.Module) -> None:
        self.inner.check_discriminator(discriminator)

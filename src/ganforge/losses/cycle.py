"""CycleGAN's non-adversarial generator terms (Zhu et al. 2017, eq. 2 and section 5.2).

- Cycle consistency: lambda * ||F(G(a)) - a||_1 + lambda * ||G(F(b)) - b||_1, lambda = 10 in the paper.
- Identity mapping: lambda_identity * lambda * (||G(b) - b||_1 + ||F(a) - a||_1), lambda_identity = 0.5
  (the authors' default; the paper introduced it for painting <-> photo to keep colours). It needs
  generators whose input and output have the same number of channels. Too strong a weight makes G copy
  its input (pytorch-CycleGAN-and-pix2pix #1080).

Every L1 is a mean over all pixels and channels of the batch, on the networks' [-1, 1] scale, as in the
authors' ``torch.nn.L1Loss``. The adversarial terms come from ganforge's losses (least squares in the paper).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ganforge.errors import ConfigError

Translator = Callable[[torch.Tensor], torch.Tensor]

DEFAULT_LAMBDA = 10.0
DEFAULT_IDENTITY = 0.5


def cycle_consistency_loss(
    real: torch.Tensor, reconstructed: torch.Tensor, weight: float = DEFAULT_LAMBDA
) -> torch.Tensor:
    """``weight * mean |reconstructed - real|``: one direction of the cycle loss (F(G(a)) against a)."""
    return weight * F.l1_loss(reconstructed, real)


def identity_loss(
    real: torch.Tensor, mapped: torch.Tensor, weight: float = DEFAULT_IDENTITY * DEFAULT_LAMBDA
) -> torch.Tensor:
    """``weight * mean |mapped - real|`` where ``mapped`` is a generator applied to its own target domain
    (G(b) against b); the paper's weight is lambda_identity * lambda = 0.5 * 10."""
    return weight * F.l1_loss(mapped, real)


@dataclass
class CycleTerms:
    """Everything a CycleGAN generator step computes besides the discriminators' outputs."""

    fake_b: torch.Tensor  # G(a)
    fake_a: torch.Tensor  # F(b)
    rec_a: torch.Tensor  # F(G(a))
    rec_b: torch.Tensor  # G(F(b))
    cycle_a: torch.Tensor  # lambda_a * |F(G(a)) - a|
    cycle_b: torch.Tensor  # lambda_b * |G(F(b)) - b|
    identity_g: torch.Tensor  # lambda_identity * lambda_b * |G(b) - b|  (0 when switched off)
    identity_f: torch.Tensor  # lambda_identity * lambda_a * |F(a) - a|

    @property
    def total(self) -> torch.Tensor:
        return self.cycle_a + self.cycle_b + self.identity_g + self.identity_f

    def logs(self) -> dict[str, torch.Tensor]:
        """The loss terms under the names a family logs them by (detached)."""
        names = ("cycle_a", "cycle_b", "identity_g", "identity_f")
        return {name: getattr(self, name).detach() for name in names}


def check_cycle_weights(lambda_a: float, lambda_b: float, lambda_identity: float) -> None:
    if lambda_a < 0 or lambda_b < 0 or lambda_identity < 0:
        raise ConfigError(
            f"CycleGAN weights lambda_a={lambda_a}, lambda_b={lambda_b}, lambda_identity={lambda_identity} "
            "must be >= 0 (the paper: 10, 10, 0.5)."
        )


def cycle_terms(
    g: Translator,
    f: Translator,
    real_a: torch.Tensor,
    real_b: torch.Tensor,
    lambda_a: float = DEFAULT_LAMBDA,
    lambda_b: float = DEFAULT_LAMBDA,
    lambda_identity: float = DEFAULT_IDENTITY,
) -> CycleTerms:
    """Run both cycles (a -> G -> F, b -> F -> G) and, if lambda_identity > 0, both identity mappings.

    ``g`` maps domain A to B and ``f`` B to A. The identity forward passes are skipped when their weight is
    0 (the loss is then an exact zero), saving two generator passes per step.
    """
    check_cycle_weights(lambda_a, lambda_b, lambda_identity)
    fake_b = g(real_a)
    fake_a = f(real_b)
    rec_a = f(fake_b)
    rec_b = g(fake_a)
    zero = real_a.new_zeros(())
    identity_g = identity_f = zero
    if lambda_identity > 0:
        if real_a.shape[1] != real_b.shape[1]:
            raise ConfigError(
                f"The identity loss feeds each generator images of its own output domain, but domain A has "
                f"{real_a.shape[1]} channels and domain B {real_b.shape[1]}. Set the identity weight to 0 "
                "for domains with different channels."
            )
        identity_g = identity_loss(real_b, g(real_b), lambda_identity * lambda_b)
        identity_f = identity_loss(real_a, f(real_a), lambda_identity * lambda_a)
    return CycleTerms(
        fake_b=fake_b,
        fake_a=fake_a,
        rec_a=rec_a,
        rec_b=rec_b,
        cycle_a=cycle_consistency_loss(real_a, rec_a, lambda_a),
        cycle_b=cycle_consistency_loss(real_b, rec_b, lambda_b),
        identity_g=identity_g,
        identity_f=identity_f,
    )

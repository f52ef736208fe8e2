"""The logistic GAN losses equal the paper's formulas and stay finite for extreme logits."""

from __future__ import annotations

import pytest
import torch
from helpers.tensors import random_outputs

from ganforge.errors import ConfigError
from ganforge.losses.logistic import MinimaxLoss, NonSaturatingLoss


@pytest.fixture
def logits():
    return random_outputs(64, seed=0)


def test_discriminator_loss_is_the_minimax_value(logits):
    real, fake = logits
    d_real, d_fake = torch.sigmoid(real), torch.sigmoid(fake)
    expected = -(torch.log(d_real).mean() + torch.log(1 - d_fake).mean())
    for loss in (MinimaxLoss(), NonSaturatingLoss()):
        assert torch.allclose(loss.discriminator_loss(real, fake), expected)


def test_generator_losses(logits):
    _, fake = logits
    d_fake = torch.sigmoid(fake)
    assert torch.allclose(MinimaxLoss().generator_loss(fake), torch.log(1 - d_fake).mean())
    assert torch.allclose(NonSaturatingLoss().generator_loss(fake), -torch.log(d_fake).mean())


def test_stable_for_extreme_logits():
    extreme = torch.tensor([-1e4, -100.0, 100.0, 1e4])
    for loss in (MinimaxLoss(), NonSaturatingLoss()):
        assert torch.isfinite(loss.discriminator_loss(extreme, extreme))
        assert torch.isfinite(loss.generator_loss(extreme))


def test_minimax_saturates_where_non_saturating_does_not():
    # Early in training D confidently rejects fakes (very negative logits): the saturating loss
    # gives the generator almost no gradient, the non-saturating one a strong gradient.
    fake = torch.full((8,), -8.0, requires_grad=True)
    (g_mm,) = torch.autograd.grad(MinimaxLoss().generator_loss(fake), fake)
    (g_ns,) = torch.autograd.grad(NonSaturatingLoss().generator_loss(fake), fake)
    assert g_mm.abs().max() < 1e-3 < g_ns.abs().min()


def test_label_smoothing_moves_the_real_target():
    real = torch.zeros(4)
    smoothed = NonSaturatingLoss(real_label_smoothing=0.1).discriminator_loss(real, torch.full((4,), -50.0))
    assert torch.allclose(smoothed, torch.log(torch.tensor(2.0)))  # BCE at p = 0.5 is log 2 for any target
    with pytest.raises(ConfigError, match="real_label_smoothing"):
        NonSaturatingLoss(real_label_smoothing=0.7)

"""Least-squares, hinge and Wasserstein losses equal their papers' formulas; label smoothing is refused
where a loss has no real target."""

from __future__ import annotations

import pytest
import torch
from helpers.tensors import random_outputs

from ganforge.errors import ConfigError
from ganforge.losses.hinge import HingeLoss
from ganforge.losses.least_squares import LeastSquaresLoss
from ganforge.losses.wasserstein import WassersteinLoss


@pytest.fixture
def outs():
    return random_outputs(32, seed=1)


def test_least_squares_matches_mao_et_al(outs):
    real, fake = outs
    loss = LeastSquaresLoss()
    d = sum(0.5 * (r - 1) ** 2 for r in real) / len(real) + sum(0.5 * f**2 for f in fake) / len(fake)
    g = sum(0.5 * (f - 1) ** 2 for f in fake) / len(fake)
    assert torch.allclose(loss.discriminator_loss(real, fake), d)
    assert torch.allclose(loss.generator_loss(fake), g)
    assert LeastSquaresLoss().discriminator_loss(torch.ones(3), torch.zeros(3)) == 0  # D at its optimum


def test_least_squares_label_smoothing_moves_b():
    loss = LeastSquaresLoss(real_label_smoothing=0.2)
    assert loss.discriminator_loss(torch.full((4,), 0.8), torch.zeros(4)) == 0


def test_hinge(outs):
    real, fake = outs
    d = sum(max(0.0, 1 - float(r)) for r in real) / len(real) + sum(
        max(0.0, 1 + float(f)) for f in fake
    ) / len(fake)
    assert float(HingeLoss().discriminator_loss(real, fake)) == pytest.approx(d)
    assert float(HingeLoss().generator_loss(fake)) == pytest.approx(-float(fake.mean()))
    # Beyond the margin a sample contributes nothing.
    assert HingeLoss().discriminator_loss(torch.tensor([1.5, 3.0]), torch.tensor([-1.0, -9.0])) == 0


def test_wasserstein(outs):
    real, fake = outs
    loss = WassersteinLoss()
    assert torch.allclose(loss.discriminator_loss(real, fake), fake.mean() - real.mean())
    assert torch.allclose(loss.generator_loss(fake), -fake.mean())
    assert torch.equal(loss.readout(real), real)
    assert loss.critic and not HingeLoss.critic and not LeastSquaresLoss.critic


@pytest.mark.parametrize("cls", [HingeLoss, WassersteinLoss])
def test_label_smoothing_is_refused_without_a_real_target(cls):
    with pytest.raises(ConfigError, match=r"real_label_smoothing=0.1: loss=\w+ has no real-sample target"):
        cls(real_label_smoothing=0.1)

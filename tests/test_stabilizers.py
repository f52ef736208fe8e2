"""The stabiliser pieces compute what their papers define, on tiny networks with hand-computed values."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from ganforge.errors import ConfigError
from ganforge.losses.feature_matching import feature_matching_loss
from ganforge.losses.penalties import GradientPenalty, R1Penalty
from ganforge.networks.mlp import MLPDiscriminator
from ganforge.stabilizers import Stabilizers, check_stabilizers
from ganforge.stabilizers.diffaugment import DiffAugment
from ganforge.stabilizers.minibatch import MinibatchDiscrimination, MinibatchStdDev


class TanhCritic(nn.Module):
    """D(x) = sum_j v_j tanh(w_j . x + b_j): grad D(x) = sum_j v_j (1 - tanh^2(w_j . x + b_j)) w_j."""

    def __init__(self):
        super().__init__()
        self.w = torch.tensor([[1.0, -2.0], [0.5, 3.0], [-1.5, 0.25]], dtype=torch.float64)
        self.b = torch.tensor([0.1, -0.2, 0.3], dtype=torch.float64)
        self.v = torch.tensor([0.7, -1.1, 2.0], dtype=torch.float64)

    def forward(self, x):
        return torch.tanh(x @ self.w.t() + self.b) @ self.v

    def hand_gradient(self, x: list[float]) -> list[float]:
        grad = [0.0, 0.0]
        for w, b, v in zip(self.w.tolist(), self.b.tolist(), self.v.tolist()):
            s = 1 - math.tanh(w[0] * x[0] + w[1] * x[1] + b) ** 2
            grad = [grad[0] + v * s * w[0], grad[1] + v * s * w[1]]
        return grad


def test_gradient_penalty_equals_the_hand_computed_value():
    critic = TanhCritic()
    real = torch.tensor([[0.3, -0.4], [1.0, 0.5], [-0.7, 0.2]], dtype=torch.float64)
    fake = torch.tensor([[0.0, 0.1], [-0.5, -0.5], [0.9, -1.2]], dtype=torch.float64)
    torch.manual_seed(7)
    eps = torch.rand(3, 1, dtype=torch.float64)
    expected = 0.0
    for i in range(3):
        point = (eps[i] * real[i] + (1 - eps[i]) * fake[i]).tolist()
        gx, gy = critic.hand_gradient(point)
        expected += 10.0 * (math.hypot(gx, gy) - 1.0) ** 2 / 3
    torch.manual_seed(7)
    penalty = GradientPenalty(10.0)(critic, real, fake)
    assert float(penalty.detach()) == pytest.approx(expected, rel=1e-9)
    assert penalty.grad_fn is not None  # differentiable (create_graph), so D can minimise it


def test_gradient_penalty_trains_the_critic_towards_unit_gradients():
    critic = nn.Linear(2, 1, bias=False)
    with torch.no_grad():
        critic.weight.fill_(3.0)  # gradient norm 3 sqrt(2) everywhere
    gp = GradientPenalty(1.0)
    x = torch.randn(16, 2)
    penalty = gp(lambda t: critic(t).flatten(), x, x.flip(0))
    assert float(penalty.detach()) == pytest.approx((3 * math.sqrt(2) - 1) ** 2, rel=1e-5)
    penalty.backward()
    assert critic.weight.grad is not None and (critic.weight.grad > 0).all()


def test_r1_penalty_equals_the_hand_computed_value():
    critic = TanhCritic()
    real = torch.tensor([[0.3, -0.4], [1.0, 0.5]], dtype=torch.float64)
    expected = sum(sum(g * g for g in critic.hand_gradient(x)) for x in real.tolist()) / 2 * (0.5 * 4.0)
    assert float(R1Penalty(4.0)(critic, real, real.flip(0)).detach()) == pytest.approx(expected, rel=1e-9)


def test_gradient_penalty_refuses_batchnorm():
    with pytest.raises(ConfigError, match="without BatchNorm.*norm=\\s*layer"):
        GradientPenalty(10.0).check_discriminator(nn.Sequential(nn.Linear(2, 2), nn.BatchNorm1d(2)))


def test_minibatch_std_is_the_group_std():
    x = torch.tensor([[0.0, 0.0], [1.0, 3.0], [2.0, 0.0], [5.0, 5.0]])
    out = MinibatchStdDev(group_size=2)(x)
    # groups {0, 2} and {1, 3}: per-feature stds (1, 0) and (2, 1) -> means 0.5 and 1.5
    assert out.shape == (4, 3)
    assert torch.allclose(out[:, 2], torch.tensor([0.5, 1.5, 0.5, 1.5]), atol=1e-4)
    maps = MinibatchStdDev(4)(torch.randn(6, 3, 5, 5))  # 6 is not divisible by 4: groups of 3
    assert maps.shape == (6, 4, 5, 5) and torch.all(maps[:, 3] == maps[:, 3, :1, :1])


def test_minibatch_discrimination_sees_the_batch():
    layer = MinibatchDiscrimination(in_features=4, num_kernels=3, kernel_dim=2)
    x = torch.randn(5, 4)
    out = layer(x)
    m = (x @ layer.T).view(5, 3, 2)
    expected = torch.stack(
        [sum(torch.exp(-(m[i] - m[j]).abs().sum(1)) for j in range(5) if j != i) for i in range(5)]
    )
    assert torch.allclose(out[:, :4], x) and torch.allclose(out[:, 4:], expected, atol=1e-6)
    # A collapsed batch (identical samples) gets the largest possible statistic, n - 1, per kernel.
    same = layer(x[:1].expand(5, 4))
    assert torch.allclose(same[:, 4:], torch.full((5, 3), 4.0))


def test_minibatch_layers_widen_the_head_and_spectral_norm_covers_it():
    disc = MLPDiscriminator([2], [8, 8])
    Stabilizers({"minibatch_discrimination": 3, "minibatch_std": True, "spectral_norm": True}).install(disc)
    assert disc.head.in_features == 8 + 3 + 1
    assert disc(torch.randn(6, 2)).shape == (6,)
    sn = [m for m in disc.modules() if isinstance(m, nn.Linear)]
    assert sn and all(hasattr(m, "parametrizations") for m in sn)
    for _ in range(5):  # power iterations run in training-mode forwards
        disc(torch.randn(6, 2))
    assert float(torch.linalg.matrix_norm(disc.head.weight.detach(), ord=2)) == pytest.approx(1.0, abs=0.02)


def test_feature_matching_loss():
    real, fake = torch.tensor([[1.0, 2.0], [3.0, 4.0]]), torch.tensor([[0.0, 0.0], [2.0, 2.0]])
    assert float(feature_matching_loss(real, fake)) == pytest.approx((2 - 1) ** 2 + (3 - 1) ** 2)


def test_diffaugment_is_differentiable_and_random():
    x = torch.rand(4, 1, 8, 8, requires_grad=True)
    torch.manual_seed(0)
    out = DiffAugment(["color", "translation", "cutout"])(x)
    assert out.shape == x.shape and not torch.allclose(out, x)
    out.sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0
    cut = DiffAugment(["cutout"])(torch.ones(2, 1, 8, 8))
    zeros = (cut == 0).sum(dim=(1, 2, 3))
    assert ((zeros > 0) & (zeros <= 16)).all()  # a square of side 4 (half of 8), clipped at the border


def test_bad_stabilizer_settings_fail_clearly():
    with pytest.raises(ConfigError, match="unknown policies \\['flip'\\]"):
        check_stabilizers({"diffaugment": ["flip"]}, [1, 8, 8])
    with pytest.raises(ConfigError, match="augments images.*shape \\[2\\]"):
        check_stabilizers({"diffaugment": ["color"]}, [2])
    with pytest.raises(ConfigError, match="r1_gamma=-1.0 must be >= 0"):
        check_stabilizers({"r1_gamma": -1.0}, [2])

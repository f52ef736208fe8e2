"""Each family and stabiliser trains on real data through the normal training entry point: finite
losses, the family's k:1 update ratio, and the constraint each one promises (clipping bound, penalties,
installed layers). Invalid family x loss pairings fail before training with the fix in the message."""

from __future__ import annotations

import math

import pytest
import torch
from torch import nn

from ganforge.build import build_datamodule, build_module
from ganforge.errors import ConfigError
from ganforge.stabilizers.minibatch import MinibatchDiscrimination, MinibatchStdDev

TINY_DCGAN = ["model.generator.base_width=8", "model.discriminator.base_width=8", "data.batch_size=32"]
TINY_CDCGAN = [
    "model.generator.net.base_width=8",
    "model.discriminator.net.base_width=8",
    "data.batch_size=32",
]
TINY_MLP = ["model.generator.hidden_dims=[32,32]", "model.discriminator.hidden_dims=[32,32]"]
TINY_CMLP = ["model.generator.net.hidden_dims=[32,32]", "model.discriminator.net.hidden_dims=[32,32]"]
STEPS = 4


def optimizer_steps(optimizer: torch.optim.Optimizer) -> int:
    """How many times an Adam/RMSprop optimizer stepped, read from its own state."""
    steps = {int(s["step"]) for s in optimizer.state.values() if "step" in s}
    assert len(steps) == 1
    return steps.pop()


def train_tiny(run, *overrides: str) -> dict:
    summary = run(
        *overrides,
        f"trainer.max_steps={STEPS}",
        f"trainer.sample_every_n_steps={STEPS}",
        f"trainer.checkpoint_every_n_steps={STEPS}",
    )
    assert summary["gen_step"] == STEPS
    assert summary["metrics"] and all(math.isfinite(v) for v in summary["metrics"].values()), summary[
        "metrics"
    ]
    g_opt, d_opt = (o.optimizer for o in summary["module"].optimizers())
    k = summary["module"].d_steps
    assert optimizer_steps(g_opt) == STEPS
    assert optimizer_steps(d_opt) == STEPS * k
    return summary


FAMILIES = {
    "cgan-digits-k2": (["model=cgan", "data=digits", "model.d_steps=2", *TINY_CMLP], 2),
    "cgan-ring8": (["model=cgan", "data=ring", "data.num_classes=8", *TINY_CMLP], 1),
    "cdcgan-projection-hinge-sn": (
        [
            "model=cdcgan",
            "data=digits",
            "data.image_size=16",
            "model.discriminator.conditioning=projection",
            "loss=hinge",
            "model.stabilizers.spectral_norm=true",
            *TINY_CDCGAN,
        ],
        1,
    ),
    "wgan_gp-digits": (["model=wgan_gp", "loss=wasserstein", "data=digits", *TINY_DCGAN], 5),
    "lsgan-mnist5k": (["experiment=lsgan", "data=mnist5k", *TINY_DCGAN], 1),
    "hinge-ring": (["model=vanilla", "data=ring", "loss=hinge", *TINY_MLP], 1),
    "toy_wgan_gp-grid": (["experiment=toy_wgan_gp", "data=grid", *TINY_MLP], 5),
}


@pytest.mark.parametrize("name", list(FAMILIES))
def test_family_trains_with_its_update_ratio(run, name):
    overrides, k = FAMILIES[name]
    summary = train_tiny(run, *overrides)
    assert summary["module"].d_steps == k
    if "wgan_gp" in name:
        assert summary["metrics"]["penalty/gp"] > 0


def test_wgan_defaults_and_clipping_bound(run):
    summary = train_tiny(run, "experiment=wgan", "data=digits", *TINY_DCGAN)
    module = summary["module"]
    cfg = module.run_config["model"]
    assert (cfg["d_steps"], cfg["clip_value"], cfg["d_optimizer"]["name"], cfg["d_optimizer"]["lr"]) == (
        5,
        0.01,
        "rmsprop",
        5e-5,
    )
    params = torch.cat([p.detach().flatten() for p in module.discriminator.parameters()])
    assert params.abs().max() <= 0.01
    assert params.abs().max() == pytest.approx(0.01)  # some weights sit on the bound: clipping acted


def test_wgan_gp_defaults(compose):
    module = build_module(compose("experiment=wgan_gp"))
    assert module.d_steps == 5 and module.regularizers[0].weight == 10.0
    assert module.d_optimizer_cfg["betas"] == [0.0, 0.9] and module.d_optimizer_cfg["lr"] == 1e-4
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in module.discriminator.modules())


STABILIZERS = {
    "ring-fm-mbd-mbstd-r1-ema": [
        "experiment=toy_gan",
        "data.batch_size=30",  # not a multiple of the std group size 4
        *TINY_MLP,
        "model.stabilizers.feature_matching=true",
        "model.stabilizers.minibatch_discrimination=8",
        "model.stabilizers.minibatch_std=true",
        "model.stabilizers.r1_gamma=1.0",
        "model.ema_decay=0.9",
    ],
    "digits16-diffaugment-sn-smoothing": [
        "model=dcgan",
        "data=digits",
        "data.image_size=16",
        *TINY_DCGAN,
        "model.stabilizers.diffaugment=[color,translation,cutout]",
        "model.stabilizers.spectral_norm=true",
        "loss.real_label_smoothing=0.1",
    ],
    "cgan-digits-fm-mbstd-r1": [
        "model=cgan",
        "data=digits",
        *TINY_CMLP,
        "model.stabilizers.feature_matching=true",
        "model.stabilizers.minibatch_std=true",
        "model.stabilizers.r1_gamma=1.0",
    ],
}


@pytest.mark.parametrize("name", list(STABILIZERS))
def test_stabilizers_train(run, name):
    summary = train_tiny(run, *STABILIZERS[name])
    module, metrics = summary["module"], summary["metrics"]
    opts = module.stabilizers.options
    layers = {type(m) for m in module.discriminator.modules()}
    assert (MinibatchStdDev in layers) == opts.minibatch_std
    assert (MinibatchDiscrimination in layers) == bool(opts.minibatch_discrimination)
    assert ("penalty/r1" in metrics) == bool(opts.r1_gamma)
    if opts.r1_gamma:
        assert metrics["penalty/r1"] > 0
    if opts.spectral_norm:
        convs = [m for m in module.discriminator.modules() if isinstance(m, nn.Conv2d)]
        assert convs and all(hasattr(m, "parametrizations") for m in convs)
    if module.generator_ema is not None:
        z = torch.randn(3, module.latent_dim)
        assert torch.allclose(module.sample(z), module.generator_ema.module.eval()(z))


def test_feature_matching_replaces_the_generator_loss(compose):
    cfg = compose("experiment=toy_gan", *TINY_MLP, "model.stabilizers.feature_matching=true")
    module = build_module(cfg)
    module.bind_data(build_datamodule(cfg))  # the points' batch field is "point"
    real = torch.randn(16, 2)
    torch.manual_seed(0)
    loss, _ = module.generator_objective({"point": real, "label": torch.zeros(16, dtype=torch.long)})
    torch.manual_seed(0)
    fake = module.generate(module.sample_noise(16), None)
    f_real, f_fake = module.discriminator.features(real), module.discriminator.features(fake)
    assert torch.allclose(loss, (f_real.mean(0) - f_fake.mean(0)).pow(2).sum())


@pytest.mark.parametrize(
    "overrides,message",
    [
        (["model=wgan", "loss=non_saturating"], "model=wgan clips the critic.*Use loss=wasserstein"),
        (["model=wgan", "loss=hinge"], "loss=hinge does not read the critic"),
        (["model=dcgan", "loss=wasserstein"], "only meaningful for a Lipschitz critic.*model=wgan_gp"),
        (["model=cgan", "loss=wasserstein", "data=digits"], "model=cgan does not constrain it"),
        (["model=wgan_gp", "model.discriminator.norm=batch"], "without BatchNorm.*norm=\\s*layer"),
        (["model=cgan", "data=ring"], "needs a labelled dataset.*data.num_classes=8"),
        (["model=dcgan", "loss=hinge", "loss.real_label_smoothing=0.1"], "has no real-sample target"),
    ],
)
def test_invalid_pairings_fail_before_training(run, overrides, message):
    with pytest.raises(ConfigError, match=message):
        run(*overrides, "trainer.max_steps=1")


def test_wasserstein_is_allowed_with_spectral_norm(compose):
    module = build_module(compose("model=dcgan", "loss=wasserstein", "model.stabilizers.spectral_norm=true"))
    assert module.loss.critic

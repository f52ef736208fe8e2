"""Any torch.optim optimizer by name (the four older lowercase names included), with extra keyword
arguments, and never any other callable."""

from __future__ import annotations

import pytest
import torch
from lightning.pytorch.callbacks import Callback

from ganforge.errors import ConfigError
from ganforge.families.optim import build_optimizer, optimizer_class

TINY = ["model=vanilla", "data=ring", "data.batch_size=32", "trainer.sample_every_n_steps=1000"]


class _RecordOptimizers(Callback):
    def __init__(self) -> None:
        self.optimizers: list[torch.optim.Optimizer] = []
        self.stepped = 0

    def on_train_end(self, trainer, pl_module) -> None:
        self.optimizers = list(trainer.optimizers)
        self.stepped = sum(len(opt.state) > 0 for opt in self.optimizers)


def test_training_with_adamax_and_sgd_with_momentum(run):
    record = _RecordOptimizers()
    run(
        *TINY,
        "trainer.max_steps=2",
        "model.g_optimizer.name=Adamax",
        "model.d_optimizer.name=SGD",
        "model.d_optimizer.momentum=0.9",
        "+model.d_optimizer.kwargs.nesterov=true",
        callbacks=[record],
    )
    g_opt, d_opt = record.optimizers
    assert type(g_opt) is torch.optim.Adamax and g_opt.defaults["betas"] == (0.5, 0.999)
    assert type(d_opt) is torch.optim.SGD and d_opt.defaults["momentum"] == 0.9 and d_opt.defaults["nesterov"]
    assert record.stepped == 2  # both stepped: each holds per-parameter state (Adamax moments, SGD buffers)


@pytest.mark.parametrize(
    "name,cls,expected",
    [
        ("adam", torch.optim.Adam, {"lr": 1e-3, "betas": (0.5, 0.9), "eps": 1e-7, "weight_decay": 0.1}),
        ("adamw", torch.optim.AdamW, {"lr": 1e-3, "betas": (0.5, 0.9), "eps": 1e-7, "weight_decay": 0.1}),
        ("rmsprop", torch.optim.RMSprop, {"lr": 1e-3, "alpha": 0.9, "eps": 1e-7, "momentum": 0.5}),
        ("sgd", torch.optim.SGD, {"lr": 1e-3, "momentum": 0.5, "weight_decay": 0.1}),
    ],
)
def test_the_older_lowercase_names_build_what_they_built_before(name, cls, expected):
    cfg = {"name": name, "lr": 1e-3, "betas": [0.5, 0.9], "momentum": 0.5, "alpha": 0.9, "eps": 1e-7}
    cfg["weight_decay"] = 0.1
    opt = build_optimizer([torch.nn.Parameter(torch.zeros(2))], cfg)  # as an old checkpoint's: no kwargs
    assert type(opt) is cls
    assert {k: opt.defaults[k] for k in expected} == expected


@pytest.mark.parametrize(
    "name", ["os.system", "Optimizer", "LBFGS", "lr_scheduler.StepLR", "torch.load", "functional.adam", ""]
)
def test_only_torch_optim_optimizer_classes_can_be_named(name):
    # A checkpoint's stored config reaches build_optimizer too: no name may reach another callable.
    with pytest.raises(ConfigError, match="allowed values: any torch.optim optimizer class"):
        optimizer_class(name)


def test_a_keyword_the_class_refuses_fails_with_the_call():
    cfg = {"name": "SGD", "lr": 1e-3, "momentum": 0.0, "kwargs": {"nesterov": True}}  # needs momentum > 0
    call = r"torch\.optim\.SGD\(lr=0\.001, momentum=0\.0, nesterov=True\) failed"
    with pytest.raises(ConfigError, match=call):
        build_optimizer([torch.nn.Parameter(torch.zeros(2))], cfg)

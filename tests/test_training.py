"""Short real training runs on real data: losses, parameter updates, k:1 ratio, grids, checkpoints, resume."""

from __future__ import annotations

import copy
import math

import lightning as L
import pytest
import torch
from helpers.tensors import flat_params

from ganforge.errors import CheckpointError

TINY_DCGAN = ["model.generator.base_width=16", "model.discriminator.base_width=16", "data.batch_size=32"]


def _optimizer_steps(optimizer: torch.optim.Optimizer) -> int:
    """How many times an Adam/RMSprop optimizer stepped, read from its own state."""
    steps = {int(s["step"]) for s in optimizer.state.values() if "step" in s}
    assert len(steps) == 1
    return steps.pop()


@pytest.mark.parametrize(
    "overrides",
    [
        ["model=vanilla", "data=mnist5k", "loss=minimax", "model.d_steps=3"],
        ["model=vanilla", "data=ring", "model.d_steps=2"],
        ["model=dcgan", "data=mnist5k", "loss=non_saturating", "model.d_steps=2", *TINY_DCGAN],
        ["model=dcgan", "data=digits", "data.image_size=16", "model.ema_decay=0.9", *TINY_DCGAN],
    ],
    ids=["vanilla-mnist5k-minimax-k3", "vanilla-ring-k2", "dcgan-mnist5k-k2", "dcgan-digits16-ema"],
)
def test_short_training_run(run, compose, overrides):
    from ganforge.build import build_module

    initial = build_module(compose(*overrides))  # same seed -> same initial weights as the run
    summary = run(
        *overrides,
        "trainer.max_steps=6",
        "trainer.sample_every_n_steps=3",
        "trainer.checkpoint_every_n_steps=3",
        "trainer.seed=0",
    )
    module, k = (
        summary["module"],
        int(next(o for o in overrides if "d_steps" in o).split("=")[1])
        if any("d_steps" in o for o in overrides)
        else 1,
    )

    assert summary["gen_step"] == 6
    assert all(math.isfinite(v) for v in summary["metrics"].values())
    for net in ("generator", "discriminator"):
        before = torch.cat([p.flatten() for p in getattr(initial, net).parameters()])
        after = torch.cat([p.flatten() for p in getattr(module, net).parameters()])
        assert before.shape == after.shape and not torch.allclose(before, after), f"{net} did not change"
    g_opt, d_opt = (o.optimizer for o in module.optimizers())
    assert _optimizer_steps(g_opt) == 6
    assert _optimizer_steps(d_opt) == 6 * k

    run_dir = summary["run_dir"]
    from pathlib import Path

    run_dir = Path(run_dir)
    assert sorted(p.name for p in (run_dir / "samples").glob("*.png")) == [
        "step_0000003.png",
        "step_0000006.png",
    ]
    assert {p.name for p in (run_dir / "checkpoints").glob("*.ckpt")} == {
        "step_0000003.ckpt",
        "step_0000006.ckpt",
        "last.ckpt",
    }
    assert (run_dir / "config.yaml").is_file()


def test_step_counter_is_generator_steps_in_logs(run, tmp_path):
    summary = run(
        "model=vanilla",
        "data=ring",
        "model.d_steps=3",
        "logger=csv",
        "trainer.max_steps=4",
        "trainer.log_every_n_steps=2",
    )
    import csv

    rows = list(csv.DictReader(open(tmp_path / "run" / "metrics.csv")))
    assert [int(r["step"]) for r in rows] == [2, 4]
    assert summary["trainer"].global_step == 4 * (3 + 1)  # Lightning's counter, not shown to users


class BatchCounter(L.Callback):
    def __init__(self):
        self.count = 0

    def on_train_batch_end(self, *args, **kwargs):
        self.count += 1


def test_resume_continues_identically(run, tmp_path):
    # k = 3 batches (discriminator steps) per generator step, 4000/32 = 125 batches per epoch: 50 generator
    # steps (150 batches) cross an epoch boundary, and the stop at 25 (75 batches) lands mid-epoch.
    common = [
        "model=dcgan",
        "data=mnist5k",
        *TINY_DCGAN,
        "model.d_steps=3",
        "trainer.checkpoint_every_n_steps=25",
        "trainer.sample_every_n_steps=1000",
    ]
    straight = run(*common, "trainer.max_steps=50", run_dir=tmp_path / "straight")
    run(*common, "trainer.max_steps=25", run_dir=tmp_path / "resumed")
    ckpt = tmp_path / "resumed" / "checkpoints" / "last.ckpt"
    batches = BatchCounter()
    resumed = run(
        *common,
        "trainer.max_steps=50",
        f"ckpt_path={ckpt}",
        run_dir=tmp_path / "resumed",
        callbacks=[batches],
    )

    assert batches.count == 25 * 3, "the resumed run must train only the remaining 25 generator steps"
    assert resumed["gen_step"] == straight["gen_step"] == 50
    assert torch.equal(flat_params(resumed["module"]), flat_params(straight["module"]))
    for a, b in zip(resumed["module"].optimizers(), straight["module"].optimizers()):
        sa, sb = a.optimizer.state_dict()["state"], b.optimizer.state_dict()["state"]
        assert all(torch.equal(sa[i]["exp_avg"], sb[i]["exp_avg"]) for i in sa)


def test_resume_with_a_different_model_is_refused(run, tmp_path):
    run("model=vanilla", "data=ring", "trainer.max_steps=2", run_dir=tmp_path / "a")
    ckpt = tmp_path / "a" / "checkpoints" / "last.ckpt"
    with pytest.raises(CheckpointError, match=r"differs from the run's in .*model.d_steps: 1 -> 2"):
        run("model=vanilla", "data=ring", "model.d_steps=2", "trainer.max_steps=4", f"ckpt_path={ckpt}")


def test_corrupt_checkpoint_is_refused_before_training(run, tmp_path):
    run("model=vanilla", "data=ring", "trainer.max_steps=2", run_dir=tmp_path / "a")
    ckpt = tmp_path / "a" / "checkpoints" / "last.ckpt"
    truncated = tmp_path / "truncated.ckpt"
    truncated.write_bytes(ckpt.read_bytes()[:1000])
    with pytest.raises(CheckpointError, match="is truncated or corrupt"):
        run("model=vanilla", "data=ring", "trainer.max_steps=4", f"ckpt_path={truncated}")
    with pytest.raises(CheckpointError, match="does not exist"):
        run("model=vanilla", "data=ring", f"ckpt_path={tmp_path / 'missing.ckpt'}")


def test_gradient_clipping_bounds_the_update(run):
    summary = run(
        "model=vanilla",
        "data=ring",
        "trainer.max_steps=3",
        "model.g_optimizer.name=sgd",
        "model.g_optimizer.lr=1.0",
        "model.g_optimizer.grad_clip_norm=1e-3",
    )
    module = summary["module"]
    grad_norm = torch.cat([p.grad.flatten() for p in module.generator.parameters()]).norm()
    assert grad_norm <= 1e-3 * 1.0001


def test_scheduler_is_stepped_per_generator_step(run):
    sched = [
        "+model.g_optimizer.scheduler._target_=torch.optim.lr_scheduler.LinearLR",
        "+model.g_optimizer.scheduler._partial_=true",
        "+model.g_optimizer.scheduler.start_factor=1.0",
        "+model.g_optimizer.scheduler.end_factor=0.5",
        "+model.g_optimizer.scheduler.total_iters=4",
    ]
    summary = run("model=vanilla", "data=ring", "model.d_steps=2", "trainer.max_steps=4", *sched)
    assert summary["metrics"]["lr/g"] == pytest.approx(1e-4)
    assert summary["metrics"]["lr/d"] == pytest.approx(2e-4)


def test_ema_generator_is_used_for_samples(run):
    summary = run("model=vanilla", "data=ring", "trainer.max_steps=5", "model.ema_decay=0.5")
    module = summary["module"]
    ema = copy.deepcopy(module.generator_ema.module)
    z = torch.randn(4, module.latent_dim)
    assert torch.allclose(module.sample(z), ema.eval()(z))
    assert not torch.allclose(module.sample(z), module.generator.eval()(z))


def test_resumed_run_appends_to_its_metrics_csv(run, tmp_path):
    import csv

    common = ["model=vanilla", "data=ring", "logger=csv", "trainer.log_every_n_steps=2"]
    run(*common, "trainer.max_steps=4")
    run(*common, "trainer.max_steps=8", f"ckpt_path={tmp_path / 'run' / 'checkpoints' / 'last.ckpt'}")
    rows = list(csv.DictReader(open(tmp_path / "run" / "metrics.csv")))
    assert [int(r["step"]) for r in rows] == [2, 4, 6, 8]

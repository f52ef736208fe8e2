"""StackGAN through the real entry points on the offline captioned data (mnist5k items, Stage-I 8 px ->
Stage-II 32 px, tiny networks): the two phases and what each trains, the KL term, conditioning
augmentation, Stage-II from a Stage-I checkpoint, sampling and pictures, resume across the switch."""

from __future__ import annotations

import pytest
import torch
from helpers.ddp import train_ddp_cpu
from helpers.tensors import changed, flat_params, state
from PIL import Image

from ganforge.errors import ConfigError

STACK = [
    "model=stackgan",
    "hardware.num_threads=1",
    "data=captioned_mnist5k",
    "data.canvas=32",
    "data.loader.limit=256",
    "data.batch_size=16",
    "model.stage1_size=8",
    "model.generator.g1.base_width=8",
    "model.generator.g2.base_width=8",
    "model.generator.g2.num_residual=1",
    "model.discriminator.d1.net.base_width=8",
]
EVERY_STEP = ["trainer.checkpoint_every_n_steps=1", "trainer.sample_every_n_steps=4"]


def test_stage_networks_have_the_papers_shapes():
    from ganforge.networks.stackgan import ConditioningAugmentation, StageIGenerator, StageIIGenerator

    g1 = StageIGenerator(latent_dim=10, text_dim=384, size=16, channels=3, base_width=8)
    low, mu, logvar = g1(torch.randn(4, 10), torch.randn(4, 384))
    assert low.shape == (4, 3, 16, 16) and mu.shape == logvar.shape == (4, 128)
    g2 = StageIIGenerator(text_dim=384, data_shape=[3, 64, 64], stage1_size=16, base_width=8)
    assert g2(low, torch.randn(4, 384))[0].shape == (4, 3, 64, 64)
    ca = ConditioningAugmentation(384, 16)
    text = torch.randn(2, 384)
    (c1, mu1, _), (c2, mu2, _) = ca(text), ca(text)
    assert torch.equal(mu1, mu2) and not torch.equal(c1, c2), "c is sampled around mu"
    with pytest.raises(ConfigError, match=r"model.stage1_size=12 must be 4 times a power of 2"):
        StageIGenerator(latent_dim=10, text_dim=384, size=12)


def test_kl_is_zero_for_the_standard_normal_only():
    from ganforge.networks.stackgan import kl_to_standard_normal

    zero = torch.zeros(3, 5)
    assert kl_to_standard_normal(zero, zero).item() == 0.0
    assert kl_to_standard_normal(zero + 1, zero).item() == pytest.approx(0.5)  # 0.5 * mu^2


def test_stage1_then_stage2_each_trains_only_its_networks(run, compose, tmp_path):
    import lightning as L

    from ganforge.build import build_module

    L.seed_everything(0, verbose=False)
    initial = state(build_module(compose(*STACK)))
    summary = run(*STACK, "model.stage1_steps=2", "trainer.max_steps=4", *EVERY_STEP)
    ckpts = tmp_path / "run" / "checkpoints"
    at_switch = torch.load(ckpts / "step_0000002.ckpt", weights_only=True)
    assert at_switch["ganforge"]["phase"] == {"index": 1, "name": "stage2", "step": 0}
    assert changed(initial, at_switch["state_dict"], "g1.") and changed(
        initial, at_switch["state_dict"], "d1."
    )
    assert not changed(initial, at_switch["state_dict"], "g2.") and not changed(
        initial, at_switch["state_dict"], "d2."
    ), "Stage-II trained during stage1"
    final = state(summary["module"])
    assert changed(at_switch["state_dict"], final, "g2.") and changed(at_switch["state_dict"], final, "d2.")
    stage1_after = {k: v for k, v in final.items() if k.startswith(("g1.", "d1."))}
    assert all(torch.equal(v, at_switch["state_dict"][k]) for k, v in stage1_after.items()), (
        "Stage-I (weights and batch-norm statistics) must not move in stage2"
    )
    metrics = summary["metrics"]
    assert {"loss/g", "loss/adversarial", "loss/kl", "loss/d", "d/mismatch", "phase"} <= set(metrics)
    assert metrics["loss/g"] == pytest.approx(metrics["loss/adversarial"] + metrics["loss/kl"], rel=1e-5)
    grid = tmp_path / "run" / "samples" / "step_0000004.png"
    assert Image.open(grid).size[0] >= 512 and grid.with_suffix(".captions.txt").is_file()


def test_samples_are_stage1_upsampled_then_stage2(run, compose, tmp_path):
    from ganforge.build import build_datamodule

    summary = run(*STACK, "model.stage1_steps=2", "trainer.max_steps=2", *EVERY_STEP)
    module = summary["module"]
    datamodule = build_datamodule(compose(*STACK))
    inputs = module.sampling_inputs(6, seed=0, datamodule=datamodule)
    module.gen_step = 1  # inside stage1: Stage-I's image, nearest-upsampled to the full size
    module._enter_phase(module.phase, announce=False)
    early = module.sample_inputs(inputs)
    assert early.shape == (6, 3, 32, 32)
    assert torch.equal(early[:, :, ::4, ::4], early[:, :, 1::4, 1::4]), "4x4 blocks of Stage-I pixels"
    module.gen_step = 2
    module._enter_phase(module.phase, announce=False)
    late = module.sample_inputs(inputs)
    assert late.shape == (6, 3, 32, 32) and not torch.equal(late[:, :, ::4, ::4], late[:, :, 1::4, 1::4])


def test_stage2_from_a_stage1_checkpoint(run, tmp_path):
    run(*STACK, "model.stage1_steps=2", "trainer.max_steps=2", *EVERY_STEP, run_dir=tmp_path / "one")
    ckpt = tmp_path / "one" / "checkpoints" / "last.ckpt"
    stage1 = {
        k: v for k, v in torch.load(ckpt, weights_only=True)["state_dict"].items() if k.startswith("g1.")
    }
    summary = run(*STACK, "model.stage1_steps=0", f"model.stage1_from={ckpt}", "trainer.max_steps=2",
                  run_dir=tmp_path / "two")  # fmt: skip
    after = summary["module"].state_dict()
    assert all(torch.equal(after[k], v) for k, v in stage1.items()), "Stage-I loaded and kept frozen"
    assert summary["metrics"]["loss/kl"] >= 0
    with pytest.raises(ConfigError, match=r"model.stage1_steps=0: Stage-II needs a trained Stage-I"):
        run(*STACK, "model.stage1_steps=0", "trainer.max_steps=1", run_dir=tmp_path / "three")
    other = tmp_path / "other"
    run("model=dcgan", "data=mnist5k", "data.batch_size=16", "trainer.max_steps=1", run_dir=other)
    with pytest.raises(ConfigError, match=r"is not a StackGAN checkpoint"):
        run(*STACK, "model.stage1_steps=0", f"model.stage1_from={other}/checkpoints/last.ckpt",
            "trainer.max_steps=1", run_dir=tmp_path / "four")  # fmt: skip


def test_resume_across_the_switch_is_bit_identical(run, tmp_path):
    steps = ["model.stage1_steps=2", "trainer.max_steps=4", *EVERY_STEP]
    straight = run(*STACK, *steps, run_dir=tmp_path / "straight")
    for step in (1, 3):
        ckpt = tmp_path / "straight" / "checkpoints" / f"step_{step:07d}.ckpt"
        resumed = run(*STACK, *steps, f"ckpt_path={ckpt}", run_dir=tmp_path / f"r{step}")
        assert torch.equal(flat_params(resumed["module"]), flat_params(straight["module"])), step


def test_ddp_cpu_replicas_stay_identical_across_the_switch(tmp_path):
    """Two ddp_cpu ranks through stage1 and into stage2: the caption embeddings (bound on each rank) and
    every network stay identical on both."""
    run_dir, report = train_ddp_cpu(
        tmp_path,
        [*STACK, "model.stage1_steps=2", "trainer.max_steps=4", "logger=none",
         "trainer.sample_every_n_steps=4", "trainer.checkpoint_every_n_steps=4"],
    )  # fmt: skip
    rank0, rank1 = report["ranks"]
    assert report["in_sync"] and rank0["gen_step"] == rank1["gen_step"] == 4

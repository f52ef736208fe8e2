"""model=stylegan through the real entry points: progressive growing phases (resolution and alpha by
step, resume mid-fade bit-identical), style mixing, w_avg and truncation, lazy R1, ganforge-sample's
sampling options, the per-sample-step figure hook, ddp_cpu replicas and bad inputs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from helpers.tensors import flat_params

from ganforge.data.sources import DEBIAN_FASHION_MNIST
from ganforge.errors import ConfigError, GanforgeError
from ganforge.families.gan import GAN
from ganforge.families.growth import GrowthSchedule
from ganforge.families.phases import PhaseSchedule
from ganforge.losses.penalties import LazyRegularizer, R1Penalty
from ganforge.networks.stylegan import mix_styles

BIN = Path(sys.executable).parent
TESTS = Path(__file__).resolve().parent
# 16x16 mnist5k, widths <= 8: phases 4px [0, 2), 8px-fade [2, 4), 8px [4, 6), 16px-fade [6, 8), 16px [8, ...)
TINY = [
    "model=stylegan", "data=mnist5k", "data.image_size=16", "data.batch_size=8", "model.latent_dim=8",
    "model.generator.w_dim=8", "model.generator.mapping_layers=2", "model.generator.channel_base=64",
    "model.generator.channel_max=8", "model.fade_length=2", "model.stable_length=2",
    "model.length_unit=steps",
]  # fmt: skip


def tiny_run(run, *overrides: str, **kwargs):
    cadence = ["trainer.sample_every_n_steps=4", "trainer.checkpoint_every_n_steps=1"]
    return run(*TINY, *cadence, *overrides, **kwargs)


# ----------------------------------------------------------------------------- growth schedule
def test_resolution_and_alpha_at_given_steps():
    growth = GrowthSchedule(32, True, 4, 2, "steps", {}, 16)
    assert [p.name for p in growth.phases] == [
        "4px", "8px-fade", "8px", "16px-fade", "16px", "32px-fade", "32px",
    ]  # fmt: skip
    schedule = PhaseSchedule(growth.phases, 1, [])
    at = {step: growth.at(schedule.at(step)) for step in (0, 1, 2, 3, 5, 7, 8, 14, 16, 17, 100)}
    assert at == {
        0: (4, 1.0), 1: (4, 1.0), 2: (8, 0.0), 3: (8, 0.25), 5: (8, 0.75), 7: (8, 1.0), 8: (16, 0.0),
        14: (32, 0.0), 16: (32, 0.5), 17: (32, 0.75), 100: (32, 1.0),
    }  # fmt: skip
    # lengths in images: steps = ceil(images / batch of that resolution)
    images = GrowthSchedule(16, True, 100, 64, "images", {16: 10}, 32)
    assert [p.steps for p in images.phases] == [2, 4, 2, 10, None]
    flat = GrowthSchedule(16, False, 1, 1, "steps", {}, 8)
    assert [p.name for p in flat.phases] == ["16px"] and flat.at(PhaseSchedule(flat.phases, 1, []).at(5)) == (
        16,
        1.0,
    )


def test_growing_run_enters_each_resolution_and_fades_in(run):
    summary = tiny_run(run, "trainer.max_steps=7", "model.batch_sizes={8:4}")
    module = summary["module"]
    assert module.phase.name == "16px-fade" and module.phase_label() == "16px-fade"
    assert (module.generator.resolution, module.generator.alpha) == (16, 0.5)
    assert (module.sampling_network().resolution, module.discriminator.resolution) == (16, 16)
    assert summary["metrics"]["resolution"] == 16.0 and summary["metrics"]["alpha"] == 0.0  # step 6's
    assert module.growth.batch_sizes == {4: 8, 8: 4, 16: 8}
    # w_avg moved from 0 and the EMA generator truncates towards the same point
    assert module.generator.w_avg.abs().sum() > 0
    assert torch.allclose(module.sampling_network().w_avg, module.generator.w_avg)


def test_resume_mid_fade_is_bit_identical(run, tmp_path):
    straight = tiny_run(run, "trainer.max_steps=8", run_dir=tmp_path / "straight")
    for step in (3, 7):  # inside 8px-fade and 16px-fade
        ckpt = tmp_path / "straight" / "checkpoints" / f"step_{step:07d}.ckpt"
        resumed = tiny_run(run, "trainer.max_steps=8", f"ckpt_path={ckpt}", run_dir=tmp_path / f"r{step}")
        a, b = resumed["module"], straight["module"]
        assert torch.equal(flat_params(a), flat_params(b)), step
        assert torch.equal(a.generator.w_avg, b.generator.w_avg)
        assert (a.generator.resolution, a.generator.alpha) == (b.generator.resolution, b.generator.alpha)


def test_non_progressive_trains_the_full_resolution_from_the_start(run):
    summary = tiny_run(run, "trainer.max_steps=2", "model.progressive=false")
    assert summary["module"].phase_label() is None and summary["metrics"]["resolution"] == 16.0
    assert "phase" not in summary["metrics"]


# ----------------------------------------------------------------------------- training pieces
def test_style_mixing_draws_two_latents_and_a_crossover(run):
    module = tiny_run(run, "trainer.max_steps=1", "model.progressive=false", "model.style_mixing_prob=1.0")[
        "module"
    ]
    g = module.generator
    torch.manual_seed(5)
    fake, w = module.generate_mixed(3)
    torch.manual_seed(5)
    w1 = g.mapping(module.sample_noise(3))
    assert torch.rand(()).item() < 1.0
    crossover = int(torch.randint(1, g.num_ws, ()).item())
    w2 = g.mapping(module.sample_noise(3))
    expected = g.synthesis(mix_styles(g.broadcast(w1), g.broadcast(w2), crossover))
    assert torch.equal(fake, expected) and torch.equal(w, w1)


def test_lazy_r1_runs_every_nth_update_scaled_by_n():
    position = iter(range(5))
    lazy = LazyRegularizer(R1Penalty(2.0), 4, lambda: next(position))
    real = torch.randn(3, 2)
    discriminate = lambda x: (x**2).sum(1)  # noqa: E731
    full = R1Penalty(2.0)(discriminate, real, real)
    values = [lazy(discriminate, real, real) for _ in range(5)]
    assert [float(v) for v in values[1:4]] == [0.0, 0.0, 0.0]
    assert torch.allclose(values[0], 4 * full) and torch.allclose(values[4], 4 * full)


# ----------------------------------------------------------------------------- sampling
def test_sample_cli_truncation_option(run, tmp_path):
    from ganforge.cli.sample import sample_checkpoint

    tiny_run(run, "trainer.max_steps=3")
    ckpt = tmp_path / "run" / "checkpoints" / "last.ckpt"
    png, pt = sample_checkpoint(ckpt, n=4, out=tmp_path / "s", options={"truncation": 0.0})
    samples = torch.load(pt, weights_only=True)
    assert "truncation0.0" in png.name and samples.shape == (4, 1, 16, 16)
    assert torch.equal(samples, samples[:1].expand_as(samples)), "psi = 0: w_avg's image for every z"
    _, plain = sample_checkpoint(ckpt, n=4, out=tmp_path / "s")
    assert not torch.equal(torch.load(plain, weights_only=True), samples)
    for options, message in (
        ({"truncation": 1.5}, r"truncation=1\.5 is invalid for model=stylegan: it must be "
         r"float in \[0, 1\]"),
        ({"truncation": "high"}, r"truncation='high' is invalid for model=stylegan"),
        ({"noise_mode": "loud"}, r"noise_mode='loud' .* must be random\|const\|none"),
        ({"psi": 0.5}, r"does not accept the sampling option\(s\) \['psi'\]; it takes truncation="),
    ):  # fmt: skip
        with pytest.raises(GanforgeError, match=message):
            sample_checkpoint(ckpt, n=4, out=tmp_path / "s", options=options)


class FigureGAN(GAN):
    """A family drawing one more figure per sample step: its samples' mean image."""

    def extra_figures(self, path_prefix, datamodule):
        samples = self.sample_inputs(self.sampling_inputs(8, 0, datamodule))
        path = Path(f"{path_prefix}_mean.png")
        datamodule.render(samples.mean(0, keepdim=True), path)
        return {"mean": path}


def test_extra_figures_are_written_at_each_sample_step(run, tmp_path):
    sys.path.insert(0, str(TESTS))
    overrides = ["model=dcgan", "data=mnist5k", "data.image_size=16", "data.batch_size=8"]
    widths = ["model.generator.base_width=4", "model.discriminator.base_width=4", "model.latent_dim=4"]
    run(*overrides, *widths, "model._target_=test_stylegan.FigureGAN", "trainer.max_steps=2",
        "trainer.sample_every_n_steps=1", "trainer.checkpoint_every_n_steps=2")  # fmt: skip
    names = sorted(p.name for p in (tmp_path / "run" / "samples").iterdir())
    assert names == ["step_0000001.png", "step_0000001_mean.png", "step_0000002.png", "step_0000002_mean.png"]


# ----------------------------------------------------------------------------- bad inputs
BAD = {
    "data.image_size=28": r"power of 2 >= 8 .* the data has 28x28\. Set data\.image_size",
    "model.truncation=1.5": r"model\.truncation=1\.5 is invalid for model=stylegan: .* \[0, 1\]",
    "model.truncation_cutoff=99": r"model\.truncation_cutoff=99 .* int in \[0, 6\] or null",
    "model.fade_length=0": r"model\.fade_length=0 and model\.stable_length=2 must be >= 1",
    "model.length_unit=epochs": r"model\.length_unit='epochs' is unknown",
    "model.batch_sizes={64:4}": r"keys must be resolutions of this run \[4, 8, 16\]",
    "model.style_mixing_prob=2": r"model\.style_mixing_prob=2\.0 must be in \[0, 1\]",
    "model.modulation=none": r"model\.modulation='none' is unknown",
}


def test_bad_settings_fail_when_the_model_is_built(compose):
    from ganforge.build import build_module

    for override, message in BAD.items():
        with pytest.raises(ConfigError, match=message):
            build_module(compose(*TINY, override))


@pytest.mark.parametrize(
    "override, message",
    [
        ("data.image_size=12", r"power of 2 >= 8 .* the data has 12x12\. Set data\.image_size"),
        ("model.batch_sizes={16:100}", r"asks for \{16: 100\} images per step, .* data\.batch_size=8"),
    ],
)
def test_bad_inputs_fail_before_training(run, tmp_path, override, message):
    with pytest.raises(ConfigError, match=message):
        tiny_run(run, "trainer.max_steps=1", override)
    assert not (tmp_path / "run" / "checkpoints").exists()


# ----------------------------------------------------------------------------- CLI and DDP
def _cli(tmp_path: Path, *args: str, script: str = "ganforge-train") -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run(
        [str(BIN / script), *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300
    )


def test_ddp_cpu_replicas_stay_identical_while_growing(tmp_path):
    result = _cli(tmp_path, *TINY, "hardware=ddp_cpu", "trainer.max_steps=4", "trainer.progress_bar=false",
                  "trainer.sample_every_n_steps=4", "trainer.checkpoint_every_n_steps=4")  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    (run_dir,) = (tmp_path / "outputs" / "runs").iterdir()
    report = json.loads((run_dir / "replicas.json").read_text())
    rank0, rank1 = report["ranks"]
    assert report["in_sync"] and rank0["gen_step"] == rank1["gen_step"] == 4
    assert rank0["generator"] == rank1["generator"] and rank0["discriminator"] == rank1["discriminator"]


@pytest.mark.skipif(
    not DEBIAN_FASHION_MNIST.is_dir(), reason="Debian's dataset-fashion-mnist is not installed"
)
def test_train_and_sample_through_the_cli_on_fashion_mnist_32(tmp_path):
    small = [a for a in TINY if not a.startswith(("model=", "data="))]
    args = ["model=stylegan", "data=fashion_mnist", "data.image_size=32", *small[2:], "trainer.max_steps=3",
            "model.fade_length=1", "model.stable_length=1", "trainer.log_every_n_steps=1"]  # fmt: skip
    result = _cli(tmp_path, *args)
    assert result.returncode == 0, result.stderr[-3000:]
    (run_dir,) = (tmp_path / "outputs" / "runs").iterdir()
    lines = [line for line in (run_dir / "train.log").read_text().splitlines() if "log_line" in line]
    assert [line.split(" - ", 1)[1].split("  ")[1] for line in lines] == [
        "phase 4px", "phase 8px-fade", "phase 8px",
    ]  # fmt: skip
    ckpt = run_dir / "checkpoints" / "last.ckpt"
    sampled = _cli(tmp_path, f"ckpt={ckpt}", "n=4", "truncation=0.7", script="ganforge-sample")
    assert sampled.returncode == 0 and "truncation0.7" in sampled.stdout, sampled.stderr[-2000:]
    bad = _cli(tmp_path, f"ckpt={ckpt}", "truncation=2", script="ganforge-sample")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert "truncation=2.0 is invalid for model=stylegan" in bad.stderr, bad.stderr

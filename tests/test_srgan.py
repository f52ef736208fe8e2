"""The SRResNet and SRGAN families through the real entry points, on real offline data (Fashion-MNIST x4,
7 -> 28), with tiny networks: training in phases, resume, DDP, content losses, init_from, sampling, the
upscale CLI, the paired data and ganforge-fetch with dict-shaped splits."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import lightning as L
import numpy as np
import pytest
import torch
import yaml
from helpers.ddp import train_ddp_cpu
from helpers.tensors import changed, flat_params, state
from PIL import Image

from ganforge.data.render import labelled_size
from ganforge.errors import CheckpointError, ConfigError, DatasetError, GanforgeError

TINY_G = ["model.generator.width=8", "model.generator.num_blocks=1"]
TINY_D = ["model.discriminator.base_width=4", "model.discriminator.dense_width=8"]
DATA = ["data=paired_sr_fashion_mnist", "data.batch_size=16", "hardware.num_threads=1"]
SRRESNET = ["model=srresnet", *DATA, *TINY_G]
SRGAN = ["model=srgan", *DATA, *TINY_G, *TINY_D, "model.content=mse", "model.pretrain_steps=2"]
EVERY_STEP = ["trainer.sample_every_n_steps=2", "trainer.checkpoint_every_n_steps=1"]
PYTHONPATH = os.environ.get("PYTHONPATH", "")


def initial_state(compose, *overrides: str) -> dict[str, torch.Tensor]:
    from ganforge.build import build_module

    L.seed_everything(0, verbose=False)  # as train() does: the run's initial weights
    return state(build_module(compose(*overrides)))


@pytest.fixture(scope="module", autouse=True)
def fashion_mnist_pairs_made_once():
    """Every run here reads the real Fashion-MNIST pairs (paired_sr on the Debian files); making each split
    once per module, not once per run, keeps the tests fast on two cores. Callers get fresh copies."""
    from ganforge.data import paired_sources

    made: dict[tuple, dict[str, torch.Tensor]] = {}
    real = paired_sources.paired_sr

    def paired_sr(root, split, *args, source=None, **kwargs):
        name = getattr(getattr(source, "func", source), "__name__", None)
        if name != "fashion_mnist" or args:
            return real(root, split, *args, source=source, **kwargs)
        key = (str(root), split, tuple(sorted(kwargs.items())))
        if key not in made:
            made[key] = real(root, split, source=source, **kwargs)
        return {k: v.clone() for k, v in made[key].items()}

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(paired_sources, "paired_sr", paired_sr)
        yield


@pytest.fixture(scope="module")
def srresnet_ckpt(tmp_path_factory, compose_session, fashion_mnist_pairs_made_once):
    """A tiny SRResNet trained 2 steps (the checkpoint init_from, sampling and upscaling start from)."""
    from ganforge.training import train

    root = tmp_path_factory.mktemp("srresnet")
    cfg = compose_session(f"paths.root_dir={root}", *SRRESNET, "trainer.max_steps=2", *EVERY_STEP)
    train(cfg, root / "run")
    return root / "run" / "checkpoints" / "last.ckpt"


# ----------------------------------------------------------------------------- training
def test_srresnet_trains_its_generator_on_mse_without_a_discriminator(run, compose, tmp_path):
    initial = initial_state(compose, *SRRESNET)
    summary = run(*SRRESNET, "trainer.max_steps=3", "trainer.sample_every_n_steps=3")
    module, metrics = summary["module"], summary["metrics"]
    assert set(metrics) == {"loss/g", "loss/mse", "lr/g"} and all(
        map(torch.isfinite, map(torch.tensor, metrics.values()))
    )
    assert module.sides["discriminator"].networks == {} and summary["trainer"].global_step == 3
    assert changed(initial, state(module), "generator.")
    # LR | bicubic | SR | HR: 64 samples of 28x28 panels, 4 samples (16 tiles) per row
    grid = Image.open(tmp_path / "run" / "samples" / "step_0000003.png")
    assert grid.size == labelled_size(16 * 30 + 2, 16 * 30 + 2 + 12)  # then labelled: step, run name


def test_srgan_trains_g_alone_before_the_switch_and_both_after_with_k_to_1(run, compose, tmp_path):
    initial = initial_state(compose, *SRGAN)
    summary = run(*SRGAN, "model.d_steps=2", "trainer.max_steps=5", *EVERY_STEP)
    module, trainer = summary["module"], summary["trainer"]
    g_opt, d_opt = (o.optimizer for o in module.optimizers())
    assert {int(s["step"]) for s in g_opt.state.values()} == {5}
    assert {int(s["step"]) for s in d_opt.state.values()} == {3 * 2}  # k = 2 in the 3 adversarial steps
    assert trainer.global_step == 2 + 3 * (2 + 1)
    ckpts = tmp_path / "run" / "checkpoints"
    at_switch = torch.load(ckpts / "step_0000002.ckpt", weights_only=True)
    assert at_switch["ganforge"]["phase"] == {"index": 1, "name": "adversarial", "step": 0}
    assert changed(initial, at_switch["state_dict"], "generator.")
    assert not changed(initial, at_switch["state_dict"], "discriminator."), "D trained in pretraining"
    final = state(module)
    assert changed(at_switch["state_dict"], final, "generator.")
    assert changed(at_switch["state_dict"], final, "discriminator.")
    metrics = summary["metrics"]
    assert {"loss/g", "loss/d", "loss/content", "loss/adversarial", "loss/mse", "d/real", "d/fake"} <= set(
        metrics
    )
    assert metrics["phase"] == 1.0 and all(torch.isfinite(torch.tensor(v)) for v in metrics.values())
    # the generator loss is content + 1e-3 x adversarial
    assert metrics["loss/g"] == pytest.approx(metrics["loss/content"] + 1e-3 * metrics["loss/adversarial"])
    assert torch.load(ckpts / "last.ckpt", weights_only=True)["ganforge"]["content_loss"]["content"] == "mse"
    assert Image.open(tmp_path / "run" / "samples" / "step_0000004.png").size == labelled_size(
        16 * 30 + 2, 16 * 30 + 2 + 12
    )


def test_resume_inside_either_phase_is_bit_identical(run, tmp_path):
    straight = run(*SRGAN, "trainer.max_steps=4", *EVERY_STEP, run_dir=tmp_path / "straight")
    for step in (1, 3):  # inside "pretrain", inside "adversarial"
        ckpt = tmp_path / "straight" / "checkpoints" / f"step_{step:07d}.ckpt"
        resumed = run(
            *SRGAN, "trainer.max_steps=4", *EVERY_STEP, f"ckpt_path={ckpt}", run_dir=tmp_path / f"r{step}"
        )
        assert resumed["gen_step"] == 4
        assert torch.equal(flat_params(resumed["module"]), flat_params(straight["module"])), step
        for key, value in state(straight["module"]).items():  # BatchNorm statistics too
            assert torch.equal(state(resumed["module"])[key], value), (step, key)
        for a, b in zip(resumed["module"].optimizers(), straight["module"].optimizers()):
            sa, sb = a.optimizer.state_dict()["state"], b.optimizer.state_dict()["state"]
            assert sa.keys() == sb.keys() and all(torch.equal(sa[i]["exp_avg"], sb[i]["exp_avg"]) for i in sa)


def test_ddp_cpu_keeps_generator_and_discriminator_identical_across_ranks(tmp_path):
    cadence = ["trainer.sample_every_n_steps=4", "trainer.checkpoint_every_n_steps=4"]
    run_dir, report = train_ddp_cpu(tmp_path, [*SRGAN, "trainer.max_steps=4", *cadence])
    rank0, rank1 = report["ranks"]
    assert report["in_sync"] and rank0["gen_step"] == rank1["gen_step"] == 4
    assert rank0["generator"] == rank1["generator"] and rank0["discriminator"] == rank1["discriminator"]
    assert "content loss: {'content': 'mse'" in (run_dir / "train.log").read_text()


# ----------------------------------------------------------------------------- content losses
def test_vgg54_without_weights_offline_fails_before_training(run, tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty_torch_home"))
    monkeypatch.setenv("GANFORGE_OFFLINE", "1")
    vgg = [a for a in SRGAN if not a.startswith("model.content=")]
    with pytest.raises(
        ConfigError, match=r"content=vgg54 needs torchvision's VGG19 ImageNet weights"
    ) as info:
        run(*vgg, "trainer.max_steps=2")
    assert "content=classifier" in str(info.value) and "content=mse" in str(info.value)  # the alternatives
    assert not (tmp_path / "run" / "checkpoints").exists() and not (tmp_path / "run" / "metrics.csv").exists()


def test_vgg54_offline_through_the_cli_is_one_message(tmp_path):
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "PYTHONPATH": PYTHONPATH}
    env.update(TORCH_HOME=str(tmp_path / "empty"), GANFORGE_OFFLINE="1")
    vgg = [a for a in SRGAN if not a.startswith("model.content=")]
    args = [*vgg, "trainer.max_steps=2", "trainer.progress_bar=false"]
    result = subprocess.run(
        [str(Path(sys.executable).parent / "ganforge-train"), *args],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 2 and "ganforge: error: content=vgg54 needs" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.fixture(scope="module")
def sr_evaluator(tmp_path_factory, compose_session, fashion_mnist_pairs_made_once):
    """The evaluator classifier of paired_sr_fashion_mnist, as ganforge-train-evaluator trains it (3 steps:
    barely trained, which does not matter for the mechanics)."""
    from ganforge.build import build_datamodule
    from ganforge.metrics.train_classifier import train_classifier

    path = tmp_path_factory.mktemp("evaluator") / "classifier.pt"
    record = train_classifier(build_datamodule(compose_session(*DATA)), epochs=0, min_steps=3, path=path)
    assert record["data"] == "paired_sr_fashion_mnist" and record["shape"] == [1, 28, 28]
    return path


def test_content_classifier_uses_the_evaluator_of_this_data_and_is_recorded(
    run, tmp_path, sr_evaluator, caplog
):
    evaluator = sr_evaluator
    with caplog.at_level("INFO", logger="ganforge.families.srgan"):
        run(
            *SRGAN, "model.content=classifier", f"model.content_classifier_path={evaluator}",
            "trainer.max_steps=3", "trainer.checkpoint_every_n_steps=3",
        )  # fmt: skip
    described = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", weights_only=True)["ganforge"]
    assert described["content_loss"]["content"] == "classifier"
    assert described["content_loss"]["evaluator"] == str(evaluator)
    assert described["config"]["model"]["content"] == "classifier"  # config.yaml holds it too
    assert "content loss: {'content': 'classifier'" in caplog.text


def test_eval_cli_scores_super_resolved_test_images_against_the_hr_field(
    srresnet_ckpt, sr_evaluator, tmp_path
):
    from ganforge.cli.eval import evaluate_cli, parse_args

    args = [
        f"ckpt={srresnet_ckpt}", "metrics=[fid2k_classifier]", f"eval.classifier_path={sr_evaluator}",
        f"eval.cache_dir={tmp_path / 'cache'}", f"out={tmp_path / 'metrics.json'}",
    ]  # fmt: skip
    out, record = evaluate_cli(*parse_args(args))
    assert record["protocol"]["reference"] == "paired_sr_fashion_mnist:train"
    assert record["metrics"]["fid2k_classifier"] > 0 and json.loads(out.read_text()) == record["metrics"]
    assert json.loads((tmp_path / "metrics.provenance.json").read_text())["gen_step"] == 2


def test_content_classifier_without_an_evaluator_names_the_command(run):
    with pytest.raises(ConfigError, match="ganforge-train-evaluator data=paired_sr_fashion_mnist"):
        run(*SRGAN, "model.content=classifier", "trainer.max_steps=3")


# ----------------------------------------------------------------------------- init_from
class GeneratorAtStart(L.Callback):
    def on_train_start(self, trainer, pl_module):
        self.weights = {k: v.clone() for k, v in pl_module.generator.state_dict().items()}


def test_srgan_starts_from_a_trained_srresnet(run, srresnet_ckpt):
    at_start = GeneratorAtStart()
    summary = run(
        *SRGAN, "model.pretrain_steps=0", f"model.init_from={srresnet_ckpt}", "trainer.max_steps=2",
        callbacks=[at_start],
    )  # fmt: skip
    saved = torch.load(srresnet_ckpt, weights_only=True)["state_dict"]
    assert all(torch.equal(v, saved[f"generator.{k}"]) for k, v in at_start.weights.items())
    assert summary["module"].phase.name == "adversarial" and len(summary["module"].phase_schedule) == 1
    assert changed(
        {f"generator.{k}": v for k, v in at_start.weights.items()}, state(summary["module"]), "generator."
    )


def test_init_from_refuses_other_families_scales_and_sizes(run, tmp_path, srresnet_ckpt):
    with pytest.raises(CheckpointError, match="does not exist"):
        run(*SRGAN, f"model.init_from={tmp_path / 'none.ckpt'}", "trainer.max_steps=1")
    with pytest.raises(ConfigError, match=r"differs from this one in width=8 \(ours 16\)"):
        run(*SRGAN, "model.generator.width=16", f"model.init_from={srresnet_ckpt}", "trainer.max_steps=1")
    vanilla = run(
        "model=vanilla",
        "data=ring",
        "data.batch_size=16",
        "trainer.max_steps=1",
        run_dir=tmp_path / "vanilla",
    )
    assert vanilla["gen_step"] == 1
    with pytest.raises(ConfigError, match=r"checkpoint of model=vanilla .* not of a super-resolution family"):
        run(
            *SRGAN,
            f"model.init_from={tmp_path / 'vanilla' / 'checkpoints' / 'last.ckpt'}",
            "trainer.max_steps=1",
        )
    x2 = run(*SRRESNET, "data.scale=2", "trainer.max_steps=1", run_dir=tmp_path / "x2")
    assert x2["module"].scale == 2
    with pytest.raises(ConfigError, match=r"scale=2 \(ours 4\)"):
        run(*SRGAN, f"model.init_from={tmp_path / 'x2' / 'checkpoints' / 'last.ckpt'}", "trainer.max_steps=1")


# ----------------------------------------------------------------------------- sampling and upscaling
def test_sample_cli_super_resolves_test_images(srresnet_ckpt, tmp_path):
    from omegaconf import OmegaConf

    from ganforge.build import build_datamodule, build_module
    from ganforge.checkpoints import load_checkpoint
    from ganforge.cli.sample import sample_checkpoint

    png, pt = sample_checkpoint(srresnet_ckpt, n=6, out=tmp_path / "s")
    samples = torch.load(pt, weights_only=True)
    ckpt = load_checkpoint(srresnet_ckpt)
    cfg = OmegaConf.create(ckpt["ganforge"]["config"])
    module, dm = build_module(cfg), build_datamodule(cfg)
    module.load_trained(ckpt)
    module.bind_data(dm)
    inputs = module.sampling_inputs(6, 0, dm)
    assert samples.shape == (6, 1, 28, 28) and torch.equal(samples, module.upscale(inputs["lr"]))
    assert samples.min() >= -1 and samples.max() <= 1
    # 2 samples per row x 4 panels (LR|bicubic|SR|HR), 3 rows under the panel names; then labelled
    assert Image.open(png).size == labelled_size(2 * 4 * 30 + 2, 3 * 30 + 2 + 12)


def upscale_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONWARNINGS": "ignore", "PYTHONPATH": PYTHONPATH}
    return subprocess.run(
        [sys.executable, "-m", "ganforge.cli.upscale", *args],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def test_upscale_a_folder_and_one_image_of_any_size(srresnet_ckpt, tmp_path):
    from ganforge.cli.upscale import upscale_files

    photos = tmp_path / "in"
    photos.mkdir()
    Image.new("RGB", (13, 9), (200, 30, 90)).save(photos / "wide.png")  # RGB into a grayscale model
    Image.fromarray((torch.rand(20, 11) * 255).to(torch.uint8).numpy()).save(photos / "gray.jpg")
    (photos / "notes.txt").write_text("not an image, not an image suffix: ignored")
    written = upscale_files(srresnet_ckpt, photos, tmp_path / "out")
    assert [p.name for p in written] == ["gray.png", "wide.png"]
    sizes = {p.name: Image.open(p).size for p in written}
    assert sizes == {"gray.png": (44, 80), "wide.png": (52, 36)}
    assert all(Image.open(p).mode == "L" for p in written)
    assert not list((tmp_path / "out").glob(".*tmp"))  # atomic writes leave no temporary files
    result = upscale_cli(f"ckpt={srresnet_ckpt}", f"input={photos / 'wide.png'}", "out=single", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert Image.open(tmp_path / "single" / "wide.png").size == (52, 36)


def test_upscale_bad_inputs_are_one_clear_message(srresnet_ckpt, tmp_path, capsys):
    from ganforge.cli.upscale import main as upscale_main
    from ganforge.cli.upscale import upscale_files

    (tmp_path / "fake.png").write_text("this is text")
    with pytest.raises(GanforgeError, match=r"fake.png is not a readable image"):
        upscale_files(srresnet_ckpt, tmp_path / "fake.png", tmp_path / "out")
    assert not (tmp_path / "out").exists()  # nothing written
    folder = tmp_path / "mixed"
    folder.mkdir()
    Image.new("L", (5, 5)).save(folder / "a.png")
    (folder / "b.jpg").write_bytes(b"\x00" * 10)
    with pytest.raises(GanforgeError, match=r"b.jpg is not a readable image"):
        upscale_files(srresnet_ckpt, folder, tmp_path / "out2")
    assert not (tmp_path / "out2").exists(), "a broken file fails before any image is written"
    with pytest.raises(GanforgeError, match=r"input=.*missing.png does not exist"):
        upscale_files(srresnet_ckpt, tmp_path / "missing.png", tmp_path / "out")
    with pytest.raises(GanforgeError, match=r"would overwrite the input"):
        upscale_files(srresnet_ckpt, folder / "a.png", folder)
    for args, message in [
        ([f"input={tmp_path / 'fake.png'}", "out=o"], "fake.png is not a readable image"),
        (["out=o"], "Missing input="),
        ([f"input={folder}", "out=o", "scale=2"], r"Unknown argument\(s\) \['scale'\]"),
    ]:
        with pytest.raises(SystemExit) as exit_info:
            upscale_main([f"ckpt={srresnet_ckpt}", *args])
        assert exit_info.value.code == 2
        assert re.search(f"ganforge-upscale: error: .*{message}", capsys.readouterr().err)


def test_upscale_refuses_a_checkpoint_of_another_family(run, tmp_path):
    from ganforge.cli.upscale import upscale_files

    run("model=vanilla", "data=ring", "data.batch_size=16", "trainer.max_steps=1")
    Image.new("L", (5, 5)).save(tmp_path / "a.png")
    with pytest.raises(GanforgeError, match=r"model=vanilla, not of a super-resolution family"):
        upscale_files(tmp_path / "run" / "checkpoints" / "last.ckpt", tmp_path / "a.png", tmp_path / "out")


# ----------------------------------------------------------------------------- data
@pytest.mark.parametrize(("overrides", "match"), [
    (["data.hr_size=30"], r"data.hr_size=30 cannot be downsampled by data.scale=4"),
    (["data.scale=8"], r"data.hr_size=28 cannot be downsampled by data.scale=8"),
])  # fmt: skip
def test_an_hr_size_the_scale_cannot_divide_fails_at_build(compose, overrides, match):
    from ganforge.build import build_datamodule

    with pytest.raises(ConfigError, match=match):
        build_datamodule(compose(*DATA, *overrides))


def test_lr_images_the_scale_cannot_produce_are_refused(run, compose):
    from ganforge.build import build_datamodule

    dm = build_datamodule(compose(*DATA, "data.loader.scale=2"))  # the loader disagrees with data.scale
    with pytest.raises(
        DatasetError, match=r"pairs LR images of \[1, 14, 14\] with HR images of \[1, 28, 28\]"
    ):
        dm.setup("fit")
    with pytest.raises(
        ConfigError, match=r"generator has scale=2, but data=paired_sr_fashion_mnist has data.scale=4"
    ):
        run(*SRRESNET, "model.generator.scale=2", "trainer.max_steps=1")


def test_photo_folder_source_holds_out_disjoint_test_images(compose, tmp_path):
    from ganforge.build import build_datamodule

    for i in range(12):
        Image.new("RGB", (40 + i, 36), (i * 20, 0, 0)).save(tmp_path / f"p{i:02d}.png")
    dm = build_datamodule(
        compose(
            "data=paired_sr", f"data.loader.source.path={tmp_path}", "data.hr_size=32", "data.batch_size=4"
        )
    )
    dm.setup("fit")
    train, test = dm.split_fields("train"), dm.split_fields("test")
    assert train["hr"].shape == (10 * 16, 3, 32, 32) and train["lr"].shape[1:] == (3, 8, 8)
    assert test["hr"].shape == (2, 3, 32, 32)  # p00 and p10, one tile each
    assert set(test["hr"][:, 0, 0, 0].tolist()) == {0, 200}
    with pytest.raises(DatasetError, match="needs data.loader.source.path"):
        build_datamodule(compose("data=paired_sr")).setup("fit")


def test_fetch_writes_and_verifies_dict_shaped_splits(tmp_path):
    from ganforge.cli.fetch import main

    args = [
        f"paths.root_dir={tmp_path}",
        "data=paired_sr_photos",
        "data.hr_size=48",
        "data.loader.crops_per_image=2",
    ]
    main(args)
    record = json.loads((tmp_path / "data" / "paired_sr_photos" / "checksums.json").read_text())
    train = record["splits"]["train"]["fields"]
    assert train["hr"]["num_samples"] == 12 and train["lr"]["num_samples"] == 12
    test_lr = record["splits"]["test"]["fields"]["lr"]
    assert test_lr["shape"] == [3, 12, 12] and test_lr["dtype"] == "uint8"  # the tiles of 3 photos
    assert test_lr["num_samples"] == record["splits"]["test"]["fields"]["hr"]["num_samples"] > 3
    stored = torch.load(tmp_path / "data" / "paired_sr_photos" / "train.pt", weights_only=True)
    assert set(stored) == {"hr", "lr"} and stored["hr"].shape == (12, 3, 48, 48)
    main(["--verify", *args])
    stored["lr"][0, 0, 0, 0] += 1
    torch.save(stored, tmp_path / "data" / "paired_sr_photos" / "train.pt")
    with pytest.raises(SystemExit) as exit_info:
        main(["--verify", *args])
    assert exit_info.value.code == 2


# ----------------------------------------------------------------------------- metric
def test_high_frequency_ratio_is_one_for_hr_and_low_for_bicubic():
    from ganforge.data import paired_sources as ps
    from ganforge.data import sources
    from ganforge.metrics.super_resolution import bicubic_upscale, high_frequency_ratio

    pairs = ps.paired_sr("data", "test", 4, 28, source=sources.fashion_mnist)
    hr, lr = pairs["hr"][:200], pairs["lr"][:200]
    assert high_frequency_ratio(hr, hr, 4) == pytest.approx(1.0)
    assert high_frequency_ratio(bicubic_upscale(lr, 4), hr, 4) < 0.3
    noisy = (hr.float() + torch.randn(hr.shape) * 20).clamp(0, 255).to(torch.uint8)
    assert high_frequency_ratio(noisy, hr, 4) > 1.0


def test_high_frequency_share_is_near_zero_for_upsampled_images_and_rises_with_noise():
    from ganforge.data import paired_sources as ps
    from ganforge.data import sources
    from ganforge.errors import EvaluationError
    from ganforge.metrics.super_resolution import bicubic_upscale, high_frequency_share

    pairs = ps.paired_sr("data", "test", 4, 28, source=sources.fashion_mnist)
    hr, lr = pairs["hr"][:200], pairs["lr"][:200]
    real, upsampled = high_frequency_share(hr, 4), high_frequency_share(bicubic_upscale(lr, 4), 4)
    assert 0.0 < upsampled < 0.5 * real < real < 1.0
    noisy = (hr.float() + torch.randn(hr.shape) * 20).clamp(0, 255).to(torch.uint8)
    assert high_frequency_share(noisy, 4) > real
    with pytest.raises(EvaluationError, match="flat"):
        high_frequency_share(torch.full((2, 1, 28, 28), 7, dtype=torch.uint8), 4)


def test_grayscale_and_colour_photos_mix_in_one_rgb_split():
    from functools import partial

    from ganforge.data import paired_sources as ps

    source = partial(ps.skimage_photos, train_images=["astronaut", "camera"], test_images=["coins", "coffee"])
    train = ps.paired_sr("unused", "train", scale=4, hr_size=32, source=source, crops_per_image=2, channels=3)
    assert train["hr"].shape == (4, 3, 32, 32)
    gray = train["hr"][2:]  # camera's crops: tiled to three equal channels
    assert torch.equal(gray[:, 0], gray[:, 1]) and torch.equal(gray[:, 1], gray[:, 2])
    test = ps.paired_sr("unused", "test", scale=4, hr_size=96, source=source, channels=3)
    assert test["hr"].shape[1:] == (3, 96, 96) and test["lr"].shape[1:] == (3, 24, 24)


def test_dvc_repro_fetches_trains_and_evaluates_srgan(tmp_path):
    """fetch (lr/hr fields) -> evaluator (hr, its labels) -> train (content=classifier on that evaluator)
    -> evaluate, through real `dvc repro`; SR data from the mnist5k digits to keep it small."""
    import shutil

    from test_pipeline_dvc import compose_params, copy_checkout
    from test_pipeline_dvc import run as run_in

    if shutil.which("dvc", path=str(Path(sys.executable).parent)) is None:
        pytest.skip("dvc is not installed (make install installs it with the tracking extra)")
    repo = copy_checkout(tmp_path / "repo")
    overrides = [
        *SRGAN, "model.content=classifier", "data.loader.source._target_=ganforge.data.sources.mnist5k",
        "trainer.max_steps=4", "trainer.checkpoint_every_n_steps=2", "trainer.sample_every_n_steps=2",
        "eval.every_n_steps=2", "evaluator.min_steps=20", "evaluator.epochs=1",
    ]  # fmt: skip
    params = compose_params(repo, repo / "params.yaml", overrides)
    assert params["model"]["name"] == "srgan" and params["data"]["name"] == "paired_sr_fashion_mnist"
    run_in(repo, "git", "init", "-q")
    run_in(repo, "git", "add", "-A")
    run_in(repo, "git", "commit", "-qm", "copy")
    out = run_in(repo, "dvc", "repro", timeout=600)
    assert all(f"Running stage '{s}'" in out for s in ("fetch", "evaluator", "train", "evaluate"))
    checksums = json.loads((repo / "data" / "paired_sr_fashion_mnist" / "checksums.json").read_text())
    assert {"lr", "hr", "hr_labels"} <= set(checksums["splits"]["train"]["fields"])
    evaluator = repo / "outputs" / "evaluators" / "paired_sr_fashion_mnist" / "classifier.pt"
    assert torch.load(evaluator, weights_only=True)["field"] == "hr"
    config = yaml.safe_load((repo / "outputs" / "dvc" / "train" / "config.yaml").read_text())
    assert config["model"]["content"] == "classifier"
    metrics = json.loads((repo / "outputs" / "dvc" / "train" / "metrics.json").read_text())
    assert np.isfinite(metrics["fid10k_classifier"])
    assert "Running stage" not in run_in(repo, "dvc", "repro"), "nothing changed: nothing reruns"

"""WaveGAN and SpecGAN (issue 15, items 1, 2 and 4): the networks' shapes and phase shuffle, SpecGAN's
normalisation, and a few training steps of each through the real entry point on a tiny synthesised
spoken-digit set (tiny networks): every network trains, WAVs and the spectrogram grid are written at the
sample step and sent to a logger's log_audio, ganforge-sample writes WAVs. Offline."""

from __future__ import annotations

import math

import lightning as L
import pytest
import torch
from helpers.spoken_digits import HAVE_SYNTHS, TINY_OVERRIDES
from helpers.tensors import flat_params
from lightning.pytorch.loggers import Logger

pytest.importorskip("soundfile", reason="the audio extra (pip install -e '.[audio]') is not installed")

from ganforge.audio.io import read_audio  # noqa: E402
from ganforge.errors import ConfigError  # noqa: E402
from ganforge.networks.specgan import SpecGANDiscriminator, SpecGANGenerator  # noqa: E402
from ganforge.networks.wavegan import WaveGANDiscriminator, WaveGANGenerator, phase_shuffle  # noqa: E402

TINY_DATA = [*TINY_OVERRIDES, "data.batch_size=4"]
TINY_RUN = [
    "hardware.num_threads=1",
    "model.model_dim=2",
    "model.audio_clips=3",
    "trainer.max_steps=2",
    "trainer.sample_every_n_steps=2",
    "trainer.num_sample_images=4",
]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    """One synthesised tiny set for every run of this file (< 1 s)."""
    if not HAVE_SYNTHS:
        pytest.skip("espeak-ng/flite not installed (make install)")
    return tmp_path_factory.mktemp("audio_data")


# ------------------------------------------------------------------ networks
def test_phase_shuffle_shifts_by_at_most_n_and_keeps_the_length():
    torch.manual_seed(0)
    x = torch.randn(64, 3, 50)
    out = phase_shuffle(x, 2)
    assert out.shape == x.shape
    shifts = []
    for b in range(len(x)):  # each example is x shifted by one s in [-2, 2], reflected at the edges
        (s,) = [s for s in range(-2, 3) if torch.equal(out[b, :, 4:-4], x[b, :, 4 - s : 46 - s])]
        shifts.append(s)
        if s > 0:  # reflection padding: out[t] = x[s - t] for t < s
            assert torch.equal(out[b, :, :s], x[b, :, 1 : s + 1].flip(-1))
    assert set(shifts) == {-2, -1, 0, 1, 2}, "per example, every shift in [-n, n] occurs"
    assert torch.equal(phase_shuffle(x, 0), x)
    d, clip = WaveGANDiscriminator(model_dim=2).eval(), torch.randn(2, 1, 16_384)
    assert torch.equal(d(clip), d(clip)), "off in eval mode"


@pytest.mark.parametrize("slice_len", [16_384, 65_536])
def test_wavegan_makes_slice_len_samples_and_d_reads_them(slice_len):
    g = WaveGANGenerator(latent_dim=100, model_dim=2, slice_len=slice_len)
    x = g(torch.rand(2, 100) * 2 - 1)
    assert x.shape == (2, 1, slice_len) and x.abs().max() <= 1
    assert WaveGANDiscriminator(model_dim=2, slice_len=slice_len)(x).shape == (2,)
    filtered = WaveGANGenerator(model_dim=2, post_filter_len=512)
    assert filtered.post_filter.weight.shape == (1, 1, 512) and filtered.post_filter.bias is None
    assert filtered(torch.zeros(1, 100)).shape == (1, 1, 16_384)
    with pytest.raises(ConfigError, match="WaveGAN generates one of"):
        WaveGANGenerator(slice_len=16_000)
    with pytest.raises(ConfigError, match="model=wavegan generates mono audio clips"):
        WaveGANGenerator(data_shape=[1, 28, 28])


def test_specgan_networks_are_128_by_128():
    x = SpecGANGenerator(model_dim=2)(torch.rand(3, 100) * 2 - 1)
    assert x.shape == (3, 1, 128, 128) and x.abs().max() <= 1
    assert SpecGANDiscriminator(model_dim=2)(x).shape == (3,)


# ------------------------------------------------------------------ the families
def built(compose, data_dir, model: str, *overrides: str):
    from ganforge.build import build_datamodule, build_module

    cfg = compose(f"model={model}", *TINY_DATA, "model.model_dim=2", f"paths.data_dir={data_dir}", *overrides)
    module, datamodule = build_module(cfg), build_datamodule(cfg)
    datamodule.setup("fit")
    module.bind_data(datamodule)
    return module, datamodule


def test_defaults_are_the_papers(compose):
    for model in ("wavegan", "specgan"):
        cfg = compose(f"model={model}", "data=spoken_digits")
        assert cfg.loss._target_.endswith("WassersteinLoss") and cfg.model.d_steps == 5
        assert cfg.model.gp_weight == 10 and cfg.model.latent_dim == 100 and cfg.model.model_dim == 64
        assert list(cfg.model.g_optimizer.betas) == [0.5, 0.9] and cfg.model.d_optimizer.lr == 1e-4
    assert compose("model=wavegan").model.phase_shuffle == 2


def test_specgan_fits_the_moments_once_and_round_trips(compose, data_dir):
    module, datamodule = built(compose, data_dir, "specgan")
    train = datamodule.split_fields("train")["audio"]
    assert bool(module.spectrogram_fitted)
    assert {"spectrogram.mean", "spectrogram.std"} <= set(module.state_dict())
    from ganforge.audio.io import int16_to_float
    from ganforge.audio.spectrogram import SpectrogramNormalizer, spectral_convergence

    assert torch.allclose(module.spectrogram.mean, SpectrogramNormalizer.fit(train).mean)
    real = int16_to_float(train[:4])
    x = module.real_input(real)
    assert x.shape == (4, 1, 128, 128) and x.abs().max() <= 1
    # normalised -> log magnitude -> normalised is the identity (inside the 3-sigma clip)
    again = module.spectrogram.normalize(module.spectrogram.denormalize(x))
    assert torch.allclose(again, x, atol=1e-5)
    audio = module.to_audio(x)  # Griffin-Lim, 16 iterations, cut back to the data's 16,000 samples
    assert audio.shape == (4, 1, 16_000)
    assert spectral_convergence(real, audio).max() < 0.35
    module.spectrogram.mean.add_(1.0)
    module.bind_data(datamodule)
    assert torch.allclose(module.spectrogram.mean, SpectrogramNormalizer.fit(train).mean + 1), "not refitted"


def test_audio_models_refuse_image_data(compose, tmp_path):
    from ganforge.build import build_datamodule, build_module

    cfg = compose("model=wavegan", *TINY_DATA, "model.model_dim=2")
    module = build_module(cfg)
    image_cfg = compose("data=mnist5k")
    with pytest.raises(ConfigError, match="model=wavegan reads the batch field|is not audio"):
        module.bind_data(build_datamodule(image_cfg))


class _Watch(L.Callback):
    """Every network's weights at the start of training, and audio sent to the loggers."""

    def on_train_start(self, trainer, pl_module):
        self.before = {name: flat_params(net).clone() for name, net in pl_module.networks().items()}


class _AudioLogger(Logger):
    """A logger that takes audio (like W&B's): records what log_audio got."""

    name, version = "audio", "0"
    audio: list = []

    @property
    def experiment(self):
        return None

    def log_metrics(self, metrics, step=None):
        pass

    def log_hyperparams(self, params, *args, **kwargs):
        pass

    def log_audio(self, key, audios, step=None, **kwargs):
        type(self).audio.append((key, list(audios), step))


@pytest.mark.parametrize("model", ["wavegan", "specgan"])
def test_trains_writes_wavs_and_grid_and_samples(model, run, tmp_path, data_dir, monkeypatch):
    import ganforge.build as build

    watch = _Watch()
    _AudioLogger.audio = []
    monkeypatch.setattr(build, "build_loggers", lambda cfg, run_dir: [_AudioLogger()])
    summary = run(f"model={model}", *TINY_DATA, *TINY_RUN, f"paths.data_dir={data_dir}", callbacks=[watch])
    metrics = summary["metrics"]
    assert {"loss/d", "loss/g", "penalty/gp"} <= set(metrics)
    assert all(math.isfinite(v) for v in metrics.values()) and summary["gen_step"] == 2
    ckpt = tmp_path / "run" / "checkpoints" / "last.ckpt"
    state = torch.load(ckpt, weights_only=False)
    for name in ("generator", "discriminator"):
        after = torch.cat([v.flatten() for k, v in state["state_dict"].items() if k.startswith(f"{name}.")])
        assert not torch.equal(after, watch.before[name]), f"{name} did not change"
    samples = tmp_path / "run" / "samples"
    assert (samples / "step_0000002.png").is_file()
    wavs = sorted((samples / "step_0000002_audio").glob("*.wav"))
    assert len(wavs) == 3
    clip, rate = read_audio(wavs[0])
    assert rate == 16_000 and len(clip) == 16_000
    assert _AudioLogger.audio == [("samples/audio", [str(w) for w in wavs], 2)]
    if model == "specgan":
        assert state["state_dict"]["spectrogram_fitted"].item() is True

    from ganforge.cli.sample import main

    main([f"ckpt={ckpt}", "n=8", f"out={tmp_path / 'gen'}"])
    (png,) = (tmp_path / "gen").glob("*.png")
    assert torch.load(png.with_suffix(".pt"), weights_only=True).shape == (8, 1, 16_000)
    assert len(list((tmp_path / "gen" / f"{png.stem}_audio").glob("*.wav"))) == 8


def test_clips_reach_wandb_as_audio(run, tmp_path, data_dir, monkeypatch):
    """The WAVs go to W&B as wandb.Audio (samples/audio) beside the spectrogram grid (samples), read back
    from the offline run's own record file."""
    pytest.importorskip("wandb")
    from wandb_records import find_runs, history_rows, read_finished_run

    monkeypatch.setenv("WANDB_MODE", "offline")
    for var in ("WANDB_DIR", "WANDB_CACHE_DIR", "WANDB_CONFIG_DIR", "WANDB_DATA_DIR"):
        monkeypatch.setenv(var, str(tmp_path / "wandb-home"))
    monkeypatch.setenv("WANDB_SILENT", "true")
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    summary = run("model=wavegan", *TINY_DATA, *TINY_RUN, f"paths.data_dir={data_dir}", "logger=wandb")
    (record_file,) = find_runs(summary["run_dir"])
    rows = history_rows(read_finished_run(record_file))
    (audio,) = [r for r in rows if r.get("samples/audio/_type") == "audio"]
    assert audio["gen_step"] == 2 and audio["samples/audio/count"] == 3
    clips = audio["samples/audio/audio"]
    assert all(a["path"].endswith(".wav") for a in clips) and len({a["sha256"] for a in clips}) == 3
    (grid,) = [r for r in rows if "samples/filenames" in r]
    assert grid["gen_step"] == 2, "the spectrogram grid goes to W&B as an image at the same step"

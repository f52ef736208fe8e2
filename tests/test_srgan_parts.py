"""SRGAN's building blocks: networks, content losses, paired SR data and downloads, SR metrics."""

from __future__ import annotations

import hashlib
import http.server
import io
import json
import math
import os
import tarfile
import threading
import zipfile
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from torch import nn

from ganforge.data import paired_sources as ps
from ganforge.data import sources
from ganforge.data.archives import Archive, _check_tar_members, ensure_archive, record_path
from ganforge.errors import ConfigError, DatasetError, EvaluationError
from ganforge.losses import content as cl
from ganforge.metrics.super_resolution import bicubic_upscale, psnr_ssim_y, rgb_to_y, sr_metrics
from ganforge.networks.srgan_discriminator import SRGANDiscriminator
from ganforge.networks.srresnet import SRResNet


# ----------------------------------------------------------------------------------------- networks
@pytest.mark.parametrize("scale", [2, 4, 8])
def test_srresnet_upscales_by_its_scale(scale):
    g = SRResNet(channels=3, scale=scale, width=8, num_blocks=2)
    assert g(torch.randn(2, 3, 6, 5)).shape == (2, 3, 6 * scale, 5 * scale)
    assert sum(isinstance(m, nn.PixelShuffle) for m in g.modules()) == int(math.log2(scale))


def test_srresnet_default_is_the_papers_network():
    g = SRResNet(channels=3, scale=4)
    assert len(g.blocks) == 16 and g.head[0].kernel_size == (9, 9) and g.tail.kernel_size == (9, 9)
    assert [m.out_channels for m in g.upsample if isinstance(m, nn.Conv2d)] == [256, 256]
    assert sum(isinstance(m, nn.BatchNorm2d) for m in g.modules()) == 2 * 16 + 1


@pytest.mark.parametrize("scale", [3, 1, 16])
def test_srresnet_rejects_other_scales(scale):
    with pytest.raises(ConfigError, match=r"scale=.* not supported by SRResNet.*\[2, 4, 8\]"):
        SRResNet(scale=scale)


def test_srresnet_output_is_linear_in_training_and_clamped_in_eval():
    g = SRResNet(channels=1, scale=2, width=4, num_blocks=1)
    with torch.no_grad():
        g.tail.bias.fill_(3.0)
    x = torch.randn(2, 1, 4, 4)
    assert g.train()(x).min() > 1.0  # raw, unclamped: the MSE gradient reaches every pixel
    assert g.eval()(x).max() == 1.0
    with pytest.raises(ConfigError, match="1-channel"):
        g(torch.randn(1, 3, 4, 4))


@pytest.mark.parametrize("size, pooled", [(28, 2), (96, 6)])
def test_srgan_discriminator_scores_each_image(size, pooled):
    d = SRGANDiscriminator([1, size, size], base_width=4, dense_width=16)
    convs = [m for m in d.features if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [4, 4, 8, 8, 16, 16, 32, 32]
    assert [c.stride[0] for c in convs] == [1, 2] * 4
    assert sum(isinstance(m, nn.BatchNorm2d) for m in d.features) == 7  # none on the first layer
    # The adaptive pool is the identity at the configured size (the paper's flattened map, 6x6 at 96).
    pool_index = next(i for i, m in enumerate(d.features) if isinstance(m, nn.AdaptiveAvgPool2d))
    assert d.features[:pool_index](torch.zeros(2, 1, size, size)).shape[-2:] == (pooled, pooled)
    assert d(torch.randn(3, 1, size, size)).shape == (3,)
    assert d(torch.randn(2, 1, size + 12, size + 4)).shape == (2,)  # other sizes still work
    assert d.feature_shape() == (16,)


# ----------------------------------------------------------------------------------- content losses
def _random_vgg54_state() -> dict[str, torch.Tensor]:
    """He-initialised VGG19 phi_5,4 weights, drawn directly (building the layers twice is slow)."""
    with torch.device("meta"):
        shapes = {k: v.shape for k, v in cl.vgg54_features_net().state_dict().items()}
    g = torch.Generator().manual_seed(0)
    return {
        k: torch.randn(s, generator=g) * math.sqrt(2 / (s[1] * 9)) if len(s) == 4 else torch.zeros(s)
        for k, s in shapes.items()
    }


def test_vgg54_is_phi_5_4_of_torchvisions_vgg19():
    with torch.device("meta"):
        net = cl.vgg54_features_net()
    assert len(net) == 36 and isinstance(net[35], nn.ReLU)
    assert isinstance(net[34], nn.Conv2d) and net[34].in_channels == net[34].out_channels == 512
    assert sum(isinstance(m, nn.MaxPool2d) for m in net) == 4  # before the 5th pool
    # Indices of VGG19's 16 convolutions as keyed in torchvision's weight file (features.<i>.weight).
    convs = [int(k.split(".")[0]) for k in net.state_dict() if k.endswith("weight")]
    assert convs == [0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34]


def test_vgg54_loss_on_its_feature_maps():
    torch.manual_seed(0)
    loss = cl.vgg54_content(state_dict=_random_vgg54_state())
    unscaled = cl.FeatureContentLoss("vgg54", loss.features, loss.prepare, scale=1.0)
    hr = torch.rand(2, 3, 16, 16) * 2 - 1  # 16x16: phi_5,4 is a 1x1 map (four 2x2 max-pools)
    sr = (hr + 0.3 * torch.randn_like(hr)).clamp(-1, 1).requires_grad_(True)
    assert loss(hr, hr).item() == 0.0
    value = loss(sr, hr)
    assert value.dim() == 0 and value.item() > 0
    assert unscaled(sr, hr).item() == pytest.approx(value.item() * 12.75**2, rel=1e-4)
    value.backward()
    assert sr.grad is not None and sr.grad.abs().sum() > 0
    assert all(p.grad is None and not p.requires_grad for p in loss.features.parameters())
    gray = torch.rand(1, 1, 16, 16) * 2 - 1
    assert loss(gray, gray.flip(-1)).item() > 0  # grayscale tiled to RGB
    assert loss.describe()["content"] == "vgg54"


def test_vgg54_without_weights_offline_is_a_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setenv("GANFORGE_OFFLINE", "1")
    with pytest.raises(ConfigError) as info:
        cl.build_content_loss("vgg54")
    message = str(info.value)
    expected = tmp_path / "hub" / "checkpoints" / "vgg19-dcbb9e9d.pth"
    for part in (
        str(expected),
        "https://download.pytorch.org/models/vgg19-dcbb9e9d.pth",
        "content=classifier",
        "content=mse",
    ):
        assert part in message


class _Files(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):  # keep pytest output clean
        pass


class _Truncating(http.server.BaseHTTPRequestHandler):
    """Announces more bytes than it sends, then closes: an interrupted transfer."""

    body = b"PK\x03\x04 partial archive"

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Length", str(len(self.body) + 1000))
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


@pytest.fixture
def serve():
    """Serve a folder (or a handler class) on 127.0.0.1; yields a function returning the base URL."""
    servers = []

    def _serve(folder: Path | None = None, handler=None) -> str:
        handler = handler or partial(_Files, directory=str(folder))
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        return f"http://127.0.0.1:{server.server_address[1]}"

    yield _serve
    for server in servers:
        server.shutdown()
        server.server_close()


def _closed_port_url(name: str) -> str:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Files)
    port = server.server_address[1]
    server.server_close()  # nothing listens there now: connection refused at once
    return f"http://127.0.0.1:{port}/{name}"


def test_vgg54_download_failure_fails_fast_and_leaves_nothing(tmp_path, monkeypatch, serve):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.delenv("GANFORGE_OFFLINE", raising=False)
    with pytest.raises(ConfigError, match=r"could not be downloaded \(URLError.*content=mse"):
        cl.load_vgg54_state_dict(url=_closed_port_url("vgg19-dcbb9e9d.pth"))
    # A file whose SHA-256 does not start with the prefix in its name is refused by torch.hub.
    site = tmp_path / "site"
    site.mkdir()
    torch.save({"features.0.weight": torch.ones(2)}, site / "vgg19-dcbb9e9d.pth")
    with pytest.raises(ConfigError, match="invalid hash value"):
        cl.load_vgg54_state_dict(url=f"{serve(site)}/vgg19-dcbb9e9d.pth")
    assert list((tmp_path / "hub" / "checkpoints").iterdir()) == []


def test_vgg54_weights_download_through_torch_hub_with_their_hash(tmp_path, monkeypatch, serve):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.delenv("GANFORGE_OFFLINE", raising=False)
    site = tmp_path / "site"
    site.mkdir()
    buffer = io.BytesIO()
    torch.save({"features.0.weight": torch.arange(3.0), "classifier.0.weight": torch.ones(1)}, buffer)
    name = f"vgg19-{hashlib.sha256(buffer.getvalue()).hexdigest()[:8]}.pth"
    (site / name).write_bytes(buffer.getvalue())
    previous = os.umask(0o022)
    try:
        state = cl.load_vgg54_state_dict(url=f"{serve(site)}/{name}")
    finally:
        os.umask(previous)
    assert list(state) == ["0.weight"] and state["0.weight"].tolist() == [0.0, 1.0, 2.0]
    cached = tmp_path / "hub" / "checkpoints" / name
    assert cached.is_file()  # cached: the next call reads it
    assert cached.stat().st_mode & 0o777 == 0o644  # torch.hub's own temporary would leave it 0600


@pytest.fixture(scope="module")
def evaluator_file(tmp_path_factory):
    """A real evaluator file saved by ganforge's trainer (a few steps on scikit-learn's digits at 28x28,
    the fastest offline image set: weights barely trained, which does not matter for the mechanics)."""
    from ganforge.build import build_datamodule
    from ganforge.config.loading import compose_config
    from ganforge.metrics.train_classifier import train_classifier

    path = tmp_path_factory.mktemp("evaluator") / "classifier.pt"
    train_classifier(
        build_datamodule(compose_config(["data=digits", "data.image_size=28"])),
        epochs=0,
        min_steps=3,
        path=path,
    )
    return path


def test_classifier_content_loss_uses_the_evaluators_conv_features(evaluator_file):
    loss = cl.build_content_loss("classifier", classifier_path=evaluator_file, data_name="digits")
    assert loss.kind == "classifier" and loss.describe()["evaluator_data"] == "digits"
    assert isinstance(loss.features[-1], nn.ReLU) and isinstance(loss.features[-3], nn.Conv2d)
    hr = torch.rand(4, 1, 28, 28) * 2 - 1
    sr = hr.flip(-1).requires_grad_(True)
    assert loss(hr, hr).item() == 0.0
    value = loss(sr, hr)
    value.backward()
    assert value.item() > 0 and sr.grad.abs().sum() > 0
    assert all(not p.requires_grad for p in loss.features.parameters())
    assert loss(torch.zeros(2, 1, 32, 32), torch.ones(2, 1, 32, 32)).item() > 0  # resized to 28x28
    with pytest.raises(ConfigError, match="trained on 1-channel images"):
        loss(torch.zeros(1, 3, 28, 28), torch.zeros(1, 3, 28, 28))
    penultimate = cl.classifier_content(evaluator_file, "digits", layer="penultimate")
    assert penultimate.features(torch.zeros(2, 1, 28, 28)).shape == (2, 512)


def test_classifier_content_without_an_evaluator_names_the_command(tmp_path, evaluator_file):
    with pytest.raises(ConfigError, match=r"ganforge-train-evaluator data=fashion_mnist.*content=mse"):
        cl.build_content_loss("classifier", classifier_path=tmp_path / "none.pt", data_name="fashion_mnist")
    with pytest.raises(ConfigError, match="trained on data=digits, not data=fashion_mnist"):
        cl.build_content_loss("classifier", classifier_path=evaluator_file, data_name="fashion_mnist")
    with pytest.raises(ConfigError, match="unknown"):
        cl.build_content_loss("perceptual")


def test_content_loss_stays_out_of_the_modules_parameters_and_checkpoint(evaluator_file):
    class Family(nn.Module):  # how a family holds it: a plain attribute
        def __init__(self):
            super().__init__()
            self.generator = nn.Conv2d(1, 1, 3)
            self.content = cl.build_content_loss("classifier", evaluator_file, "digits")

    family = Family()
    assert not isinstance(family.content, nn.Module)
    assert len(list(family.parameters())) == 2 and set(family.state_dict()) == {
        "generator.weight",
        "generator.bias",
    }
    assert list(family.buffers()) == []
    family.train()  # the family's mode does not reach the frozen net
    assert not family.content.features.training


def test_mse_content_and_perceptual_loss_weights():
    sr, hr = torch.zeros(2, 3, 8, 8), torch.full((2, 3, 8, 8), 0.5)
    mse = cl.build_content_loss("mse")
    assert mse(sr, hr).item() == pytest.approx(0.25)
    assert cl.perceptual_loss(torch.tensor(2.0), torch.tensor(10.0)).item() == pytest.approx(2.01)
    assert (cl.CONTENT_WEIGHT, cl.ADVERSARIAL_WEIGHT) == (1.0, 1e-3)
    with pytest.raises(ConfigError, match="differ in shape"):
        mse(sr, hr[..., :4, :4])


# ---------------------------------------------------------------------------------------- SR data
@pytest.mark.parametrize("hr_size, scale", [(30, 4), (28, 3), (2, 4)])
def test_an_lr_size_the_scale_cannot_produce_is_a_config_error(hr_size, scale):
    with pytest.raises(
        ConfigError, match=f"data.hr_size={hr_size} cannot be downsampled by data.scale={scale}"
    ):
        ps.paired_sr("unused", "train", scale=scale, hr_size=hr_size)


@pytest.mark.skipif(
    not sources.DEBIAN_FASHION_MNIST.is_dir(), reason="Debian dataset-fashion-mnist not installed"
)
def test_fashion_mnist_x4_pairs_are_whole_images():
    pairs = ps.paired_sr("unused", "test", scale=4, hr_size=28, source=sources.fashion_mnist)
    assert pairs["hr"].shape == (10000, 1, 28, 28) and pairs["lr"].shape == (10000, 1, 7, 7)
    assert pairs["lr"].dtype == torch.uint8
    assert torch.equal(pairs["hr"], sources.fashion_mnist("unused", "test")[0])


def test_lr_is_antialiased_bicubic_like_pil():
    hr = ps.photo("astronaut")[:, 100:196, 200:296]
    lr = ps.bicubic_downsample(hr[None], 4)[0]
    pil = np.array(Image.fromarray(hr.permute(1, 2, 0).numpy()).resize((24, 24), Image.BICUBIC))
    diff = (lr.permute(1, 2, 0).int() - torch.from_numpy(pil).int()).abs()
    # PIL resamples in fixed point with an intermediate rounding: a few grey levels apart at most.
    assert lr.shape == (3, 24, 24) and diff.max() <= 3 and diff.float().mean() < 0.5


def test_photo_pairs_crop_deterministically_and_test_on_other_photos():
    assert not set(ps.PHOTOS_TRAIN) & set(ps.PHOTOS_TEST)
    assert {"china", "flower"} <= set(ps.PHOTOS_TRAIN) | set(ps.PHOTOS_TEST)
    source = partial(ps.skimage_photos, train_images=["astronaut", "china"], test_images=["chelsea"])
    a = ps.paired_sr("unused", "train", scale=4, hr_size=32, source=source, crops_per_image=3, seed=1)
    b = ps.paired_sr("unused", "train", scale=4, hr_size=32, source=source, crops_per_image=3, seed=1)
    c = ps.paired_sr("unused", "train", scale=4, hr_size=32, source=source, crops_per_image=3, seed=2)
    assert a["hr"].shape == (6, 3, 32, 32) and a["lr"].shape == (6, 3, 8, 8)
    assert torch.equal(a["hr"], b["hr"]) and not torch.equal(a["hr"], c["hr"])
    assert torch.equal(a["lr"], ps.bicubic_downsample(a["hr"], 4))
    test = ps.paired_sr("unused", "test", scale=4, hr_size=96, source=source)
    assert test["hr"].shape == (3 * 4, 3, 96, 96)  # chelsea 300x451: a 3x4 grid of tiles
    gray = ps.paired_sr("unused", "test", scale=2, hr_size=96, source=source, channels=1)
    assert gray["hr"].shape == (12, 1, 96, 96) and gray["lr"].shape == (12, 1, 48, 48)
    with pytest.raises(ConfigError, match="both the train and the test list"):
        ps.skimage_photos("unused", "train", train_images=["coffee"], test_images=["coffee"])
    with pytest.raises(ConfigError, match="smaller than data.hr_size=512"):
        ps.paired_sr("unused", "test", scale=4, hr_size=512, source=source)


def test_full_image_pairs_are_modcropped():
    source = partial(ps.skimage_photos, test_images=["chelsea"])
    (pair,) = ps.full_image_pairs("unused", "test", scale=4, source=source)
    assert pair["hr"].shape == (3, 300, 448) and pair["lr"].shape == (3, 75, 112)


def _png(path: Path, size: tuple[int, int], value: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((*size, 3), value, dtype=np.uint8)).save(path)


def test_div2k_and_benchmark_layout_loads_lazily(tmp_path):
    for i in range(2):
        _png(tmp_path / "div2k_train_hr" / "DIV2K_train_HR" / f"000{i}.png", (40, 50), 10 * i)
    _png(tmp_path / "sr_benchmarks" / "benchmark" / "Set5" / "HR" / "baby.png", (64, 64), 7)
    _png(tmp_path / "sr_benchmarks" / "benchmark" / "B100" / "HR" / "1.png", (33, 64), 9)
    train = ps.div2k_benchmarks(tmp_path, "train")
    assert len(train) == 2 and train[1].shape == (3, 40, 50) and int(train[1].max()) == 10
    pairs = ps.paired_sr(
        tmp_path,
        "test",
        scale=2,
        hr_size=32,
        source=partial(ps.div2k_benchmarks, test_sets=["Set5", "BSD100"]),
    )
    assert pairs["hr"].shape == (4 + 2, 3, 32, 32)
    with pytest.raises(ConfigError, match="Unknown SR test set"):
        ps.div2k_benchmarks(tmp_path, "test", test_sets=["Set6"])


# ------------------------------------------------------------------------------------- downloads
def _zip(folder: Path) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("DIV2K_train_HR/0001.png", b"not really a png")
        zf.writestr("DIV2K_train_HR/0002.png", b"nor this")
    (folder / "tiny.zip").write_bytes(buffer.getvalue())
    return buffer.getvalue()


def _leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir()) if root.exists() else []


def test_archive_downloads_verifies_extracts_and_records(tmp_path, serve):
    site = tmp_path / "site"
    site.mkdir()
    data = _zip(site)
    archive = Archive("tiny", f"{serve(site)}/tiny.zip", md5=hashlib.md5(data).hexdigest(), md5_source="test")
    root = tmp_path / "data"
    folder = ensure_archive(archive, root)
    assert sorted(p.name for p in (folder / "DIV2K_train_HR").iterdir()) == ["0001.png", "0002.png"]
    record = json.loads(record_path(archive, root).read_text())
    assert record["sha256"] == hashlib.sha256(data).hexdigest() and record["bytes"] == len(data)
    assert _leftovers(root) == ["tiny", "tiny.source.json"]  # no archive, no temporary folder
    (site / "tiny.zip").unlink()
    assert ensure_archive(archive, root) == folder  # present: no download


def test_archive_checksum_mismatch_and_changed_upstream_keep_nothing(tmp_path, serve):
    site = tmp_path / "site"
    site.mkdir()
    data = _zip(site)
    url = f"{serve(site)}/tiny.zip"
    root = tmp_path / "data"
    with pytest.raises(DatasetError, match="not the 0+ recorded by test.*Nothing was kept"):
        ensure_archive(Archive("tiny", url, md5="0" * 32, md5_source="test"), root)
    assert _leftovers(root) == []
    # No published checksum: the first download's SHA-256 is the reference for later ones.
    record = record_path(Archive("tiny", url), root)
    record.write_text(json.dumps({"sha256": "f" * 64}))
    with pytest.raises(DatasetError, match="changed upstream"):
        ensure_archive(Archive("tiny", url), root)
    record.write_text(json.dumps({"sha256": hashlib.sha256(data).hexdigest()}))
    assert (ensure_archive(Archive("tiny", url), root) / "DIV2K_train_HR").is_dir()


def test_interrupted_or_refused_download_leaves_nothing(tmp_path, serve):
    root = tmp_path / "data"
    with pytest.raises(
        DatasetError,
        match=f"interrupted after {len(_Truncating.body)} of {len(_Truncating.body) + 1000} bytes.*into ",
    ):
        ensure_archive(Archive("cut", f"{serve(handler=_Truncating)}/cut.zip"), root)
    assert _leftovers(root) == []
    with pytest.raises(DatasetError, match=r"Downloading .* failed \(URLError"):
        ensure_archive(Archive("gone", _closed_port_url("gone.zip")), root)
    assert _leftovers(root) == []


def test_corrupt_archive_is_refused(tmp_path, serve):
    site = tmp_path / "site"
    site.mkdir()
    (site / "bad.zip").write_bytes(b"this is not an archive")
    root = tmp_path / "data"
    with pytest.raises(DatasetError, match="cannot be extracted"):
        ensure_archive(Archive("bad", f"{serve(site)}/bad.zip"), root)
    assert _leftovers(root) == []


def _tar(path: Path, members: dict[str, bytes]) -> None:
    with tarfile.open(path, "w") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))


def test_tar_archives_extract_and_unsafe_members_are_refused(tmp_path, serve):
    site = tmp_path / "site"
    site.mkdir()
    _tar(site / "benchmark.tar", {"benchmark/Set5/HR/baby.png": b"x"})
    _tar(site / "evil.tar", {"../evil.txt": b"x"})
    root = tmp_path / "data"
    base = serve(site)
    assert (
        ensure_archive(Archive("bench", f"{base}/benchmark.tar"), root) / "benchmark/Set5/HR/baby.png"
    ).is_file()
    with pytest.raises(DatasetError, match="cannot be extracted"):
        ensure_archive(Archive("evil", f"{base}/evil.tar"), root)
    assert _leftovers(root) == ["bench", "bench.source.json"] and not (tmp_path / "evil.txt").exists()
    with tarfile.open(site / "evil.tar") as tf, pytest.raises(OSError, match="unsafe member"):
        _check_tar_members(tf)  # the same refusal on Pythons without tarfile's "data" filter


def test_fetch_sr_archives_rejects_unknown_names():
    with pytest.raises(ConfigError, match="Unknown SR archive"):
        ps.fetch_sr_archives("unused", ["imagenet"])
    assert set(ps.ARCHIVES) == {"div2k_train_hr", "sr_benchmarks"}


# ---------------------------------------------------------------------------------------- metrics
def test_y_channel_matches_skimage_rgb2ycbcr():
    from skimage.color import rgb2ycbcr

    image = ps.photo("coffee")[:, :64, :80]
    expected = rgb2ycbcr(image.permute(1, 2, 0).numpy())[..., 0]
    assert np.allclose(rgb_to_y(image[None])[0, 0].numpy(), expected, atol=1e-9)
    gray = torch.randint(0, 256, (1, 1, 8, 8), dtype=torch.uint8)
    assert torch.equal(rgb_to_y(gray), gray.double())  # grayscale: Y is the image itself


def test_identical_images_give_infinite_psnr_and_ssim_one():
    hr = ps.photo("chelsea")[None, :, :64, :64]
    result = sr_metrics(hr, hr, scale=4)
    assert result["psnr_y_crop4"] == math.inf and result["ssim_y_crop4"] == pytest.approx(1.0)


def test_psnr_of_a_constant_offset_by_hand():
    hr = torch.full((2, 1, 32, 32), 100, dtype=torch.uint8)
    result = sr_metrics(hr + 10, hr, scale=2)  # grayscale: Y error 10 everywhere
    assert result["psnr_y_crop2"] == pytest.approx(10 * math.log10(255**2 / 10**2))  # 28.1308 dB
    rgb = torch.full((1, 3, 32, 32), 100, dtype=torch.uint8)
    (psnr,), _ = psnr_ssim_y(rgb + 10, rgb, scale=4)  # Y error 10 * (65.481+128.553+24.966)/255
    assert psnr.item() == pytest.approx(20 * math.log10(255 / (10 * 219 / 255)))


def test_border_crop_ignores_the_scale_pixel_border():
    hr = ps.photo("camera")[None, :, :48, :48]
    sr = hr.clone()
    sr[..., :4, :] = 0
    assert sr_metrics(sr, hr, 4)["psnr_y_crop4"] == math.inf
    assert sr_metrics(sr, hr, 2)["psnr_y_crop2"] < 40


def test_bicubic_baseline_and_lists_of_whole_images():
    source = partial(ps.skimage_photos, test_images=["chelsea", "coffee"])
    pairs = ps.full_image_pairs("unused", "test", scale=4, source=source)
    up = [bicubic_upscale(p["lr"][None], 4)[0] for p in pairs]
    assert [u.shape for u in up] == [p["hr"].shape for p in pairs]
    result = sr_metrics(up, [p["hr"] for p in pairs], 4)
    assert 20 < result["psnr_y_crop4"] < 40 and 0.5 < result["ssim_y_crop4"] < 1
    with pytest.raises(EvaluationError, match="uint8"):
        sr_metrics(up[0][None].float(), pairs[0]["hr"][None], 4)

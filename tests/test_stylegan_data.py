"""StyleGAN's data: 32x32 variants, the offline LFW faces, CelebA's offline failure, FFHQ as a folder, and
the classifier route scoring 32x32 samples with an evaluator trained at 28x28."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from ganforge.build import build_datamodule
from ganforge.data import face_sources, sources
from ganforge.errors import DatasetError


def test_lfw_subset_is_offline_faces_at_32_with_a_disjoint_test_split(compose):
    dm = build_datamodule(compose("data=lfw_subset"))
    train, train_labels = dm.reference("image", "train")
    test, test_labels = dm.reference("image", "test")
    assert train.shape == (80, 1, 32, 32) and test.shape == (20, 1, 32, 32)
    assert train.dtype == torch.uint8 and int(train.max()) > 200
    assert train_labels.tolist() == [0] * 80 and test_labels.tolist() == [0] * 20
    raw_train, _ = face_sources.lfw_subset("unused", "train")
    raw_test, _ = face_sources.lfw_subset("unused", "test")
    assert raw_test.shape == (20, 1, 25, 25)
    # Every 5th face is a test face; no test face appears in the train split.
    flat_train = {bytes(x.numpy()) for x in raw_train}
    assert not any(bytes(x.numpy()) in flat_train for x in raw_test)


@pytest.mark.parametrize("data", ["mnist5k", "fashion_mnist"])
def test_mnist_family_at_32(compose, data):
    if data == "fashion_mnist" and not sources.DEBIAN_FASHION_MNIST.is_dir():
        pytest.skip("Debian dataset-fashion-mnist not installed (the download is not offline)")
    dm = build_datamodule(compose(f"data={data}", "data.image_size=32"))
    images, labels = dm.reference("image", "test")
    assert images.shape[1:] == (1, 32, 32) and dm.shape == (1, 32, 32)
    assert torch.bincount(labels).tolist() == [len(labels) // 10] * 10


def test_cifar10_and_folder_configs_compose_at_32_and_64(compose):
    for size in (32, 64):
        assert list(compose("data=cifar10", f"data.image_size={size}").data.shape) == [3, size, size]
        assert list(compose("data=folder", f"data.image_size={size}").data.shape) == [3, size, size]


def test_celeba_offline_fails_clearly_and_keeps_nothing(compose, tmp_path, monkeypatch):
    monkeypatch.setenv("GANFORGE_OFFLINE", "1")
    dm = build_datamodule(compose("data=celeba", f"paths.root_dir={tmp_path}"))
    assert dm.shape == (3, 64, 64)
    with pytest.raises(DatasetError, match=r"CelebA is not in .*celeba and GANFORGE_OFFLINE is set") as info:
        dm.setup("fit")
    message = str(info.value)
    assert "img_align_celeba.zip" in message and "list_eval_partition.txt" in message
    assert "mmlab.ie.cuhk.edu.hk" in message and "gdown" in message
    assert not (tmp_path / "data").exists()


def test_celeba_with_wrong_files_fails_its_md5_check(tmp_path):
    folder = tmp_path / "celeba"
    (folder / "img_align_celeba").mkdir(parents=True)
    for name in ("list_attr_celeba.txt", "identity_CelebA.txt", "list_bbox_celeba.txt"):
        (folder / name).write_text("not the real file\n")
    with pytest.raises(DatasetError, match=r"fails torchvision's check .*MD5.*Delete the folder"):
        face_sources.celeba(tmp_path, "train", size=32)


def _write_ffhq_like(folder, sizes):
    """PNGs in chunk subfolders the way FFHQ stores them (00000/00000.png, 01000/01000.png)."""
    rng = np.random.default_rng(0)
    for i, (h, w) in enumerate(sizes):
        chunk = folder / f"{(i // 2) * 1000:05d}"
        chunk.mkdir(parents=True, exist_ok=True)
        Image.fromarray(rng.integers(0, 255, (h, w, 3), dtype=np.uint8)).save(chunk / f"{i:05d}.png")


def test_ffhq_is_a_folder_resized_while_decoding_without_chunk_labels(compose, tmp_path):
    _write_ffhq_like(tmp_path / "thumbs", [(128, 128), (128, 128), (96, 80), (128, 128)])
    for size in (32, 64):
        dm = build_datamodule(
            compose("data=ffhq", f"data.loader.path={tmp_path / 'thumbs'}", f"data.image_size={size}")
        )
        images, labels = dm.reference("image", "train")
        assert images.shape == (4, 3, size, size) and labels.tolist() == [0, 0, 0, 0]
    # The decode-time resize is the centre square, resized: equal to PIL's own crop + resize.
    with Image.open(tmp_path / "thumbs" / "01000" / "00002.png") as im:
        expected = np.asarray(im.convert("RGB").crop((0, 8, 80, 88)).resize((32, 32), Image.BICUBIC))
    images, _ = sources.image_folder("r", "train", path=str(tmp_path / "thumbs"), size=32, labels=False)
    assert torch.equal(images[2], torch.from_numpy(expected.copy()).permute(2, 0, 1))


def test_ffhq_missing_folder_says_where_to_get_it(compose, tmp_path):
    dm = build_datamodule(compose("data=ffhq", f"paths.root_dir={tmp_path}"))
    with pytest.raises(DatasetError, match=r"not a directory; download FFHQ from .*NVlabs/ffhq-dataset"):
        dm.setup("fit")


def test_classifier_route_scores_32x32_with_a_28x28_evaluator(compose, mnist_evaluator):
    """Real and generated 32x32 images are resized to the evaluator's 28x28 input, and metrics.json says
    so: the evaluator keeps its accuracy, and the 32x32 test split is close to the 32x32 train split."""
    from ganforge.metrics.evaluate import EvalSettings, MetricSuite
    from ganforge.metrics.extractors import load_classifier

    dm = build_datamodule(compose("data=mnist5k", "data.image_size=32"))
    test, labels = dm.reference("image", "test")
    extractor = load_classifier(mnist_evaluator["path"], "mnist5k")
    accuracy = float((extractor(test)[1].argmax(1) == labels).double().mean())
    assert accuracy >= mnist_evaluator["test_accuracy"] - 0.02
    suite = MetricSuite(["fid1k_classifier"], dm, EvalSettings(str(mnist_evaluator["path"])))
    fid_test = suite.score(test)["fid1k_classifier"]
    noise = torch.randint(0, 256, test.shape, dtype=torch.uint8, generator=torch.Generator().manual_seed(0))
    assert fid_test < 30 < suite.score(noise)["fid1k_classifier"]
    protocol = suite.protocol()
    extractor_entry = protocol["metrics"]["fid1k_classifier"]["extractor"]
    assert protocol["reference_shape"] == [1, 32, 32] and extractor_entry["input_shape"] == [1, 28, 28]
    assert extractor_entry["preprocessing"].endswith("->28x28")


def test_a_tiny_stylegan_trains_on_the_offline_faces(run):
    widths = ["model.latent_dim=8", "model.generator.w_dim=8", "model.generator.mapping_layers=2",
              "model.generator.channel_base=64", "model.generator.channel_max=8"]  # fmt: skip
    summary = run("model=stylegan", "data=lfw_subset", "data.batch_size=8", "model.progressive=false",
                  *widths, "trainer.max_steps=2", "trainer.sample_every_n_steps=2")  # fmt: skip
    assert summary["gen_step"] == 2
    assert summary["module"].sampling_network().target_resolution == 32

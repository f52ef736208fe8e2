"""CUB-200-2011 and Oxford-102 with Reed et al.'s captions (ganforge.data.captioned_real), offline: tiny
fake archives in the real layouts (CUB_200_2011/, cvpr2016_cub/text_c10/, flowers-102/), served from
127.0.0.1 like the other archive tests, or placed by hand; the published-embeddings converter."""

from __future__ import annotations

import hashlib
import http.server
import json
import pickle
import tarfile
import threading
import urllib.parse
from dataclasses import replace
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ganforge.data import caption_files as cf
from ganforge.data import captioned_real as cr
from ganforge.errors import ConfigError, DatasetError

CLASSES = [
    "001.Black_footed_Albatross",
    "002.Laysan_Albatross",
    "003.Sooty_Albatross",
    "004.Groove_billed_Ani",
]
TEST_CLASS = "003.Sooty_Albatross"
PER_CLASS = 3
# An 80x60 picture: blue background, green StackGAN crop region (25, 10)-(55, 40), red bounding box.
BBOX = (30, 20, 20, 10)


@pytest.fixture(autouse=True)
def _fresh_memory():
    cf.clear_memory()
    yield
    cf.clear_memory()


def _bird(path: Path) -> None:
    pixels = np.zeros((60, 80, 3), dtype=np.uint8)
    pixels[...] = (0, 0, 255)
    pixels[10:40, 25:55] = (0, 255, 0)
    pixels[20:30, 30:50] = (255, 0, 0)
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(pixels).save(
        path, format="PNG"
    )  # exact pixels under CUB's .jpg names (PIL reads content)


def _captions(path: Path, stem: str, count: int = 10) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [f"the bird of {stem} caption {j}".encode() for j in range(count)]
    lines[1] = f"a bird of {stem}\xff\xfewith wings".encode("latin1")  # bytes no UTF-8 decoder accepts
    path.write_bytes(b"\n".join(lines) + b"\n\n")


def _cub(top: Path) -> list[str]:
    """CUB_200_2011.tgz's layout under ``top``; returns the image names (class/stem) in id order."""
    base, rows, names = top / "CUB_200_2011", {"images": [], "labels": [], "split": [], "boxes": []}, []
    for c, cls in enumerate(CLASSES, 1):
        for k in range(PER_CLASS):
            i = len(names) + 1
            rel = f"{cls}/{cls.split('.')[1]}_{k:04d}_{i}.jpg"
            _bird(base / "images" / rel)
            names.append(rel[:-4])
            rows["images"].append(f"{i} {rel}")
            rows["labels"].append(f"{i} {c}")
            rows["split"].append(f"{i} {int(k != 0)}")
            rows["boxes"].append(f"{i} " + " ".join(f"{v:.1f}" for v in BBOX))
    for name, key in [("images", "images"), ("image_class_labels", "labels"), ("train_test_split", "split"),
                      ("bounding_boxes", "boxes")]:  # fmt: skip
        (base / f"{name}.txt").write_text("\n".join(rows[key]) + "\n")
    (top / "attributes.txt").write_text("1 has_bill_shape::curved\n")  # beside CUB_200_2011/, as shipped
    return names


def _reed(top: Path, folder: str, names: list[str], train: list[str], test: list[str]) -> Path:
    base = top / folder
    for name in names:
        _captions(base / "text_c10" / f"{name}.txt", name.split("/")[1])
    for cls in train + test:
        (base / "text_c10" / f"{cls}.t7").write_bytes(b"torch7 file, not read")
    (base / "trainvalclasses.txt").write_text("\n".join(train) + "\n")
    (base / "testclasses.txt").write_text("\n".join(test) + "\n")
    return base


def _placed_cub(root: Path) -> list[str]:
    names = _cub(root / "cub_200_2011")
    _reed(root / "reed_cvpr2016_cub", "cvpr2016_cub", names, [c for c in CLASSES if c != TEST_CLASS],
          [TEST_CLASS])  # fmt: skip
    return names


def _tgz(folder: Path, dest: Path) -> bytes:
    with tarfile.open(dest, "w:gz") as tf:
        for child in sorted(folder.iterdir()):
            tf.add(child, arcname=child.name)
    return dest.read_bytes()


class _Site(http.server.SimpleHTTPRequestHandler):
    """Files of a folder, plus a Google-Drive-like /uc page whose form leads to /download."""

    def do_GET(self):
        url = urllib.parse.urlparse(self.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        if url.path == "/uc":
            hidden = {"id": query["id"], "confirm": "t", "uuid": "u-1"}
            inputs = "".join(f'<input type="hidden" name="{k}" value="{v}">' for k, v in hidden.items())
            form = f'<form id="download-form" action="/download" method="get">{inputs}</form>'
            return self._send(f"<!DOCTYPE html><html><body>{form}</body></html>".encode(), "text/html")
        if url.path == "/quota":
            return self._send(b"<!DOCTYPE html><html><body>Too many users</body></html>", "text/html")
        if url.path == "/download" and query.get("uuid") == "u-1":
            self.path = "/" + query["id"]
        return super().do_GET()

    def _send(self, body: bytes, kind: str) -> None:
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def site(tmp_path):
    """Serve tmp_path/site; yields (folder, base URL)."""
    folder = tmp_path / "site"
    folder.mkdir()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(_Site, directory=str(folder)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield folder, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def served_cub(tmp_path, site, monkeypatch):
    """Both CUB archives on the local site (the captions behind the Drive-like confirmation page)."""
    folder, base = site
    names = _placed_cub(tmp_path / "src")
    images = _tgz(tmp_path / "src" / "cub_200_2011", folder / "CUB_200_2011.tgz")
    _tgz(tmp_path / "src" / "reed_cvpr2016_cub", folder / "cvpr2016_cub.tar.gz")
    monkeypatch.setattr(cr, "CUB_IMAGES", replace(cr.CUB_IMAGES, url=f"{base}/CUB_200_2011.tgz?download=1",
                                                  md5=hashlib.md5(images).hexdigest()))  # fmt: skip
    monkeypatch.setattr(cr, "CUB_CAPTIONS", replace(cr.CUB_CAPTIONS, url=f"{base}/uc?id=cvpr2016_cub.tar.gz"))
    monkeypatch.delenv("GANFORGE_OFFLINE", raising=False)
    return {"root": tmp_path / "data", "names": names, "site": folder, "base": base}


# ------------------------------------------------------------------------------------------------ CUB
def test_cub_rows_captions_meanings_and_the_class_disjoint_split(tmp_path):
    names = _placed_cub(tmp_path)  # extracted by hand: used as is, nothing downloaded
    train, test = (cr.cub200_items(tmp_path, s, canvas=16) for s in ("train", "test"))
    assert set(train) == {"image", "label", "caption", "image_id"}
    assert train["image"].shape == (9, 3, 16, 16) and train["image"].dtype == torch.uint8
    assert test["image"].shape == (3, 3, 16, 16) and train["label"].dtype == torch.int64
    assert set(train["label"].tolist()) == {0, 1, 3} and set(test["label"].tolist()) == {2}  # 003 held out
    texts, meanings = cr.cub200_captions(tmp_path)
    assert len(texts) == len(meanings) == 12 * 10
    # The ten captions of an image share one meaning (paraphrases); every image has its own meaning.
    assert torch.equal(meanings, torch.arange(12).repeat_interleave(10))
    order = [n for n in names if not n.startswith(TEST_CLASS)] + [
        n for n in names if n.startswith(TEST_CLASS)
    ]
    for image, name in enumerate(order):
        assert all(name.split("/")[1] in t for t in texts[image * 10 : image * 10 + 10])
    assert texts[1] == f"a bird of {order[0].split('/')[1]} with wings"  # StackGAN's replacement
    ids = torch.cat([train["caption"], test["caption"]])
    assert torch.equal(meanings[ids], torch.arange(12))  # each row holds a caption of its own image
    assert test["caption"].min() >= 90 and torch.equal(test["image_id"], torch.tensor([7, 8, 9]))
    redrawn = cr.cub200_items(tmp_path, "train", canvas=16, seed=1)["caption"]
    assert not torch.equal(redrawn, train["caption"]) and torch.equal(
        meanings[redrawn], meanings[train["caption"]]
    )

    every = cr.cub200_items(tmp_path, "test", canvas=16, rows="caption")  # one row per caption
    assert torch.equal(every["caption"], torch.arange(90, 120)) and every["image"].shape == (30, 3, 16, 16)
    assert torch.equal(meanings[every["caption"]], torch.arange(9, 12).repeat_interleave(10))
    assert torch.equal(every["image"][::10], test["image"]) and every["label"].tolist() == [2] * 30
    with pytest.raises(ConfigError, match="data.loader.rows='pairs' is unknown"):
        cr.cub200_items(tmp_path, "test", rows="pairs")
    official = cr.cub200_items(tmp_path, "test", canvas=16, partition="official")
    assert official["label"].tolist() == [0, 1, 2, 3]  # train_test_split.txt: the first image of each class
    assert len(cr.cub200_captions(tmp_path, limit=2)[0]) == 4 * 10  # 2 train + 2 test images
    with pytest.raises(ConfigError, match="data.loader.partition='papers' is unknown"):
        cr.cub200_captions(tmp_path, partition="papers")
    with pytest.raises(ConfigError, match=r"crop='bbox' is not one of \['center', 'full'\]"):
        cr.oxford102_items(tmp_path, "train", crop="bbox")


def test_bbox_crop_is_stackgans(tmp_path):
    assert cf.crop_box("bbox", (30.0, 20.0, 20.0, 10.0), 80, 60) == (25, 10, 55, 40)  # half-side 0.75 * 20
    assert cf.crop_box("bbox", (70.0, 0.0, 10.0, 40.0), 80, 60) == (45, 0, 80, 50)  # clipped to the image
    assert cf.crop_box("center", None, 80, 60) == (10, 0, 70, 60)
    _placed_cub(tmp_path)
    pixels = {
        c: cr.cub200_items(tmp_path, "train", canvas=16, crop=c)["image"][0] for c in cr.CROPS["cub200"]
    }
    corner, centre = (slice(None), 0, 0), (slice(None), 8, 8)
    assert pixels["bbox"][corner].tolist() == [0, 255, 0] and pixels["bbox"][centre].tolist() == [255, 0, 0]
    assert pixels["center"][corner].tolist() == [0, 0, 255]  # the whole height: background in the corner


def test_decoded_splits_are_cached_on_disk(tmp_path, monkeypatch):
    _placed_cub(tmp_path)
    first = cr.cub200_items(tmp_path, "train", canvas=16)
    (cache,) = (tmp_path / cf.CACHE_DIR).glob("cub200-16px-bbox-*.pt")
    cf.clear_memory()

    def no_decoding(*args, **kwargs):
        raise AssertionError("decoded again")

    monkeypatch.setattr(cf, "decode", no_decoding)
    again = cr.cub200_items(tmp_path, "train", canvas=16)  # a new process: read from the .pt
    assert torch.equal(again["image"], first["image"]) and torch.equal(again["caption"], first["caption"])
    with pytest.raises(AssertionError, match="decoded again"):
        cr.cub200_items(tmp_path, "train", canvas=32)  # other options: another cache file
    assert [p.name for p in (tmp_path / cf.CACHE_DIR).iterdir()] == [cache.name]  # no temporaries left


def test_missing_or_empty_caption_file_is_a_clear_error(tmp_path):
    names = _placed_cub(tmp_path)
    gone = tmp_path / "reed_cvpr2016_cub" / "cvpr2016_cub" / "text_c10" / f"{names[4]}.txt"
    gone.unlink()
    with pytest.raises(DatasetError, match=rf"caption file .*{names[4].split('/')[1]}.txt is missing.*do not "
                       r"cover every image.*Delete .*reed_cvpr2016_cub and fetch again"):  # fmt: skip
        cr.cub200_items(tmp_path, "train", canvas=16)
    gone.write_text("\n  \n")
    with pytest.raises(DatasetError, match="holds no caption"):
        cr.cub200_captions(tmp_path)
    (tmp_path / "reed_cvpr2016_cub" / "cvpr2016_cub" / "testclasses.txt").write_text(CLASSES[0] + "\n")
    with pytest.raises(DatasetError, match="must be non-empty and disjoint"):
        cr.cub200_captions(tmp_path)


def test_downloads_follow_the_confirmation_page_and_record_sha256(served_cub):
    root = served_cub["root"]
    assert len(cr.cub200_captions(root)[0]) == 120
    record = json.loads((root / "reed_cvpr2016_cub.source.json").read_text())
    archive = (served_cub["site"] / "cvpr2016_cub.tar.gz").read_bytes()
    assert record["sha256"] == hashlib.sha256(archive).hexdigest() and record["first_download"]
    assert json.loads((root / "cub_200_2011.source.json").read_text())["md5_expected"] == cr.CUB_IMAGES.md5
    assert sorted(p.name for p in root.iterdir()) == [
        "cub_200_2011", "cub_200_2011.source.json", "reed_cvpr2016_cub", "reed_cvpr2016_cub.source.json",
    ]  # fmt: skip
    # The caption archive changes upstream: the recorded SHA-256 refuses it, and says how to place it.
    __import__("shutil").rmtree(root / "reed_cvpr2016_cub")
    cf.clear_memory()
    (served_cub["site"] / "cvpr2016_cub.tar.gz").write_bytes(archive + b"\0" * 1024)
    manual = r"To place Reed et al.'s CUB captions by hand: download cvpr2016_cub.tar.gz from https://drive"
    with pytest.raises(DatasetError, match=rf"changed upstream.*Nothing was kept.*{manual}"):
        cr.cub200_captions(root)
    assert not (root / "reed_cvpr2016_cub").exists()


def test_checksum_mismatch_web_pages_and_offline_keep_nothing(served_cub, monkeypatch):
    root, base = served_cub["root"], served_cub["base"]
    monkeypatch.setattr(cr, "CUB_IMAGES", replace(cr.CUB_IMAGES, md5="0" * 32))
    manual = r"To place CUB-200-2011 by hand: download CUB_200_2011.tgz from https://data.caltech.edu/records"
    with pytest.raises(DatasetError, match=rf"not the 0+ recorded by .*Nothing was kept.*{manual}"):
        cr.cub200_captions(root)
    assert list(root.iterdir()) == []
    with pytest.raises(DatasetError, match="sent a web page, not an archive"):
        cr.cub200_captions(root, images_url=f"{base}/quota")
    _cub(root / "cub_200_2011")  # placed by hand: only the captions are downloaded
    with pytest.raises(DatasetError, match="answered with a web page instead of the archive.*quota"):
        cr.cub200_captions(root, captions_url=f"{base}/quota")
    assert sorted(p.name for p in root.iterdir()) == ["cub_200_2011"]
    monkeypatch.setenv("GANFORGE_OFFLINE", "1")
    with pytest.raises(DatasetError, match="GANFORGE_OFFLINE is set.*data.loader.captions_url"):
        cr.cub200_captions(root)


def test_ganforge_fetch_writes_the_splits_and_verifies_them(served_cub, tmp_path):
    from ganforge.cli.fetch import main

    captions = (served_cub["site"] / "cvpr2016_cub.tar.gz").as_uri()  # a copy of the archive, by file://
    args = [f"paths.root_dir={tmp_path}", "data=captioned_cub200", "data.canvas=16",
            f"data.loader.captions_url={captions}"]  # fmt: skip
    main(args)
    out = tmp_path / "data" / "captioned_cub200"
    record = json.loads((out / "checksums.json").read_text())
    fields = record["splits"]["train"]["fields"]
    assert set(fields) == {"caption", "image", "image_id", "label"}
    assert fields["image"] == {"num_samples": 9, "shape": [3, 16, 16], "dtype": "uint8"}
    assert record["splits"]["test"]["fields"]["caption"]["num_samples"] == 3
    stored = torch.load(out / "test.pt", weights_only=True)
    assert stored["label"].tolist() == [2, 2, 2]
    assert json.loads((tmp_path / "data" / "reed_cvpr2016_cub.source.json").read_text())["url"] == captions
    cf.clear_memory()
    main(["--verify", *args])


# ----------------------------------------------------------------------------------------- Oxford-102
@pytest.fixture
def served_flowers(tmp_path, site, monkeypatch):
    """torchvision's three Oxford-102 files on the local site (MD5s set to the fakes'), Reed's captions
    placed by hand. Nine images of three classes, interleaved by id as the real ones are."""
    from scipy.io import savemat
    from torchvision.datasets import Flowers102

    folder, base = site
    labels = [1, 2, 3, 1, 2, 3, 1, 2, 3]
    for i in range(1, 10):
        _bird(tmp_path / "src" / "jpg" / f"image_{i:05d}.jpg")
    _tgz(tmp_path / "src", folder / "102flowers.tgz")
    savemat(folder / "imagelabels.mat", {"labels": np.array([labels])})
    savemat(folder / "setid.mat", {"trnid": np.array([[1, 2]]), "valid": np.array([[3, 4]]),
                                    "tstid": np.array([[5, 6, 7, 8, 9]])})  # fmt: skip
    md5 = {
        k: (n, hashlib.md5((folder / n).read_bytes()).hexdigest())
        for k, (n, _) in Flowers102._file_dict.items()
    }
    monkeypatch.setattr(Flowers102, "_download_url_prefix", f"{base}/")
    monkeypatch.setattr(Flowers102, "_file_dict", md5)
    monkeypatch.delenv("GANFORGE_OFFLINE", raising=False)
    root = tmp_path / "data"
    names = [f"class_{c:05d}/image_{i:05d}" for i, c in enumerate(labels, 1)]
    _reed(
        root / "reed_cvpr2016_flowers",
        "cvpr2016_flowers",
        names,
        ["class_00001", "class_00003"],
        ["class_00002"],
    )
    return root


def test_oxford102_rows_and_splits(served_flowers):
    root = served_flowers
    train, test = (cr.oxford102_items(root, s, canvas=16) for s in ("train", "test"))
    assert train["image"].shape == (6, 3, 16, 16) and test["image"].shape == (3, 3, 16, 16)
    assert train["label"].tolist() == [0, 0, 0, 2, 2, 2] and test["label"].tolist() == [1, 1, 1]
    assert train["image_id"].tolist() == [1, 4, 7, 3, 6, 9]  # sorted by class, then image
    texts, meanings = cr.oxford102_captions(root)
    assert len(texts) == 90 and "image_00001" in texts[0] and "image_00002" in texts[60]
    assert torch.equal(meanings[test["caption"]], torch.tensor([6, 7, 8]))
    assert sorted(p.name for p in (root / "flowers-102").iterdir()) == [
        "102flowers.tgz",
        "imagelabels.mat",
        "jpg",
        "setid.mat",
    ]
    official = cr.oxford102_items(root, "test", canvas=16, partition="official")
    assert sorted(official["image_id"].tolist()) == [5, 6, 7, 8, 9]  # setid.mat's tstid
    (root / "flowers-102" / "setid.mat").write_bytes(b"changed")
    cf.clear_memory()
    with pytest.raises(DatasetError, match="fails torchvision's check.*Delete the folder"):
        cr.oxford102_captions(root)


# -------------------------------------------------------------------------- published embeddings
def _stackgan_split(folder: Path, names: list[str], dim: int, protocol: int = 2) -> np.ndarray:
    folder.mkdir(parents=True, exist_ok=True)
    embeddings = np.random.RandomState(len(names)).randn(len(names), 10, dim).astype(np.float32)
    (folder / "char-CNN-RNN-embeddings.pickle").write_bytes(pickle.dumps(embeddings, protocol=protocol))
    (folder / "filenames.pickle").write_bytes(pickle.dumps(names, protocol=protocol))
    return embeddings


def test_converted_published_embeddings_cover_the_caption_table(tmp_path):
    from ganforge.text.convert_published import convert, main
    from ganforge.text.encoders import PrecomputedEmbeddings

    names = _placed_cub(tmp_path / "data")
    train = [n for n in names if not n.startswith(TEST_CLASS)]
    test = [n for n in names if n.startswith(TEST_CLASS)]
    e_train = _stackgan_split(tmp_path / "birds" / "train", train, 8)
    e_test = _stackgan_split(tmp_path / "birds" / "test", test, 8, protocol=pickle.HIGHEST_PROTOCOL)
    out = tmp_path / "cub.pt"
    summary = convert([tmp_path / "birds" / "train", tmp_path / "birds" / "test"],
                      tmp_path / "data" / "reed_cvpr2016_cub", out)  # fmt: skip
    assert summary["images"] == 12 and summary["captions"] == 120 and summary["dim"] == 8
    encoder = PrecomputedEmbeddings(str(out), dim=8)
    texts, _ = cr.cub200_captions(tmp_path / "data")
    table = encoder.encode(texts)  # every caption of the data's table has its row
    assert torch.equal(table[:10], torch.from_numpy(e_train[0]))  # [image 0, caption j] -> caption j
    assert torch.equal(table[-1], torch.from_numpy(e_test[-1, -1]))
    main(["--split", str(tmp_path / "birds" / "train"), "--captions", str(tmp_path / "data"),
          "--out", str(tmp_path / "cub.npz")])  # fmt: skip
    assert PrecomputedEmbeddings(str(tmp_path / "cub.npz")).encode(texts[:3]).shape == (3, 8)

    evil = tmp_path / "evil"
    evil.mkdir()
    (evil / "char-CNN-RNN-embeddings.pickle").write_bytes(pickle.dumps(__import__("os").system))
    (evil / "filenames.pickle").write_bytes(pickle.dumps(train))
    with pytest.raises(DatasetError, match=r"refusing (posix|nt)\.system: only numpy arrays"):
        convert([evil], tmp_path / "data", tmp_path / "x.pt")
    _stackgan_split(evil, ["001.Black_footed_Albatross/Not_A_Bird_0001"], 8)
    with pytest.raises(DatasetError, match=r"no text_c10/<class>/Not_A_Bird_0001.txt"):
        convert([evil], tmp_path / "data", tmp_path / "x.pt")
    assert not (tmp_path / "x.pt").exists()


def test_gan_int_cls_trains_two_steps_on_fake_cub(run, tmp_path):
    from ganforge.text.convert_published import convert

    names = _placed_cub(tmp_path / "data")
    _stackgan_split(tmp_path / "all", names, 8)
    convert([tmp_path / "all"], tmp_path / "data", tmp_path / "cub.pt")
    summary = run(
        "model=gan_int_cls", "data=captioned_cub200", "data.canvas=32", "data.batch_size=4",
        "hardware.num_threads=1", "model.generator.net.base_width=8", "model.discriminator.net.base_width=8",
        "text_encoder=precomputed", f"text_encoder.path={tmp_path / 'cub.pt'}", "text_encoder.dim=8",
        "trainer.max_steps=2", "trainer.sample_every_n_steps=2", "model.paraphrases=true",
    )  # fmt: skip
    assert summary["gen_step"] == 2 and np.isfinite(summary["metrics"]["loss/d"])
    module = summary["module"]
    assert len(module.caption_texts) == 120
    ids = torch.arange(0, 120, 10)  # the first caption of each image
    draws = torch.stack([module.paraphrase(ids) for _ in range(100)])
    assert torch.equal(draws // 10, ids.expand_as(draws) // 10), "one of the same image's ten captions"
    assert len(set(draws.flatten().tolist())) > 60
    captions = (tmp_path / "run" / "samples" / "step_0000002.captions.txt").read_text()
    assert "Sooty_Albatross" in captions  # samples are drawn for test-split captions

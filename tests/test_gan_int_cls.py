"""GAN-INT-CLS through the real entry points on the offline captioned data (mnist5k items on a 32 px
canvas, tiny networks): the matching-aware objective, interpolated embeddings, the caption cache,
sampling for test captions and for any text, resume and DDP (two ddp_cpu ranks)."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch
from helpers.ddp import train_ddp_cpu
from helpers.tensors import flat_params
from PIL import Image

from ganforge.errors import ConfigError, GanforgeError

TEXT = [
    "model=gan_int_cls",
    "hardware.num_threads=1",
    "data=captioned_mnist5k",
    "data.canvas=32",
    "data.loader.limit=256",
    "data.batch_size=16",
    "model.generator.net.base_width=8",
    "model.discriminator.net.base_width=8",
]


@pytest.fixture(scope="module")
def text_ckpt(tmp_path_factory, compose_session):
    from ganforge.training import train

    root = tmp_path_factory.mktemp("gan_int_cls")
    cfg = compose_session(
        f"paths.root_dir={root}", *TEXT, "trainer.max_steps=3", "trainer.sample_every_n_steps=3"
    )
    train(cfg, root / "run")
    return root / "run" / "checkpoints" / "last.ckpt"


def built(compose, *overrides):
    from ganforge.build import build_datamodule, build_module

    cfg = compose(*TEXT, *overrides)
    module, datamodule = build_module(cfg), build_datamodule(cfg)
    datamodule.setup("fit")
    module.bind_data(datamodule)
    return module, datamodule


def test_trains_both_sides_with_the_matching_aware_and_interpolation_terms(run, tmp_path):
    summary = run(*TEXT, "trainer.max_steps=3", "trainer.sample_every_n_steps=3")
    metrics = summary["metrics"]
    assert {
        "loss/d",
        "d/real",
        "d/fake",
        "d/mismatch",
        "loss/g",
        "loss/g_text",
        "loss/g_interpolated",
    } <= set(metrics)
    assert metrics["loss/g"] == pytest.approx(
        metrics["loss/g_text"] + metrics["loss/g_interpolated"], rel=1e-5
    )
    grid = tmp_path / "run" / "samples" / "step_0000003.png"
    captions = grid.with_suffix(".captions.txt").read_text().splitlines()
    assert Image.open(grid).size[0] >= 512 and len(captions) == 64 and captions[0].startswith("0: ")
    assert any(word in captions[0] for word in ("small", "large"))
    plain = run(*TEXT, "trainer.max_steps=1", "model.matching_aware=false", "model.interpolation=false",
                run_dir=tmp_path / "plain")["metrics"]  # fmt: skip
    assert "d/mismatch" not in plain and "loss/g_interpolated" not in plain


def test_discriminator_loss_is_reeds_three_terms(compose):
    """L_D = L_real(D(x, h)) + (L_fake(D(x, h')) + L_fake(D(G(z, h), h))) / 2 with the engine's negatives."""
    import torch.nn.functional as F

    module, _ = built(compose)
    real, fake, wrong = torch.randn(3, 4, 3, 32, 32).unbind(0)
    score = {id(real): torch.tensor([2.0, -1.0, 0.5, 0.0]), id(fake): torch.tensor([-2.0, 1.0, 0.0, 0.3]),
             id(wrong): torch.tensor([0.4, 0.4, -3.0, 1.0])}  # fmt: skip
    judge = lambda x: score[id(x)]  # noqa: E731 - the discriminator as a lookup
    loss, metrics = module.discriminator_terms(real, fake, judge, negatives={"mismatch": (wrong, judge)})
    expected = F.softplus(-score[id(real)]).mean() + 0.5 * (
        F.softplus(score[id(fake)]).mean() + F.softplus(score[id(wrong)]).mean()
    )
    assert loss.item() == pytest.approx(expected.item(), rel=1e-6)
    assert metrics["d/mismatch"].item() == pytest.approx(torch.sigmoid(score[id(wrong)]).mean().item())


def test_mismatching_texts_never_share_the_meaning(compose):
    module, datamodule = built(compose)
    ids = datamodule.split_fields("train")["caption"][:64]
    meanings = module.caption_meanings
    for seed in range(5):
        torch.manual_seed(seed)
        wrong = module.mismatching(ids)
        assert (meanings[wrong] != meanings[ids]).all()
    paraphrases = torch.tensor([0, 1, 2, 3])  # one meaning in four phrasings: nothing to mismatch with
    assert (meanings[module.mismatching(paraphrases)] == meanings[paraphrases]).all()


def test_paraphrases_redraw_every_phrasing_of_the_meaning_and_are_off_by_default(compose):
    module, datamodule = built(compose)
    batch = {"caption": datamodule.split_fields("train")["caption"][:64].to(torch.int64)}
    assert module.paraphrases is False and torch.equal(module.training_captions(batch), batch["caption"])
    module, _ = built(compose, "model.paraphrases=true")
    meanings, ids = module.caption_meanings, batch["caption"]
    torch.manual_seed(0)
    draws = torch.stack([module.training_captions(batch) for _ in range(200)])
    assert (meanings[draws] == meanings[ids]).all(), "a paraphrase keeps the row's meaning"
    # Every row's meaning has four phrasings (the templates) and 200 draws reach each of them.
    group = (meanings[None, :] == meanings[ids][:, None]).sum(1)
    assert (group == 4).all()
    assert all(len(set(draws[:, i].tolist())) == 4 for i in range(len(ids)))


def test_caption_table_is_embedded_once_and_cached(compose, tmp_path, monkeypatch):
    module, datamodule = built(compose, f"paths.root_dir={tmp_path}")
    table = module.caption_embeddings
    assert table.shape == (len(datamodule.caption_table()), 384) == (1440, 384)
    assert len(list((tmp_path / "outputs" / "cache" / "text_embeddings").glob("*.pt"))) == 1
    again, _ = built(compose, f"paths.root_dir={tmp_path}")
    monkeypatch.setattr(again.text_encoder, "encode", lambda texts: pytest.fail("re-embedded"))
    again.bind_data(datamodule)
    assert torch.equal(again.caption_embeddings, table)
    assert "caption_embeddings" not in again.state_dict(), "rebuilt from the cache, not stored"


def test_sampling_draws_test_captions_or_any_text(compose):
    module, datamodule = built(compose)
    inputs = module.sampling_inputs(10, seed=3, datamodule=datamodule)
    test_ids = set(datamodule.split_fields("test")["caption"].tolist())
    assert set(inputs["caption"].tolist()) <= test_ids
    assert torch.equal(inputs["embedding"], module.caption_embeddings[inputs["caption"]])
    assert torch.equal(module.sampling_inputs(10, seed=3, datamodule=datamodule)["z"], inputs["z"])
    assert module.sample_inputs(inputs).shape == (10, 3, 32, 32)
    module.configure_sampling({"text": "a small purple digit three in the center"})
    own = module.sampling_inputs(4, seed=0, datamodule=datamodule)
    expected = module.text_encoder.encode(["a small purple digit three in the center"])[0]
    assert (
        torch.allclose(own["embedding"], expected.expand(4, -1), atol=1e-5) and (own["caption"] == -1).all()
    )
    table_caption = datamodule.caption_table()[7]
    module.configure_sampling({"text": table_caption, "text_to": "a large red digit one in the center"})
    walk = module.sampling_inputs(5, seed=0, datamodule=datamodule)
    assert torch.equal(walk["embedding"][0], module.caption_embeddings[7]), "a table caption uses its row"
    assert torch.allclose(walk["embedding"][2], walk["embedding"][[0, 4]].mean(0), atol=1e-6)
    assert (walk["z"] == walk["z"][0]).all(), "an interpolation keeps the noise fixed"
    with pytest.raises(GanforgeError, match=r"text=.*must be str"):
        module.configure_sampling({"text": 3})


def test_sample_cli_writes_the_text_and_its_captions(text_ckpt, tmp_path):
    from ganforge.cli.sample import main

    main([f"ckpt={text_ckpt}", "n=6", "text=a large green digit four in the center", f"out={tmp_path}"])
    (png,) = tmp_path.glob("*.png")
    assert png.name == "step_0000003_n6_seed0_texta-large-green-digit-four-in-the-center.png"
    assert torch.load(png.with_suffix(".pt"), weights_only=True).shape == (6, 3, 32, 32)
    assert (
        png.with_suffix(".captions.txt").read_text().splitlines()[5]
        == "5: a large green digit four in the center"
    )


def test_sample_cli_refuses_bad_text_options_before_sampling(text_ckpt, tmp_path):
    for argv, message in [
        (["text_to=a red digit one"], r"text_to= interpolates from text= to it"),
        (["text= "], r"text=None is invalid for model=gan_int_cls: it must be str"),
        (["text='  '"], r"text= / text_to= must hold a caption"),
        (["caption=3"], r"does not accept the sampling option\(s\) \['caption'\]; it takes text=<str>"),
    ]:
        result = subprocess.run(
            [sys.executable, "-m", "ganforge.cli.sample", f"ckpt={text_ckpt}", f"out={tmp_path}", *argv],
            capture_output=True, text=True,
        )  # fmt: skip
        assert result.returncode == 2 and "Traceback" not in result.stderr, result.stderr
        assert __import__("re").search(message, result.stderr), (argv, result.stderr)
    assert not list(tmp_path.glob("*.png"))


def test_precomputed_embeddings_train_the_same_family(run, compose, tmp_path):
    """A user's own embedding file (here: MiniLM's rows saved to disk) replaces the encoder."""
    module, datamodule = built(compose)
    path = tmp_path / "mine.pt"
    torch.save({"captions": datamodule.caption_table(), "embeddings": module.caption_embeddings}, path)
    own = ["text_encoder=precomputed", f"text_encoder.path={path}", "text_encoder.dim=384"]
    summary = run(*TEXT, *own, "trainer.max_steps=1")
    assert torch.equal(summary["module"].caption_embeddings, module.caption_embeddings)


def test_wrong_data_and_widths_fail_clearly(compose):
    from ganforge.build import build_datamodule, build_module

    cfg = compose(*TEXT[:2], "data=mnist5k")
    with pytest.raises(ConfigError, match=r"reads the batch field\(s\) \['caption'\]"):
        build_module(cfg).bind_data(build_datamodule(cfg))
    with pytest.raises(ConfigError, match=r"model.discriminator takes 64-d .* 384-d ones"):
        build_module(compose(*TEXT, "model.discriminator.text_dim=64"))


def test_resume_is_bit_identical(run, tmp_path):
    every = ["trainer.max_steps=4", "trainer.checkpoint_every_n_steps=1", "trainer.sample_every_n_steps=10"]
    straight = run(*TEXT, *every, run_dir=tmp_path / "straight")
    ckpt = tmp_path / "straight" / "checkpoints" / "step_0000002.ckpt"
    resumed = run(*TEXT, *every, f"ckpt_path={ckpt}", run_dir=tmp_path / "resumed")
    assert resumed["gen_step"] == 4
    assert torch.equal(flat_params(resumed["module"]), flat_params(straight["module"]))


def test_ddp_cpu_replicas_stay_identical_with_the_matching_aware_terms(tmp_path):
    """Two ddp_cpu ranks, each binding the caption table and drawing its own mismatching and interpolated
    texts: G and D stay identical on both (DDP averages the three-term D loss and G's two terms)."""
    run_dir, report = train_ddp_cpu(
        tmp_path,
        [*TEXT, "trainer.max_steps=3", "logger=none", "trainer.sample_every_n_steps=3",
         "trainer.checkpoint_every_n_steps=3"],
    )  # fmt: skip
    rank0, rank1 = report["ranks"]
    assert report["in_sync"] and rank0["gen_step"] == rank1["gen_step"] == 3
    assert (run_dir / "samples" / "step_0000003.captions.txt").is_file(), "rank 0 drew the captioned grid"

"""model=cyclegan end to end on the offline known-answer pair data=mnist5k_to_edges (tiny widths): training
with k:1 steps and the image pools, bit-identical resume (the lr schedule continues), DDP replicas of all
four networks, the B-domain evaluator and ganforge-eval, ganforge-sample, ganforge-translate and its bad
inputs, ganforge-fetch of unpaired data, and data=unpaired from two sources."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers.ddp import train_ddp_cpu
from helpers.tensors import flat_params
from PIL import Image

from ganforge.data.render import labelled_size
from ganforge.errors import DatasetError, EvaluationError, GanforgeError

TINY = [
    "experiment=cyclegan_mnist5k_edges",
    "model.generator.g_ab.ngf=8",
    "model.generator.g_ab.n_blocks=1",
    "model.discriminator.d_b.ndf=8",
    "data.batch_size=8",
    "hardware.num_threads=1",
    "trainer.checkpoint_every_n_steps=1",
]
NETWORKS = ("g_ab", "g_ba", "d_a", "d_b")


def tiny(max_steps: int, constant: int, decay: int, *more: str) -> list[str]:
    return [
        *TINY,
        f"trainer.max_steps={max_steps}",
        f"trainer.sample_every_n_steps={max_steps}",
        f"model.lr_constant_steps={constant}",
        f"model.lr_decay_steps={decay}",
        *more,
    ]


def state(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in module.state_dict().items() if isinstance(v, torch.Tensor)}


@pytest.fixture(scope="module")
def trained(compose_session, tmp_path_factory):
    """A B-domain evaluator (a short budget), then a 4-step run scoring classifier FID while it trains."""
    from ganforge.build import build_datamodule
    from ganforge.metrics.train_classifier import train_classifier
    from ganforge.training import train

    root = tmp_path_factory.mktemp("cyclegan")
    evaluator = train_classifier(
        build_datamodule(compose_session("data=mnist5k_to_edges")),
        epochs=0,
        min_steps=60,
        path=root / "outputs" / "evaluators" / "mnist5k_to_edges" / "classifier.pt",
    )
    cfg = compose_session(
        f"paths.root_dir={root}",
        *tiny(4, 2, 2),
        "eval.metrics=[fid100_classifier]",
        "eval.every_n_steps=2",
    )
    summary = train(cfg, root / "run")
    return {
        "root": root,
        "summary": summary,
        "evaluator": evaluator,
        "ckpt": root / "run/checkpoints/last.ckpt",
    }


# ----------------------------------------------------------------------------- training
def test_least_squares_is_the_default_loss_of_the_model_and_loss_still_overrides(compose):
    """A model config chooses its family's default loss (conf/config.yaml lists loss before model)."""
    assert compose("model=cyclegan", "data=mnist5k_to_edges").loss.name == "least_squares"
    assert compose("model=cyclegan", "data=mnist5k_to_edges", "loss=hinge").loss.name == "hinge"
    assert compose("model=dcgan").loss.name == "non_saturating"  # other models keep the global default


def test_a_few_steps_train_all_four_networks_k_to_1(run, compose, tmp_path):
    import lightning as L

    from ganforge.build import build_module

    overrides = tiny(3, 1, 3, "model.d_steps=2")
    L.seed_everything(0, verbose=False)  # as train() does: the run's initial weights
    initial = state(build_module(compose(*overrides)))
    summary = run(*overrides)
    module, trainer, metrics = summary["module"], summary["trainer"], summary["metrics"]
    assert summary["gen_step"] == 3 and trainer.global_step == 3 * (2 + 1)
    g_opt, d_opt = (o.optimizer for o in module.optimizers())
    assert {int(s["step"]) for s in g_opt.state.values()} == {3}
    assert {int(s["step"]) for s in d_opt.state.values()} == {6}
    assert len(g_opt.param_groups[0]["params"]) == len(list(module.g_ab.parameters())) * 2  # one Adam, G + F
    final = state(module)
    for name in NETWORKS:
        keys = [k for k in initial if k.startswith(f"{name}.")]
        assert keys and not all(torch.equal(final[k], initial[k]) for k in keys), f"{name} did not change"
    expected = {"loss/g", "loss/d", "loss/cycle_a", "loss/cycle_b", "loss/identity_g", "loss/identity_f"}
    assert expected | {"loss/adv_a", "loss/adv_b", "a/d/real", "b/d/fake", "b/pool_fraction"} <= set(metrics)
    assert all(np.isfinite(v) for v in metrics.values())
    # ConstantThenLinear(1, 3): steps 1, 2, 3 ran at factors 1, 3/4, 2/4; the lr logged is the next one's
    assert metrics["lr/g"] == pytest.approx(2e-4 / 4) and metrics["lr/d"] == pytest.approx(2e-4 / 4)
    grid = Image.open(tmp_path / "run" / "samples" / "step_0000003.png")
    # 64 samples x 6 panels (A | G(A) | recA | B | F(B) | recB) of 28 px + 2 px padding, 4 samples per row
    assert grid.size == labelled_size(4 * 6 * 30 + 2, 16 * 30 + 2 + 12)  # then labelled: step, run name


def test_discriminators_see_the_last_generator_steps_fakes_through_their_pools(compose):
    from ganforge.build import build_datamodule, build_module

    cfg = compose(*tiny(2, 1, 1, "model.pool_size=16"))
    dm = build_datamodule(cfg)
    dm.setup("fit")
    module = build_module(cfg)
    module.bind_data(dm)
    batches = iter(dm.train_dataloader())
    batch = lambda: dm.on_after_batch_transfer(next(batches), 0)  # noqa: E731

    _, first = module.discriminator_objective(batch())  # nothing pending yet: fresh fakes fill the pools
    assert len(module.pool_b) == 8 and first["b/pool_fraction"] == 0
    b1 = batch()
    module.generator_objective(b1)
    with torch.no_grad():  # instance norm: the same fakes in eval mode as in train mode
        expected_b = module.g_ab(b1["a"])
    _, second = module.discriminator_objective(batch())
    # the G step's 8 fakes complete the pool of 16 unchanged (and D sees them as they are)
    assert torch.allclose(module.pool_b._images[8:16], expected_b, atol=1e-6)
    assert len(module.pending) == 0 and second["b/pool_fraction"] == 0
    fractions = []
    for _ in range(30):
        module.generator_objective(batch())
        fractions.append(float(module.discriminator_objective(batch())[1]["b/pool_fraction"]))
    assert 0.3 < np.mean(fractions) < 0.7, "a full pool swaps each fake with probability 1/2"


def test_resume_mid_run_is_bit_identical_and_continues_the_lr_schedule(run, tmp_path):
    overrides = tiny(6, 2, 5)
    straight = run(*overrides, run_dir=tmp_path / "straight")
    for step in (1, 3):  # in the constant phase; in the decay
        ckpt = tmp_path / "straight" / "checkpoints" / f"step_{step:07d}.ckpt"
        saved = torch.load(ckpt, weights_only=True)
        assert saved["lr_schedulers"][0]["last_epoch"] == step
        assert any(k.startswith("pending.") for k in saved["state_dict"]), "pending fakes are checkpointed"
        resumed = run(*overrides, f"ckpt_path={ckpt}", run_dir=tmp_path / f"r{step}")
        assert resumed["gen_step"] == 6
        assert torch.equal(flat_params(resumed["module"]), flat_params(straight["module"])), step
        for a, b in zip(resumed["module"].optimizers(), straight["module"].optimizers()):
            sa, sb = a.optimizer.state_dict()["state"], b.optimizer.state_dict()["state"]
            assert all(torch.equal(sa[i]["exp_avg_sq"], sb[i]["exp_avg_sq"]) for i in sa)
            assert a.optimizer.param_groups[0]["lr"] == b.optimizer.param_groups[0]["lr"]
        assert resumed["metrics"]["lr/g"] == straight["metrics"]["lr/g"] == pytest.approx(2e-4 / 6)
        for pool in ("pool_a", "pool_b"):
            assert torch.equal(
                getattr(resumed["module"], pool)._images, getattr(straight["module"], pool)._images
            )


def test_ddp_cpu_keeps_all_four_networks_identical(tmp_path):
    _, report = train_ddp_cpu(tmp_path, [*tiny(3, 1, 2), "trainer.checkpoint_every_n_steps=3"])
    rank0, rank1 = report["ranks"]
    assert report["in_sync"] and rank0["gen_step"] == rank1["gen_step"] == 3
    assert {k: rank0[k] for k in NETWORKS} == {k: rank1[k] for k in NETWORKS}


# ----------------------------------------------------------------------------- evaluation and sampling
def test_evaluator_learns_domain_b_and_metrics_score_g_of_a_there(trained, compose):
    from ganforge.build import build_datamodule
    from ganforge.cli.eval import evaluate_cli
    from ganforge.metrics.evaluate import EvalSettings, MetricSuite

    assert trained["evaluator"]["field"] == "b" and trained["evaluator"]["test_accuracy"] > 0.5
    (callback,) = [c for c in trained["summary"]["trainer"].callbacks if hasattr(c, "best_metric")]
    assert np.isfinite(callback.last["fid100_classifier"]), "scored during training"
    assert (trained["root"] / "run" / "checkpoints" / "best.ckpt").is_file()
    out, record = evaluate_cli(
        {"ckpt": str(trained["ckpt"]), "metrics": ["fid100_classifier"]},
        [f"paths.root_dir={trained['root']}"],
    )
    assert np.isfinite(record["metrics"]["fid100_classifier"]) and out.is_file()
    assert record["protocol"]["reference"] == "mnist5k_to_edges:train"

    # an evaluator of another field is refused, not silently used for domain B
    from ganforge.metrics.train_classifier import train_classifier

    dm = build_datamodule(compose("data=mnist5k_to_edges"))
    path = trained["root"] / "a_classifier.pt"
    train_classifier(dm, epochs=0, min_steps=1, path=path, field="a")
    suite = MetricSuite(["fid100_classifier"], dm, EvalSettings(str(path)), field="b")
    with pytest.raises(EvaluationError, match="trained on field 'a'.*compared with field 'b'"):
        suite.prepare()


def test_sample_cli_translates_test_inputs(trained, tmp_path):
    from ganforge.cli.sample import sample_checkpoint

    png, pt = sample_checkpoint(trained["ckpt"], n=5, out=tmp_path)
    module, dm = trained["summary"]["module"], trained["summary"]["trainer"].datamodule
    inputs = module.sampling_inputs(5, 0, dm)
    assert torch.allclose(torch.load(pt, weights_only=True), module.translate(inputs["a"], "a2b"))
    assert Image.open(png).size[1] > 5 * 28


# ----------------------------------------------------------------------------- ganforge-translate
def write_digits(folder: Path, n: int = 3) -> list[Path]:
    from ganforge.data.sources import mnist5k

    folder.mkdir(parents=True, exist_ok=True)
    images, _ = mnist5k("data", "test")
    paths = []
    for i in range(n):
        # bigger and RGB: translate converts to the model's 1 x 28 x 28
        img = Image.fromarray(images[i, 0].numpy()).convert("RGB").resize((56, 70))
        paths.append(folder / f"digit{i}.jpg")
        img.save(paths[-1])
    return paths


def test_translate_a_folder_and_one_image(trained, tmp_path):
    from ganforge.cli.translate import read_image, translate_files

    inputs = write_digits(tmp_path / "in")
    (tmp_path / "in" / "notes.txt").write_text("not an image, skipped in folders")
    written = translate_files(trained["ckpt"], tmp_path / "in", "a2b", tmp_path / "out")
    assert [p.name for p in written] == ["digit0.png", "digit1.png", "digit2.png"]
    module = trained["summary"]["module"]
    x = read_image(inputs[0], (1, 28, 28)).float().div(127.5).sub(1)[None]
    expected = ((module.translate(x, "a2b")[0, 0] + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)
    got = torch.from_numpy(np.asarray(Image.open(written[0])).astype(np.int16))
    assert (got - expected.to(torch.int16)).abs().max() <= 1  # batch of 3 vs 1: float rounding only

    (one,) = translate_files(trained["ckpt"], inputs[1], "b2a", tmp_path / "back")
    assert one.name == "digit1.png" and Image.open(one).size == (28, 28)
    default = translate_files(trained["ckpt"], inputs[2], "b2a")
    assert default[0].parent == trained["root"] / "run" / "translated" / "b2a"


def test_translate_bad_inputs_fail_clearly(trained, run, tmp_path):
    from ganforge.cli.translate import main, translate_files

    ckpt = trained["ckpt"]
    (bad := tmp_path / "bad.png").write_text("not a png")
    with pytest.raises(GanforgeError, match=r"bad.png is not an image ganforge can read"):
        translate_files(ckpt, bad, "a2b", tmp_path / "o")
    with pytest.raises(GanforgeError, match="does not exist"):
        translate_files(ckpt, tmp_path / "missing", "a2b", tmp_path / "o")
    (tmp_path / "empty").mkdir()
    with pytest.raises(GanforgeError, match="holds no images"):
        translate_files(ckpt, tmp_path / "empty", "a2b", tmp_path / "o")
    with pytest.raises(
        GanforgeError, match=r"direction='sideways' is unknown; model=cyclegan translates a2b or b2a"
    ):
        translate_files(ckpt, write_digits(tmp_path / "d", 1)[0], "sideways", tmp_path / "o")
    Image.open(write_digits(tmp_path / "p", 1)[0]).save(tmp_path / "p" / "x.png")
    with pytest.raises(GanforgeError, match="would overwrite the input"):
        translate_files(ckpt, tmp_path / "p" / "x.png", "a2b", tmp_path / "p")
    assert not (tmp_path / "o").exists(), "nothing written for failed inputs"

    gan = run("model=vanilla", "data=ring", "trainer.max_steps=1", run_dir=tmp_path / "gan")
    gan_ckpt = Path(gan["run_dir"]) / "checkpoints" / "last.ckpt"
    with pytest.raises(GanforgeError, match=r"model=vanilla checkpoint.*translation family: model=cyclegan"):
        translate_files(gan_ckpt, tmp_path / "d", "a2b", tmp_path / "o")

    with pytest.raises(SystemExit) as exit_info:  # the CLI prints the message, no traceback, status 2
        main([f"ckpt={ckpt}", f"input={bad}"])
    assert exit_info.value.code == 2


def test_translate_console_script_is_declared():
    text = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text()
    assert 'ganforge-translate = "ganforge.cli.translate:main"' in text


# ----------------------------------------------------------------------------- data
def test_fetch_writes_and_verifies_unpaired_fields(compose, tmp_path):
    from ganforge.cli.fetch import fetch, verify

    cfg = compose(f"paths.root_dir={tmp_path}", "data=mnist5k_to_edges")
    record = fetch(cfg)
    fields = record["splits"]["test"]["fields"]
    assert set(fields) == {"a", "b", "a_labels", "b_labels", "a2b_truth", "b2a_truth"}
    assert fields["a"]["num_samples"] == 500 and fields["a"]["shape"] == [1, 28, 28]
    stored = torch.load(tmp_path / "data" / "mnist5k_to_edges" / "train.pt", weights_only=True)
    assert sorted(stored) == ["a", "a_labels", "b", "b_labels"] and stored["b"].dtype == torch.uint8
    assert verify(cfg) == record


def test_unpaired_two_sources_and_an_empty_domain(compose, tmp_path):
    from ganforge.build import build_datamodule

    folder = tmp_path / "photos"
    folder.mkdir()
    for i in range(9):
        Image.fromarray(np.full((30, 40, 3), 20 * i, dtype=np.uint8)).save(folder / f"{i}.png")
    dm = build_datamodule(compose("data=unpaired", f"data.loader.a={folder}", "data.batch_size=4"))
    dm.setup("fit")
    train = dm.split_fields("train")
    assert train["a"].shape == (9, 1, 28, 28) and train["b"].shape == (60000, 1, 28, 28)  # Fashion-MNIST
    batch = next(iter(dm.train_dataloader()))
    assert set(batch) == {"a", "b"} and batch["a"].shape == (4, 1, 28, 28)

    (tmp_path / "none").mkdir()
    empty = compose("data=unpaired", f"data.loader.b={tmp_path / 'none'}")
    with pytest.raises(DatasetError, match=r"Domain B of data=unpaired \(data.loader.b\).*No images"):
        build_datamodule(empty).setup("fit")
    for d in ("trainA", "trainB", "testA", "testB"):
        (tmp_path / "cg" / d).mkdir(parents=True)
    Image.fromarray(np.zeros((8, 8, 3), dtype=np.uint8)).save(tmp_path / "cg" / "trainA" / "x.png")
    folder_data = build_datamodule(compose("data=cyclegan_folder", f"data.loader.path={tmp_path / 'cg'}"))
    with pytest.raises(DatasetError, match=r"Unpaired data with one domain empty: .*trainB has no images"):
        folder_data.setup("fit")


# ----------------------------------------------------------------------------- the DVC pipeline
def test_dvc_repro_fetches_trains_and_evaluates_cyclegan(tmp_path):
    """fetch (unpaired fields) -> evaluator (domain B) -> train -> evaluate, through real `dvc repro`."""
    import shutil

    from test_pipeline_dvc import compose_params, copy_checkout
    from test_pipeline_dvc import run as run_in

    if shutil.which("dvc", path=str(Path(sys.executable).parent)) is None:
        pytest.skip("dvc is not installed (make install installs it with the tracking extra)")
    repo = copy_checkout(tmp_path / "repo")
    overrides = [o for o in tiny(4, 2, 2) if not o.startswith("trainer.checkpoint")] + [
        "trainer.checkpoint_every_n_steps=2",
        "eval.every_n_steps=2",
        "evaluator.min_steps=20",
        "evaluator.epochs=1",
    ]
    params = compose_params(repo, repo / "params.yaml", overrides)
    assert params["model"]["name"] == "cyclegan" and params["data"]["name"] == "mnist5k_to_edges"
    run_in(repo, "git", "init", "-q")
    run_in(repo, "git", "add", "-A")
    run_in(repo, "git", "commit", "-qm", "copy")
    out = run_in(repo, "dvc", "repro", timeout=600)
    assert all(f"Running stage '{s}'" in out for s in ("fetch", "evaluator", "train", "evaluate"))
    checksums = json.loads((repo / "data" / "mnist5k_to_edges" / "checksums.json").read_text())
    assert "a2b_truth" in checksums["splits"]["test"]["fields"]
    evaluator = torch.load(repo / "outputs/evaluators/mnist5k_to_edges/classifier.pt", weights_only=True)
    assert evaluator["field"] == "b"
    metrics = json.loads((repo / "outputs" / "dvc" / "train" / "metrics.json").read_text())
    assert np.isfinite(metrics["fid10k_classifier"])
    provenance = json.loads((repo / "outputs" / "dvc" / "train" / "metrics.provenance.json").read_text())
    assert provenance["protocol"]["reference"] == "mnist5k_to_edges:train"
    assert "Running stage" not in run_in(repo, "dvc", "repro"), "nothing changed: nothing reruns"

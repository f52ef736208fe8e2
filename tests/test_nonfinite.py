"""NaN/Inf: training stops with a clear error (or skips, or warns) and never checkpoints non-finite values;
ganforge-sample and ganforge-eval refuse non-finite weights and samples."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import lightning as L
import numpy as np
import pytest
import torch
from helpers.nan_at_step import NaNAtStep
from helpers.tensors import flat_params
from PIL import Image

from ganforge.callbacks.nonfinite import NonFiniteGuard
from ganforge.checkpoints import load_checkpoint
from ganforge.cli import eval as eval_cli
from ganforge.cli import sample as sample_cli
from ganforge.config.validate import validate
from ganforge.errors import ConfigError, NonFiniteError
from ganforge.finite import nonfinite_names

BIN = Path(sys.executable).parent
VANILLA = ["model=vanilla", "data.batch_size=32", "trainer.sample_every_n_steps=100"]
# Small networks keep the many checkpoints these tests write (every 2 steps) cheap.
TINY = [
    *VANILLA,
    "model.generator.hidden_dims=[64,64]",
    "model.discriminator.hidden_dims=[64,64]",
    "trainer.checkpoint_every_n_steps=2",
]
CLI = ["trainer.progress_bar=false", "logger=none", *TINY]
# The discriminator's lr jumps from 2e-4 to 2e30 after generator step 3: steps 1-3 are finite.
D_LR_EXPLODES_AFTER_STEP_3 = [
    "+model.d_optimizer.scheduler._target_=torch.optim.lr_scheduler.MultiStepLR",
    "+model.d_optimizer.scheduler._partial_=true",
    "+model.d_optimizer.scheduler.milestones=[3]",
    "+model.d_optimizer.scheduler.gamma=1e34",
]
HELPER = Path(__file__).parent / "helpers" / "nan_at_step.py"


def cli(name: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    return subprocess.run(
        [str(BIN / name), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300
    )


def checkpoints(run_dir: Path) -> list[str]:
    return sorted(p.name for p in (run_dir / "checkpoints").glob("*.ckpt"))


def finite_step(path: Path) -> int:
    """The generator step of a checkpoint whose weights, buffers and optimizer states are all finite."""
    ckpt = load_checkpoint(path)
    assert nonfinite_names(ckpt["state_dict"].items()) == []
    for opt in ckpt["optimizer_states"]:
        for state in opt["state"].values():
            assert nonfinite_names(state.items()) == []
    return ckpt["ganforge"]["gen_step"]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def messages(caplog, text: str) -> list[str]:
    return [r.getMessage() for r in caplog.records if text in r.getMessage()]


# ----------------------------------------------------------------------------- stop (the default)
def test_lr_1e30_stops_at_the_first_step_with_a_clear_error(tmp_path):
    result = cli(
        "ganforge-train",
        *CLI,
        "trainer.max_steps=6",
        "model.g_optimizer.lr=1e30",
        "model.d_optimizer.lr=1e30",
        cwd=tmp_path,
    )
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    error = result.stderr.split("ganforge: error: ", 1)[1]
    assert error.startswith("Training diverged: loss/g (the generator's loss) was nan at generator step 1,")
    for cause in ("learning rate too high (now generator 1e+30", "loss=wasserstein", "16-mixed", "[-1, 1]"):
        assert cause in error
    assert "No checkpoint of this run was written before the failure" in error
    assert not list(tmp_path.rglob("*.ckpt")), "a non-finite checkpoint was written"


def test_divergence_after_a_checkpoint_names_the_step_and_keeps_the_last_finite_checkpoint(tmp_path):
    # Losses are checked every 3 steps and before each checkpoint: step 4's NaN is caught before step_4.ckpt.
    result = cli(
        "ganforge-train",
        *CLI,
        *D_LR_EXPLODES_AFTER_STEP_3,
        "trainer.max_steps=8",
        "trainer.log_every_n_steps=3",
        cwd=tmp_path,
    )
    assert result.returncode == 2, result.stderr[-2000:]
    assert "Traceback" not in result.stderr
    (run_dir,) = (tmp_path / "outputs" / "runs").iterdir()
    last = run_dir / "checkpoints" / "last.ckpt"
    error = result.stderr.split("ganforge: error: ", 1)[1]
    first = r"Training diverged: loss/[dg] \(the \w+'s loss\) was (nan|inf|-inf) at generator step 4,"
    assert re.match(first, error) and "discriminator 2e+30" in error and "found at step 4" in error
    assert f"the last checkpoint, {last}, is from generator step 2. Resume from it with ckpt_path={last}" in (
        error
    )
    assert checkpoints(run_dir) == ["last.ckpt", "step_0000002.ckpt"]
    assert finite_step(last) == 2 and finite_step(run_dir / "checkpoints" / "step_0000002.ckpt") == 2


def test_on_nonfinite_is_validated(compose):
    with pytest.raises(ConfigError, match=r"on_nonfinite='maybe' is unknown.*'stop', 'skip_step', 'warn'"):
        validate(compose("trainer.on_nonfinite=maybe"))


# ----------------------------------------------------------------------------- warn and skip_step
class LastCheckpointDigest(L.Callback):
    """The sha256 of last.ckpt as it was when generator step ``step`` began."""

    def __init__(self, path: Path, step: int):
        self.path, self.step, self.digest = path, step, None

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if pl_module.gen_step + 1 == self.step and self.digest is None:
            self.digest = sha256(self.path)


def test_warn_keeps_training_warns_once_and_never_overwrites_the_finite_checkpoint(run, tmp_path, caplog):
    # A NaN in the real batch of step 3 poisons D for good: every later loss and weight is NaN.
    run_dir = tmp_path / "run"
    digest = LastCheckpointDigest(run_dir / "checkpoints" / "last.ckpt", 3)
    with caplog.at_level(logging.WARNING):
        summary = run(
            *TINY,
            "trainer.max_steps=6",
            "trainer.on_nonfinite=warn",
            run_dir=run_dir,
            callbacks=[NaNAtStep(0, 3), digest],
        )
    assert summary["gen_step"] == 6, "warn keeps training"
    (warning,) = messages(caplog, "training goes on")
    assert "loss/d (the discriminator's loss) was nan at generator step 3," in warning
    (refusal,) = messages(caplog, "not writing")
    assert "step 4" in refusal and "discriminator" in refusal
    assert checkpoints(run_dir) == ["last.ckpt", "step_0000002.ckpt"]
    last = run_dir / "checkpoints" / "last.ckpt"
    assert finite_step(last) == 2 and sha256(last) == digest.digest, "last.ckpt was overwritten"


class NetworksAroundStep(L.Callback):
    """Both networks' weights and D's Adam step count before and after generator step ``step``."""

    def __init__(self, step: int):
        self.step, self.before, self.after = step, None, None

    def _snapshot(self, pl_module):
        d_opt = pl_module.optimizers()[1].optimizer
        d_steps = {int(s["step"]) for s in d_opt.state.values()}
        return flat_params(pl_module.generator), flat_params(pl_module.discriminator), d_steps

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if pl_module.gen_step + 1 == self.step:
            self.before = self._snapshot(pl_module)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if pl_module.gen_step == self.step:
            self.after = self._snapshot(pl_module)


def test_skip_step_does_not_apply_the_non_finite_update(run, tmp_path, caplog):
    run_dir = tmp_path / "run"
    watch = NetworksAroundStep(3)
    with caplog.at_level(logging.WARNING):
        summary = run(
            *TINY,
            "trainer.max_steps=6",
            "trainer.on_nonfinite=skip_step",
            run_dir=run_dir,
            callbacks=[NaNAtStep(0, 3), watch],
        )
    (g0, d0, d_steps0), (g1, d1, d_steps1) = watch.before, watch.after
    assert torch.equal(d0, d1) and d_steps0 == d_steps1 == {2}, "D's NaN-loss update was applied"
    assert not torch.equal(g0, g1), "G's finite update of the same step must be applied"
    (warning,) = messages(caplog, "update is skipped")
    assert warning.startswith("loss/d is not finite at generator step 3: the discriminator update is skipped")
    (guard,) = [c for c in summary["trainer"].callbacks if isinstance(c, NonFiniteGuard)]
    assert guard.skipped == [1, 0]
    assert summary["gen_step"] == 6 and torch.isfinite(torch.tensor(list(summary["metrics"].values()))).all()
    assert checkpoints(run_dir) == ["last.ckpt", *(f"step_000000{s}.ckpt" for s in (2, 4, 6))]
    assert finite_step(run_dir / "checkpoints" / "last.ckpt") == 6


# ----------------------------------------------------------------------------- DDP
def nan_on_rank_1_at_step_3(run_dir: Path, *overrides: str) -> subprocess.CompletedProcess:
    args = [
        "hardware=ddp_cpu",
        "model=vanilla",
        "data=ring",
        "data.batch_size=32",
        "logger=none",
        "trainer.progress_bar=false",
        "trainer.sample_every_n_steps=100",
        "trainer.checkpoint_every_n_steps=2",
        f"paths.root_dir={run_dir.parent}",
        *overrides,
    ]
    return subprocess.run(
        [sys.executable, str(HELPER), "1", "3", str(run_dir), *args],
        cwd=run_dir.parent,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_ddp_ranks_stop_together_on_a_nan_that_only_one_rank_sees(tmp_path):
    result = nan_on_rank_1_at_step_3(tmp_path / "job", "trainer.max_steps=6")
    assert result.returncode == 2, result.stderr[-3000:]
    # Both ranks write to one stderr pipe, so one's message may follow the other's without a newline:
    # split at the rank markers, not at line ends.
    pieces = re.split(r"(?=rank \d: error: )", result.stderr)
    errors = sorted(p.splitlines()[0] for p in pieces if re.match(r"rank \d: error: ", p))
    assert [e[:15] for e in errors] == ["rank 0: error: ", "rank 1: error: "], result.stderr[-3000:]
    # Both ranks report the same (all-gathered) first event: rank 1's loss, although rank 0's was finite.
    assert errors[0][15:] == errors[1][15:]
    assert "loss/d (the discriminator's loss) was nan at generator step 3 on rank 1," in errors[0]
    assert checkpoints(tmp_path / "job") == ["last.ckpt", "step_0000002.ckpt"]
    assert finite_step(tmp_path / "job" / "checkpoints" / "last.ckpt") == 2


def test_ddp_skip_step_skips_on_every_rank_and_keeps_replicas_identical(tmp_path):
    skip = ["trainer.max_steps=4", "trainer.on_nonfinite=skip_step"]
    result = nan_on_rank_1_at_step_3(tmp_path / "job", *skip)
    assert result.returncode == 0, result.stderr[-3000:]
    assert sorted(re.findall(r"rank \d: finished at step 4", result.stdout)) == [
        "rank 0: finished at step 4",
        "rank 1: finished at step 4",
    ]
    report = json.loads((tmp_path / "job" / "replicas.json").read_text())
    assert report["in_sync"], "one rank applied the update the other skipped"
    assert finite_step(tmp_path / "job" / "checkpoints" / "last.ckpt") == 4


# ----------------------------------------------------------------------------- saturation
def test_lr_1e6_warns_once_of_a_saturated_discriminator_then_stops_at_the_checkpoint(run, tmp_path, caplog):
    lr = ["model.g_optimizer.lr=1e6", "model.d_optimizer.lr=1e6", "trainer.checkpoint_every_n_steps=100"]
    with caplog.at_level(logging.WARNING), pytest.raises(NonFiniteError) as failure:
        run(*VANILLA, *lr, "trainer.max_steps=45")
    (warning,) = messages(caplog, "saturated")
    step = int(re.search(r"saturated since generator step (\d+)", warning)[1])
    assert 1 < step <= 40 and "D(real) > 0.999 and D(fake) < 0.001 at 10 consecutive log intervals" in warning
    # The weights stay finite, but Adam's second moments overflow: no such checkpoint is written either.
    assert "optimizer state exp_avg_sq of" in str(failure.value)
    assert not list(tmp_path.rglob("*.ckpt"))


def test_a_normal_run_does_not_warn_of_saturation(run, caplog):
    with caplog.at_level(logging.WARNING):
        summary = run(*VANILLA, "trainer.max_steps=45", "trainer.checkpoint_every_n_steps=100")
    assert summary["gen_step"] == 45 and not messages(caplog, "saturated")


# ----------------------------------------------------------------------------- ganforge-sample / -eval
@pytest.fixture
def nan_checkpoint(run, tmp_path) -> Path:
    """A real tiny checkpoint with one NaN weight in G and one in D."""
    run(*TINY, "trainer.max_steps=2", run_dir=tmp_path / "run")
    ckpt = torch.load(tmp_path / "run" / "checkpoints" / "last.ckpt", weights_only=True)
    for net in ("generator.", "discriminator."):
        key = next(k for k, v in ckpt["state_dict"].items() if k.startswith(net) and v.is_floating_point())
        ckpt["state_dict"][key].view(-1)[0] = float("nan")
    path = tmp_path / "run" / "checkpoints" / "nan.ckpt"
    torch.save(ckpt, path)
    return path


def exits_2(main, argv: list[str], capsys) -> str:
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err


def test_sample_and_eval_refuse_a_checkpoint_with_nan_weights(nan_checkpoint, tmp_path, capsys):
    err = exits_2(sample_cli.main, [f"ckpt={nan_checkpoint}", "n=4", f"out={tmp_path / 'out'}"], capsys)
    assert f"{nan_checkpoint} holds non-finite (NaN/Inf) weights in discriminator, generator" in err
    assert not (tmp_path / "out").exists()
    err = exits_2(eval_cli.main, [f"ckpt={nan_checkpoint}", "metrics=[fid10_classifier]"], capsys)
    assert "holds non-finite (NaN/Inf) weights in discriminator, generator" in err


def test_every_checkpoint_command_refuses_nan_weights_first(nan_checkpoint, tmp_path, capsys):
    """translate, upscale and mix load through the same checks as sample (checkpoints.load_trained_module):
    the non-finite weights are named before the family is even looked at."""
    from ganforge.cli import mix, translate, upscale

    image = tmp_path / "in.png"
    Image.fromarray(np.zeros((16, 16), np.uint8)).save(image)
    commands = {
        translate.main: [f"ckpt={nan_checkpoint}", f"input={image}", f"out={tmp_path / 't'}"],
        upscale.main: [f"ckpt={nan_checkpoint}", f"input={image}", f"out={tmp_path / 'u'}"],
        mix.main: [f"ckpt={nan_checkpoint}", "rows=1", "cols=2", f"out={tmp_path / 'm.png'}"],
    }
    for main, argv in commands.items():
        err = exits_2(main, argv, capsys)
        assert "holds non-finite (NaN/Inf) weights in discriminator, generator" in err, (main, err)
    assert not {"t", "u", "m.png"} & {p.name for p in tmp_path.iterdir()}


def test_eval_refuses_samples_with_nan_or_inf(tmp_path, capsys):
    images = torch.rand(20, 1, 28, 28) * 2 - 1
    images[::2, 0, 5, 5] = float("nan")
    torch.save(images, tmp_path / "half_nan.pt")
    args = ["data=mnist5k", "metrics=[fid10_classifier]", f"paths.root_dir={tmp_path}"]
    err = exits_2(eval_cli.main, [f"samples={tmp_path / 'half_nan.pt'}", *args], capsys)
    assert "10 of 20 samples (50%) contain NaN or Inf values; refusing to score them" in err
    assert not list(tmp_path.glob("*.json"))

    points = torch.randn(2500, 2)
    points[0, 1] = float("inf")
    torch.save(points, tmp_path / "inf.pt")
    argv = [f"samples={tmp_path / 'inf.pt'}", "data=ring", "metrics=[modes2k5]"]
    assert "1 of 2500 samples (0.04%) contain NaN or Inf" in exits_2(eval_cli.main, argv, capsys)


def test_eval_refuses_an_empty_tensor(tmp_path, capsys):
    torch.save(torch.empty(0, 1, 28, 28), tmp_path / "empty.pt")
    argv = [f"samples={tmp_path / 'empty.pt'}", "data=mnist5k", "metrics=[fid10_classifier]"]
    err = exits_2(eval_cli.main, argv, capsys)
    assert f"samples={tmp_path / 'empty.pt'} holds no samples (a tensor of shape [0, 1, 28, 28])" in err

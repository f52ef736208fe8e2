"""Loading a checkpoint never runs code from it, and a file that is not a ganforge checkpoint says what it is.

Crafted checkpoints start from a real one (a 1-step run) with a payload in the stored config. Each payload
creates a marker file when Hydra instantiates it (each test shows that by instantiating it itself, last),
and every path that reads a checkpoint (ganforge-sample, ganforge-eval ckpt=, ganforge-train ckpt_path=)
must refuse the file before the marker appears.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import pickle
import shlex
import subprocess
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import pytest
import torch
import yaml
from hydra.utils import instantiate

from ganforge.build import build_datamodule, resolved_container
from ganforge.checkpoints import load_checkpoint
from ganforge.cli.eval import evaluate_cli, parse_args
from ganforge.cli.sample import sample_checkpoint
from ganforge.config.loading import CONF_DIR
from ganforge.config.safe_targets import (
    LIBRARY_TARGETS,
    allowed_targets,
    is_allowed_target,
    is_scheduler_class,
    unsafe_node,
)
from ganforge.errors import CheckpointError, EvaluationError
from ganforge.metrics.sample_files import load_samples
from ganforge.training import train

BIN = Path(sys.executable).parent
HELPERS = Path(__file__).parent / "helpers"
REFUSED = ("was not written by ganforge or was tampered with", "nothing from it was executed")
TRAIN_ARGS = ["trainer.progress_bar=false", "logger=none", "model=vanilla", "data=ring"]


class Touch:
    """Pickled, this becomes a call of os.system that creates ``path`` (the payload of issue 10)."""

    def __init__(self, path: Path):
        self.path = path

    def __reduce__(self):
        return (os.system, (f"touch {shlex.quote(str(self.path))}",))


@pytest.fixture(scope="module")
def real_ckpt(compose_session, tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("real")
    cfg = compose_session(
        f"paths.root_dir={root}",
        "model=vanilla",
        "data=ring",
        "data.batch_size=32",
        "model.generator.hidden_dims=[16]",
        "model.discriminator.hidden_dims=[16]",
        "trainer.max_steps=1",
        "trainer.checkpoint_every_n_steps=1",
    )
    train(cfg, root / "run")
    return root / "run" / "checkpoints" / "last.ckpt"


def craft(real: Path, out: Path, edit: Callable[[dict], Any]) -> Path:
    """A copy of a real checkpoint whose stored config ``edit`` changed (as an attacker would)."""
    ckpt = torch.load(real, weights_only=True)
    edit(ckpt["ganforge"]["config"])
    torch.save(ckpt, out)
    return out


def touch(marker: Path) -> dict:
    """Creates ``marker`` when instantiated (Hydra runs builtins.open like any other target)."""
    return {"_target_": "builtins.open", "file": str(marker), "mode": "w"}


def node_at(tree: dict, dotted: str) -> dict:
    for key in dotted.split("."):
        tree = tree.setdefault(key, {})
    return tree


@dataclass
class Payload:
    """``place`` puts ``build(marker, dir)`` in a stored config; the refusal names ``where``, ``target``."""

    id: str
    build: Callable[[Path, Path], Any]
    place: Callable[[dict, Any], None]
    where: str
    target: str | None
    fire: Callable[[Any], Any] = instantiate  # how Hydra would run it (proof that it is live)


def replace(dotted: str) -> Callable[[dict, Any], None]:
    parent, _, key = dotted.rpartition(".")

    def _place(cfg: dict, node: Any) -> None:
        (node_at(cfg, parent) if parent else cfg)[key] = node

    return _place


def pickle_bytes(marker: Path, _: Path) -> dict:
    payload = {"_target_": "io.BytesIO", "initial_bytes": pickle.dumps(Touch(marker))}
    return {"_target_": "torch.load", "f": payload, "weights_only": False}


def pickle_file(marker: Path, folder: Path) -> dict:
    (folder / "payload.pkl").write_bytes(pickle.dumps(Touch(marker)))
    return {"_target_": "torch.load", "f": str(folder / "payload.pkl"), "weights_only": False}


def ignore_errors(fn: Callable[[Any], Any]) -> Callable[[Any], None]:
    def _fire(node: Any) -> None:
        try:
            fn(node)
        except Exception:  # noqa: BLE001 - torch.load fails after unpickling ran the payload
            pass

    return _fire


def close(node: Any) -> None:
    instantiate(node).close()


PAYLOADS = [
    Payload(
        "torch.load(BytesIO(pickle)) as model.generator",
        pickle_bytes,
        replace("model.generator"),
        "model.generator._target_",
        "torch.load",
        ignore_errors(instantiate),
    ),
    Payload(
        "torch.load(<pickle file>) as data.loader",
        pickle_file,
        replace("data.loader"),
        "data.loader._target_",
        "torch.load",
        ignore_errors(instantiate),
    ),
    Payload(
        "builtins.open nested in model.generator.net",
        lambda m, _: touch(m),
        replace("model.generator.net"),
        "model.generator.net._target_",
        "builtins.open",
        close,
    ),
    # The Hydra installed here keeps its own blocklist, which refuses the next three (not torch.load, open
    # or torch.save); ganforge refuses them whatever the Hydra version, so their proof runs the call itself.
    Payload(
        "os.system as loss",
        lambda m, _: {"_target_": "os.system", "command": f"touch {shlex.quote(str(m))}"},
        replace("loss"),
        "loss._target_",
        "os.system",
        lambda node: os.system(node["command"]),
    ),
    Payload(
        "builtins.exec with _args_ as model.discriminator",
        lambda m, _: {"_target_": "builtins.exec", "_args_": [f"open({str(m)!r}, 'w').close()"]},
        replace("model.discriminator"),
        "model.discriminator._target_",
        "builtins.exec",
        lambda node: exec(node["_args_"][0]),
    ),
    Payload(
        "subprocess.Popen as logger.csv",
        lambda m, _: {"_target_": "subprocess.Popen", "args": ["touch", str(m)]},
        replace("logger.csv"),
        "logger.csv._target_",
        "subprocess.Popen",
        lambda node: subprocess.Popen(node["args"]).wait(),
    ),
    Payload(
        "_args_ under an allowed target",
        lambda m, _: [touch(m)],
        lambda cfg, node: cfg["model"]["generator"].__setitem__("_args_", node),
        "model.generator._args_",
        None,
        lambda node: close(node[0]),
    ),
    Payload(
        "torch.save (a non-scheduler torch callable) as hardware.strategy",
        lambda m, _: {"_target_": "torch.save", "obj": 0, "f": str(m)},
        replace("hardware.strategy"),
        "hardware.strategy._target_",
        "torch.save",
    ),
    Payload(
        "a partial as model.g_optimizer.scheduler",
        lambda m, _: {**touch(m), "_partial_": True},
        replace("model.g_optimizer.scheduler"),
        "model.g_optimizer.scheduler._target_",
        "builtins.open",
        lambda node: instantiate(node)().close(),
    ),
    Payload(
        "a target nested in a real scheduler",
        lambda m, _: {
            "_target_": "torch.optim.lr_scheduler.LinearLR",
            "_partial_": True,
            "total_iters": touch(m),
        },
        replace("model.d_optimizer.scheduler"),
        "model.d_optimizer.scheduler.total_iters._target_",
        "builtins.open",
    ),
    Payload(
        "a target in a list",
        lambda m, _: [touch(m)],
        replace("model.stabilizers.diffaugment"),
        "model.stabilizers.diffaugment[0]._target_",
        "builtins.open",
        lambda node: close(node[0]),
    ),
    Payload(
        "a target in a new top-level node",
        lambda m, _: touch(m),
        replace("extra"),
        "extra._target_",
        "builtins.open",
        close,
    ),
]


@pytest.mark.parametrize("payload", PAYLOADS, ids=[p.id for p in PAYLOADS])
def test_crafted_checkpoint_is_refused_everywhere_and_runs_nothing(payload, real_ckpt, run, tmp_path):
    marker = tmp_path / "marker"
    node = payload.build(marker, tmp_path)
    crafted = craft(real_ckpt, tmp_path / "crafted.ckpt", lambda cfg: payload.place(cfg, node))
    readers = {
        "load_checkpoint": lambda: load_checkpoint(crafted),
        "ganforge-sample": lambda: sample_checkpoint(crafted, 4, out=tmp_path / "samples"),
        "ganforge-eval": lambda: evaluate_cli(
            *parse_args([f"ckpt={crafted}", "metrics=[fid200_classifier]"])
        ),
        "ganforge-train resume": lambda: run(*TRAIN_ARGS, f"ckpt_path={crafted}"),
    }
    for reader, read in readers.items():
        with pytest.raises(CheckpointError) as refused:
            read()
        message = str(refused.value)
        assert payload.where in message, (reader, message)
        assert payload.target is None or repr(payload.target) in message, (reader, message)
        assert all(text in message for text in REFUSED), (reader, message)
        assert not marker.exists(), f"{reader} ran the payload"
    assert not (tmp_path / "samples").exists() and not (tmp_path / "run").exists()
    # The payload is live: Hydra runs it when asked to, so the refusals above are what kept it from running.
    payload.fire(node)
    assert marker.exists()


@pytest.mark.parametrize(
    "where, value, reason",
    [
        ("data.root", "${oc.env:HOME}", "an interpolation"),
        ("model.latent_dim", torch.tensor(3), "a Tensor, which is not a config value"),
        ("model.latent_dim", "???", "a missing value"),
        ("model.name", b"vanilla", "a bytes, which is not a config value"),
    ],
)
def test_stored_config_values_ganforge_never_writes_are_refused(where, value, reason, real_ckpt, tmp_path):
    crafted = craft(real_ckpt, tmp_path / "c.ckpt", lambda cfg: replace(where)(cfg, value))
    with pytest.raises(CheckpointError, match=reason) as refused:
        load_checkpoint(crafted)
    assert where in str(refused.value) and all(text in str(refused.value) for text in REFUSED)


def test_scheduler_targets_are_checked_on_the_resolved_object_not_the_name():
    for name in ("LinearLR", "CosineAnnealingLR", "ReduceLROnPlateau", "OneCycleLR"):
        assert is_scheduler_class(f"torch.optim.lr_scheduler.{name}")
    # Same prefix, not schedulers: functools.partial, Optimizer, modules the scheduler module imports.
    for target in (
        "torch.optim.lr_scheduler.partial",
        "torch.optim.lr_scheduler.Optimizer",
        "torch.optim.lr_scheduler.Tensor",
        "torch.optim.lr_scheduler.math.sqrt",
        "torch.optim.lr_scheduler.warnings.warn",
        "torch.optim.lr_scheduler.LinearLR.__init__",
        "torch.optim.lr_scheduler",
        "torch.optim.SGD",
        "torch.load",
    ):
        assert not is_allowed_target(target), target


def test_allow_list_is_derived_from_conf_and_the_schema(tmp_path):
    """A new family added under conf/ is accepted with no edit to a list; non-ganforge targets are not."""
    (tmp_path / "model").mkdir()
    new_family = {
        "_target_": "ganforge.families.newfam.NewGAN",
        "generator": {"_target_": "ganforge.networks.newnet.NewGenerator"},
        "g_optimizer": {"scheduler": {"_target_": "torch.optim.lr_scheduler.LinearLR", "_partial_": True}},
    }
    (tmp_path / "model" / "newfam.yaml").write_text(yaml.safe_dump(new_family))
    (tmp_path / "evil.yaml").write_text("x:\n  _target_: os.system\n")
    (tmp_path / "search.yaml").write_text("hydra:\n  sweeper:\n    _target_: optuna.samplers.TPESampler\n")
    allowed = allowed_targets(tmp_path)
    assert {"ganforge.families.newfam.NewGAN", "ganforge.networks.newnet.NewGenerator"} <= allowed
    assert "ganforge.families.wgan.WGAN" in allowed, "schema defaults count too"
    assert {"os.system", "optuna.samplers.TPESampler", "torch.optim.lr_scheduler.LinearLR"}.isdisjoint(
        allowed
    )
    assert all(t.startswith("ganforge.") for t in allowed - LIBRARY_TARGETS)
    assert is_allowed_target("ganforge.families.newfam.NewGAN", tmp_path)
    assert not is_allowed_target("ganforge.families.newfam.NewGAN")  # not in the real conf/


def _job_targets(tree: Any, path: str = "") -> list[tuple[str, Any]]:
    """(key path, value) of every _target_ and _args_ in a conf file, outside Hydra's own ``hydra:`` node."""
    found = []
    if isinstance(tree, dict):
        for key, value in tree.items():
            here = f"{path}.{key}" if path else str(key)
            if here == "hydra":
                continue
            if key in ("_target_", "_args_"):
                found.append((here, value))
            found += _job_targets(value, here)
    elif isinstance(tree, list):
        for i, value in enumerate(tree):
            found += _job_targets(value, f"{path}[{i}]")
    return found


def test_every_target_in_conf_is_accepted():
    """Fails when conf/ gains a target outside ganforge and the schedulers: review it, then add it to
    LIBRARY_TARGETS (ganforge.config.safe_targets) if calling it with any arguments is harmless."""
    found = [
        (p.relative_to(CONF_DIR), *t)
        for p in CONF_DIR.rglob("*.yaml")
        for t in _job_targets(yaml.safe_load(p.read_text()))
    ]
    assert len(found) > 40
    assert [f for f in found if f[1].endswith("_args_")] == [], "ganforge configs never use _args_"
    assert [f for f in found if not is_allowed_target(f[2])] == []


def _options(group: str) -> list[str]:
    found = [f"{group}={p.stem}" for p in sorted((CONF_DIR / group).glob("*.yaml"))]
    folders = {"data=folder", "data=cyclegan_folder", "data=audio_folder"}  # their path has no default
    return [f"{o} data.loader.path=/images" if o in folders else o for o in found]


def test_every_config_group_option_passes_the_check(compose):
    """Every option of every group (so every family, network, data, loss, hardware, logger and experiment
    target) gives a run config a checkpoint may store: what ganforge-sample / -eval then accept."""
    independent = [_options(g) for g in ("model", "data", "loss", "hardware", "logger")]
    # The independent groups in step (option i of each, cycling), so every option occurs at least once.
    combos = [
        " ".join(opts[i % len(opts)] for opts in independent) for i in range(max(map(len, independent)))
    ]
    combos += [*_options("experiment"), *_options("hparams_search"), "logger=[csv,tensorboard,wandb]"]
    assert len(combos) > 15 and sum(map(len, independent)) > 25
    for combo in combos:
        assert unsafe_node(resolved_container(compose(*combo.split()))) is None, combo


def test_a_real_checkpoint_still_samples(real_ckpt, tmp_path):
    png, pt = sample_checkpoint(real_ckpt, 8, out=tmp_path)
    assert png.is_file() and torch.load(pt, weights_only=True).shape == (8, 2)


# --------------------------------------------------------------------------- files that are not checkpoints
def _lightning_checkpoint(path: Path) -> None:
    """A real Lightning checkpoint of another project (Lightning's demo model, one step)."""
    from lightning.pytorch.demos.boring_classes import BoringModel

    trainer = L.Trainer(
        max_steps=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=path.parent,
    )
    trainer.fit(BoringModel())
    trainer.save_checkpoint(path)


def foreign_files(real: Path, folder: Path) -> dict[str, tuple[Path, str]]:
    """name -> (file given as a checkpoint, what the message must say)."""
    folder.mkdir(parents=True)
    files = {
        name: folder / f"{name}.ckpt" for name in ("random", "empty", "truncated", "zip", "npy", "tensor")
    }
    files["random"].write_bytes(np.random.default_rng(0).bytes(4096))
    files["empty"].write_bytes(b"")
    files["truncated"].write_bytes(real.read_bytes()[: real.stat().st_size // 2])
    with zipfile.ZipFile(files["zip"], "w") as z:
        z.writestr("notes.txt", "not a checkpoint")
    buffer = io.BytesIO()
    np.save(buffer, np.zeros(3))
    files["npy"].write_bytes(buffer.getvalue())
    torch.save(torch.zeros(3), files["tensor"])
    files["lightning"] = folder / "lightning.ckpt"
    _lightning_checkpoint(files["lightning"])
    files["namespace_hparams"] = folder / "namespace.ckpt"  # as old Lightning projects save hparams
    torch.save({"state_dict": {}, "hyper_parameters": argparse.Namespace(lr=0.1)}, files["namespace_hparams"])
    files["pickled_code"] = folder / "pickled_code.ckpt"
    torch.save({"state_dict": {}, "x": Touch(folder / "marker")}, files["pickled_code"])
    files["directory"] = folder / "run"
    (files["directory"] / "checkpoints").mkdir(parents=True)
    (files["directory"] / "checkpoints" / "last.ckpt").write_bytes(real.read_bytes())
    files["missing"] = folder / "missing.ckpt"
    expected = {
        "random": "is not a ganforge checkpoint: it is not a file written by torch.save",
        "empty": "is empty (0 bytes)",
        "truncated": "is truncated or corrupt",
        "zip": "is not a ganforge checkpoint: it is a zip archive, but not one written by torch.save",
        "npy": "is not a ganforge checkpoint: it is not a file written by torch.save",
        "tensor": "is not a ganforge checkpoint: it holds a Tensor",
        "lightning": "is not a ganforge checkpoint: it is a Lightning checkpoint of another project",
        "namespace_hparams": "holds Python objects (argparse.Namespace)",
        "pickled_code": "holds Python objects (posix.system)",
        "directory": f"is a directory, not a checkpoint file. Pass one of a run's .ckpt files, e.g. "
        f"ckpt={files['directory'] / 'checkpoints' / 'last.ckpt'}",
        "missing": "does not exist",
    }
    return {name: (files[name], expected[name]) for name in expected}


def test_files_that_are_not_checkpoints_get_a_message_through_every_cli(real_ckpt, tmp_path):
    """ganforge-sample, ganforge-eval and ganforge-train each: exit 2, no traceback, the message names the
    problem, and never PyTorch's advice to retry with weights_only=False."""
    files = foreign_files(real_ckpt, tmp_path / "files")
    args = {
        "sample": lambda p: [f"ckpt={p}"],
        "eval": lambda p: [f"ckpt={p}", "metrics=[fid200_classifier]"],
        "train": lambda p: [*TRAIN_ARGS, f"ckpt_path={p}"],
    }
    cases = [
        (cli, make(path), name, want) for cli, make in args.items() for name, (path, want) in files.items()
    ]
    (tmp_path / "cases.json").write_text(json.dumps([[cli, argv] for cli, argv, _, _ in cases]))
    done = subprocess.run(
        [sys.executable, str(HELPERS / "cli_cases.py"), tmp_path / "cases.json", tmp_path / "results.json"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads((tmp_path / "results.json").read_text())
    for (cli, _, name, want), result in zip(cases, results, strict=True):
        stderr = result["stderr"]
        if cli == "train":
            want = want.replace("ckpt=", "ckpt_path=")
        assert result["code"] == 2, (cli, name, stderr[-1500:])
        assert "Traceback" not in stderr, (cli, name, stderr[-1500:])
        assert want in stderr, (cli, name, stderr[-1500:])
        assert "weights_only" not in stderr, (cli, name, stderr[-1500:])
    assert not (tmp_path / "files" / "marker").exists()


def test_the_issue_payload_through_the_real_console_script(real_ckpt, tmp_path):
    marker = tmp_path / "PWNED"
    crafted = craft(
        real_ckpt,
        tmp_path / "evil.ckpt",
        lambda cfg: replace("model.generator")(cfg, pickle_bytes(marker, tmp_path)),
    )
    done = subprocess.run(
        [str(BIN / "ganforge-sample"), f"ckpt={crafted}", "n=4"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONWARNINGS": "ignore"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert "model.generator._target_: 'torch.load'" in done.stderr and all(t in done.stderr for t in REFUSED)
    assert not marker.exists() and not (tmp_path / "generated").exists()


def test_foreign_sample_files_are_loaded_weights_only(compose, tmp_path):
    """ganforge-eval samples=<x.pt> never unpickles code either, and never suggests weights_only=False."""
    marker = tmp_path / "marker"
    path = tmp_path / "samples.pt"
    torch.save({"samples": torch.zeros(10, 2), "x": Touch(marker)}, path)
    with pytest.raises(EvaluationError, match=r"holds Python objects \(posix.system\)") as refused:
        load_samples(path, build_datamodule(compose("data=ring")))
    assert "weights_only" not in str(refused.value) and not marker.exists()


@pytest.mark.parametrize("given", [None, "", "  "])
def test_an_empty_checkpoint_argument_is_named(given):
    with pytest.raises(CheckpointError, match=r"ckpt= is empty\. Pass ckpt=<run>/checkpoints/last\.ckpt"):
        load_checkpoint(given)

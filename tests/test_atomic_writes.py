"""Atomic writes: checkpoints go through a temporary next to the target (old or new, never half), stale
temporaries are removed at start, files follow the umask, and a full disk keeps the previous checkpoint
with a clear error."""

from __future__ import annotations

import errno
import io
import os
from pathlib import Path

import pytest
import torch

import ganforge.checkpoint_io as checkpoint_io
import ganforge.io as gio
from ganforge.build import build_trainer
from ganforge.checkpoint_io import AtomicCheckpointIO
from ganforge.checkpoints import load_checkpoint
from ganforge.distributed.precision import PerOptimizerMixedPrecision
from ganforge.errors import CheckpointError

TINY = ["model=vanilla", "data=ring", "data.batch_size=32", "trainer.sample_every_n_steps=1000"]


def test_checkpoints_are_written_through_a_temporary_next_to_them(run, tmp_path, monkeypatch):
    replaced = []
    real_replace = os.replace

    def spy(src, dst):
        replaced.append((Path(src), Path(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(gio.os, "replace", spy)
    run(*TINY, "trainer.max_steps=2", "trainer.checkpoint_every_n_steps=1")
    ckpts = [(src, dst) for src, dst in replaced if dst.suffix == ".ckpt"]
    assert {dst.name for _, dst in ckpts} == {"step_0000001.ckpt", "step_0000002.ckpt", "last.ckpt"}
    for src, dst in ckpts:
        assert src.parent == dst.parent and gio.is_stale_temporary(src.name), src
    assert not [p for p in (tmp_path / "run" / "checkpoints").iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize(
    "overrides", [("hardware=cpu",), ("hardware=ddp_cpu",), ("hardware=cpu", "hardware.precision=16-mixed")]
)
def test_every_trainer_checkpoint_goes_through_the_atomic_plugin(compose, tmp_path, overrides):
    # Periodic, last, best and preemption checkpoints all call trainer.save_checkpoint, which hands the
    # file to the strategy's CheckpointIO (on rank zero under DDP).
    trainer = build_trainer(compose(*TINY, *overrides), tmp_path)
    assert isinstance(trainer.strategy.checkpoint_io, AtomicCheckpointIO)
    if "hardware.precision=16-mixed" in overrides:  # its precision plugin and ours both reach the Trainer
        assert isinstance(trainer.precision_plugin, PerOptimizerMixedPrecision)


def test_stale_temporaries_are_removed_when_the_run_starts(run, tmp_path):
    run_dir = tmp_path / "run"
    stale = [run_dir / "checkpoints" / ".last.ckpt.1a2b3c4d.tmp", run_dir / ".config.yaml.k3j_x9qz.tmp"]
    kept = [run_dir / "checkpoints" / "notes.tmp", run_dir / ".keep"]
    for path in stale + kept:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x" * 100)
    run(*TINY, "trainer.max_steps=1")
    assert not any(p.exists() for p in stale) and all(p.exists() for p in kept)


@pytest.mark.parametrize("umask", [0o022, 0o002, 0o077])
def test_atomic_writes_follow_the_umask(tmp_path, umask):
    previous = os.umask(umask)
    try:
        gio.atomic_write_text(tmp_path / "config.yaml", "a: 1\n")
        AtomicCheckpointIO().save_checkpoint({"x": torch.zeros(2)}, tmp_path / "last.ckpt")
    finally:
        os.umask(previous)
    for name in ("config.yaml", "last.ckpt"):
        assert (tmp_path / name).stat().st_mode & 0o777 == 0o666 & ~umask, name


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_a_training_runs_files_and_folders_follow_the_umask(run, tmp_path, umask):
    previous = os.umask(umask)
    try:
        every_step = ("trainer.sample_every_n_steps=1", "trainer.checkpoint_every_n_steps=1")
        run(*TINY, "trainer.max_steps=1", *every_step)
        with gio.atomic_path(tmp_path / "plain.bin") as tmp:
            tmp.write_bytes(b"x")
    finally:
        os.umask(previous)
    run_dir = tmp_path / "run"
    files = [run_dir / "config.yaml", run_dir / "samples" / "step_0000001.png", tmp_path / "plain.bin"]
    files += [run_dir / "checkpoints" / "last.ckpt", run_dir / "checkpoints" / "step_0000001.ckpt"]
    for path in files:
        assert path.stat().st_mode & 0o777 == 0o666 & ~umask, path
    for path in (run_dir, run_dir / "samples", run_dir / "checkpoints"):
        assert path.stat().st_mode & 0o777 == 0o777 & ~umask, path


def test_downloads_follow_the_umask(tmp_path):
    from ganforge.data.archives import download

    (tmp_path / "site.bin").write_bytes(b"abc" * 100)
    previous = os.umask(0o022)
    try:
        assert download((tmp_path / "site.bin").as_uri(), tmp_path / "got" / "file.bin") == 300
    finally:
        os.umask(previous)
    assert (tmp_path / "got" / "file.bin").stat().st_mode & 0o777 == 0o644
    assert os.listdir(tmp_path / "got") == ["file.bin"]


class _FullDisk(io.FileIO):
    """A file on a disk that fills up after ``room`` bytes: write() then fails as the kernel's does."""

    room = 2048

    def write(self, data) -> int:
        if self.tell() + len(data) > self.room:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return super().write(data)


def test_full_disk_keeps_the_previous_checkpoint_and_says_so(run, tmp_path, monkeypatch):
    first = run(*TINY, "trainer.max_steps=2", "trainer.checkpoint_every_n_steps=2")
    ckpt_dir = Path(first["run_dir"]) / "checkpoints"
    last_bytes = (ckpt_dir / "last.ckpt").read_bytes()
    monkeypatch.setattr(checkpoint_io, "open", _FullDisk, raising=False)
    with pytest.raises(CheckpointError, match=r"No space left on device.*disk \(or quota\) is full"):
        run(
            *TINY,
            "trainer.max_steps=4",
            "trainer.checkpoint_every_n_steps=2",
            f"ckpt_path={ckpt_dir / 'last.ckpt'}",
        )
    assert (ckpt_dir / "last.ckpt").read_bytes() == last_bytes, "the previous last.ckpt is intact"
    assert load_checkpoint(ckpt_dir / "last.ckpt")["ganforge"]["gen_step"] == 2
    assert sorted(p.name for p in ckpt_dir.iterdir()) == ["last.ckpt", "step_0000002.ckpt"], "no temporaries"

"""Checkpoint and stop at the next generator step when the cluster announces preemption; requeue on SLURM.

Lightning's own SLURM handler saves a checkpoint inside the signal handler, i.e. wherever the main thread
happens to be: possibly between a discriminator and a generator update, which a resume then repeats. Here
the handler only sets a flag; at the end of the next generator step every process agrees (one boolean
all-reduce per step, so ranks signalled at different moments still stop at the same step), the run's
``last.ckpt`` is written as at any periodic checkpoint (exact resume), the job is requeued and training
stops cleanly. The requeued job resumes from that checkpoint (``scripts/slurm/train_2x8.sbatch``).
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import threading
from pathlib import Path
from types import FrameType
from typing import Any

import lightning as L
from lightning.fabric.plugins.environments import SLURMEnvironment

from ganforge.callbacks.checkpoint import LAST
from ganforge.callbacks.nonfinite import checkpoint_allowed
from ganforge.callbacks.step_callback import GeneratorStepCallback
from ganforge.errors import ConfigError

log = logging.getLogger(__name__)


def resolve_signal(name: str | None) -> signal.Signals | None:
    """``trainer.preemption_signal`` -> a signal: "auto" is SIGUSR1 under SLURM and none elsewhere."""
    if name is None or str(name).lower() in ("none", "null", ""):
        return None
    if str(name).lower() == "auto":
        return signal.SIGUSR1 if SLURMEnvironment.detect() else None
    try:
        return signal.Signals[str(name).upper()]
    except KeyError:
        raise ConfigError(
            f"trainer.preemption_signal={name!r} is not a signal name. Use the signal your cluster sends "
            "before preemption (e.g. SIGUSR1, SIGTERM), auto (SIGUSR1 under SLURM) or null."
        ) from None


def requeue_command() -> list[str] | None:
    """``scontrol requeue <job>`` when running as a SLURM job (array jobs by their array task id)."""
    job = os.environ.get("SLURM_JOB_ID")
    if not job:
        return None
    array_job, array_task = os.environ.get("SLURM_ARRAY_JOB_ID"), os.environ.get("SLURM_ARRAY_TASK_ID")
    if array_job and array_task:
        job = f"{array_job}_{array_task}"
    return ["scontrol", "requeue", job]


class PreemptionCheckpoint(GeneratorStepCallback):
    def __init__(self, dirpath: str | Path, signum: signal.Signals):
        super().__init__(every_n_steps=1)
        self.dirpath = Path(dirpath)
        self.signum = signum
        self.requested = False
        self.preempted_at: int | None = None
        self._previous: Any = None

    def _handler(self, signum: int, frame: FrameType | None) -> None:
        self.requested = True  # act at the next generator step, never mid-step

    def on_train_start(self, trainer: L.Trainer, pl_module: Any) -> None:
        super().on_train_start(trainer, pl_module)
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(self.signum, self._handler)

    def on_generator_step(self, trainer: L.Trainer, pl_module: Any, step: int) -> None:
        if not trainer.strategy.reduce_boolean_decision(self.requested, all=False):
            return
        log.warning("%s: checkpoint at generator step %d, then stop", self.signum.name, step)
        if checkpoint_allowed(trainer, self.dirpath / LAST):  # else last.ckpt stays the last finite one
            trainer.save_checkpoint(self.dirpath / LAST, weights_only=False)
        self.preempted_at = step
        trainer.should_stop = True
        command = requeue_command()
        if command and trainer.is_global_zero:
            try:
                result = subprocess.run(command, capture_output=True, text=True)
                error = result.stderr.strip() if result.returncode != 0 else None
            except OSError as exc:  # no scontrol on this machine
                error = str(exc)
            if error is not None:
                log.error("%s failed (%s): requeue the job by hand", " ".join(command), error)

    def on_train_end(self, trainer: L.Trainer, pl_module: Any) -> None:
        self._restore_handler()

    def on_exception(self, trainer: L.Trainer, pl_module: Any, exception: BaseException) -> None:
        self._restore_handler()  # a failed run must not leave our handler in the process

    def _restore_handler(self) -> None:
        if self._previous is not None and threading.current_thread() is threading.main_thread():
            signal.signal(self.signum, self._previous)
            self._previous = None

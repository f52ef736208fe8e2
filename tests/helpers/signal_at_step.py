"""Train with the real config machinery and send a signal to one rank's own process at a generator step.

    python tests/helpers/signal_at_step.py RANK STEP SIGNAL RUN_DIR [overrides ...]

Used by tests/test_preemption.py to preempt one process of a ``hardware=ddp_cpu`` job at a known step (a
cluster signals processes at moments we cannot choose; the test needs them to be reproducible). Lightning
re-launches this script for rank 1 with the same arguments. Prints ``preempted_at=<step>`` on rank 0.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

import lightning as L

from ganforge.config.loading import compose_config
from ganforge.training import train


class SignalAtStep(L.Callback):
    def __init__(self, rank: int, step: int, signum: signal.Signals):
        self.rank, self.step, self.signum = rank, step, signum

    def on_train_batch_end(self, trainer: L.Trainer, pl_module: Any, *args: Any) -> None:
        if trainer.global_rank == self.rank and pl_module.gen_step == self.step:
            self.step = -1  # once (k discriminator batches may end at the same generator step)
            os.kill(os.getpid(), self.signum)


def main() -> None:
    rank, step, name, run_dir, *overrides = sys.argv[1:]
    cfg = compose_config(overrides)
    summary = train(cfg, run_dir, [SignalAtStep(int(rank), int(step), signal.Signals[name])])
    if summary["trainer"].is_global_zero:
        print(f"preempted_at={summary['preempted_at']}")


if __name__ == "__main__":
    main()

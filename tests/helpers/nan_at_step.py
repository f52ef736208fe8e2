"""Train with the real config machinery and put a NaN into one rank's real batch at a generator step.

    python tests/helpers/nan_at_step.py RANK STEP RUN_DIR [overrides ...]

Used by tests/test_nonfinite.py to make one process of a ``hardware=ddp_cpu`` job diverge at a known step
(bad data on one rank is the case that needs the ranks to agree). Lightning re-launches this script for
rank 1 with the same arguments. Each rank prints ``rank <r>: ...`` with its outcome; a GanforgeError
exits with status 2, as ganforge-train does.
"""

from __future__ import annotations

import sys
from typing import Any

import lightning as L

from ganforge.config.loading import compose_config
from ganforge.errors import GanforgeError
from ganforge.training import train


class NaNAtStep(L.Callback):
    """Sets one element of the real batch to NaN on rank ``rank`` in generator step ``step``, once."""

    def __init__(self, rank: int, step: int):
        self.rank, self.step = rank, step

    def on_train_batch_start(self, trainer: L.Trainer, pl_module: Any, batch: Any, batch_idx: int) -> None:
        if trainer.global_rank == self.rank and pl_module.gen_step + 1 == self.step:
            self.step = -1
            next(v for v in batch.values() if v.is_floating_point()).view(-1)[0] = float("nan")


def main() -> None:
    rank, step, run_dir, *overrides = sys.argv[1:]
    cfg = compose_config(overrides)
    callback = NaNAtStep(int(rank), int(step))
    try:
        summary = train(cfg, run_dir, [callback])
    except GanforgeError as exc:
        from lightning.fabric.utilities.rank_zero import rank_zero_only

        print(f"rank {rank_zero_only.rank}: error: {exc}", file=sys.stderr, flush=True)
        sys.exit(2)
    print(f"rank {summary['trainer'].global_rank}: finished at step {summary['gen_step']}", flush=True)


if __name__ == "__main__":
    main()

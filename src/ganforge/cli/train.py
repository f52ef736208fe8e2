"""``ganforge-train``: Hydra entry point. Example: ganforge-train model=dcgan data=fashion_mnist"""

from __future__ import annotations

import logging
import sys
import warnings

import hydra
from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig

from ganforge.config.loading import CONF_DIR, register_resolvers
from ganforge.config.rundirs import RefusedBeforeRun
from ganforge.errors import ConfigError, GanforgeError

register_resolvers()


def main() -> None:
    """The console script: Hydra's job, plus the errors raised while Hydra picks the run directory."""
    try:
        _hydra_main()
    except RefusedBeforeRun as refused:
        # A bad ckpt_path or an unwritable output dir, found before anything was written (rundirs.py).
        print(f"\nganforge: error: {refused.error}", file=sys.stderr)
        sys.exit(2)


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="config")
def _hydra_main(cfg: DictConfig) -> float | None:
    from ganforge.tracking.objective import objective_value
    from ganforge.training import train

    # Hydra's root handlers already print and write train.log; Lightning's own handler would echo.
    for name in ("lightning.pytorch", "lightning.fabric"):
        logging.getLogger(name).handlers.clear()
    warnings.filterwarnings("ignore", message=".*LeafSpec.*")
    warnings.filterwarnings("ignore", message=".*all_gather is deprecated.*")
    try:
        _refuse_multirun_ddp(cfg)
        summary = train(cfg, HydraConfig.get().runtime.output_dir)
        value = objective_value(summary, cfg.optimized_metric) if cfg.get("optimized_metric") else None
    except GanforgeError as exc:
        print(f"\nganforge: error: {exc}", file=sys.stderr)
        sys.exit(2)
    if summary["trainer"].is_global_zero and summary["preempted_at"] is not None:
        print(
            f"ganforge: preempted at generator step {summary['preempted_at']}; resume with "
            f"ckpt_path={summary['run_dir']}/checkpoints/last.ckpt"
        )
    elif summary["trainer"].is_global_zero:
        print(
            f"ganforge: finished {summary['gen_step']} generator steps; run directory: {summary['run_dir']}"
        )
        if value is not None:
            print(f"ganforge: {cfg.optimized_metric} = {value:.6g}")
    # Returned to Hydra's sweeper (hparams_search=...): the value it minimises or maximises.
    return value


def _refuse_multirun_ddp(cfg: DictConfig) -> None:
    # Lightning re-launches sys.argv for ranks >= 1: under -m that would re-run the whole sweep.
    hw = cfg.hardware
    several = hw.num_nodes > 1 or hw.devices == -1 or (isinstance(hw.devices, int) and hw.devices > 1)
    if HydraConfig.get().mode == RunMode.MULTIRUN and several and hw.strategy != "auto":
        raise ConfigError(
            "A multirun sweep (-m) cannot launch multi-process DDP jobs: Lightning re-launches the command "
            "line for each extra rank, which would re-run the sweep. Sweep with hardware=cpu or "
            "hardware=gpu, or start each DDP job with its own ganforge-train command."
        )


if __name__ == "__main__":
    main()

"""``ganforge-train``: Hydra entry point. Example: ganforge-train model=dcgan data=fashion_mnist"""

from __future__ import annotations

import logging
import sys
import warnings

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from ganforge.config.loading import CONF_DIR, register_resolvers
from ganforge.errors import GanforgeError

register_resolvers()


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="config")
def main(cfg: DictConfig) -> None:
    from ganforge.training import train

    # Hydra's root handlers already print and write train.log; Lightning's own handler would echo.
    for name in ("lightning.pytorch", "lightning.fabric"):
        logging.getLogger(name).handlers.clear()
    warnings.filterwarnings("ignore", message=".*LeafSpec.*")
    warnings.filterwarnings("ignore", message=".*all_gather is deprecated.*")
    try:
        summary = train(cfg, HydraConfig.get().runtime.output_dir)
    except GanforgeError as exc:
        print(f"\nganforge: error: {exc}", file=sys.stderr)
        sys.exit(2)
    if summary["trainer"].is_global_zero:
        print(
            f"ganforge: finished {summary['gen_step']} generator steps; run directory: {summary['run_dir']}"
        )


if __name__ == "__main__":
    main()

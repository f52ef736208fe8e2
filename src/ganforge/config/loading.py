"""Where the configs live, the resolvers they use, and composing them outside the CLI (tests, tools)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from hydra import compose, initialize_config_dir
from omegaconf import DictConfig

from ganforge.config import rundirs
from ganforge.config.schema import register_configs

# conf/ sits at the repository root (editable installs); GANFORGE_CONF points elsewhere.
CONF_DIR = Path(os.environ.get("GANFORGE_CONF", Path(__file__).resolve().parents[3] / "conf"))


def register_resolvers() -> None:
    """The run/sweep directory resolvers of conf/config.yaml's hydra node, and the schema."""
    rundirs.register()
    register_configs()


def compose_config(overrides: Sequence[str] = (), config_name: str = "config") -> DictConfig:
    """Compose ``conf/`` with Hydra overrides, exactly as the CLI does, without running a job."""
    register_resolvers()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose(config_name=config_name, overrides=list(overrides))

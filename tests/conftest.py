"""Shared fixtures: compose configs exactly as the CLI does, and train tiny real runs."""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest

os.environ.setdefault("WANDB_MODE", "disabled")
if os.environ.get("PYTEST_XDIST_WORKER"):
    # `make test` runs two pytest workers on two cores: one math thread each (here and in the CLIs the
    # tests start, which inherit it) instead of four threads fighting over two cores.
    os.environ.setdefault("OMP_NUM_THREADS", "1")
warnings.filterwarnings("ignore", message=".*LeafSpec.*")

from ganforge.config.loading import compose_config  # noqa: E402

# Settings that keep a real training run to seconds on 2 CPU cores.
FAST = [
    "trainer.progress_bar=false",
    "logger=none",
    "trainer.log_every_n_steps=1",
]


@pytest.fixture
def compose():
    def _compose(*overrides: str, fast: bool = True):
        return compose_config([*(FAST if fast else []), *overrides])

    return _compose


@pytest.fixture
def run(compose, tmp_path: Path):
    """Train with overrides in a fresh run directory under tmp_path; returns the summary dict."""
    from ganforge.training import train

    def _run(*overrides: str, run_dir: Path | None = None, callbacks=()):
        cfg = compose(f"paths.root_dir={tmp_path}", *overrides)
        return train(cfg, run_dir or tmp_path / "run", list(callbacks))

    return _run


@pytest.fixture(scope="session")
def compose_session():
    """compose() for session-scoped fixtures."""
    return lambda *overrides: compose_config([*FAST, *overrides])


@pytest.fixture(scope="session")
def mnist_evaluator(compose_session, tmp_path_factory):
    """A classifier-route evaluator trained once on mnist5k (a short budget of 300 steps).

    Saved where ``paths.root_dir=<root>`` runs look for it: <root>/outputs/evaluators/mnist5k/classifier.pt.
    """
    from ganforge.build import build_datamodule
    from ganforge.metrics.train_classifier import train_classifier

    root = tmp_path_factory.mktemp("evalroot")
    path = root / "outputs" / "evaluators" / "mnist5k" / "classifier.pt"
    record = train_classifier(
        build_datamodule(compose_session("data=mnist5k")), epochs=0, min_steps=300, path=path
    )
    return {"root": root, "path": path, "test_accuracy": record["test_accuracy"]}

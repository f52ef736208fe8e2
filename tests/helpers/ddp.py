"""Train through the real CLI on two ``hardware=ddp_cpu`` ranks and read the run's replica report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path


def train_ddp_cpu(cwd: Path, args: list[str], extra_pythonpath: str = "", timeout: int = 400):
    """``ganforge-train *args hardware=ddp_cpu`` in ``cwd`` (no progress bar); returns (run directory,
    replicas.json: {"in_sync", "ranks": [rank 0's, rank 1's {network: hash, "gen_step", ...}]})."""
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    if extra_pythonpath:  # test-only families live under tests/
        env["PYTHONPATH"] = f"{os.environ.get('PYTHONPATH', '')}:{extra_pythonpath}"
    result = subprocess.run(
        [str(Path(sys.executable).parent / "ganforge-train"), *args, "hardware=ddp_cpu",
         "trainer.progress_bar=false"],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    (run_dir,) = (Path(cwd) / "outputs" / "runs").iterdir()
    return run_dir, json.loads((run_dir / "replicas.json").read_text())

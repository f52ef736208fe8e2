"""What a user sees of a running job: the progress bar in generator steps, each log line once, and one
concise line per log interval in train.log (a real tiny run of the console script, console captured)."""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from pathlib import Path

BIN = Path(sys.executable).parent
MAX_STEPS, LOG_EVERY = 4, 2
ARGS = [
    "model=vanilla",
    "data=ring",
    "data.batch_size=32",
    "model.d_steps=2",  # two discriminator batches per generator step: the bar must count the latter
    f"trainer.max_steps={MAX_STEPS}",
    f"trainer.log_every_n_steps={LOG_EVERY}",
    "trainer.sample_every_n_steps=1000",
    "trainer.progress_bar=true",
    "logger=csv",
    "eval.metrics=[modes2k5]",
    f"eval.every_n_steps={LOG_EVERY}",
]
NUMBER = r"(-?\d+(?:\.\d+)?(?:e[-+]?\d+)?|nan|inf)"


def _train(tmp_path: Path) -> tuple[str, Path]:
    # A wide console keeps the bar on one line; no TTY, so Rich prints the finished bar once at the end.
    env = {**os.environ, "COLUMNS": "250", "PYTHONWARNINGS": "ignore"}
    result = subprocess.run(
        [str(BIN / "ganforge-train"), *ARGS, f"paths.output_dir={tmp_path / 'out'}"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    (run_dir,) = (tmp_path / "out" / "runs").iterdir()
    return result.stdout + result.stderr, run_dir


def test_console_and_train_log_of_a_tiny_run(tmp_path):
    console, run_dir = _train(tmp_path)

    # The bar: generator steps out of trainer.max_steps (not the epoch's discriminator batches), losses
    # and the last evaluation, and none of Lightning's epoch counter or logger version.
    bars = [line for line in console.splitlines() if line.startswith("train ")]
    assert bars, console[-3000:]
    bar = bars[-1]
    assert re.search(r"\s(\d+)/(\d+)\s", bar).groups() == (str(MAX_STEPS), str(MAX_STEPS)), bar
    assert "steps/s" in bar, bar
    for name in ("loss/d", "loss/g", "modes2k5_modes"):
        value = re.search(rf"{re.escape(name)}: {NUMBER}", bar)
        assert value and math.isfinite(float(value.group(1))), (name, bar)
    assert "Epoch" not in console and "v_num" not in console, console[-3000:]

    # Lightning's advertisement is gone; every log line (Lightning's and ganforge's) is printed once.
    assert "litlogger" not in console.lower()
    record = re.compile(r"\[[^]]+\]\[(ganforge|lightning)[.\w]*\]")
    records = [line for line in console.splitlines() if record.match(line)]
    assert any("[ganforge." in r for r in records) and any("GPU available" in r for r in records), console
    assert len(records) == len(set(records)), [r for r in records if records.count(r) > 1]
    assert not re.search(r"^INFO: ", console, re.M), "Lightning's own handler echoes its lines"

    # train.log: one concise line per log interval, finite numbers, with the evaluation of that step.
    lines = [
        line.split(" - ", 1)[1]
        for line in (run_dir / "train.log").read_text().splitlines()
        if "[ganforge.callbacks.log_line]" in line
    ]
    assert [int(re.match(r"step (\d+)/", line).group(1)) for line in lines] == [2, 4], lines
    for line in lines:
        assert line.startswith(f"step {line.split()[1]}") and f"/{MAX_STEPS}  loss/d " in line, line
        fields = dict(re.findall(rf"(\S+) {NUMBER}(?=\s|$)", line.split("  ", 1)[1]))
        assert {"loss/d", "loss/g", "d/real", "d/fake", "modes2k5_modes"} <= fields.keys(), line
        assert all(math.isfinite(float(v)) for v in fields.values()), line
        rate = re.search(rf"{NUMBER} steps/s$", line)
        assert rate and float(rate.group(1)) > 0, line

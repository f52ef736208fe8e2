"""Distributed throughput: images/s for 1 and 2 processes, scaling efficiency and DDP overhead.

Multi-process configurations run the real CLI twice (``--short`` and ``--long`` generator steps) and
divide the extra images by the extra wall time, so start-up cancels out. Single-process configurations
are timed in-process over ``--rounds`` alternating rounds (median), since process start-up noise swamps
small models on a GPU. Images are real images consumed by discriminator updates, summed over processes.

CPU (always): 1 process x 1 thread, 1 process x 2 threads, 2 processes (ddp_cpu, gloo) x 1 thread.
GPU (when CUDA is available): 1 process without DDP vs GANDDPStrategy with 1 process (the strategy's
overhead at equal per-device batch); with >= 2 GPUs also DDP on 2 and all GPUs.

    python scripts/bench_ddp.py [--short 10] [--long 40] [overrides ...]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

BASE = [
    "model=dcgan",
    "data=mnist5k",
    "data.batch_size=64",
    "logger=none",
    "trainer.progress_bar=false",
    "trainer.sample_every_n_steps=100000",
    "trainer.checkpoint_every_n_steps=100000",
]


def train_seconds(overrides: list[str], steps: int) -> float:
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [
            sys.executable,
            "-m",
            "ganforge.cli.train",
            *overrides,
            f"trainer.max_steps={steps}",
            f"paths.output_dir={tmp}",
        ]
        start = time.perf_counter()
        result = subprocess.run(
            cmd, capture_output=True, text=True, env={**os.environ, "PYTHONWARNINGS": "ignore"}
        )
        elapsed = time.perf_counter() - start
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed:\n{result.stderr[-2000:]}")
    return elapsed


def images_per_s(overrides: list[str], processes: int, batch: int, short: int, long: int) -> float:
    t_short, t_long = train_seconds(overrides, short), train_seconds(overrides, long)
    return (long - short) * batch * processes / (t_long - t_short)


def in_process_medians(configs: dict[str, list[str]], rounds: int, steps: int) -> dict[str, float]:
    from bench_throughput import ganforge_images_per_s

    results: dict[str, list[float]] = {label: [] for label in configs}
    for _ in range(rounds):
        for label, overrides in configs.items():
            results[label].append(ganforge_images_per_s(overrides, steps, warmup=20))
    return {label: statistics.median(v) for label, v in results.items()}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--short", type=int, default=10)
    parser.add_argument("--long", type=int, default=40)
    parser.add_argument("--skip-cpu", action="store_true")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("overrides", nargs="*")
    args = parser.parse_args()
    base = [*BASE, *args.overrides]
    batch = 64
    for o in base:
        if o.startswith("data.batch_size="):
            batch = int(o.split("=")[1])
    rows: list[tuple[str, float]] = []

    def measure(label: str, overrides: list[str], processes: int) -> float:
        value = images_per_s([*base, *overrides], processes, batch, args.short, args.long)
        rows.append((label, value))
        print(f"{label:<48} {value:9.1f} img/s", flush=True)
        return value

    if not args.skip_cpu:
        one = measure("CPU, 1 process x 1 thread", ["hardware=cpu", "hardware.num_threads=1"], 1)
        measure("CPU, 1 process x 2 threads", ["hardware=cpu", "hardware.num_threads=2"], 1)
        two = measure("CPU, ddp_cpu: 2 processes x 1 thread", ["hardware=ddp_cpu"], 2)
        print(f"CPU scaling efficiency (2 processes vs 2 x 1 process, 1 thread each): {two / (2 * one):.2f}")
    if torch.cuda.is_available():
        medians = in_process_medians(
            {
                "GPU, 1 process, no DDP": [*base, "hardware=gpu"],
                "GPU, GANDDPStrategy with 1 process": [*base, "hardware=ddp", "hardware.devices=1"],
            },
            args.rounds,
            args.long,
        )
        for label, value in medians.items():
            rows.append((label, value))
            print(f"{label:<48} {value:9.1f} img/s (median of {args.rounds} in-process rounds)", flush=True)
        single, ddp1 = medians.values()
        print(f"GPU DDP overhead at equal per-device batch: {100 * (1 - ddp1 / single):.1f}%")
        for n in sorted({2, torch.cuda.device_count()}):
            if torch.cuda.device_count() >= n >= 2:
                v = measure(f"GPU, DDP with {n} processes", ["hardware=ddp", f"hardware.devices={n}"], n)
                print(f"GPU scaling efficiency at {n} GPUs: {v / (n * single):.2f}")
    else:
        print("no CUDA GPU: GPU rows skipped")


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    main()

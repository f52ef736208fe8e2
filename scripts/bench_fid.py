"""Time a 10k-sample classifier FID on this machine, with the real statistics cached.

    PYTHONPATH=src python scripts/bench_fid.py [--data mnist5k] [--model dcgan] [--root .]

Needs the evaluator (``ganforge-train-evaluator data=<data>``). Times, for a generator of ``--model``
(untrained weights cost the same as trained ones): the first run that extracts and caches the real
train-split features, then a cached run split into sampling 10k images, their features, and FID.
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings

import torch

from ganforge.build import build_datamodule, build_module
from ganforge.config.loading import compose_config
from ganforge.metrics.evaluate import EvalSettings, MetricSuite, generate
from ganforge.metrics.registry import format_count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", default="mnist5k")
    parser.add_argument("--model", default="dcgan")
    parser.add_argument("--root", default=".", help="paths.root_dir holding outputs/evaluators/")
    parser.add_argument("--samples", type=int, default=10_000)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    cfg = compose_config([f"data={args.data}", f"model={args.model}", f"paths.root_dir={args.root}"])
    torch.manual_seed(0)
    module = build_module(cfg).eval()
    name = f"fid{format_count(args.samples)}_classifier"
    with tempfile.TemporaryDirectory() as cache:
        settings = EvalSettings.from_config(cfg.eval)
        settings.cache_dir = cache
        t0, c0 = time.perf_counter(), time.process_time()
        MetricSuite([name], build_datamodule(cfg), settings).prepare()
        uncached, uncached_cpu = time.perf_counter() - t0, time.process_time() - c0

        t0, c0 = time.perf_counter(), time.process_time()
        suite = MetricSuite([name], build_datamodule(cfg), settings)
        suite.prepare()  # loads data, hashes it, finds the cached features
        t1, c1 = time.perf_counter(), time.process_time()
        samples = generate(module, args.samples, seed=0)
        t2, c2 = time.perf_counter(), time.process_time()
        with torch.inference_mode():
            value = suite.score(samples)[name]
        t3, c3 = time.perf_counter(), time.process_time()
    print(f"{name} of an untrained {args.model} generator on {args.data}: {value:.2f}")
    # CPU seconds (this process, all threads) next to wall seconds: on a shared machine wall time
    # mostly measures the other jobs.
    print(f"| step | wall s | CPU s ({torch.get_num_threads()} torch threads) |")
    print("|---|---|---|")
    first = "first run: extract + cache real features of the train split"
    print(f"| {first} | {uncached:.1f} | {uncached_cpu:.1f} |")
    print(f"| cached run: load data, hash it, read cached features | {t1 - t0:.1f} | {c1 - c0:.1f} |")
    print(f"| sample {args.samples} images from the generator | {t2 - t1:.1f} | {c2 - c1:.1f} |")
    print(f"| features of the samples + FID | {t3 - t2:.1f} | {c3 - c2:.1f} |")
    print(f"| **total with cached real statistics** | **{t3 - t0:.1f}** | **{c3 - c0:.1f}** |")


if __name__ == "__main__":
    main()

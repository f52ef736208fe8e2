"""Images/s of the ganforge training loop vs a plain PyTorch loop doing the same work.

Both loops use the same networks (built from the same config), batch size, in-memory data, optimizers,
loss and algorithm (k = 1: a discriminator update on a real batch and fresh fakes, then a generator update
on fresh noise). Rounds alternate between the two loops so machine noise hits both alike; the ratio of
median throughputs is printed. Target: >= 0.95 for DCGAN on 28x28 at batch 128.

    python scripts/bench_throughput.py [--steps 60] [--warmup 10] [--rounds 3] [overrides ...]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
import warnings
from pathlib import Path

import lightning as L
import torch
from bench_results import append_result, results_file

from ganforge.build import build_datamodule, build_module
from ganforge.config.loading import compose_config
from ganforge.families.optim import build_optimizer
from ganforge.training import train

warnings.filterwarnings("ignore")
DEFAULT = [
    "model=dcgan",
    "data=mnist5k",
    "data.batch_size=128",
    "loss=non_saturating",
    "logger=none",
    "trainer.progress_bar=false",
    "trainer.sample_every_n_steps=100000",
    "trainer.checkpoint_every_n_steps=100000",
]


class BatchTimer(L.Callback):
    """Wall time from the start of batch ``warmup`` to the end of the last batch."""

    def __init__(self, warmup: int):
        self.warmup = warmup
        self.start = self.end = 0.0
        self.timed_batches = 0

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if trainer.fit_loop.total_batch_idx == self.warmup:
            _sync(pl_module)
            self.start = time.perf_counter()

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if trainer.fit_loop.total_batch_idx >= self.warmup:
            self.timed_batches += 1
            _sync(pl_module)
            self.end = time.perf_counter()


def _sync(module) -> None:
    if module.device.type == "cuda":
        torch.cuda.synchronize()


def ganforge_images_per_s(overrides: list[str], steps: int, warmup: int) -> float:
    timer = BatchTimer(warmup)
    with tempfile.TemporaryDirectory() as tmp:
        cfg = compose_config([*overrides, f"paths.root_dir={tmp}", f"trainer.max_steps={steps + warmup}"])
        train(cfg, tmp, [timer])
    return timer.timed_batches * cfg.data.batch_size / (timer.end - timer.start)


def plain_images_per_s(overrides: list[str], steps: int, warmup: int) -> float:
    cfg = compose_config(overrides)
    L.seed_everything(0, verbose=False)
    device = torch.device("cuda" if cfg.hardware.accelerator in ("gpu", "cuda") else "cpu")
    module = build_module(cfg).to(device)
    G, D, loss = module.generator, module.discriminator, module.loss
    g_opt = build_optimizer(G.parameters(), module.g_optimizer_cfg)
    d_opt = build_optimizer(D.parameters(), module.d_optimizer_cfg)
    dm = build_datamodule(cfg)
    dm.setup("fit")
    data, bs = dm.train_set.samples, cfg.data.batch_size
    for i in range(steps + warmup):
        if i == warmup:
            if device.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
        idx = torch.randint(len(data), (bs,))
        real = data[idx].to(device).float().div_(127.5).sub_(1.0)
        D.requires_grad_(True)
        with torch.no_grad():
            fake = G(torch.randn(bs, module.latent_dim, device=device))
        d_loss = loss.discriminator_loss(D(real), D(fake))
        d_opt.zero_grad(set_to_none=True)
        d_loss.backward()
        d_opt.step()
        D.requires_grad_(False)
        g_loss = loss.generator_loss(D(G(torch.randn(bs, module.latent_dim, device=device))))
        g_opt.zero_grad(set_to_none=True)
        g_loss.backward()
        g_opt.step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return steps * bs / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=60, help="timed generator steps per round")
    parser.add_argument("--warmup", type=int, default=10, help="untimed steps before timing")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument(
        "--out", type=Path, default=results_file("bench_throughput.jsonl"), help="results file (appended)"
    )
    parser.add_argument("overrides", nargs="*", help="extra Hydra overrides")
    args = parser.parse_args()
    overrides = [*DEFAULT, *args.overrides]

    plain, ours = [], []
    for r in range(args.rounds):
        plain.append(plain_images_per_s(overrides, args.steps, args.warmup))
        ours.append(ganforge_images_per_s(overrides, args.steps, args.warmup))
        print(f"round {r + 1}: plain PyTorch {plain[-1]:8.1f} img/s | ganforge {ours[-1]:8.1f} img/s")
    p, g = statistics.median(plain), statistics.median(ours)
    print(
        f"config: {' '.join(args.overrides) or 'dcgan, mnist5k 28x28, batch 128'}; torch threads "
        f"{torch.get_num_threads()}"
    )
    print(
        f"median plain PyTorch: {p:.1f} img/s; median ganforge: {g:.1f} img/s; "
        f"ratio ganforge/plain: {g / p:.3f}"
    )
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout
    result = {
        "date": time.strftime("%Y-%m-%d %H:%M", time.gmtime()),
        "commit": commit.strip() or None,
        "overrides": args.overrides,
        "steps": args.steps,
        "torch_threads": torch.get_num_threads(),
        "plain_img_per_s": plain,
        "ganforge_img_per_s": ours,
        "ratio": g / p,
    }
    append_result(args.out, result)
    print(f"appended to {args.out}")


if __name__ == "__main__":
    main()

"""The perception-distortion result of SRGAN (Ledig et al. 2017), reproduced offline at x4: bicubic vs
SRResNet (pixel MSE) vs SRGAN (content + 1e-3 x adversarial, initialised from the SRResNet).

Sets (both offline):
- ``fashion_mnist``: data=paired_sr_fashion_mnist (28 -> 7 -> 28), scored on all 10,000 test images.
- ``photos``: data=paired_sr_photos with 48 px HR training crops of six bundled photographs, scored on
  the three *other* photographs (chelsea, coffee, flower) as whole images (the SR benchmarks' protocol).

Per set and seed: SRResNet trains ``srresnet_steps`` generator steps on MSE; each SRGAN variant starts from
its checkpoint at ``init_step`` (``model.init_from``, ``model.pretrain_steps=0``) and trains
``adversarial_steps`` more, so SRGAN and the final SRResNet have the same number of generator updates.
Everything trains in-process through ganforge's own entry point (``ganforge.training.train``).

Metrics (ganforge.metrics.super_resolution): ``psnr_y_crop4`` / ``ssim_y_crop4`` (BT.601 Y, 4-pixel border
crop, per image then averaged); ``hf_ratio_y_crop4``, the high-frequency energy above the LR Nyquist limit
relative to HR (1 = as much detail as HR; it counts detail, right or wrong). Fashion-MNIST only:
``fid10k_classifier``, Frechet distance of 10,000 SR test images to the 60,000 HR *train* images (the
reference ganforge-eval uses) on the features of an evaluator classifier trained with another seed
(evaluator.seed=1, ``--fid-evaluator``) than the one content=classifier trains against (seed 0,
``--content-evaluator``): scoring with the network the generator was optimised against would not be
independent. ``fid10k_classifier_content`` is the same distance on that content classifier, for
comparison. The ``hr`` row scores the HR test images themselves (the floor). The photos have no
classifier (no labels) and VGG/LPIPS weights are not available offline, so they get PSNR/SSIM and the HF
ratio only.

    PYTHONPATH=src python scripts/bench_srgan.py [--sets fashion_mnist photos] [--seeds 0 1]
        [--out docs/bench_srgan.jsonl] [--work outputs/bench_srgan] [--picture docs/images]
    PYTHONPATH=src python scripts/bench_srgan.py --table-only        # the README table from the jsonl

Finished (set, method, seed) results are skipped on a rerun; trained checkpoints are reused.
"""

from __future__ import annotations

import argparse
import logging
import statistics
import time
import warnings
from pathlib import Path

import torch
from bench_results import append_result, load_results, require_rows, results_file

warnings.filterwarnings("ignore")
logging.getLogger("lightning.pytorch").setLevel(logging.ERROR)

SCALE = 4
GENERATOR = ["model.generator.width=32", "model.generator.num_blocks=8"]
DISCRIMINATOR = ["model.discriminator.base_width=32", "model.discriminator.dense_width=256"]
SETS: dict[str, dict] = {
    "fashion_mnist": {
        "data": ["data=paired_sr_fashion_mnist", "data.batch_size=32"],
        "srresnet_steps": 3000,
        "init_step": 2000,
        "adversarial_steps": 1000,
        "srgan": {"srgan_classifier": ["model.content=classifier"], "srgan_mse": ["model.content=mse"]},
    },
    "photos": {
        # 96 px HR crops as in the paper, batch 4 (the paper: 16): on two CPU cores SRResNet needs the
        # larger lr to pass bicubic within the budget (lr 1e-4 for 3,000 steps of 48 px crops stayed
        # 0.4 dB below it); the lr drops x0.1 for the last steps.
        "data": ["data=paired_sr_photos", "data.batch_size=4", "data.loader.crops_per_image=256"],
        "srresnet": [
            "model.g_optimizer.lr=5e-4",
            "model.g_optimizer.scheduler={_target_: torch.optim.lr_scheduler.MultiStepLR, _partial_: true,"
            " milestones: [3000], gamma: 0.1}",
        ],
        "srresnet_steps": 5000,
        "init_step": 4000,
        "adversarial_steps": 1000,
        "srgan": {"srgan_mse": ["model.content=mse"]},
    },
}
METHODS = ["bicubic", "srresnet_init", "srresnet", "srgan_classifier", "srgan_mse", "hr"]
LABELS = {
    "bicubic": "bicubic",
    "srresnet_init": "SRResNet (MSE), {init} steps: SRGAN's start",
    "srresnet": "SRResNet (MSE), {total} steps",
    "srgan_classifier": "SRGAN, content=classifier, {init} + {adv} steps",
    "srgan_mse": "SRGAN, content=mse, {init} + {adv} steps",
    "hr": "HR test images (floor)",
}


# ----------------------------------------------------------------------------------------- training
def train_run(
    overrides: list[str], run_dir: Path, steps: int, every: int, threads: int
) -> tuple[Path, float]:
    """Train (resume, or reuse) one run; returns its last checkpoint and training seconds (0 if reused)."""
    from ganforge.config.loading import compose_config
    from ganforge.training import train

    last = run_dir / "checkpoints" / "last.ckpt"
    done = torch.load(last, weights_only=True)["ganforge"]["gen_step"] if last.is_file() else 0
    if done == steps:
        return last, 0.0
    resume = [f"ckpt_path={last.resolve()}"] if 0 < done < steps else []  # an interrupted run goes on
    cfg = compose_config(
        [
            *overrides,
            *resume,
            f"trainer.max_steps={steps}",
            f"trainer.checkpoint_every_n_steps={every}",
            f"trainer.sample_every_n_steps={steps}",
            "trainer.progress_bar=false",
            "logger=csv",
            f"hardware.num_threads={threads}",
            f"paths.root_dir={run_dir.parent}",
        ]
    )
    start = time.perf_counter()
    train(cfg, run_dir)
    return last, time.perf_counter() - start


def load(ckpt: Path):
    from omegaconf import OmegaConf

    from ganforge.build import build_datamodule, build_module
    from ganforge.checkpoints import load_checkpoint

    state = load_checkpoint(ckpt)
    cfg = OmegaConf.create(state["ganforge"]["config"])
    module, datamodule = build_module(cfg), build_datamodule(cfg)
    module.load_trained(state)
    module.bind_data(datamodule)
    return module.eval()


# ----------------------------------------------------------------------------------------- scoring
class Scorer:
    """Test pairs of one set and the metrics on them; ``sr(fn)`` maps uint8 LR -> uint8 SR."""

    def __init__(self, name: str, args: argparse.Namespace, fid: bool = True):
        from ganforge.build import build_datamodule
        from ganforge.config.loading import compose_config
        from ganforge.data import paired_sources as ps

        self.name = name
        cfg = compose_config(SETS[name]["data"])
        if name == "photos":
            pairs = ps.full_image_pairs(cfg.paths.data_dir, "test", SCALE, channels=3)
            self.lr, self.hr = [p["lr"] for p in pairs], [p["hr"] for p in pairs]
            return
        datamodule = build_datamodule(cfg)
        test = datamodule.split_fields("test")
        self.lr, self.hr = test["lr"], test["hr"]
        if not fid:
            return
        train_hr, _ = datamodule.load_split("train")
        from ganforge.metrics.extractors import extract, load_classifier

        self.evaluators = {
            "fid10k_classifier": load_classifier(args.fid_evaluator),
            "fid10k_classifier_content": load_classifier(args.content_evaluator, datamodule.name),
        }
        self.real = {k: extract(e, train_hr)[0] for k, e in self.evaluators.items()}
        self.evaluator_info = {k: {"path": str(p), **e.info} for k, e, p in zip(
            self.evaluators, self.evaluators.values(), (args.fid_evaluator, args.content_evaluator)
        )}  # fmt: skip

    def upscale(self, module) -> torch.Tensor | list[torch.Tensor]:
        from ganforge.data.base import uint8_to_model_space
        from ganforge.families.srgan import to_uint8

        with torch.inference_mode():
            if isinstance(self.lr, list):  # whole images of different sizes, one by one
                return [to_uint8(module.upscale(uint8_to_model_space(x[None])))[0] for x in self.lr]
            return torch.cat([to_uint8(module.upscale(uint8_to_model_space(x))) for x in self.lr.split(500)])

    def bicubic(self) -> torch.Tensor | list[torch.Tensor]:
        from ganforge.metrics.super_resolution import bicubic_upscale

        if isinstance(self.lr, list):
            return [bicubic_upscale(x[None], SCALE)[0] for x in self.lr]
        return bicubic_upscale(self.lr, SCALE)

    def score(self, sr: torch.Tensor | list[torch.Tensor], distortion: bool = True) -> dict:
        from ganforge.metrics import compute
        from ganforge.metrics.extractors import extract
        from ganforge.metrics.super_resolution import hf_ratio_name, high_frequency_ratio, sr_metrics

        scores: dict = {"images": len(sr)}
        if distortion:
            scores.update(sr_metrics(sr, self.hr, SCALE))
        scores[hf_ratio_name(SCALE)] = high_frequency_ratio(sr, self.hr, SCALE)
        for key, evaluator in getattr(self, "evaluators", {}).items():
            scores[key] = compute.fid(self.real[key], extract(evaluator, sr)[0])
        return scores


def run_set(name: str, seed: int, args: argparse.Namespace, done: set, results: list, path: Path) -> None:
    spec = {k: v // args.quick if "step" in k else v for k, v in SETS[name].items()}
    scorer = Scorer(name, args)
    base = [*spec["data"], *GENERATOR, f"trainer.seed={seed}"]
    work = args.work / name / f"seed{seed}"
    steps = {"init": spec["init_step"], "total": spec["srresnet_steps"], "adv": spec["adversarial_steps"]}

    def record(method: str, sr, extra: dict) -> None:
        if (name, method, seed) in done:
            return
        start = time.perf_counter()
        scores = scorer.score(sr, distortion=method != "hr")
        result = {"set": name, "method": method, "seed": seed, "scale": SCALE, **extra, **scores}
        result["eval_seconds"] = round(time.perf_counter() - start, 1)
        if hasattr(scorer, "evaluator_info"):
            result["fid_reference"] = "HR train split (60,000 images)"
            result["evaluators"] = scorer.evaluator_info
        results.append(result)
        append_result(path, result)
        shown = {k: round(v, 4) for k, v in scores.items() if isinstance(v, float)}
        print(f"{name:13s} {method:17s} seed {seed}: {shown}", flush=True)

    record("bicubic", scorer.bicubic(), {"steps": 0})
    record("hr", list(scorer.hr) if isinstance(scorer.hr, list) else scorer.hr, {"steps": 0})
    every = spec["init_step"]  # the SRResNet checkpoint SRGAN starts from
    srresnet = ["model=srresnet", *base, *spec.get("srresnet", [])]
    ckpt, seconds = train_run(srresnet, work / "srresnet", spec["srresnet_steps"], every, args.threads)
    init = ckpt.parent / f"step_{spec['init_step']:07d}.ckpt"
    record("srresnet_init", scorer.upscale(load(init)), {"steps": steps["init"], "content": "mse"})
    record(
        "srresnet",
        scorer.upscale(load(ckpt)),
        {"steps": steps["total"], "content": "mse", "train_seconds": round(seconds, 1)},
    )
    for method, overrides in spec["srgan"].items():
        if (name, method, seed) in done:
            continue
        content = [f"model.content_classifier_path={args.content_evaluator.resolve()}"]
        srgan = ["model=srgan", *base, *DISCRIMINATOR, *overrides, *content, "model.pretrain_steps=0"]
        srgan.append(f"model.init_from={init.resolve()}")
        ckpt, seconds = train_run(srgan, work / method, spec["adversarial_steps"], every, args.threads)
        content_kind = overrides[0].split("=", 1)[1]
        extra = {"steps": steps["init"] + steps["adv"], "content": content_kind}
        record(method, scorer.upscale(load(ckpt)), {**extra, "train_seconds": round(seconds, 1)})


# ----------------------------------------------------------------------------------------- outputs
def _cell(rows: list[dict], key: str, digits: int) -> str:
    values = [r[key] for r in rows if key in r]
    if not values:
        return "–"
    mean = statistics.fmean(values)
    if len(values) < 2:
        return f"{mean:.{digits}f}"
    return f"{mean:.{digits}f} ± {statistics.stdev(values) / len(values) ** 0.5:.{digits}f}"


def table(results: list[dict]) -> str:
    """Markdown: per set and method, mean (± standard error over seeds)."""
    lines = [
        "| set (x4) | method | PSNR-Y crop4 (dB) ↑ | SSIM-Y crop4 ↑ | HF ratio (1 = HR) | FID, indep. "
        "classifier ↓ | FID, content classifier ↓ | seeds |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, spec in SETS.items():
        steps = {"init": spec["init_step"], "total": spec["srresnet_steps"], "adv": spec["adversarial_steps"]}
        for method in METHODS:
            rows = [r for r in results if r["set"] == name and r["method"] == method]
            if not rows:
                continue
            cells = [
                _cell(rows, "psnr_y_crop4", 2),
                _cell(rows, "ssim_y_crop4", 4),
                _cell(rows, "hf_ratio_y_crop4", 3),
                _cell(rows, "fid10k_classifier", 2),
                _cell(rows, "fid10k_classifier_content", 2),
            ]
            label = LABELS[method].format(**{k: f"{v:,}" for k, v in steps.items()})
            lines.append(f"| {name} | {label} | " + " | ".join(cells) + f" | {len(rows)} |")
    return "\n".join(lines)


# 96 px HR crops (24 px LR) of the whole test photographs for the picture: (image, top, left) in HR pixels
PHOTO_SPOTS = [(0, 80, 168), (0, 152, 120), (1, 152, 240), (1, 248, 380), (2, 168, 300), (2, 40, 60)]


def crops(images: list[torch.Tensor], size: int = 96, step: int = 1) -> torch.Tensor:
    """The PHOTO_SPOTS crops of whole images; ``step`` = SCALE for the LR images."""
    return torch.stack(
        [
            images[i][:, t // step : (t + size) // step, s // step : (s + size) // step]
            for i, t, s in PHOTO_SPOTS
        ]
    )


def pictures(args: argparse.Namespace, seed: int = 0) -> None:
    """LR | bicubic | SRResNet | SRGAN | HR on test images, from the seed's checkpoints."""
    import torch.nn.functional as F

    from ganforge.data.base import uint8_to_model_space
    from ganforge.data.render import save_panels

    for name, srgan, file in (
        ("photos", "srgan_mse", "srgan_comparison.png"),
        ("fashion_mnist", "srgan_classifier", "srgan_comparison_fashion.png"),
    ):
        work = args.work / name / f"seed{seed}"
        ckpts = {"SRResNet": work / "srresnet", "SRGAN": work / srgan}
        ckpts = {k: v / "checkpoints" / "last.ckpt" for k, v in ckpts.items()}
        if not all(p.is_file() for p in ckpts.values()):
            print(f"no checkpoints for the {name} picture in {work}; skipped")
            continue
        scorer = Scorer(name, args, fid=False)
        if name == "fashion_mnist":  # eight test images, one of each 1,250
            scorer.lr, scorer.hr = scorer.lr[::1250], scorer.hr[::1250]
        methods = {"bicubic": scorer.bicubic(), **{k: scorer.upscale(load(p)) for k, p in ckpts.items()}}
        if name == "photos":
            panels = {"LR": crops(scorer.lr, step=SCALE), **{k: crops(v) for k, v in methods.items()}}
            panels["HR"] = crops(scorer.hr)
        else:
            panels = {"LR": scorer.lr, **methods, "HR": scorer.hr}
            # 28 px is too small to see: every panel at 84 px (nearest: the pixels stay visible)
            panels = {
                k: F.interpolate(v.float(), size=(84, 84), mode="nearest").to(torch.uint8)
                for k, v in panels.items()
            }
        path = args.picture / file
        save_panels({k: uint8_to_model_space(v) for k, v in panels.items()}, path, samples_per_row=2)
        print(f"wrote {path}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sets", nargs="+", default=list(SETS), choices=list(SETS))
    parser.add_argument("--seeds", nargs="+", type=int, default=[0])
    parser.add_argument("--threads", type=int, default=1, help="torch threads per run")
    parser.add_argument("--out", type=Path, default=results_file("bench_srgan.jsonl"))
    parser.add_argument("--work", type=Path, default=Path("outputs/bench_srgan"))
    parser.add_argument("--picture", type=Path, default=Path("docs/images"))
    evaluators = Path("outputs/evaluators")
    parser.add_argument(
        "--content-evaluator",
        type=Path,
        default=evaluators / "paired_sr_fashion_mnist" / "classifier.pt",
        help="content=classifier's evaluator (ganforge-train-evaluator data=paired_sr_fashion_mnist)",
    )
    parser.add_argument(
        "--fid-evaluator",
        type=Path,
        default=evaluators / "fashion_mnist" / "classifier.pt",
        help="FID's evaluator, another seed (ganforge-train-evaluator data=fashion_mnist evaluator.seed=1)",
    )
    parser.add_argument("--table-only", action="store_true", help="print the table of the jsonl and stop")
    parser.add_argument("--pictures-only", action="store_true", help="only draw the comparison pictures")
    parser.add_argument("--quick", type=int, default=1, help="divide every step count by this (a smoke test)")
    args = parser.parse_args()
    args.out.parent.mkdir(parents=True, exist_ok=True)
    results = load_results(args.out)
    if not args.table_only and not args.pictures_only:
        done = {(r["set"], r["method"], r["seed"]) for r in results}
        for seed in args.seeds:
            for name in args.sets:
                run_set(name, seed, args, done, results, args.out)
    if not args.table_only:
        pictures(args, args.seeds[0])
    else:
        require_rows(args.out, results)
    print(table(results))


if __name__ == "__main__":
    main()

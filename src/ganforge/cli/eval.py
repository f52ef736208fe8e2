"""``ganforge-eval``: score a checkpoint's generator, or samples made by any tool, with named metrics.

    ganforge-eval ckpt=<run>/checkpoints/last.ckpt metrics=[fid10k_classifier,pr10k_classifier]
    ganforge-eval samples=<folder | x.npy | x.pt> data=fashion_mnist metrics=[fid10k_classifier]

With ``ckpt=``, samples come from the checkpoint's generator (EMA copy if kept) for fixed noise
(``seed=``), and the results go to ``<run>/metrics.json``. With ``samples=``, the dataset is chosen by
``data=`` and the results go to ``<samples>.metrics.json`` (or ``out=``). That file holds only the
metrics, ``{name: number}`` (what ``dvc metrics`` / ``dvc exp show`` list); what they depend on (checkpoint
or samples, generator step, seed, timings, the protocol with its extractors' hashes) goes beside it, to
``<name>.provenance.json`` (``metrics.provenance.json``). Other ``key=value`` arguments are overrides of
the config (``eval.classifier_path=...``, ``paths.root_dir=...``, ``data.*`` with samples).
Metric names: see ``ganforge.metrics.registry`` or docs/evaluation.md.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from ganforge.errors import EvaluationError, GanforgeError

USAGE = (
    "usage: ganforge-eval ckpt=<path.ckpt> metrics=[...] [seed=0] [device=cpu] [out=<file.json>] | "
    "ganforge-eval samples=<folder|.npy|.pt> data=<dataset> metrics=[...] [out=<file.json>]"
)
OWN_KEYS = ("ckpt", "samples", "metrics", "seed", "device", "out")


def parse_args(argv: list[str]) -> tuple[dict[str, Any], list[str]]:
    """Split our own arguments from config overrides."""
    from omegaconf import OmegaConf

    bad = [a for a in argv if "=" not in a]
    if bad:
        raise EvaluationError(f"Arguments must be key=value; got {bad}. {USAGE}")
    own = [a for a in argv if a.split("=", 1)[0] in OWN_KEYS]
    overrides = [a for a in argv if a.split("=", 1)[0] not in OWN_KEYS]
    args = dict(OmegaConf.to_container(OmegaConf.from_dotlist(own)))
    if ("ckpt" in args) == ("samples" in args):
        raise EvaluationError(f"Give exactly one of ckpt=<checkpoint> or samples=<path>. {USAGE}")
    metrics = args.get("metrics")
    if isinstance(metrics, str):
        metrics = [metrics]
    if not metrics:
        from ganforge.metrics.registry import describe

        raise EvaluationError(f"Missing metrics=[...]. {describe()} {USAGE}")
    args["metrics"] = [str(m) for m in metrics]
    if not isinstance(args.get("seed", 0), int) or isinstance(args.get("seed"), bool):
        raise EvaluationError(f"seed={args['seed']!r} must be an integer. {USAGE}")
    if "ckpt" in args and any(not o.lstrip("+").startswith(("eval.", "paths.")) for o in overrides):
        raise EvaluationError(
            "With ckpt=, the data and model come from the checkpoint; only eval.* and paths.* overrides "
            f"apply, got {overrides}."
        )
    if "samples" in args and not any(o.startswith("data=") for o in overrides):
        raise EvaluationError(
            f"samples= needs data=<dataset> to compare against (e.g. data=mnist5k). {USAGE}"
        )
    return args, overrides


def _config(args: dict[str, Any], overrides: list[str]):
    from hydra.errors import HydraException
    from omegaconf import OmegaConf
    from omegaconf.errors import OmegaConfBaseException

    from ganforge.config.hydra_errors import composition_message
    from ganforge.config.loading import compose_config

    try:
        if "samples" in args:
            return compose_config(overrides), None
        from ganforge.checkpoints import checkpoint_config, load_checkpoint

        ckpt = load_checkpoint(
            args["ckpt"]
        )  # refuses a stored config naming any target ganforge never writes
        cfg = checkpoint_config(ckpt)
        # Eval settings: the run's own (or today's defaults for runs older than them), then overrides.
        from ganforge.config.schema import EvalConfig

        cfg.eval = OmegaConf.merge(OmegaConf.structured(EvalConfig), cfg.get("eval") or {})
        cfg = OmegaConf.merge(cfg, OmegaConf.from_dotlist([o.lstrip("+") for o in overrides]))
        return cfg, ckpt
    except (HydraException, OmegaConfBaseException) as exc:
        raise EvaluationError(composition_message(exc)) from exc


def _output_path(args: dict[str, Any]) -> Path:
    """out=, else <run>/metrics.json for a checkpoint, else <samples>.metrics.json next to the samples."""
    if args.get("out"):
        return Path(args["out"]).expanduser()
    if "ckpt" in args:
        return Path(args["ckpt"]).resolve().parent.parent / "metrics.json"
    src = Path(args["samples"]).expanduser()
    return src.parent / f"{src.name.removesuffix(src.suffix)}.metrics.json"


def provenance_path(out: Path) -> Path:
    """Where the provenance of the metrics file ``out`` goes: metrics.json -> metrics.provenance.json."""
    return out.with_name(f"{out.name.removesuffix('.json')}.provenance.json")


def evaluate_cli(args: dict[str, Any], overrides: list[str]) -> tuple[Path, dict[str, Any]]:
    """Score, write ``out`` (the metrics) and its provenance file; returns ``out`` and
    ``{"metrics": {...}, **provenance}``."""
    import torch

    from ganforge.build import build_datamodule, build_module
    from ganforge.cli.checks import resolve_device, writable_dir
    from ganforge.finite import check_finite_samples, check_finite_weights
    from ganforge.io import atomic_write_text
    from ganforge.metrics.evaluate import EvalSettings, MetricSuite, generate
    from ganforge.metrics.registry import parse_metrics
    from ganforge.metrics.sample_files import load_samples

    device = resolve_device(args.get("device", "cpu"))
    cfg, ckpt = _config(args, overrides)
    out = _output_path(args)  # checked before any scoring
    if out.is_dir():
        raise EvaluationError(f"out={out} is a directory; give a file name, e.g. out={out / 'metrics.json'}.")
    writable_dir(out.parent, "out", hint="Pass out=<file.json> in a folder you can write to.")
    parse_metrics(args["metrics"])  # a misspelt metric fails before any file is read
    datamodule = build_datamodule(cfg)
    module = None
    if ckpt is not None:
        # Cheap checks of the input first: non-finite weights, unreadable/empty/NaN sample files.
        check_finite_weights(ckpt["state_dict"], args["ckpt"])
        module = build_module(cfg)
        module.bind_data(datamodule)
    else:
        samples = load_samples(args["samples"], datamodule)
    field = module.sample_field if module is not None else None
    suite = MetricSuite(args["metrics"], datamodule, EvalSettings.from_config(cfg.eval), device, field)
    suite.prepare()  # missing evaluator or weights fail here, before sampling
    record: dict[str, Any] = {}
    if module is not None:
        from ganforge.families.base import CHECKPOINT_KEY

        module.load_trained(ckpt)
        module.to(device)
        seed = int(args.get("seed", 0))
        start = time.perf_counter()
        samples = generate(module, suite.num_samples, seed, datamodule)
        check_finite_samples(samples, f"samples generated from {args['ckpt']}")
        record.update(
            checkpoint=str(Path(args["ckpt"]).resolve()),
            gen_step=int(ckpt[CHECKPOINT_KEY]["gen_step"]),
            seed=seed,
            sampling_seconds=time.perf_counter() - start,
        )
    else:
        record["samples"] = str(Path(args["samples"]).resolve())
    start = time.perf_counter()
    with torch.inference_mode():
        metrics = suite.score(samples)
    record.update(
        data=datamodule.name,
        metrics=metrics,
        metric_seconds=time.perf_counter() - start,
        protocol=suite.protocol(),
    )
    provenance = {k: v for k, v in record.items() if k != "metrics"}
    # Provenance first: a metrics file is never left without the record of what produced it.
    atomic_write_text(provenance_path(out), json.dumps(provenance, indent=2) + "\n")
    atomic_write_text(out, json.dumps(metrics, indent=2) + "\n")
    return out, record


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    try:
        out, record = evaluate_cli(*parse_args(argv))
    except GanforgeError as exc:
        print(f"ganforge-eval: error: {exc}", file=sys.stderr)
        sys.exit(2)
    for name, value in record["metrics"].items():
        print(f"{name}: {value:.6g}")
    print(f"wrote {out} (provenance: {provenance_path(out).name})")


if __name__ == "__main__":
    main()

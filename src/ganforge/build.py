"""Build the run's objects from a composed config with hydra.utils.instantiate."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
from hydra.errors import InstantiationException
from hydra.utils import instantiate as hydra_instantiate
from lightning.fabric.plugins.environments import SLURMEnvironment
from omegaconf import DictConfig, OmegaConf

from ganforge.callbacks.checkpoint import PeriodicCheckpoint, RemoveStaleTemporaries
from ganforge.callbacks.log_line import LogLine
from ganforge.callbacks.metrics import metric_callbacks
from ganforge.callbacks.nonfinite import NonFiniteGuard
from ganforge.callbacks.preemption import PreemptionCheckpoint, resolve_signal
from ganforge.callbacks.progress import GeneratorStepProgressBar
from ganforge.callbacks.run_record import RunRecord
from ganforge.callbacks.sample_grid import SampleGrid
from ganforge.callbacks.saturation import SaturationWarning
from ganforge.callbacks.step_callback import MetricLogger, StepBudget
from ganforge.checkpoint_io import AtomicCheckpointIO
from ganforge.data.base import FieldDataModule
from ganforge.distributed.precision import precision_arguments
from ganforge.distributed.replicas import ReplicaConsistencyCheck
from ganforge.errors import GanforgeError
from ganforge.families.base import AdversarialModule


def instantiate(node: Any, **kwargs: Any) -> Any:
    """hydra.utils.instantiate, re-raising our own user-facing errors unwrapped from Hydra's."""
    try:
        return hydra_instantiate(node, **kwargs)
    except InstantiationException as exc:
        cause: BaseException | None = exc
        while cause is not None and not isinstance(cause, GanforgeError):
            cause = cause.__cause__
        if cause is not None:
            raise cause from None
        raise


def resolved_container(cfg: DictConfig) -> dict[str, Any]:
    return OmegaConf.to_container(cfg, resolve=True, enum_to_str=True)  # type: ignore[return-value]


def build_datamodule(cfg: DictConfig) -> FieldDataModule:
    return instantiate(cfg.data)


def build_module(cfg: DictConfig) -> AdversarialModule:
    loss = instantiate(cfg.loss)
    module = instantiate(cfg.model, loss=loss, _convert_="all")
    module.run_config = resolved_container(cfg)
    return module


def build_loggers(cfg: DictConfig, run_dir: Path) -> list[Any]:
    """One Lightning logger per entry of ``cfg.logger``, all writing into the run directory."""
    return [instantiate(spec, save_dir=str(run_dir)) for spec in (cfg.logger or {}).values() if spec]


def picture_run_name(cfg: DictConfig, run_dir: Path) -> str:
    """The name a run's pictures carry: its directory's (what ganforge-compare shows), with ``run_name``
    added where the directory was named by hand (e.g. the DVC stage's ``outputs/dvc/train``)."""
    name = Path(run_dir).name
    return name if str(cfg.run_name) in name else f"{cfg.run_name} ({name})"


def build_callbacks(cfg: DictConfig, run_dir: Path) -> list[L.Callback]:
    t = cfg.trainer
    preemption = resolve_signal(t.preemption_signal)
    return [
        # First: NaN/Inf is caught at a log step before anything logs, renders or saves it.
        NonFiniteGuard(t.on_nonfinite, t.log_every_n_steps, t.max_steps),
        SaturationWarning(t.log_every_n_steps),
        RemoveStaleTemporaries(run_dir),
        RunRecord(run_dir, resolved_container(cfg)),
        StepBudget(t.max_steps),
        MetricLogger(t.log_every_n_steps, final_step=t.max_steps),
        SampleGrid(
            run_dir / "samples",
            t.sample_every_n_steps,
            t.num_sample_images,
            t.seed,
            t.max_steps,
            picture_run_name(cfg, run_dir),
        ),
        PeriodicCheckpoint(run_dir / "checkpoints", t.checkpoint_every_n_steps, t.max_steps),
        *metric_callbacks(cfg, run_dir),  # eval.metrics; none by default
        LogLine(t.log_every_n_steps, t.max_steps),  # after the metrics callback: shows this step's scores
        ReplicaConsistencyCheck(run_dir),
        *([PreemptionCheckpoint(run_dir / "checkpoints", preemption)] if preemption else []),
        # In generator steps out of max_steps; Lightning's default counts batches of the current epoch.
        *([GeneratorStepProgressBar(t.max_steps)] if t.progress_bar else []),
    ]


def build_plugins(cfg: DictConfig) -> tuple[dict[str, Any], list[Any]]:
    """Lightning's ``precision`` argument (if any) and the Trainer's plugins."""
    hw = cfg.hardware
    precision = precision_arguments(str(hw.precision), hw.accelerator)
    plugins = [*precision.pop("plugins", []), AtomicCheckpointIO()]
    # Preemption is handled at generator-step boundaries by PreemptionCheckpoint; Lightning's own SLURM
    # handler would checkpoint mid-step, wherever the signal lands.
    if SLURMEnvironment.detect():
        plugins.append(SLURMEnvironment(auto_requeue=False))
    return precision, plugins


def build_trainer(cfg: DictConfig, run_dir: Path, extra_callbacks: list[L.Callback] = ()) -> L.Trainer:
    hw = cfg.hardware
    precision, plugins = build_plugins(cfg)
    return L.Trainer(
        accelerator=hw.accelerator,
        devices=hw.devices,
        num_nodes=hw.num_nodes,
        strategy=instantiate(hw.strategy) if isinstance(hw.strategy, DictConfig) else hw.strategy,
        **precision,
        sync_batchnorm=hw.sync_batchnorm,
        # The generator-step budget (StepBudget) ends training; Lightning's own limits stay open.
        max_epochs=-1,
        max_steps=-1,
        logger=build_loggers(cfg, run_dir) or False,
        callbacks=[*build_callbacks(cfg, run_dir), *extra_callbacks],
        enable_checkpointing=False,
        enable_progress_bar=cfg.trainer.progress_bar,
        enable_model_summary=False,
        deterministic=cfg.trainer.deterministic,
        # Each rank's batches come from our own sharded sampler (ganforge.data.sampler).
        use_distributed_sampler=False,
        num_sanity_val_steps=0,
        limit_val_batches=0,
        default_root_dir=str(run_dir),
        plugins=plugins,
    )

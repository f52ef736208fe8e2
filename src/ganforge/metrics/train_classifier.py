"""Train the classifier route's feature network on a dataset's train split; test it on the test split.

It learns the data metrics compare generated samples with: the datamodule's reference field and its labels
(``image`` / ``label`` for image datasets; domain ``b`` / ``b_labels`` for unpaired translation data, so the
classifier FID of a CycleGAN's G(a) is measured in its target domain), or another field (``field=``).

Training is a Lightning ``fit`` of :class:`~ganforge.metrics.classifier_module.ClassifierModule` (one
device of ``hardware.accelerator``, seeded like a training run, the step progress bar) and the accuracies a
``test`` of it. No mid-run checkpoints: a run takes a minute or two, and its one output is the saved record
(weights plus the content hash the feature caches are keyed by), written atomically at the end.
:func:`train_evaluator` is ``ganforge-train-evaluator``'s training from a composed config (the ``evaluator``
group), for the CLI and the scripts alike.
"""

from __future__ import annotations

import logging
import time
import warnings
from pathlib import Path
from typing import Any

import lightning as L
import torch
from omegaconf import DictConfig
from torch.utils.data import BatchSampler, DataLoader, RandomSampler, SequentialSampler, TensorDataset

from ganforge.callbacks.progress import StepProgressBar
from ganforge.data.base import FieldDataModule
from ganforge.errors import EvaluationError
from ganforge.io import atomic_path
from ganforge.metrics.classifier_module import ACCURACY_NAMES, ClassifierModule
from ganforge.metrics.extractors import (
    CLASSIFIER_FORMAT,
    build_classifier_net,
    state_dict_hash,
    tensor_hash,
)

log = logging.getLogger(__name__)
SMALL_SPLIT = 20_000  # below this many training images, random shifts are on by default


TEST_BATCH = 1000
TRAIN_ACCURACY_IMAGES = 10_000  # the train accuracy is measured on the first this many training samples


class EvaluatorProgressBar(StepProgressBar):
    """The training steps; the accuracies' test pass (seconds, forward only) draws no bar of its own."""

    description = "evaluator"

    def on_test_start(self, trainer: L.Trainer, pl_module: Any) -> None:
        pass

    def on_test_batch_start(self, *args: Any, **kwargs: Any) -> None:
        pass

    def on_test_batch_end(self, *args: Any, **kwargs: Any) -> None:
        pass


def one_device_trainer(
    steps: int, accelerator: str = "cpu", progress_bar: bool = False, deterministic: bool | None = None
) -> L.Trainer:
    """The Trainer of the evaluators (this classifier, ganforge.text.joint_embedding): one device (they
    train in minutes; hardware.devices/strategy are for GANs), one epoch of ``steps`` batches, no logger,
    no mid-run checkpoints (see the module docstring), no validation."""
    return L.Trainer(
        accelerator=accelerator,
        devices=1,
        max_epochs=1,
        max_steps=steps,
        logger=False,
        enable_checkpointing=False,
        enable_model_summary=False,
        enable_progress_bar=progress_bar,
        callbacks=[EvaluatorProgressBar(steps)] if progress_bar else [],
        deterministic=deterministic,
        use_distributed_sampler=False,
        num_sanity_val_steps=0,
        limit_val_batches=0,
    )


def _batches(samples: torch.Tensor, labels: torch.Tensor, sampler: Any) -> DataLoader:
    # Whole batches indexed out of in-memory tensors (batch_size=None: the sampler yields index lists), not
    # one __getitem__ per sample and a collate; no workers, which would only copy the tensors to them.
    return DataLoader(TensorDataset(samples, labels), sampler=sampler, batch_size=None)


def train_classifier(
    datamodule: FieldDataModule,
    epochs: int = 4,
    min_steps: int = 600,
    batch_size: int = 128,
    lr: float = 2e-3,
    weight_decay: float = 1e-4,
    feature_dim: int | None = None,
    seed: int = 0,
    augment_shift: float | None = None,
    path: str | Path | None = None,
    config: dict[str, Any] | None = None,
    field: str | None = None,
    accelerator: str = "cpu",
    deterministic: bool | None = None,
    progress_bar: bool = False,
) -> dict[str, Any]:
    """Train for max(min_steps, epochs passes) batches, test on the test split, and (if ``path``) save
    atomically; returns the saved record. ``deterministic`` is Lightning's (None leaves torch's setting)."""
    if epochs < 0 or min_steps < 0 or batch_size < 1 or lr <= 0:
        raise EvaluationError(
            f"evaluator.epochs={epochs}, min_steps={min_steps} must be >= 0 and batch_size={batch_size}, "
            f"lr={lr} > 0."
        )
    if not datamodule.num_classes:
        raise EvaluationError(
            f"data={datamodule.name} has no class labels (data.num_classes); no classifier."
        )
    field = field or datamodule.sample_field
    train_x, train_y = datamodule.reference(field, "train")
    test_x, test_y = datamodule.reference(field, "test")
    if train_y is None or test_y is None:
        raise EvaluationError(
            f"Field {field!r} of data={datamodule.name} has no class labels (no {field}_labels field), so "
            "no classifier can be trained on it; choose a labelled field (evaluator.field=...)."
        )
    shape = list(train_x.shape[1:])
    num_classes = int(datamodule.num_classes)
    if augment_shift is None:
        augment_shift = 2.0 if len(train_x) < SMALL_SPLIT else 0.0
    batch_size = min(batch_size, len(train_x))
    steps = max(1, min_steps, epochs * (len(train_x) // batch_size))

    L.seed_everything(seed, workers=True, verbose=False)  # the initial weights
    net = build_classifier_net(shape, num_classes, feature_dim)
    module = ClassifierModule(net, shape, num_classes, lr, weight_decay, steps, augment_shift, seed)
    # One Lightning epoch is the whole run: `steps` batches drawn from successive shuffles of the train
    # split, so the bar and the schedule count the run's steps, not passes over a small split.
    order = RandomSampler(
        train_x, num_samples=steps * batch_size, generator=torch.Generator().manual_seed(seed)
    )
    train_batches = _batches(train_x, train_y, BatchSampler(order, batch_size, drop_last=True))
    test_batches = [
        _batches(x, y, BatchSampler(SequentialSampler(x), TEST_BATCH, drop_last=False))
        for x, y in ((test_x, test_y), (train_x[:TRAIN_ACCURACY_IMAGES], train_y[:TRAIN_ACCURACY_IMAGES]))
    ]
    trainer = one_device_trainer(steps, accelerator, progress_bar, deterministic)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*does not have many workers.*")  # see _batches
        trainer.fit(module, train_dataloaders=train_batches)
        train_seconds = time.perf_counter() - start
        trainer.test(module, dataloaders=test_batches, verbose=False)  # -> trainer.callback_metrics
    net.cpu().eval()
    state = {k: v.detach().clone() for k, v in net.state_dict().items()}
    record = {
        "format": CLASSIFIER_FORMAT,
        "data": datamodule.name,
        "field": field,
        "shape": shape,
        "num_classes": num_classes,
        "feature_dim": int(net.num_features),
        "state_dict": state,
        "weights_hash": state_dict_hash(state),
        "train_data_hash": tensor_hash(train_x, train_y),
        **{name: float(trainer.callback_metrics[name]) for name in ACCURACY_NAMES},
        "train_seconds": train_seconds,
        "train_steps": steps,
        "augment_shift": augment_shift,
        "config": config or {},
    }
    if path is not None:
        with atomic_path(path) as tmp:
            torch.save(record, tmp)
    return record


def train_evaluator(
    cfg: DictConfig,
    datamodule: FieldDataModule | None = None,
    path: str | Path | None = None,
    progress_bar: bool | None = None,
) -> dict[str, Any]:
    """The evaluator of ``ganforge-train-evaluator``: ``cfg.evaluator``'s settings on ``cfg.data`` (or
    ``datamodule``), on ``hardware.accelerator``, saved to ``path`` (default ``evaluator.path``) with the
    resolved evaluator and data config; ``progress_bar`` defaults to ``trainer.progress_bar``."""
    from ganforge.build import build_datamodule, resolved_container
    from ganforge.config.validate import check_accelerator

    hw = cfg.hardware
    check_accelerator(hw.accelerator)
    if hw.num_threads:
        torch.set_num_threads(hw.num_threads)
    resolved = resolved_container(cfg)
    ev = cfg.evaluator
    return train_classifier(
        datamodule if datamodule is not None else build_datamodule(cfg),
        epochs=ev.epochs,
        min_steps=ev.min_steps,
        batch_size=ev.batch_size,
        lr=ev.lr,
        weight_decay=ev.weight_decay,
        augment_shift=ev.augment_shift,
        feature_dim=ev.feature_dim,
        seed=ev.seed,
        path=ev.path if path is None else path,
        field=ev.get("field"),
        config={"evaluator": resolved["evaluator"], "data": resolved["data"]},
        accelerator=hw.accelerator,
        deterministic=cfg.trainer.deterministic,
        progress_bar=cfg.trainer.progress_bar if progress_bar is None else progress_bar,
    )

"""Train the classifier route's feature network on a dataset's train split; test it on the test split.

It learns the data metrics compare generated samples with: the datamodule's reference field and its labels
(``image`` / ``label`` for image datasets; domain ``b`` / ``b_labels`` for unpaired translation data, so the
classifier FID of a CycleGAN's G(a) is measured in its target domain), or another field (``field=``).
"""

from __future__ import annotations

import logging
import time
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F

from ganforge.data.base import FieldDataModule
from ganforge.errors import EvaluationError
from ganforge.io import atomic_path
from ganforge.metrics.extractors import (
    CLASSIFIER_FORMAT,
    ClassifierExtractor,
    build_classifier_net,
    state_dict_hash,
    tensor_hash,
)

log = logging.getLogger(__name__)
SMALL_SPLIT = 20_000  # below this many training images, random shifts are on by default


def _accuracy(extractor: ClassifierExtractor, samples: torch.Tensor, labels: torch.Tensor) -> float:
    extractor.eval()
    correct = 0
    for xs, ys in zip(samples.split(1000), labels.split(1000)):
        correct += int((extractor(xs)[1].argmax(1) == ys).sum())
    return correct / len(labels)


def _shift(x: torch.Tensor, max_shift: float, g: torch.Generator) -> torch.Tensor:
    """Random translations of up to ``max_shift`` pixels (bilinear), one per image."""
    n, _, h, w = x.shape
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = theta[:, 1, 1] = 1.0
    theta[:, :, 2] = (torch.rand(n, 2, generator=g) * 2 - 1) * max_shift * 2 / torch.tensor([w, h])
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    return F.grid_sample(x, grid, align_corners=False, padding_mode="border")


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
) -> dict[str, Any]:
    """Train for max(min_steps, epochs passes) batches, test on the test split, and (if ``path``) save
    atomically; returns the saved record."""
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
    torch.manual_seed(seed)
    net = build_classifier_net(shape, int(datamodule.num_classes), feature_dim)
    extractor = ClassifierExtractor(net, shape, weights_hash="", info={})
    optimizer = torch.optim.Adam(net.parameters(), lr=lr, weight_decay=weight_decay)
    if augment_shift is None:
        augment_shift = 2.0 if len(train_x) < SMALL_SPLIT else 0.0
    batch_size = min(batch_size, len(train_x))
    per_epoch = len(train_x) // batch_size
    steps = max(1, min_steps, epochs * per_epoch)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=lr, total_steps=steps)
    g = torch.Generator().manual_seed(seed)
    start = time.perf_counter()
    net.train()
    for step in range(steps):
        if step % per_epoch == 0:
            order = torch.randperm(len(train_x), generator=g)
        idx = order[(step % per_epoch) * batch_size : (step % per_epoch + 1) * batch_size]
        x = extractor.prepare(train_x[idx])
        if augment_shift > 0 and x.dim() == 4:
            x = _shift(x, augment_shift, g)
        _, logits = net(x)
        loss = F.cross_entropy(logits, train_y[idx])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        scheduler.step()
        if (step + 1) % 200 == 0:
            log.info("evaluator step %d/%d: batch loss %.4f", step + 1, steps, loss.item())
    net.eval()
    state = {k: v.detach().clone() for k, v in net.state_dict().items()}
    record = {
        "format": CLASSIFIER_FORMAT,
        "data": datamodule.name,
        "field": field,
        "shape": shape,
        "num_classes": int(datamodule.num_classes),
        "feature_dim": int(net.num_features),
        "state_dict": state,
        "weights_hash": state_dict_hash(state),
        "train_data_hash": tensor_hash(train_x, train_y),
        "test_accuracy": _accuracy(extractor, test_x, test_y),
        "train_accuracy": _accuracy(extractor, train_x[:10000], train_y[:10000]),
        "train_seconds": time.perf_counter() - start,
        "train_steps": steps,
        "augment_shift": augment_shift,
        "config": config or {},
    }
    if path is not None:
        with atomic_path(path) as tmp:
            torch.save(record, tmp)
    return record

"""FID, KID, IS (torchmetrics) and k-NN precision/recall (torch-fidelity) on precomputed features.

Features are extracted once per sample set (:mod:`.extractors`) and handed to the library metrics through
an identity "feature network", so one extraction serves every metric and the real side can come from the
cache. Every computation runs under a fixed seed in a forked RNG: results are reproducible and training's
random streams are untouched. ``sync_on_compute=False``: under DDP the caller gathers features from all
ranks first, so every rank already holds the full sets and computes the same number.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn

KID_SUBSETS = 100
KID_SUBSET_SIZE = 1000
IS_SPLITS = 10
PR_NEIGHBORHOOD = 3


class PrecomputedFeatures(nn.Module):
    """The "feature network" handed to torchmetrics: inputs already are the features."""

    def __init__(self, num_features: int):
        super().__init__()
        self.num_features = num_features

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x


@contextmanager
def seeded(seed: int) -> Iterator[None]:
    with torch.random.fork_rng(devices=[]), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torchmetrics' memory warnings for list states
        torch.manual_seed(seed)
        yield


def fid(real: torch.Tensor, fake: torch.Tensor) -> float:
    from torchmetrics.image.fid import FrechetInceptionDistance

    metric = FrechetInceptionDistance(feature=PrecomputedFeatures(real.shape[1]), sync_on_compute=False)
    metric.update(real.double(), real=True)
    metric.update(fake.double(), real=False)
    return float(metric.compute())


def kid(real: torch.Tensor, fake: torch.Tensor, seed: int = 0) -> tuple[float, float]:
    """KID (mean, std over 100 subsets of min(1000, n) samples), polynomial kernel of degree 3."""
    from torchmetrics.image.kid import KernelInceptionDistance

    subset = min(KID_SUBSET_SIZE, len(real), len(fake))
    with seeded(seed):
        metric = KernelInceptionDistance(
            feature=PrecomputedFeatures(real.shape[1]),
            subsets=KID_SUBSETS,
            subset_size=subset,
            sync_on_compute=False,
        )
        # float32: 100 kernel matrices of subset^2 entries dominate the cost; the cubic kernel of
        # O(10)-sized values loses nothing that matters at float32 precision.
        metric.update(real.float(), real=True)
        metric.update(fake.float(), real=False)
        mean, std = metric.compute()
    return float(mean), float(std)


def inception_score(logits: torch.Tensor, seed: int = 0) -> tuple[float, float]:
    """IS (mean, std over 10 splits) from class logits; bounded by the number of classes."""
    from torchmetrics.image.inception import InceptionScore

    with seeded(seed):
        metric = InceptionScore(
            feature=PrecomputedFeatures(logits.shape[1]), splits=IS_SPLITS, sync_on_compute=False
        )
        metric.update(logits.double())
        mean, std = metric.compute()
    return float(mean), float(std)


def precision_recall(real: torch.Tensor, fake: torch.Tensor, seed: int = 0) -> tuple[float, float]:
    """Improved precision and recall (Kynkaanniemi et al. 2019), k = 3, torch-fidelity's implementation.

    As in the paper, both sets have the same size: a seeded random subset of the real features is used.
    """
    from torch_fidelity.metric_prc import calculate_precision_recall_part

    n = min(len(real), len(fake))
    with seeded(seed):
        real = real[torch.randperm(len(real))[:n]]
        fake = fake[torch.randperm(len(fake))[:n]]
    precision, recall = calculate_precision_recall_part(
        fake.float(), real.float(), neighborhood=PR_NEIGHBORHOOD, batch_size=2000
    )
    return float(precision), float(recall)


def nearest_neighbour_distances(
    fake: torch.Tensor, train: torch.Tensor, chunk: int = 256
) -> tuple[float, float]:
    """(D_self, D_train) of Donahue et al. 2019: the mean Euclidean distance of each generated sample to
    its nearest neighbour among the *other* generated samples (low: little diversity) and among the
    training samples (near zero: memorised). Exact, in chunks of ``chunk`` rows (float64 sums)."""
    fake, train = fake.double(), train.double()
    to_self, to_train = [], []
    for start in range(0, len(fake), chunk):
        rows = fake[start : start + chunk]
        d_self = torch.cdist(rows, fake)
        idx = torch.arange(len(rows))
        d_self[idx, idx + start] = float("inf")  # not itself
        to_self.append(d_self.min(dim=1).values)
        to_train.append(torch.cdist(rows, train).min(dim=1).values)
    return float(torch.cat(to_self).mean()), float(torch.cat(to_train).mean())

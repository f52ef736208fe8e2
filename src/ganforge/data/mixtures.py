"""2-D Gaussian mixtures of the mode-collapse literature (VEEGAN, PacGAN protocol).

ring: 8 modes on the unit circle (angles 2*pi*k/8, k = 0..7), std 0.01.
grid: 25 modes at {-4, -2, 0, 2, 4}^2, std 0.05.
"""

from __future__ import annotations

import math
from pathlib import Path

import torch

from ganforge.data.base import InMemoryDataModule
from ganforge.errors import ConfigError
from ganforge.io import atomic_path


def ring_means(num_modes: int = 8, radius: float = 1.0) -> torch.Tensor:
    # endpoint excluded: a closed linspace would put mode 0 and mode 8 on the same point.
    angles = torch.arange(num_modes, dtype=torch.float64) * (2 * math.pi / num_modes)
    return torch.stack([radius * torch.cos(angles), radius * torch.sin(angles)], dim=1).float()


def grid_means(side: int = 5, spacing: float = 2.0) -> torch.Tensor:
    coords = (torch.arange(side, dtype=torch.float32) - (side - 1) / 2) * spacing
    xs, ys = torch.meshgrid(coords, coords, indexing="ij")
    return torch.stack([xs.flatten(), ys.flatten()], dim=1)


LAYOUTS = {"ring": ring_means, "grid": grid_means}


def mixture_means(layout: str) -> torch.Tensor:
    if layout not in LAYOUTS:
        raise ConfigError(f"data.layout={layout!r} is unknown; allowed values: {sorted(LAYOUTS)}.")
    return LAYOUTS[layout]()


def sample_mixture(means: torch.Tensor, std: float, n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """n points drawn uniformly over modes, each N(mean, std^2 I); returns (points, mode index)."""
    g = torch.Generator().manual_seed(seed)
    modes = torch.randint(len(means), (n,), generator=g)
    points = means[modes] + std * torch.randn(n, means.shape[1], generator=g)
    return points, modes


class MixtureDataModule(InMemoryDataModule):
    sample_field = "point"

    def __init__(self, layout: str, std: float, num_samples: int, data_seed: int = 0, **kwargs):
        super().__init__(**kwargs)
        self.layout = layout
        self.means = mixture_means(layout)
        self.std = std
        self.num_samples = num_samples
        self.data_seed = data_seed
        if self.num_classes is None:
            self.num_classes = len(self.means)

    def load_split(self, split: str) -> tuple[torch.Tensor, torch.Tensor]:
        # Disjoint streams for train and test so real-vs-real comparisons are honest.
        offset = 0 if split == "train" else 1_000_003
        return sample_mixture(self.means, self.std, self.num_samples, self.data_seed + offset)

    def to_model_space(self, samples: torch.Tensor) -> torch.Tensor:
        return samples

    def render(self, samples: torch.Tensor, path: Path, nrow: int | None = None) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        pts = samples.detach().float().cpu()
        fig, ax = plt.subplots(figsize=(4, 4), dpi=100)
        ax.scatter(pts[:, 0], pts[:, 1], s=4, alpha=0.5, label="generated")
        ax.scatter(self.means[:, 0], self.means[:, 1], s=30, marker="x", c="red", label="modes")
        span = float(self.means.abs().max()) * 1.5 + 0.5
        ax.set_xlim(-span, span)
        ax.set_ylim(-span, span)
        ax.set_aspect("equal")
        ax.legend(loc="upper right", fontsize=7)
        fig.tight_layout()
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png")
        plt.close(fig)

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


# The real points under a scatter are a fixed draw of their own, apart from the train and test splits.
REAL_PICTURE_OFFSET = 2_000_003


class MixtureDataModule(InMemoryDataModule):
    sample_field = "point"
    # 64 points (trainer.num_sample_images) cannot show which of 25 modes a generator covers.
    picture_samples = 2048

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
        """A scatter of the generated points over faint real points (as many, a fixed draw) and the modes."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        real, _ = sample_mixture(self.means, self.std, len(samples), self.data_seed + REAL_PICTURE_OFFSET)
        fig = scatter_figure(samples, self.means, real)
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png")
        plt.close(fig)


def scatter_figure(points: torch.Tensor, means: torch.Tensor, real: torch.Tensor | None = None):
    """A 600x600 px matplotlib figure: generated ``points`` (blue), ``real`` points (faint grey, below)
    and the mixture's ``means`` (red circles). The view is fixed by the modes, so pictures of one run are
    comparable step to step; the legend counts the generated points that fall outside it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    pts = points.detach().float().cpu()
    span = float(means.abs().max()) * 1.5 + 0.5
    outside = int((pts.abs() > span).any(dim=1).sum())
    fig, ax = plt.subplots(figsize=(6, 6), dpi=100)
    if real is not None:
        ax.scatter(
            real[:, 0], real[:, 1], s=3, c="0.6", alpha=0.25, linewidths=0, label=f"real ({len(real)})"
        )
    generated = f"generated ({len(pts)}" + (f", {outside} off the plot)" if outside else ")")
    ax.scatter(pts[:, 0], pts[:, 1], s=3, c="tab:blue", alpha=0.5, linewidths=0, label=generated)
    # Open circles: the real points at each mode stay visible inside them.
    ax.scatter(
        means[:, 0],
        means[:, 1],
        s=140,
        marker="o",
        facecolors="none",
        edgecolors="red",
        linewidths=1.2,
        label=f"modes ({len(means)})",
    )
    ax.set_xlim(-span, span)
    ax.set_ylim(-span, span)
    ax.set_aspect("equal")
    ax.grid(alpha=0.2)
    legend = ax.legend(loc="upper right", fontsize=8, framealpha=0.9)
    for handle in legend.legend_handles:  # legend dots readable, not the plot's 3-px faint ones
        handle.set_sizes([30])
        handle.set_alpha(1.0)
    fig.tight_layout()
    return fig

"""Sample pictures a user can read: labelled, scaled-up grids and a 2-D scatter with enough points."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision.utils import make_grid


def test_labelled_grid_is_the_plain_grid_scaled_up_under_a_header(tmp_path):
    from ganforge.data.render import PADDING, header_height, label_picture, labelled_size, save_image_grid

    samples = torch.rand(64, 1, 28, 28, generator=torch.Generator().manual_seed(0)) * 2 - 1
    path = tmp_path / "step_0000250.png"
    save_image_grid(samples, path, nrow=8)
    assert Image.open(path).size == (242, 242), "the plain grid: 8 x (28 + 2) + 2"
    scale, header = label_picture(path, ["step 250", "2026-01-01_12-00-00_vanilla-mnist5k-minimax_abc123"])

    picture = np.asarray(Image.open(path).convert("RGB"))
    assert scale == 3 and header == header_height(726)
    assert picture.shape[:2][::-1] == labelled_size(242, 242) == (726, 726 + header)
    assert max(picture.shape[:2]) >= 512
    plain = make_grid(samples, nrow=8, normalize=True, value_range=(-1, 1), padding=PADDING)
    plain = plain.mul(255).add(0.5).clamp(0, 255).to(torch.uint8).permute(1, 2, 0).numpy()
    body = plain.repeat(scale, axis=0).repeat(scale, axis=1)
    assert np.array_equal(picture[header:], body), "below the strip: the grid, nearest-neighbour x3"
    strip = picture[:header]
    assert (strip == 255).mean() > 0.8 and (strip < 100).any(), "a white strip with dark text on it"
    assert not np.array_equal(picture[:header], body[:header]), "the top rows are not the plain grid's"


def test_long_run_names_are_cut_in_the_middle_to_fit(tmp_path):
    from ganforge.data.render import label_picture

    path = tmp_path / "p.png"
    Image.new("RGB", (600, 600), "gray").save(path)
    _, header = label_picture(
        path, ["step 1", "0_vanilla-ring_" + "model.g_optimizer.lr=0.0001," * 20 + "END"]
    )
    strip = np.asarray(Image.open(path).convert("L"))[:header]
    assert (strip[:, -3:] == 255).all(), "no text runs into the right edge"


def test_scatter_draws_every_point_over_real_points_and_the_modes():
    from ganforge.data.mixtures import grid_means, sample_mixture, scatter_figure

    means = grid_means()
    points = torch.randn(2048, 2) * 3
    real, _ = sample_mixture(means, 0.05, 2048, seed=1)
    fig = scatter_figure(points, means, real)
    ax = fig.axes[0]
    counts = {c.get_label(): len(c.get_offsets()) for c in ax.collections}
    outside = int((points.abs() > float(means.abs().max()) * 1.5 + 0.5).any(dim=1).sum())
    assert counts == {
        "real (2048)": 2048,
        f"generated (2048, {outside} off the plot)": 2048,
        "modes (25)": 25,
    }
    assert fig.get_size_inches().tolist() == [6, 6] and fig.dpi == 100


def test_the_sample_callback_draws_enough_points_for_a_scatter(tmp_path):
    from ganforge.callbacks.sample_grid import picture_sample_count
    from ganforge.config.loading import compose_config
    from ganforge.data.mixtures import MixtureDataModule
    from ganforge.data.render import labelled_size
    from ganforge.training import train

    assert MixtureDataModule.picture_samples >= 2000
    assert picture_sample_count(64, MixtureDataModule) == MixtureDataModule.picture_samples
    assert picture_sample_count(5000, MixtureDataModule) == 5000
    assert picture_sample_count(64, object()) == 64, "image data: trainer.num_sample_images"

    cfg = compose_config(
        [
            f"paths.root_dir={tmp_path}",
            "trainer.progress_bar=false",
            "model=vanilla",
            "data=ring",
            "data.batch_size=32",
            "trainer.max_steps=2",
            "trainer.sample_every_n_steps=2",
        ]
    )
    train(cfg, tmp_path / "ring_run")
    png = tmp_path / "ring_run" / "samples" / "step_0000002.png"
    assert Image.open(png).size == labelled_size(600, 600) and labelled_size(600, 600)[1] > 600


@pytest.mark.parametrize("width", [92, 242, 600, 1200])
def test_header_scales_with_the_picture(width):
    from ganforge.data.render import header_height, labelled_size

    w, h = labelled_size(width, width)
    assert w >= 512 and h == w + header_height(w) and header_height(w) >= w // 20

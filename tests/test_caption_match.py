"""The caption-agreement metric: real images match their own captions, and a text-ignoring generator
(the same images against shuffled captions) scores only the data's base rates."""

from __future__ import annotations

import pytest
import torch

from ganforge.data.captioned import captioned_items, decode_caption_ids
from ganforge.metrics.caption_match import caption_agreement, shuffled


@pytest.fixture(scope="module")
def test_rows(tmp_path_factory):
    return captioned_items(tmp_path_factory.mktemp("data"), "test", base="mnist5k", canvas=32, limit=600)


def test_real_images_match_their_captions_and_shuffled_ones_do_not(test_rows):
    images, ids, held = test_rows["image"], test_rows["caption"], test_rows["held_out"]
    labels = decode_caption_ids(ids)["label"]
    oracle = lambda x: torch.as_tensor(labels)  # noqa: E731 - a classifier that is always right
    own = caption_agreement(images, ids, held, oracle)
    assert own["all/n"] == 600 and own["seen/n"] + own["held_out/n"] == 600 and own["held_out/n"] > 200
    for name in ("colour", "size", "position"):
        assert own[f"seen/{name}"] > 0.97 and own[f"held_out/{name}"] > 0.97, name
    assert own["all/class"] == 1.0 and own["all/every"] > 0.95
    other = caption_agreement(images, *shuffled(ids, held), oracle)
    assert other["all/colour"] < 0.35 and other["all/class"] < 0.25 and other["all/every"] < 0.05
    assert caption_agreement(images.float() / 127.5 - 1, ids)["all/colour"] == own["all/colour"], (
        "model-space images are measured like the stored ones"
    )
    assert "seen/n" not in caption_agreement(images, ids)


def test_a_blank_image_matches_nothing(test_rows):
    blank = torch.zeros(4, 3, 32, 32, dtype=torch.uint8)
    scores = caption_agreement(blank, test_rows["caption"][:4])
    assert scores["all/colour"] == scores["all/size"] == scores["all/position"] == scores["all/every"] == 0.0


def test_captioned_grid_puts_each_caption_under_its_images(tmp_path):
    import numpy as np
    from PIL import Image

    from ganforge.data.render_captions import GAP, save_captioned_grid

    low = torch.full((3, 3, 8, 8), -1.0)
    low[1] = 1.0  # sample 1 white at stage I
    high = torch.zeros(3, 3, 32, 32)
    path = tmp_path / "grid.png"
    save_captioned_grid(
        {"stage-I": low, "stage-II": high}, ["a red coat", "a blue bag", "x"], path, per_row=2, cell=20
    )
    pixels = np.asarray(Image.open(path).convert("RGB"))
    header = 11 + 6
    top, second = header + GAP, GAP + (2 * 20 + GAP)
    assert (pixels[top : top + 20, GAP : GAP + 20] == 0).all(), "sample 0, stage-I: black, enlarged to 20 px"
    assert (pixels[top : top + 20, second : second + 20] == 255).all(), "sample 1, stage-I: white"
    assert (pixels[top : top + 20, GAP + 20 : GAP + 40] == 128).all(), "stage-II (0 in model space) beside it"
    text = pixels[top + 21 : top + 21 + 13, GAP : GAP + 40]
    assert (text < 128).any(), "the caption is drawn under its cell"
    with pytest.raises(ValueError, match="3 samples but 2 captions"):
        save_captioned_grid({"x": high}, ["a", "b"], tmp_path / "bad.png")
    assert not (tmp_path / "bad.png").exists()

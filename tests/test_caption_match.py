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

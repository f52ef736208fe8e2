"""Captioned data (ganforge.data.captioned): the captions claim attributes that are measured back from the
pictures (ganforge.data.caption_attributes), held-out combinations stay out of training, rows are stable."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from ganforge.data import caption_attributes as attr
from ganforge.data import captioned, sources
from ganforge.errors import ConfigError

ATTRIBUTES = ("colour", "size", "position")


def _square(colour: str, side: int, top: int, left: int, canvas: int = 64) -> torch.Tensor:
    image = torch.zeros(1, 3, canvas, canvas, dtype=torch.uint8)
    image[0, :, top : top + side, left : left + side] = torch.tensor(attr.COLOURS[colour])[:, None, None]
    return image


def test_measurement_reads_colour_size_and_position_of_a_known_square():
    small_top_right = _square("purple", 28, 4, 30)
    measured = attr.measure_attributes(small_top_right)
    assert attr.COLOUR_NAMES[measured["colour"][0]] == "purple"
    assert attr.SIZES[measured["size"][0]] == "small"
    assert attr.POSITIONS[measured["position"][0]] == "top right"
    large_center = _square("orange", 52, 6, 6)
    measured = attr.measure_attributes(large_center)
    assert [measured[k][0] for k in ATTRIBUTES] == [
        attr.COLOUR_NAMES.index("orange"),
        attr.SIZES.index("large"),
        attr.POSITIONS.index("center"),
    ]
    # Model-space floats measure the same as the uint8 picture; a black image measures as nothing.
    as_floats = large_center.float().div(127.5).sub(1)
    assert attr.measure_colours(as_floats)[0] == attr.COLOUR_NAMES.index("orange")
    empty = attr.measure_attributes(torch.zeros(2, 3, 32, 32, dtype=torch.uint8))
    assert all((empty[k] == attr.UNMEASURED).all() for k in ATTRIBUTES)
    with pytest.raises(ValueError, match=r"RGB images \[N, 3, H, W\]"):
        attr.measure_colours(torch.zeros(1, 1, 8, 8))


def test_caption_ids_round_trip_and_every_caption_is_distinct():
    for base in captioned.BASES:
        table = captioned.all_captions(base)
        combos = captioned.NUM_CLASSES * len(attr.COLOUR_NAMES) * len(captioned.PLACEMENTS)
        assert len(table) == combos * len(captioned.TEMPLATES) == len(set(table))
    ids = np.arange(len(table))
    decoded = captioned.decode_caption_ids(ids)
    placements = np.array(
        [
            captioned.PLACEMENTS.index((attr.SIZES[s], attr.POSITIONS[p]))
            for s, p in zip(decoded["size"], decoded["position"])
        ]
    )
    again = captioned.caption_ids(decoded["label"], decoded["colour"], placements, decoded["template"])
    assert np.array_equal(again, ids)
    text = table[int(captioned.caption_ids(7, 4, 5, 0))]
    assert text == "a large blue digit seven in the center"


def _check_split(fields: dict, base: str, split: str, canvas: int) -> None:
    n = len(fields["label"])
    assert fields["image"].shape == (n, 3, canvas, canvas) and fields["image"].dtype == torch.uint8
    claimed = captioned.decode_caption_ids(fields["caption"])
    assert np.array_equal(claimed["label"], fields["label"].numpy())
    for key in ATTRIBUTES:
        assert np.array_equal(claimed[key], fields[key].numpy()), key
    measured = attr.measure_attributes(fields["image"])
    for key in ATTRIBUTES:
        agreement = float((measured[key] == fields[key].numpy()).mean())
        assert agreement >= 0.98, f"{base} {split}: {key} measured back for only {agreement:.1%} of rows"
    table = captioned.all_captions(base)
    for i in range(0, n, max(1, n // 20)):  # the words say what was drawn
        words = table[int(fields["caption"][i])]
        assert attr.COLOUR_NAMES[int(fields["colour"][i])] in words
        assert captioned.ITEM_NAMES[base][int(fields["label"][i])] in words
        assert attr.SIZES[int(fields["size"][i])] in words


@pytest.mark.parametrize("canvas", [64, 32])
def test_mnist5k_captions_claim_what_is_measured_in_the_picture(canvas):
    train = captioned.captioned_items("data", "train", base="mnist5k", canvas=canvas, limit=600)
    test = captioned.captioned_items("data", "test", base="mnist5k", canvas=canvas, limit=600)
    _check_split(train, "mnist5k", "train", canvas)
    _check_split(test, "mnist5k", "test", canvas)
    held = train["label"].numpy() % len(attr.COLOUR_NAMES)
    assert not train["held_out"].any() and (train["colour"].numpy() != held).all(), "held-out pair trained"
    test_held = test["label"].numpy() % len(attr.COLOUR_NAMES)
    share = float(test["held_out"].float().mean())
    assert 0.4 < share < 0.6
    assert np.array_equal(test["colour"].numpy() == test_held, test["held_out"].numpy())
    # Every placement, colour and phrasing occurs.
    decoded = captioned.decode_caption_ids(train["caption"])
    assert set(decoded["template"]) == set(range(len(captioned.TEMPLATES)))
    assert set(train["position"].tolist()) == set(range(len(attr.POSITIONS)))
    assert set(train["colour"].tolist()) == set(range(len(attr.COLOUR_NAMES)))


def test_rows_are_identical_on_every_call_and_differ_by_seed():
    a = captioned.captioned_items("data", "train", base="mnist5k", canvas=32, limit=50)
    b = captioned.captioned_items("data", "train", base="mnist5k", canvas=32, limit=50)
    c = captioned.captioned_items("data", "train", base="mnist5k", canvas=32, limit=50, seed=1)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["caption"], c["caption"])


def test_train_split_keeps_the_held_out_combinations_out_unless_asked():
    def held_colour_rows(**kwargs) -> float:
        rows = captioned.captioned_items("data", "train", base="mnist5k", canvas=32, limit=1200, **kwargs)
        return float((rows["colour"] == rows["label"] % 6).float().mean())

    assert held_colour_rows() == 0.0
    assert 0.12 < held_colour_rows(hold_out=False) < 0.22, "the held-out colour drawn ~1 in 6 (evaluators)"


@pytest.mark.skipif(
    not sources.DEBIAN_FASHION_MNIST.is_dir(), reason="Debian dataset-fashion-mnist not installed"
)
def test_fashion_mnist_captions_claim_what_is_measured_in_the_picture():
    fields = captioned.captioned_items("data", "test", base="fashion_mnist", canvas=64, limit=600)
    _check_split(fields, "fashion_mnist", "test", 64)


def test_bad_settings_fail_clearly():
    with pytest.raises(ConfigError, match=r"base='cifar10' is unknown; captioned data is made from"):
        captioned.captioned_items("data", "train", base="cifar10")
    with pytest.raises(ConfigError, match=r"canvas=8 must be an integer >= 16"):
        captioned.captioned_items("data", "train", base="mnist5k", canvas=8)
    with pytest.raises(ConfigError, match=r"limit=0 must be a positive integer"):
        captioned.captioned_items("data", "train", base="mnist5k", limit=0)

"""Every model x data x loss combination composes; bad input fails early with a clear message."""

from __future__ import annotations

import itertools

import pytest
from hydra.errors import ConfigCompositionException
from omegaconf.errors import ConfigKeyError, ValidationError

from ganforge.build import build_datamodule, build_module
from ganforge.config.loading import CONF_DIR
from ganforge.config.validate import validate
from ganforge.errors import ConfigError


def options(group: str) -> list[str]:
    return sorted(p.stem for p in (CONF_DIR / group).glob("*.yaml"))


IMAGE_DATA = ["mnist5k", "digits", "fashion_mnist", "mnist", "cifar10", "folder", "stacked_mnist5k"]
POINT_DATA = ["ring", "grid"]
FACE_DATA = ["celeba", "lfw_subset", "ffhq"]  # no classes; ffhq is the folder loader with its own path
KNOWN_ANSWER_DATA = [
    f"{base}_to_{t}" for base in ("mnist5k", "fashion_mnist") for t in ("edges", "inverted_dilated")
]
AUTHORS_SETS = ["horse2zebra", "monet2photo", "summer2winter_yosemite", "apple2orange"]
UNPAIRED_DATA = [*KNOWN_ANSWER_DATA, "unpaired", "cyclegan_folder", *AUTHORS_SETS]
SR_DATA = ["paired_sr_fashion_mnist", "paired_sr_photos", "paired_sr", "paired_sr_div2k"]
# 3x64x64, labelled, with captions (the last two: the papers' real sets, downloaded at first load)
CAPTIONED_DATA = ["captioned_fashion_mnist", "captioned_mnist5k", "captioned_cub200", "captioned_oxford102"]
# One-second audio clips [1, 16000] (docs/audio.md). Only the audio families use them, so they are left out
# of the model x data builds (tests/test_audio_data.py builds each one); the audio families get a few.
AUDIO_DATA = ["spoken_digits", "fsdd", "sc09", "speech_commands", "audio_folder"]
AUDIO_MODELS = ["wavegan", "specgan"]  # tests/test_wavegan.py trains both
NOISE_MODELS = ["vanilla", "dcgan", "cgan", "cdcgan", "wgan", "wgan_gp"]  # generators fed with noise
IMAGE_TO_IMAGE_MODELS = ["cyclegan", "srresnet", "srgan"]
NATIVE_DATA = {"cyclegan": UNPAIRED_DATA, "srresnet": SR_DATA, "srgan": SR_DATA}
# Families with their own test file get a few representative builds here, not the product.
FEW_COMBINATIONS_MODELS = ["stylegan", "gan_int_cls", "stackgan", *AUDIO_MODELS]


def test_groups_have_the_documented_options():
    assert set(options("model")) == set(NOISE_MODELS + IMAGE_TO_IMAGE_MODELS + FEW_COMBINATIONS_MODELS)
    assert set(options("data")) == set(
        IMAGE_DATA + POINT_DATA + FACE_DATA + UNPAIRED_DATA + SR_DATA + CAPTIONED_DATA + AUDIO_DATA
    )
    assert set(options("text_encoder")) == {"minilm", "precomputed", "char_cnn_rnn"}
    assert set(options("loss")) >= {"minimax", "non_saturating", "least_squares", "hinge", "wasserstein"}
    assert set(options("hardware")) >= {"cpu", "gpu"}


IMAGE_MODELS = {"dcgan", "cdcgan", "wgan", "wgan_gp", "gan_int_cls"}  # convolutional networks
CONDITIONAL_MODELS = {"cgan", "cdcgan"}
# no data.num_classes in their config
UNLABELLED_DATA = {
    "ring", "grid", "folder", *FACE_DATA, "unpaired", "cyclegan_folder", *AUTHORS_SETS,
    "paired_sr_photos", "paired_sr", "paired_sr_div2k",
}  # fmt: skip
LIPSCHITZ_MODELS = {"wgan", "wgan_gp", *AUDIO_MODELS}  # constrain the critic themselves
SR_MODELS = {"srresnet", "srgan"}  # read data.scale, which only paired SR data has
NOT_DCGAN_SIZED = {"paired_sr_photos", "paired_sr", "paired_sr_div2k"}  # 96 px: not 4*2^n or 7*2^n


def expected_error(model: str, data: str, loss: str) -> str | None:
    """The ConfigError message an invalid combination must raise, or None for a valid one."""
    if model in AUDIO_MODELS and data not in AUDIO_DATA:  # the networks refuse it, before any loss check
        return f"model={model} generates mono audio clips"
    if model == "stylegan" and data in POINT_DATA:
        return "model=stylegan generates images"
    if model == "stylegan" and data == "mnist5k":  # 28 px
        return "needs square images whose size is a power of 2 >= 8"
    if model in SR_MODELS and data not in SR_DATA:
        return "SRResNet needs the scale factor of paired super-resolution data"
    if model in CONDITIONAL_MODELS and data in UNLABELLED_DATA:
        return "needs a labelled dataset"
    if model in IMAGE_MODELS and data in NOT_DCGAN_SIZED:  # the networks are built before the family
        return "data.image_size=96 cannot be produced by model="
    if model in IMAGE_MODELS and data in POINT_DATA:
        return "generates images.*model=vanilla"
    if model == "stackgan" and loss == "wasserstein":
        return "only meaningful for a Lipschitz critic"
    if model == "cyclegan" and data in POINT_DATA:
        return "The ResNet generator translates images"
    if model == "wgan" and loss != "wasserstein":
        return "model=wgan clips the critic.*Use loss=wasserstein"
    if loss == "wasserstein" and model not in LIPSCHITZ_MODELS:
        return "only meaningful for a Lipschitz critic.*model=wgan_gp"
    return None


# The authors' archives share one loader and config shape: one stands for them outside model=cyclegan.
SAME_AS_HORSE2ZEBRA = set(AUTHORS_SETS) - {"horse2zebra"}
SAME_AS_FOLDER = {"ffhq"}  # the folder loader with FFHQ's path and sizes


def combinations() -> list[tuple[str, str, str]]:
    """model x data x loss without the ~1,000 redundant builds of the full product (the loss rules depend
    on the model, the data rules on model and data): every model x every loss on one image and one point
    dataset, every model x every data with the least-squares loss (a family meeting data it cannot use),
    and every image-to-image family x every loss on one of its own datasets."""
    losses = options("loss")
    models = [m for m in options("model") if m not in FEW_COMBINATIONS_MODELS]
    by_loss = itertools.product(models, ["mnist5k", "ring"], losses)
    data = [d for d in options("data") if d not in SAME_AS_HORSE2ZEBRA | SAME_AS_FOLDER | set(AUDIO_DATA)]
    crossed = itertools.product(models, data, ["least_squares"])
    native = [(m, NATIVE_DATA[m][0], loss) for m in IMAGE_TO_IMAGE_MODELS for loss in losses]
    # StyleGAN: every loss on 32 px images, and data it cannot use (28 px, points)
    few = [("stylegan", "cifar10", loss) for loss in losses]
    few += [("stylegan", d, "least_squares") for d in ("mnist5k", "ring")]
    # GAN-INT-CLS: every loss on captioned data; other data builds (bind_data refuses it: test_gan_int_cls)
    few += [("gan_int_cls", "captioned_mnist5k", loss) for loss in losses]
    few += [("gan_int_cls", d, "least_squares") for d in ("mnist5k", "ring", "paired_sr")]
    few += [("stackgan", "captioned_fashion_mnist", loss) for loss in losses]
    # WaveGAN / SpecGAN: every loss on audio data, and data they cannot use (images, points)
    few += [(m, "spoken_digits", loss) for m in AUDIO_MODELS for loss in losses]
    few += [(m, d, "least_squares") for m in AUDIO_MODELS for d in ("mnist5k", "ring")]
    return sorted(set(by_loss) | set(crossed) | set(native) | set(few))


@pytest.mark.parametrize("model,data,loss", combinations())
def test_every_combination_composes_and_builds_or_fails_clearly(compose, model, data, loss):
    extra = ["data.loader.path=/x"] if data in ("folder", "cyclegan_folder") else []
    cfg = compose(f"model={model}", f"data={data}", f"loss={loss}", *extra)
    validate(cfg)
    message = expected_error(model, data, loss)
    if message:
        with pytest.raises(ConfigError, match=message):
            build_module(cfg)
        return
    module = build_module(cfg)
    assert module.gen_step == 0
    assert build_datamodule(cfg).shape == tuple(cfg.data.shape)


@pytest.mark.parametrize(
    "size,ok", [(28, True), (32, True), (64, True), (8, True), (30, False), (100, False)]
)
@pytest.mark.parametrize("channels", [1, 3])
def test_dcgan_image_sizes(compose, size, ok, channels):
    cfg = compose("model=dcgan", f"data.image_size={size}", f"data.channels={channels}")
    if ok:
        module = build_module(cfg)
        import torch

        out = module.generator(torch.randn(2, cfg.model.latent_dim))
        assert out.shape == (2, channels, size, size)
        assert module.discriminator(out).shape == (2,)
    else:
        with pytest.raises(ConfigError, match=rf"data.image_size={size}.*allowed sizes"):
            build_module(cfg)


def test_unknown_group_option_lists_the_choices(compose):
    with pytest.raises(ConfigCompositionException, match="(?s)model/transformer.*Available options.*dcgan"):
        compose("model=transformer")


def test_unknown_key_is_rejected(compose):
    with pytest.raises(ConfigCompositionException) as info:
        compose("model.d_stepz=3")
    assert "d_stepz" in str(info.value.__cause__ or info.value)


def test_wrong_type_is_rejected(compose):
    with pytest.raises(ConfigCompositionException) as info:
        compose("trainer.max_steps=many")
    cause = info.value.__cause__
    assert isinstance(cause, ValidationError | ConfigKeyError) and "max_steps" in str(cause)


def test_unknown_optimizer_lists_allowed_values(compose):
    with pytest.raises(ConfigError, match=r"model\.g_optimizer\.name='adamx' is not an optimizer") as info:
        validate(compose("model.g_optimizer.name=adamx"))
    assert "any torch.optim optimizer class: ASGD, Adadelta, Adafactor, Adagrad, Adam, AdamW, Adamax" in str(
        info.value
    )
    assert "adam, adamw, rmsprop and sgd work too" in str(info.value)


@pytest.mark.parametrize(
    "override,message",
    [
        ("model.d_steps=0", "model.d_steps=0: k must be >= 1"),
        ("model.g_optimizer.lr=0", r"model.g_optimizer.lr=0.0 must be > 0"),
        ("model.d_optimizer.lr=-1e-3", r"model.d_optimizer.lr=-0.001 must be > 0"),
        ("model.ema_decay=1.5", "model.ema_decay=1.5 must be in"),
        ("data.batch_size=0", "data.batch_size=0 must be > 0"),
        ("hardware.precision=8-bit", "hardware.precision='8-bit' is unknown; allowed values"),
    ],
)
def test_invalid_values_fail_with_the_key(compose, override, message):
    with pytest.raises(ConfigError, match=message):
        validate(compose(override))

"""StyleGAN's networks: equalized lr, mapping, AdaIN, noise, mixing, truncation, growth, discriminator."""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from ganforge.errors import ConfigError
from ganforge.networks.equalized import EqualizedConv2d, EqualizedLinear
from ganforge.networks.stylegan import StyleGenerator, adain, mix_styles
from ganforge.networks.stylegan_discriminator import StyleDiscriminator


def tiny_generator(size: int = 16, **kwargs) -> StyleGenerator:
    torch.manual_seed(0)
    opts = dict(w_dim=8, mapping_layers=2, channel_base=64, channel_max=8)
    return StyleGenerator(latent_dim=6, data_shape=[1, size, size], **{**opts, **kwargs})


def with_noise_strength(g: StyleGenerator, value: float) -> StyleGenerator:
    with torch.no_grad():
        for layer in g.layers:
            layer.noise_strength.fill_(value)
    return g


# ----------------------------------------------------------------------------------------- layers
def test_adain_output_has_the_styles_per_channel_mean_and_std():
    x = torch.randn(3, 4, 8, 8) * 5 + 2
    scale, bias = torch.rand(3, 4) + 0.5, torch.randn(3, 4)
    y = adain(x, scale, bias)
    assert torch.allclose(y.mean(dim=(2, 3)), bias, atol=1e-5)
    assert torch.allclose(y.std(dim=(2, 3), unbiased=False), scale, atol=1e-4)


@pytest.mark.parametrize("lr_mul", [1.0, 0.01])
def test_equalized_linear_scales_weight_and_gradient_at_runtime(lr_mul):
    layer = EqualizedLinear(16, 4, bias_init=0.5, lr_mul=lr_mul)
    coef = lr_mul * math.sqrt(2) / math.sqrt(16)
    # stored N(0, 1/lr_mul): the effective weight is He-initialised whatever the multiplier
    assert layer.weight.std().item() == pytest.approx(1 / lr_mul, rel=0.3)
    assert torch.equal(layer.effective_weight(), layer.weight * coef)
    assert torch.allclose(layer.effective_bias(), torch.full((4,), 0.5))
    x = torch.randn(5, 16)
    w_eff = layer.effective_weight().detach().requires_grad_(True)
    b_eff = layer.effective_bias().detach().requires_grad_(True)
    F.linear(x, w_eff, b_eff).square().sum().backward()
    layer(x).square().sum().backward()
    # the raw parameters' gradients are the effective ones' times the runtime constants
    assert torch.allclose(layer.weight.grad, w_eff.grad * coef, rtol=1e-5, atol=1e-7)
    assert torch.allclose(layer.bias.grad, b_eff.grad * lr_mul, rtol=1e-5, atol=1e-7)


def test_equalized_conv_uses_he_constant_of_its_fan_in():
    conv = EqualizedConv2d(3, 5, 3)
    assert conv.weight_gain == pytest.approx(math.sqrt(2) / math.sqrt(3 * 9))
    x = torch.randn(2, 3, 6, 6)
    assert torch.allclose(conv(x), F.conv2d(x, conv.weight * conv.weight_gain, conv.bias, padding=1))


def test_mapping_network_has_the_papers_defaults_and_lr_multiplier():
    g = StyleGenerator(latent_dim=512, data_shape=[3, 8, 8], channel_base=64, channel_max=8)
    linears = [m for m in g.mapping_network.modules() if isinstance(m, EqualizedLinear)]
    assert len(linears) == 8 and all(m.weight.shape == (512, 512) for m in linears)
    gain = pytest.approx(0.01 * math.sqrt(2 / 512))
    assert all(m.lr_mul == 0.01 and m.weight_gain == gain for m in linears)
    assert all(m.bias_gain == 0.01 for m in linears)
    # synthesis layers learn at the ordinary rate
    assert all(m.lr_mul == 1.0 for m in g.layers.modules() if isinstance(m, EqualizedLinear))
    z = torch.randn(4, 512)
    assert torch.allclose(g.mapping(z), g.mapping(z * 7.0), atol=1e-5)  # pixel-norm on z


# ----------------------------------------------------------------------------------------- generator
def test_generator_shapes_and_style_inputs():
    g = tiny_generator(32)
    assert g.num_ws == 8 and g.target_resolution == 32
    assert [g.layer_resolution(i) for i in range(8)] == [4, 4, 8, 8, 16, 16, 32, 32]
    assert g.style_levels() == {"coarse": [0, 1, 2, 3], "middle": [4, 5], "fine": [6, 7]}
    assert tiny_generator(16).style_levels()["fine"] == [4, 5]
    assert g(torch.randn(3, 6)).shape == (3, 1, 32, 32)
    with pytest.raises(ConfigError, match="Style input 8 does not exist"):
        g.layer_resolution(8)


def test_noise_changes_pixels_only_when_its_scale_is_nonzero():
    g = tiny_generator().eval()
    ws = g.broadcast(g.mapping(torch.randn(2, 6)))
    with torch.no_grad():
        assert torch.equal(g.synthesis(ws), g.synthesis(ws))  # scale 0 at init: deterministic in w
        with_noise_strength(g, 0.5)
        a, b = g.synthesis(ws), g.synthesis(ws)
        assert (a - b).abs().max() > 1e-3
        assert torch.equal(g.synthesis(ws, "const"), g.synthesis(ws, "const"))
        assert torch.equal(g.synthesis(ws, "none"), g.synthesis(ws, "none"))
        assert not torch.equal(g.synthesis(ws, "const"), g.synthesis(ws, "none"))


def test_mixing_at_crossover_zero_is_pure_b_and_at_num_ws_pure_a():
    g = with_noise_strength(tiny_generator(), 0.3).eval()
    ws_a, ws_b = (g.broadcast(g.mapping(torch.randn(2, 6))) for _ in range(2))
    with torch.no_grad():
        image = lambda ws: g.synthesis(ws, "const")  # noqa: E731
        assert torch.equal(image(mix_styles(ws_a, ws_b, 0)), image(ws_b))
        assert torch.equal(image(mix_styles(ws_a, ws_b, g.num_ws)), image(ws_a))
        mixed = image(mix_styles(ws_a, ws_b, 2))
        assert not torch.equal(mixed, image(ws_a)) and not torch.equal(mixed, image(ws_b))


def test_truncation_psi_zero_gives_w_avg_image_for_every_z():
    g = tiny_generator().eval()
    with torch.no_grad():
        g.w_avg.copy_(torch.randn(8))
        out = g(torch.randn(5, 6), psi=0.0, noise_mode="const")
        ref = g.synthesis(g.broadcast(g.w_avg[None]), "const")
    assert torch.equal(out, out[:1].expand_as(out))  # one image, whatever z
    assert torch.allclose(out, ref.expand_as(out), atol=1e-5)  # = w_avg's (up to batched conv rounding)
    ws = g.broadcast(g.mapping(torch.randn(3, 6)))
    cut = g.truncate(ws, 0.0, cutoff=2)
    assert torch.equal(cut[:, 2:], ws[:, 2:]) and torch.allclose(cut[:, :2], g.w_avg.expand(3, 2, 8))


@pytest.mark.parametrize("modulation", ["adain", "demod"])
def test_fade_in_at_alpha_zero_is_the_previous_resolution_upsampled(modulation):
    g = with_noise_strength(tiny_generator(16, modulation=modulation), 0.2).eval()
    ws = g.broadcast(g.mapping(torch.randn(3, 6)))
    with torch.no_grad():
        g.set_growth(8, 1.0)
        low = g.synthesis(ws, "const")
        g.set_growth(16, 0.0)
        assert torch.equal(g.synthesis(ws, "const"), low)
        g.set_growth(16, 0.5)
        half = g.synthesis(ws, "const")
        g.set_growth(16, 1.0)
        full = g.synthesis(ws, "const")
    assert torch.allclose(half, (low + full) / 2, atol=1e-5)
    assert not torch.allclose(low, full)
    # a low resolution's output is nearest-upsampled to the target: constant 2x2 blocks at 8 px
    assert torch.equal(low, F.interpolate(low[..., ::2, ::2], scale_factor=2, mode="nearest"))


def test_growth_state_is_validated():
    g = tiny_generator(16)
    with pytest.raises(ConfigError, match="power of 2 between 4 and the target 16"):
        g.set_growth(32)
    with pytest.raises(ConfigError, match=r"alpha=1.5 must lie in \[0, 1\]"):
        g.set_growth(8, 1.5)


@pytest.mark.parametrize("shape", [[1, 12, 12], [1, 4, 4], [1, 16, 8], [2]])
def test_bad_resolutions_fail_clearly(shape):
    with pytest.raises(ConfigError, match="power of 2 >= 8|generates images"):
        StyleGenerator(latent_dim=4, data_shape=shape)
    with pytest.raises(ConfigError):
        StyleDiscriminator(data_shape=shape)


def test_bad_modulation_and_noise_mode_fail_clearly():
    with pytest.raises(ConfigError, match="model.modulation='weird'"):
        tiny_generator(modulation="weird")
    g = tiny_generator()
    with pytest.raises(ConfigError, match="noise_mode='loud'"):
        g.synthesis(g.broadcast(g.mapping(torch.randn(1, 6))), "loud")


# ----------------------------------------------------------------------------------------- discriminator
def test_discriminator_scores_and_fades_on_the_input_side():
    torch.manual_seed(0)
    d = StyleDiscriminator(data_shape=[1, 16, 16], channel_base=64, channel_max=8).eval()
    x = torch.randn(4, 1, 16, 16)
    assert d(x).shape == (4,) and d.features(x).shape == (4, 8)
    d.set_growth(8, 1.0)
    low = d(x)
    d.set_growth(16, 0.0)
    assert torch.allclose(d(x), low, atol=1e-5)
    d.set_growth(16, 1.0)
    assert not torch.allclose(d(x), low, atol=1e-3)
    d.set_growth(4)
    assert d(x).shape == (4,)

"""StyleGAN's measured claims (ganforge.metrics.style) give sane values on a tiny generator and the
classifier route's test evaluator (mnist5k, 28x28; the 32x32 samples are resized to its input)."""

from __future__ import annotations

import math

import pytest
import torch

from ganforge.errors import ConfigError, EvaluationError
from ganforge.metrics import style
from ganforge.metrics.extractors import load_classifier
from ganforge.networks.stylegan import StyleGenerator


def tiny_generator(size: int = 32, noise: float = 0.0) -> StyleGenerator:
    torch.manual_seed(0)
    g = StyleGenerator(
        latent_dim=6, data_shape=[1, size, size], w_dim=8, mapping_layers=2, channel_base=64, channel_max=8
    )
    with torch.no_grad():
        for layer in g.layers:
            layer.noise_strength.fill_(noise)
    return g.eval()


@pytest.fixture
def evaluator(mnist_evaluator):
    return load_classifier(mnist_evaluator["path"], "mnist5k")


def test_mixing_agreement_is_total_for_identical_sources_and_follows_the_source_of_all_styles(evaluator):
    g = tiny_generator()
    z = style.draw_latents(40, g.latent_dim, seed=0)
    same = style.mixing_class_agreement(g, evaluator, z, z.clone())
    assert set(same["levels"]) == {"coarse", "middle", "fine"}
    for entry in same["levels"].values():
        assert entry["agree_a"] == entry["agree_b"] == 1.0 and entry["differing_pairs"] == 0
    z_b = style.draw_latents(40, g.latent_dim, seed=1)
    every = style.mixing_class_agreement(g, evaluator, z, z_b, levels=[f"0-{g.num_ws - 1}", "coarse"])
    assert every["levels"][f"0-{g.num_ws - 1}"]["agree_b"] == 1.0  # all styles from B: B's image
    coarse = every["levels"]["coarse"]
    assert coarse["style_inputs"] == [0, 1, 2, 3] and coarse["resolutions"] == [4, 8]
    assert 0.0 <= coarse["agree_a"] <= 1.0 and 0.0 <= coarse["agree_b"] <= 1.0
    protocol = every["protocol"]
    assert protocol["pairs"] == 40 and protocol["extractor"]["input_shape"] == [1, 28, 28]
    with pytest.raises(ConfigError, match="beyond the layers"):
        style.mixing_class_agreement(g, evaluator, z, z_b, levels=["12"])


def test_noise_std_is_zero_without_noise_and_positive_with_it(evaluator):
    z = style.draw_latents(16, 6, seed=0)
    quiet = style.noise_effects(tiny_generator(noise=1.0), evaluator, z, draws=4, noise_mode="none")
    assert quiet["pixel_std"] == 0.0 and quiet["class_agreement"] == 1.0
    noisy_g = tiny_generator(noise=1.0)
    noisy = style.noise_effects(noisy_g, evaluator, z, draws=4)
    assert noisy["pixel_std"] > 0 and noisy["pixel_std_p99"] >= noisy["pixel_std"]
    assert noisy["pixel_std_across_w"] > 0 and 0.0 < noisy["class_agreement"] <= 1.0
    assert noisy == style.noise_effects(noisy_g, evaluator, z, draws=4), "seeded noise draws"
    # zero noise strength: random noise is multiplied by 0
    assert style.noise_effects(tiny_generator(noise=0.0), evaluator, z, draws=3)["pixel_std"] == 0.0
    with pytest.raises(EvaluationError, match="at least 2 noise draws"):
        style.noise_effects(noisy_g, evaluator, z, draws=1)


def test_path_length_is_zero_when_the_image_ignores_w_and_reproducible_otherwise(evaluator):
    g = tiny_generator()
    ppl_w = style.perceptual_path_length(g, evaluator, n=24, space="w", seed=3)
    ppl_z = style.perceptual_path_length(g, evaluator, n=24, space="z", seed=3)
    assert math.isfinite(ppl_w["ppl_w_classifier"]) and ppl_w["ppl_w_classifier"] > 0
    assert ppl_z["ppl_z_classifier"] > 0 and ppl_z["protocol"]["interpolation"] == "slerp in z"
    assert ppl_w == style.perceptual_path_length(g, evaluator, n=24, space="w", seed=3)
    assert ppl_w["protocol"]["epsilon"] == 1e-4 and ppl_w["protocol"]["kept_pairs"] <= 24
    with torch.no_grad():  # styles no longer depend on w: every image is the same, the path flat
        for layer in g.layers:
            layer.style.weight.zero_()
    assert style.perceptual_path_length(g, evaluator, n=8, space="w")["ppl_w_classifier"] == 0.0
    assert style.perceptual_path_length(g, evaluator, n=8, space="z")["ppl_z_classifier"] == 0.0
    with pytest.raises(EvaluationError, match="space='x' is unknown"):
        style.perceptual_path_length(g, evaluator, n=8, space="x")


def test_slerp_stays_on_the_sphere_between_its_ends():
    a, b = torch.randn(5, 6), torch.randn(5, 6)
    assert torch.allclose(style.slerp(a, b, torch.zeros(5, 1)), a / a.norm(dim=1, keepdim=True), atol=1e-6)
    assert torch.allclose(style.slerp(a, b, torch.ones(5, 1)), b / b.norm(dim=1, keepdim=True), atol=1e-5)
    assert torch.allclose(style.slerp(a, b, torch.full((5, 1), 0.3)).norm(dim=1), torch.ones(5))


def test_truncation_sweep_scores_each_psi_with_the_registry_metrics(compose, mnist_evaluator):
    from ganforge.build import build_datamodule
    from ganforge.metrics.evaluate import EvalSettings, MetricSuite

    dm = build_datamodule(compose("data=mnist5k", "data.image_size=32"))
    suite = MetricSuite(
        ["fid200_classifier", "pr200_classifier"], dm, EvalSettings(str(mnist_evaluator["path"]))
    )
    g = tiny_generator()
    with torch.no_grad():
        g.w_avg.copy_(g.mapping(style.draw_latents(100, 6, seed=9)).mean(0))
    rows = style.truncation_sweep(g, suite, style.draw_latents(200, 6, seed=0), psis=(1.0, 0.5, 0.0))
    assert [r["psi"] for r in rows] == [1.0, 0.5, 0.0]
    assert all(
        {"fid200_classifier", "pr200_classifier_precision", "pr200_classifier_recall"} <= set(r) for r in rows
    )
    # psi = 0: every sample is w_avg's image, so the generated set covers nothing of the real data
    assert rows[2]["pr200_classifier_recall"] == 0.0 <= rows[0]["pr200_classifier_recall"]
    with pytest.raises(EvaluationError, match="need 200"):
        style.truncation_sweep(g, suite, style.draw_latents(10, 6, seed=0))

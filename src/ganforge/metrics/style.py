"""StyleGAN's claims as numbers, measured with ganforge's evaluator classifier (the classifier route).

They need the generator itself (its mapping, styles and noise inputs), not a set of samples, so they are
functions of a :class:`~ganforge.networks.stylegan.StyleGenerator` and a
:class:`~ganforge.metrics.extractors.ClassifierExtractor` rather than entries of the sample-metric registry
(ganforge.metrics.registry); each result carries its protocol. scripts/bench_stylegan.py runs them all.

- :func:`mixing_class_agreement`: for pairs (A, B) and a level (coarse 4-8 px, middle 16 px, fine >= 32
  px style inputs), how often the evaluator's class of "A with that level's styles from B" equals the
  class of A, and of B (Karras et al. 2019, Sec. 3.1: coarse styles carry pose / shape, fine ones colour).
- :func:`noise_effects`: for fixed w, the pixel-wise standard deviation across noise draws (in grey
  levels, next to the std across different w of the same noise) and how often the class survives a
  redraw of the noise (Sec. 3.2: noise changes stochastic detail, not the image's content).
- :func:`truncation_sweep`: the registry's sample metrics (fid10k_classifier, pr10k_classifier, ...) of
  samples truncated at each psi (Sec. 5 / Kynkaanniemi et al.: precision up, recall down).
- :func:`perceptual_path_length`: ``ppl_z_classifier`` / ``ppl_w_classifier``, the paper's PPL protocol
  (Sec. 4.1: epsilon 1e-4, t ~ U(0, 1), slerp in z, lerp in w, 1st-99th percentile kept as in the
  authors' code) with the evaluator's unit-normalised penultimate features in place of VGG-LPIPS: not
  comparable with published PPL values, only between generators scored with the same evaluator file.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import torch
import torch.nn.functional as F

from ganforge.data.style_figures import LEVELS, resolve_level, take_styles
from ganforge.errors import EvaluationError
from ganforge.metrics.evaluate import to_storage
from ganforge.metrics.extractors import ClassifierExtractor

PPL_EPSILON = 1e-4


def draw_latents(n: int, latent_dim: int, seed: int) -> torch.Tensor:
    """n standard normal z from one CPU generator seeded ``seed`` (the same on every device)."""
    if n < 1:
        raise EvaluationError(f"Need at least one latent; got n={n}.")
    return torch.randn(n, latent_dim, generator=torch.Generator().manual_seed(seed))


def _device(generator) -> torch.device:
    return next(generator.parameters()).device


@contextmanager
def _noise_seed(generator, seed: int) -> Iterator[None]:
    """Seed the per-pixel noise (the synthesis layers' own torch.randn calls) without moving the caller's
    global random state."""
    device = _device(generator)
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(seed)
        yield


def _extractor_info(extractor: ClassifierExtractor) -> dict[str, Any]:
    if not isinstance(extractor, ClassifierExtractor) or len(extractor.shape) != 3:
        raise EvaluationError(
            "The style metrics use the classifier route's image evaluator (ganforge-train-evaluator "
            f"data=<dataset>); got {type(extractor).__name__}."
        )
    return {**extractor.identity(), **extractor.info}


@torch.no_grad()
def classify(extractor: ClassifierExtractor, images: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
    """The evaluator's class of model-space images, quantised to uint8 first as if saved to PNG."""
    storage = to_storage(images)
    return torch.cat([extractor(chunk)[1].argmax(1).cpu() for chunk in storage.split(batch_size)])


@torch.no_grad()
def _synthesize(generator, ws: torch.Tensor, noise_mode: str, batch_size: int) -> torch.Tensor:
    device = _device(generator)
    return torch.cat([generator.synthesis(w.to(device), noise_mode).cpu() for w in ws.split(batch_size)])


@torch.no_grad()
def _ws(generator, z: torch.Tensor, psi: float, batch_size: int) -> torch.Tensor:
    device = _device(generator)
    out = []
    for chunk in z.split(batch_size):
        ws = generator.broadcast(generator.mapping(chunk.to(device)))
        out.append((generator.truncate(ws, psi) if psi != 1.0 else ws).cpu())
    return torch.cat(out)


# ------------------------------------------------------------------------------------- style mixing
@torch.no_grad()
def mixing_class_agreement(
    generator,
    extractor: ClassifierExtractor,
    z_a: torch.Tensor,
    z_b: torch.Tensor,
    levels: Sequence[str | int] = LEVELS,
    psi: float = 1.0,
    noise_mode: str = "const",
    batch_size: int = 250,
) -> dict[str, Any]:
    """Per level: the fraction of pairs whose mix (A with the level's styles from B) has A's class
    (``agree_a``) and B's class (``agree_b``), over all pairs and over the pairs A and B of different
    classes (``*_differing``, the informative part; ``differing_pairs`` counts them)."""
    if z_a.shape != z_b.shape:
        raise EvaluationError(f"z_a {list(z_a.shape)} and z_b {list(z_b.shape)} must have the same shape.")
    info = _extractor_info(extractor)
    ws_a, ws_b = _ws(generator, z_a, psi, batch_size), _ws(generator, z_b, psi, batch_size)
    class_a = classify(extractor, _synthesize(generator, ws_a, noise_mode, batch_size))
    class_b = classify(extractor, _synthesize(generator, ws_b, noise_mode, batch_size))
    differing = class_a != class_b
    results: dict[str, Any] = {}
    for level in levels:
        indices = resolve_level(generator, level)
        mixed = classify(
            extractor, _synthesize(generator, take_styles(ws_a, ws_b, indices), noise_mode, batch_size)
        )
        entry = {
            "style_inputs": indices,
            "resolutions": sorted({generator.layer_resolution(i) for i in indices}),
            "agree_a": float((mixed == class_a).double().mean()),
            "agree_b": float((mixed == class_b).double().mean()),
            "differing_pairs": int(differing.sum()),
        }
        if differing.any():
            entry["agree_a_differing"] = float((mixed == class_a)[differing].double().mean())
            entry["agree_b_differing"] = float((mixed == class_b)[differing].double().mean())
        results[str(level)] = entry
    return {
        "levels": results,
        "protocol": {
            "metric": "mixing_class_agreement_classifier",
            "pairs": len(z_a),
            "psi": psi,
            "noise_mode": noise_mode,
            "same_class_pairs": float((~differing).double().mean()),
            "extractor": info,
        },
    }


# -------------------------------------------------------------------------------------------- noise
@torch.no_grad()
def noise_effects(
    generator,
    extractor: ClassifierExtractor,
    z: torch.Tensor,
    draws: int = 8,
    noise_mode: str = "random",
    psi: float = 1.0,
    seed: int = 0,
    batch_size: int = 250,
) -> dict[str, Any]:
    """For each w (of ``z``), ``draws`` images with fresh noise: pixel std across the draws (grey levels,
    0-255; mean over pixels and samples, and its 99th percentile over pixels), the pixel std across the
    different w of one noise draw for scale, and the fraction of draws whose class is the class most
    draws of that w get (1 = noise never changes the class). ``noise_mode="none"`` or ``"const"`` gives a
    std of 0 and agreement 1 (nothing is redrawn)."""
    if draws < 2:
        raise EvaluationError(f"noise_effects needs at least 2 noise draws; got draws={draws}.")
    info = _extractor_info(extractor)
    ws = _ws(generator, z, psi, batch_size)
    with _noise_seed(generator, seed):
        images = torch.stack([_synthesize(generator, ws, noise_mode, batch_size) for _ in range(draws)], 1)
    grey = images.clamp(-1, 1).mul(127.5)  # [N, draws, C, H, W], in grey levels
    noise_std = grey.std(dim=1, unbiased=False)  # per sample and pixel, across noise draws
    w_std = grey[:, 0].std(dim=0, unbiased=False)  # per pixel, across the different w (draw 0)
    classes = classify(extractor, images.flatten(0, 1)).reshape(len(z), draws)
    modal = classes.mode(dim=1).values
    return {
        "pixel_std": float(noise_std.mean()),
        "pixel_std_p99": float(noise_std.flatten(1).quantile(0.99, dim=1).mean()),
        "pixel_std_across_w": float(w_std.mean()),
        "class_agreement": float((classes == modal[:, None]).double().mean()),
        "protocol": {
            "metric": "noise_effects_classifier",
            "samples": len(z),
            "draws": draws,
            "noise_mode": noise_mode,
            "psi": psi,
            "extractor": info,
        },
    }


# --------------------------------------------------------------------------------------- truncation
@torch.no_grad()
def truncation_sweep(
    generator,
    suite,
    z: torch.Tensor,
    psis: Sequence[float] = (1.0, 0.8, 0.6, 0.4),
    cutoff: int | None = None,
    noise_mode: str = "random",
    batch_size: int = 500,
) -> list[dict[str, Any]]:
    """The registry metrics of a :class:`~ganforge.metrics.evaluate.MetricSuite` (e.g. fid10k_classifier,
    pr10k_classifier) on the same ``z`` truncated at each psi; one row per psi."""
    if len(z) < suite.num_samples:
        raise EvaluationError(f"{len(z)} latents given; the metrics need {suite.num_samples}.")
    bad = [p for p in psis if not 0.0 <= float(p) <= 1.0]
    if bad:
        raise EvaluationError(f"Truncation psi values must lie in [0, 1]; got {bad}.")
    ws = _ws(generator, z, 1.0, batch_size)
    rows = []
    for psi in psis:
        truncated = generator.truncate(ws.to(_device(generator)), float(psi), cutoff).cpu()
        with _noise_seed(generator, 0):  # the same per-pixel noise draws at every psi
            samples = _synthesize(generator, truncated, noise_mode, batch_size)
        rows.append({"psi": float(psi), "cutoff": cutoff, **suite.score(samples)})
    return rows


# ---------------------------------------------------------------------------------- path length
def slerp(a: torch.Tensor, b: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation of the directions of a and b (unit-length result), as the authors' code."""
    a = a / a.norm(dim=-1, keepdim=True)
    b = b / b.norm(dim=-1, keepdim=True)
    d = (a * b).sum(dim=-1, keepdim=True)
    p = t * torch.acos(d.clamp(-1, 1))
    c = b - d * a
    c = c / c.norm(dim=-1, keepdim=True)
    out = a * torch.cos(p) + c * torch.sin(p)
    return out / out.norm(dim=-1, keepdim=True)


def float_features(extractor: ClassifierExtractor, images: torch.Tensor) -> torch.Tensor:
    """The evaluator's penultimate features of *unquantised* model-space images, unit-normalised.

    A step of 1e-4 in the latent changes pixels by far less than one grey level, so PPL cannot go
    through the uint8 quantisation every sample metric uses; the images take the same resize to the
    evaluator's input (ClassifierExtractor.prepare) as floats instead.
    """
    _extractor_info(extractor)
    if images.shape[1] != extractor.shape[0]:
        raise EvaluationError(
            f"The evaluator was trained on {extractor.shape[0]}-channel images; got {list(images.shape)}."
        )
    x = images.float().clamp(-1, 1)
    if list(x.shape[-2:]) != extractor.shape[1:]:
        x = F.interpolate(x, size=extractor.shape[1:], mode="bilinear", align_corners=False, antialias=False)
    device = next(extractor.net.parameters()).device
    features = extractor.net(x.to(device))[0].double()
    return features / features.norm(dim=1, keepdim=True).clamp_min(1e-12)


@torch.no_grad()
def perceptual_path_length(
    generator,
    extractor: ClassifierExtractor,
    n: int,
    space: str = "w",
    seed: int = 0,
    epsilon: float = PPL_EPSILON,
    sampling: str = "full",
    noise_mode: str = "const",
    batch_size: int = 250,
) -> dict[str, Any]:
    """``ppl_z_classifier`` / ``ppl_w_classifier``: E[d(G(lerp_t), G(lerp_{t+eps})) / eps^2] over ``n``
    pairs, d = squared distance of unit-normalised evaluator features, the 1st-99th percentile kept.

    ``space="z"``: slerp between z0, z1, then mapping and synthesis; ``"w"``: lerp between w0 = f(z0),
    w1 = f(z1) (every style input the same w). ``sampling="full"``: t ~ U(0, 1); ``"end"``: t in {0, 1}.
    """
    if space not in ("z", "w"):
        raise EvaluationError(f"PPL space={space!r} is unknown; use z or w.")
    if sampling not in ("full", "end"):
        raise EvaluationError(f"PPL sampling={sampling!r} is unknown; use full or end.")
    if n < 2:
        raise EvaluationError(f"PPL needs at least 2 pairs; got n={n}.")
    info = _extractor_info(extractor)
    g = torch.Generator().manual_seed(seed)
    z = torch.randn(2 * n, generator.latent_dim, generator=g)
    if sampling == "full":
        t = torch.rand(n, 1, generator=g)
    else:
        t = torch.randint(0, 2, (n, 1), generator=g).float()
    device = _device(generator)
    distances = []
    for z0, z1, tt in zip(z[:n].split(batch_size), z[n:].split(batch_size), t.split(batch_size)):
        z0, z1, tt = z0.to(device), z1.to(device), tt.to(device)
        if space == "z":
            w = generator.mapping(torch.cat([slerp(z0, z1, tt), slerp(z0, z1, tt + epsilon)]))
        else:
            w0, w1 = generator.mapping(z0), generator.mapping(z1)
            w = torch.cat([torch.lerp(w0, w1, tt), torch.lerp(w0, w1, tt + epsilon)])
        images = generator.synthesis(generator.broadcast(w), noise_mode)
        f = float_features(extractor, images)
        f0, f1 = f.chunk(2)
        distances.append(((f0 - f1).square().sum(1) / epsilon**2).cpu())
    dist = torch.cat(distances)
    lo, hi = torch.quantile(dist, 0.01), torch.quantile(dist, 0.99)
    kept = dist[(dist >= lo) & (dist <= hi)]
    return {
        f"ppl_{space}_classifier": float(kept.mean()),
        "protocol": {
            "metric": f"ppl_{space}_classifier",
            "pairs": n,
            "kept_pairs": len(kept),
            "epsilon": epsilon,
            "sampling": sampling,
            "interpolation": "slerp in z" if space == "z" else "lerp in w",
            "distance": "squared L2 of unit-normalised evaluator features (not VGG-LPIPS)",
            "noise_mode": noise_mode,
            "seed": seed,
            "extractor": info,
        },
    }

"""Scores of an image translation G against a known answer T (the benchmark of the known-answer pairs).

Images may be uint8 (0..255, storage space) or float in [-1, 1] (model space); every function first maps
them to float64 in [0, 1] (uint8 / 255, (x + 1) / 2), so the two spellings of one image score the same,
and PSNR and SSIM use ``data_range = 1.0``. Model outputs are usually quantised to uint8 first (as saved
PNGs are) so that a perfect translation of uint8 ground truth scores exactly.

- :func:`l1_error`: mean absolute difference in [0, 1] units (x 255 for grey levels).
- :func:`psnr`: per-image PSNR (torchmetrics), averaged over images, in dB. Identical images give +inf.
- :func:`ssim`: SSIM with torchmetrics' defaults (11x11 Gaussian window, sigma 1.5, k1 0.01, k2 0.03),
  averaged over images; 1 for identical images.
- :func:`class_agreement`: fraction of images whose predicted class is the same before and after
  translation (content preserved), under evaluator classifiers for the source and the target domain.
- :func:`cycle_reconstruction_error`: L1 between x and F(G(x)).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torchmetrics.functional.image import peak_signal_noise_ratio, structural_similarity_index_measure

from ganforge.errors import EvaluationError

DATA_RANGE = 1.0  # every score is computed on images mapped to [0, 1]
Classifier = Callable[[torch.Tensor], torch.Tensor | tuple[torch.Tensor, torch.Tensor]]


def to_unit(x: torch.Tensor) -> torch.Tensor:
    """uint8 (0..255) or float ([-1, 1]) images -> float64 in [0, 1]."""
    if x.dtype == torch.uint8:
        return x.double() / 255.0
    if not x.is_floating_point():
        raise EvaluationError(f"Images must be uint8 or float in [-1, 1]; got {x.dtype}.")
    if x.numel() and (x.min() < -1.0 - 1e-4 or x.max() > 1.0 + 1e-4):
        raise EvaluationError(
            f"Float images must be in [-1, 1] (the networks' tanh range); got [{float(x.min()):.3f}, "
            f"{float(x.max()):.3f}]. Pass uint8 images, or map them to [-1, 1] first."
        )
    return (x.double().clamp(-1.0, 1.0) + 1.0) / 2.0


def to_uint8(x: torch.Tensor) -> torch.Tensor:
    """Quantise images as ganforge saves them: uint8 unchanged, [-1, 1] floats rounded to 0..255."""
    if x.dtype == torch.uint8:
        return x
    return (to_unit(x) * 255.0).round().to(torch.uint8)


def _pair(pred: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    if pred.shape != target.shape or pred.dim() != 4:
        raise EvaluationError(
            f"Translations and references must be image batches [N, C, H, W] of one shape; got "
            f"{list(pred.shape)} and {list(target.shape)}."
        )
    return to_unit(pred), to_unit(target)


def l1_error(pred: torch.Tensor, target: torch.Tensor) -> float:
    p, t = _pair(pred, target)
    return float((p - t).abs().mean())


def psnr(pred: torch.Tensor, target: torch.Tensor) -> float:
    """Mean over images of 10 log10(1 / MSE) (+inf when some image is reproduced exactly)."""
    p, t = _pair(pred, target)
    per_image = peak_signal_noise_ratio(p, t, data_range=DATA_RANGE, reduction="none", dim=(1, 2, 3))
    return float(per_image.mean())


def ssim(pred: torch.Tensor, target: torch.Tensor) -> float:
    p, t = _pair(pred, target)
    if min(p.shape[-2:]) < 11:
        raise EvaluationError(
            f"SSIM's 11x11 window needs images of at least 11x11; got {list(p.shape[-2:])}."
        )
    return float(
        structural_similarity_index_measure(p, t, data_range=DATA_RANGE, reduction="elementwise_mean")
    )


def cycle_reconstruction_error(real: torch.Tensor, reconstructed: torch.Tensor) -> float:
    """L1 between images and their round trip F(G(x)), in [0, 1] units."""
    return l1_error(reconstructed, real)


def translation_scores(pred: torch.Tensor, target: torch.Tensor) -> dict[str, float]:
    """{"l1", "psnr", "ssim"} of translations against their known answers."""
    return {"l1": l1_error(pred, target), "psnr": psnr(pred, target), "ssim": ssim(pred, target)}


@torch.no_grad()
def predict(classifier: Classifier, images: torch.Tensor, batch_size: int = 500) -> torch.Tensor:
    """Predicted classes of images (quantised to uint8, as ganforge's ClassifierExtractor takes them).

    ``classifier`` returns logits or ganforge's (features, logits) pair.
    """
    labels = []
    for chunk in to_uint8(images).split(batch_size):
        out = classifier(chunk)
        logits = out[1] if isinstance(out, tuple) else out
        labels.append(logits.argmax(1).cpu())
    return torch.cat(labels)


def class_agreement(
    source: torch.Tensor,
    translated: torch.Tensor,
    source_classifier: Classifier,
    target_classifier: Classifier | None = None,
    batch_size: int = 500,
) -> float:
    """Fraction of images x whose class under ``source_classifier`` equals that of G(x) under
    ``target_classifier`` (default: the same classifier, for domains it reads equally well).

    For the known-answer pairs, train the target classifier on domain B (T of the base images) and check
    it on T(x): its agreement there is the ceiling any G can reach.
    """
    if len(source) != len(translated):
        raise EvaluationError(f"{len(source)} source images but {len(translated)} translations.")
    if len(source) == 0:
        raise EvaluationError("Class agreement of zero images is undefined.")
    before = predict(source_classifier, source, batch_size)
    after = predict(target_classifier or source_classifier, translated, batch_size)
    return float((before == after).double().mean())

"""Score generated samples against a dataset's real train split with a list of named metrics.

:class:`MetricSuite` loads each needed extractor and the real features once (from the on-disk cache when
possible) and can then score many sample sets: the training callback keeps one for the whole run.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from ganforge.data.base import FieldDataModule, take
from ganforge.errors import EvaluationError
from ganforge.metrics import compute
from ganforge.metrics.extractors import Extractor, extract, load_classifier, load_inception
from ganforge.metrics.mode_coverage import mode_coverage
from ganforge.metrics.registry import MetricSpec, parse_metrics
from ganforge.metrics.stacked_mnist import stacked_modes
from ganforge.metrics.stats_cache import real_features

REFERENCE_SPLIT = "train"


@dataclass
class EvalSettings:
    classifier_path: str
    digit_classifier_path: str = ""
    cache_dir: str | None = None
    batch_size: int = 500
    seed: int = 0

    @classmethod
    def from_config(cls, eval_cfg: Any) -> EvalSettings:
        return cls(
            classifier_path=str(eval_cfg.classifier_path),
            digit_classifier_path=str(eval_cfg.digit_classifier_path),
            cache_dir=str(eval_cfg.cache_dir) if eval_cfg.cache_dir else None,
            batch_size=int(eval_cfg.batch_size),
            seed=int(eval_cfg.seed),
        )


def to_storage(samples: torch.Tensor) -> torch.Tensor:
    """Model-space samples -> storage space: images ([-1, 1] floats, [N, C, H, W]) to uint8 as if saved to
    PNG; clips ([-1, 1] floats, [N, 1, T]) to int16 as if saved to a 16-bit WAV (x * 32768, the inverse of
    the datamodule's x / 32768, clipped); points unchanged."""
    if samples.dim() == 4 and samples.is_floating_point():
        return ((samples.detach().float().cpu() + 1.0) * 127.5).round_().clamp_(0, 255).to(torch.uint8)
    if samples.dim() == 3 and samples.is_floating_point():
        from ganforge.audio.io import float_to_int16

        return float_to_int16(samples)
    return samples.detach().cpu()


class MetricSuite:
    def __init__(
        self,
        names: list[str],
        datamodule: FieldDataModule,
        settings: EvalSettings,
        device: str | torch.device = "cpu",
        field: str | None = None,
    ):
        self.device = torch.device(device)  # where the extractors run (samples are moved there)
        self.specs: list[MetricSpec] = parse_metrics(list(names))
        self.datamodule = datamodule
        # The real data generated samples are compared with: the generating family's sample field (b for
        # a2b translation, hr for super-resolution); the datamodule's own by default.
        self.field = field or datamodule.sample_field
        self.settings = settings
        self._extractors: dict[str, Extractor] = {}
        self._real: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
        self._train_distance: torch.Tensor | None = None  # the nn metrics' training vectors, made once
        self._recognizer: Any = None
        self._check_applicable()

    @property
    def num_samples(self) -> int:
        """Generated samples the suite needs (the largest count named)."""
        return max((s.count for s in self.specs), default=0)

    def _check_applicable(self) -> None:
        for spec in self.specs:
            if spec.kind == "speech_digits" and not callable(getattr(self.datamodule, "write_audio", None)):
                raise EvaluationError(
                    f"{spec.name} recognises spoken digits in audio clips; data={self.datamodule.name} is "
                    "not audio. Use it with audio data (e.g. data=spoken_digits)."
                )
            if spec.kind == "modes" and not hasattr(self.datamodule, "means"):
                raise EvaluationError(
                    f"{spec.name} measures mode coverage of a 2-D Gaussian mixture; "
                    f"data={self.datamodule.name} "
                    "is not one. Use data=ring or data=grid, or another metric."
                )

    def extractor(self, route: str, digits: bool = False) -> Extractor:
        key = "digits" if digits else route
        if key not in self._extractors:
            if route == "inception":
                self._extractors[key] = load_inception()
            elif digits:
                self._extractors[key] = load_classifier(self.settings.digit_classifier_path, "mnist5k")
            else:
                self._extractors[key] = load_classifier(self.settings.classifier_path, self.datamodule.name)
                self._check_field(self._extractors[key])
            self._extractors[key].to(self.device)
        return self._extractors[key]

    def _check_field(self, extractor: Extractor) -> None:
        # Evaluators from before fields were recorded learnt the sample field: nothing to check there.
        trained = getattr(extractor, "info", {}).get("field")
        if trained is not None and self.field is not None and trained != self.field:
            raise EvaluationError(
                f"The evaluator {self.settings.classifier_path} was trained on field {trained!r} of "
                f"data={self.datamodule.name}, but these samples are compared with field {self.field!r}. "
                f"Train one for it (ganforge-train-evaluator data={self.datamodule.name} "
                f"evaluator.field={self.field}) or point eval.classifier_path at one."
            )

    def to(self, device: str | torch.device) -> MetricSuite:
        self.device = torch.device(device)
        for extractor in self._extractors.values():
            extractor.to(self.device)
        return self

    def real(self, route: str) -> tuple[torch.Tensor, torch.Tensor]:
        if route not in self._real:
            samples, labels = self.datamodule.reference(self.field, REFERENCE_SPLIT)
            if labels is None:
                labels = torch.zeros(0, dtype=torch.int64)  # part of the cache key only
            self._real[route] = real_features(
                self.extractor(route),
                samples,
                labels,
                self.reference_name,
                REFERENCE_SPLIT,
                self.settings.cache_dir,
                self.settings.batch_size,
            )
        return self._real[route]

    @property
    def reference_name(self) -> str:
        """The real data's name in caches and metrics.json: the dataset, plus the field if not its own."""
        name = self.datamodule.name
        return name if self.field == self.datamodule.sample_field else f"{name}.{self.field}"

    def prepare(self) -> None:
        """Load extractors and real features now (fail early, before training or sampling)."""
        for spec in self.specs:
            if spec.kind == "stacked_modes":
                self.extractor("classifier", digits=True)
            elif spec.route is not None:
                self.real(spec.route)

    def score(self, generated: torch.Tensor) -> dict[str, float]:
        """All metrics on generated samples (model space or storage space); each uses its first ``count``."""
        samples = to_storage(generated)
        if len(samples) < self.num_samples:
            raise EvaluationError(
                f"{len(samples)} samples given, but {max(self.specs, key=lambda s: s.count).name} needs "
                f"{self.num_samples}. Provide more samples or choose a metric with a smaller count."
            )
        fake_cache: dict[tuple[str, int], tuple[torch.Tensor, torch.Tensor]] = {}
        results: dict[str, float] = {}
        seed = self.settings.seed
        for spec in self.specs:
            subset = samples[: spec.count]
            if spec.kind == "modes":
                out = mode_coverage(subset, self.datamodule.means, float(self.datamodule.std))
                results.update({f"{spec.name}_{k}": float(v) for k, v in out.items()})
                continue
            if spec.kind in ("nn", "speech_digits"):
                out = self._unrouted(spec.kind, subset)
                results.update({f"{spec.name}_{k}": float(v) for k, v in out.items()})
                continue
            if spec.kind == "stacked_modes":
                out = stacked_modes(
                    subset, self.extractor("classifier", digits=True), self.settings.batch_size
                )
                results.update({f"{spec.name}_{k}": float(v) for k, v in out.items()})
                continue
            real_f, _ = self.real(spec.route)
            key = (spec.route, spec.count)
            if key not in fake_cache:
                fake_cache[key] = extract(self.extractor(spec.route), subset, self.settings.batch_size)
            fake_f, fake_logits = fake_cache[key]
            if spec.kind == "fid":
                results[spec.name] = compute.fid(real_f, fake_f)
            elif spec.kind == "kid":
                results[spec.name], results[f"{spec.name}_std"] = compute.kid(real_f, fake_f, seed)
            elif spec.kind == "is":
                results[spec.name], results[f"{spec.name}_std"] = compute.inception_score(fake_logits, seed)
            elif spec.kind == "pr":
                p, r = compute.precision_recall(real_f, fake_f, seed)
                results[f"{spec.name}_precision"], results[f"{spec.name}_recall"] = p, r
        return results

    def _unrouted(self, kind: str, samples: torch.Tensor) -> dict[str, float]:
        """The metrics with no feature extractor of their own: nearest neighbours and speech digits."""
        if kind == "nn":
            if self._train_distance is None:
                real, _ = self.datamodule.reference(self.field, REFERENCE_SPLIT)
                self._train_distance = self.datamodule.distance_features(real)
            d_self, d_train = compute.nearest_neighbour_distances(
                self.datamodule.distance_features(samples), self._train_distance
            )
            return {"self": d_self, "train": d_train}
        from ganforge.metrics.speech_recognition import DigitRecognizer, digit_scores

        if self._recognizer is None:
            self._recognizer = DigitRecognizer(int(getattr(self.datamodule, "sample_rate", 16_000)))
        return digit_scores(self._recognizer.recognise(samples))

    def protocol(self) -> dict[str, Any]:
        """What the numbers depend on, for metrics.json."""
        info: dict[str, Any] = {
            "reference": f"{self.reference_name}:{REFERENCE_SPLIT}",
            # With the extractor's input_shape: a resize between the two is part of the protocol.
            "reference_shape": list(self.datamodule.shape),
            "metrics": {},
        }
        for spec in self.specs:
            entry: dict[str, Any] = {"kind": spec.kind, "generated_samples": spec.count}
            if spec.route is not None:
                ex = self.extractor(spec.route, digits=spec.kind == "stacked_modes")
                entry["extractor"] = ex.identity()
                if hasattr(ex, "info"):
                    entry["extractor"].update(ex.info)
            elif spec.kind == "nn":
                entry["space"] = f"{type(self.datamodule).__name__}.distance_features; Euclidean"
            elif spec.kind == "speech_digits":
                from ganforge.metrics.speech_recognition import recogniser_identity

                entry["recogniser"] = recogniser_identity()
            info["metrics"][spec.name] = entry
        return info


@torch.no_grad()
def generate(module: Any, n: int, seed: int, datamodule: Any = None, chunk: int = 1000) -> torch.Tensor:
    """``n`` samples from a module's sampling networks for its fixed inputs (``sampling_inputs(n, seed)``:
    noise for noise-driven families, test-split inputs for image-to-image ones)."""
    return sample_in_chunks(module, module.sampling_inputs(n, seed, datamodule), chunk)


def sample_in_chunks(module: Any, inputs: dict[str, torch.Tensor], chunk: int = 1000) -> torch.Tensor:
    n = len(next(iter(inputs.values())))
    return torch.cat(
        [module.sample_inputs(take(inputs, slice(i, i + chunk))).cpu() for i in range(0, n, chunk)]
    )

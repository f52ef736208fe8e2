"""Metric names that carry their protocol, parsed as in stylegan2-ada (``fid50k_full``).

``<kind><count>[_<route>]``: the count of generated samples is part of the name (``10k`` = 10,000,
``2k5`` = 2,500, ``500`` = 500), the route names the feature extractor (``classifier`` or ``inception``).
The real reference is always the dataset's full train split (see docs/evaluation.md).

=================  ======================================================  ==========================
kind               what                                                    example
=================  ======================================================  ==========================
fid                Frechet distance of features (torchmetrics)             fid10k_classifier
kid                kernel inception distance, mean and std (torchmetrics)  kid10k_inception
is                 inception score, mean and std (torchmetrics)            is10k_classifier
pr                 k-NN precision and recall, k=3 (torch-fidelity)         pr10k_classifier
modes              2-D mixture mode coverage (VEEGAN/PacGAN protocol)      modes2k5
stacked_modes      Stacked-MNIST modes of 1,000 and KL (digit classifier)  stacked_modes26k
nn                 nearest-neighbour distances D_self / D_train            nn1k
speech_digits      pocketsphinx's digit recognition (audio only)           speech_digits2k
=================  ======================================================  ==========================

``nn`` measures in the datamodule's ``distance_features`` space (pixels in [-1, 1] for images, SpecGAN's
standardised log spectrogram for audio); ``speech_digits`` is ganforge.metrics.speech_recognition.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ganforge.errors import EvaluationError

ROUTES = ("classifier", "inception")
# kind -> (needs a feature-extractor route in its name, description)
KINDS: dict[str, tuple[bool, str]] = {
    "fid": (True, "Frechet distance of extractor features (lower is better)"),
    "kid": (True, "kernel inception distance x1, mean and std over subsets (lower is better)"),
    "is": (True, "inception score from the extractor's class posteriors (higher is better)"),
    "pr": (True, "k-NN precision and recall, k=3 (Kynkaanniemi et al. 2019)"),
    "modes": (False, "2-D mixtures: modes captured, % high quality, reverse KL (VEEGAN/PacGAN)"),
    "stacked_modes": (False, "Stacked MNIST: modes covered of 1,000 and KL to uniform (digit classifier)"),
    "nn": (False, "mean distance to the nearest other sample (_self) and training sample (_train)"),
    "speech_digits": (False, "audio: share pocketsphinx recognises as a digit, digit histogram and KL"),
}
EXAMPLES = [
    "fid10k_classifier",
    "fid50k_inception",
    "kid10k_classifier",
    "is10k_classifier",
    "pr10k_classifier",
    "modes2k5",
    "stacked_modes26k",
    "nn1k",
    "speech_digits2k",
]
_NAME = re.compile(r"^(?P<kind>[a-z_]+?)(?P<count>\d+(?:k\d*)?)(?:_(?P<route>[a-z]+))?$")


@dataclass(frozen=True)
class MetricSpec:
    name: str
    kind: str
    count: int
    route: str | None  # feature extractor; the classifier for stacked_modes

    @property
    def lower_is_better(self) -> bool:
        return self.kind in ("fid", "kid")


def parse_count(text: str) -> int:
    """``10k`` -> 10000, ``2k5`` -> 2500, ``500`` -> 500."""
    if "k" not in text:
        return int(text)
    whole, frac = text.split("k")
    return int(whole) * 1000 + (int(frac.ljust(3, "0")) if frac else 0)


def format_count(n: int) -> str:
    """The inverse of :func:`parse_count`: 10000 -> ``10k``, 2500 -> ``2k5``, 500 -> ``500``."""
    if n < 1000:
        return str(n)
    whole, rest = divmod(n, 1000)
    return f"{whole}k{str(rest).rjust(3, '0').rstrip('0') if rest else ''}"


def describe() -> str:
    kinds = "; ".join(f"{k}: {d}" for k, (_, d) in KINDS.items())
    return (
        f"Known metrics: {', '.join(EXAMPLES)} (pattern <kind><count>[_<route>], routes {list(ROUTES)}; "
        f"{kinds})."
    )


def parse_metric(name: str) -> MetricSpec:
    match = _NAME.match(str(name))
    kind = match["kind"] if match else None
    if match is None or kind not in KINDS:
        raise EvaluationError(f"Unknown metric {name!r}. {describe()}")
    needs_route, _ = KINDS[kind]
    route = match["route"]
    if needs_route and route is None:
        raise EvaluationError(f"Metric {name!r} needs a route suffix _classifier or _inception. {describe()}")
    if needs_route and route not in ROUTES:
        raise EvaluationError(f"Unknown metric {name!r}: no route {route!r}. {describe()}")
    if not needs_route and route is not None:
        raise EvaluationError(
            f"Metric {name!r} takes no route suffix (write {kind}{match['count']}). {describe()}"
        )
    count = parse_count(match["count"])
    if count < 2:
        raise EvaluationError(f"Metric {name!r} asks for {count} samples; at least 2 are needed.")
    return MetricSpec(
        str(name), kind, count, route if needs_route else ("classifier" if kind == "stacked_modes" else None)
    )


def parse_metrics(names: list[str] | tuple[str, ...]) -> list[MetricSpec]:
    specs = [parse_metric(n) for n in names]
    if len({s.name for s in specs}) != len(specs):
        raise EvaluationError(f"Metric list {list(names)} names a metric twice.")
    return specs

"""SRGAN's content losses: how far a super-resolved image is from its HR target (``content=...``).

- ``vgg54``: MSE between VGG19 feature maps phi_5,4 (Ledig et al. 2017): the output of the 4th
  convolution of block 5 after its ReLU, before the 5th max-pool = ``torchvision vgg19().features[:36]``
  (index 34 is conv5_4, 35 its ReLU, 36 the last max-pool). ImageNet weights (torchvision
  ``VGG19_Weights.IMAGENET1K_V1``), downloaded once into the torch hub cache with its SHA-256 prefix
  checked; offline without the file it is a clear error, never a silent fallback.
- ``classifier``: MSE between feature maps of ganforge's *evaluator classifier* (the classifier route's
  LeNet trained by ``ganforge-train-evaluator``): a small network trained on the dataset itself, not a
  perceptual network. It works offline; note that classifier FID then scores with a network the
  generator was trained against, so it is not an independent perceptual measure.
- ``mse``: pixel MSE (SRResNet's loss, and SRGAN's phase 1).

The SRGAN perceptual loss is ``content_weight * content + adversarial_weight * adversarial`` with the
paper's weights 1 and 1e-3 (:data:`CONTENT_WEIGHT`, :data:`ADVERSARIAL_WEIGHT`, :func:`perceptual_loss`).

How a family holds a content loss: a :class:`ContentLoss` is deliberately *not* an ``nn.Module``. Kept as
a plain attribute of the LightningModule, its frozen feature network is not a registered submodule, so it
is outside ``parameters()`` (no optimizer, no DDP gradient averaging), outside ``state_dict()`` (VGG19's
features would add 80 MB to every checkpoint; the run records :meth:`ContentLoss.describe` instead and
rebuilds the loss from the config on resume), and outside the buffers that ``GANDDPStrategy`` broadcasts
every step (the classifier's BatchNorm statistics are fixed anyway). Lightning does not move it: it
follows its input's device on each call. It pickles, so ``ddp_spawn`` works.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.errors import ConfigError, EvaluationError
from ganforge.io import umask_file_mode

CONTENT_KINDS = ("vgg54", "classifier", "mse")
CONTENT_WEIGHT = 1.0
ADVERSARIAL_WEIGHT = 1e-3
# Ledig et al. rescale the VGG feature maps by 1/12.75 "to obtain VGG losses of a scale that is
# comparable to the MSE loss" (so the squared error shrinks by 12.75^2 = 162.6).
VGG_FEATURE_SCALE = 1.0 / 12.75
VGG54_LAYERS = 36  # features[:36]: conv1_1 ... conv5_4 + ReLU (16 convolutions), before the last max-pool
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def perceptual_loss(
    content: torch.Tensor,
    adversarial: torch.Tensor,
    content_weight: float = CONTENT_WEIGHT,
    adversarial_weight: float = ADVERSARIAL_WEIGHT,
) -> torch.Tensor:
    """SRGAN's generator objective l^SR = l_X + 1e-3 l_Gen (Ledig et al. 2017, eq. 3)."""
    return content_weight * content + adversarial_weight * adversarial


class ContentLoss:
    """``loss(sr, hr)`` -> scalar, for model-space images in [-1, 1] of the same shape."""

    kind: str = ""

    def __call__(self, sr: torch.Tensor, hr: torch.Tensor) -> torch.Tensor:
        if sr.shape != hr.shape:
            raise ConfigError(
                f"content={self.kind}: SR output {list(sr.shape)} and HR target {list(hr.shape)} differ in "
                "shape; the generator's scale must equal data.scale."
            )
        return self.compute(sr, hr)

    def compute(self, sr: torch.Tensor, hr: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        """What this loss is, for the run record and the logs (``content=...`` is never implicit)."""
        return {"content": self.kind}


class PixelMSE(ContentLoss):
    kind = "mse"

    def compute(self, sr: torch.Tensor, hr: torch.Tensor) -> torch.Tensor:
        return F.mse_loss(sr, hr)

    def describe(self) -> dict[str, Any]:
        return {"content": self.kind, "what": "pixel MSE in model space [-1, 1]"}


class FeatureContentLoss(ContentLoss):
    """MSE between ``scale * features(prepare(x))`` of SR and HR; the feature network is frozen."""

    def __init__(
        self,
        kind: str,
        features: nn.Module,
        prepare: Callable[[torch.Tensor], torch.Tensor],
        scale: float = 1.0,
        info: dict[str, Any] | None = None,
    ):
        self.kind = kind
        self.features = features.eval().requires_grad_(False)
        self.prepare = prepare
        self.scale = scale
        self.info = dict(info or {})

    def _features(self, x: torch.Tensor) -> torch.Tensor:
        return self.features(self.prepare(x)) * self.scale

    def compute(self, sr: torch.Tensor, hr: torch.Tensor) -> torch.Tensor:
        first = next(self.features.parameters(), None)
        if first is not None and first.device != sr.device:
            self.features.to(sr.device)  # not a submodule of the family, so Lightning does not move it
        self.features.eval()  # whatever mode the family's train()/eval() calls leave elsewhere
        with torch.no_grad():
            target = self._features(hr)
        # Gradients flow through the frozen network into sr only.
        return F.mse_loss(self._features(sr), target)

    def describe(self) -> dict[str, Any]:
        return {"content": self.kind, "feature_scale": self.scale, **self.info}


# --------------------------------------------------------------------------------------------- vgg54
def vgg54_url() -> str:
    from torchvision.models import VGG19_Weights

    return VGG19_Weights.IMAGENET1K_V1.url


def vgg54_features_net() -> nn.Sequential:
    """VGG19's convolutional layers up to phi_5,4 (randomly initialised; load weights into it)."""
    from torchvision.models.vgg import cfgs, make_layers

    # make_layers(cfgs["E"]) is exactly vgg19().features, without building the 120M-parameter classifier.
    return make_layers(cfgs["E"], batch_norm=False)[:VGG54_LAYERS]


def _weights_path(url: str) -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints" / os.path.basename(url)


def _offline_error(url: str, path: Path, reason: str) -> ConfigError:
    return ConfigError(
        f"content=vgg54 needs torchvision's VGG19 ImageNet weights (VGG19_Weights.IMAGENET1K_V1) at {path}, "
        f"and they are not there and could not be downloaded ({reason}). Download {url} once (on a machine "
        f"with internet: torchvision fetches it into $TORCH_HOME/hub/checkpoints/ and checks its SHA-256 "
        f"prefix) and copy {path.name} to {path.parent}/ (set TORCH_HOME to use another cache), or train "
        "with content=classifier (features of ganforge's evaluator classifier, offline) or content=mse "
        "(pixel loss)."
    )


def load_vgg54_state_dict(url: str | None = None) -> dict[str, torch.Tensor]:
    """VGG19's ImageNet ``features.*`` weights, from the torch hub cache or downloaded (hash checked).

    The download is the call torchvision's own ``vgg19(weights=...)`` makes
    (``VGG19_Weights.IMAGENET1K_V1.get_state_dict(check_hash=True)`` =
    ``torch.hub.load_state_dict_from_url(url, check_hash=True)``): the file name carries the first hex
    digits of its SHA-256 (``vgg19-dcbb9e9d.pth``), which torch.hub checks, and it writes to a temporary
    ``.partial`` file renamed only when complete. ``url`` is exposed for tests (a local server).
    ``GANFORGE_OFFLINE=1`` skips the attempt.
    """
    url = url or vgg54_url()
    path = _weights_path(url)
    if path.is_file():
        try:
            state = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001 - an unreadable cache file
            raise ConfigError(
                f"content=vgg54: {path} cannot be read ({type(exc).__name__}: {exc}); delete it so it is "
                f"downloaded again from {url}, or copy an intact copy there."
            ) from exc
    elif os.environ.get("GANFORGE_OFFLINE", "") not in ("", "0"):
        raise _offline_error(url, path, "GANFORGE_OFFLINE is set")
    else:
        try:
            state = torch.hub.load_state_dict_from_url(
                url, progress=False, check_hash=True, weights_only=True
            )
        except Exception as exc:  # noqa: BLE001 - any download failure gets the same advice
            raise _offline_error(url, path, f"{type(exc).__name__}: {exc}") from exc
        if path.is_file():  # torch.hub downloads through a NamedTemporaryFile: mode 0600 whatever the umask
            os.chmod(path, umask_file_mode())
    return {k.removeprefix("features."): v for k, v in state.items() if k.startswith("features.")}


def vgg54_content(state_dict: dict[str, torch.Tensor] | None = None, scale: float = VGG_FEATURE_SCALE):
    """The ``vgg54`` content loss; ``state_dict`` (keys of ``vgg19().features``) defaults to ImageNet's."""
    pretrained = state_dict is None
    state = load_vgg54_state_dict() if pretrained else state_dict
    with torch.device("meta"):  # no throw-away initialisation of 20M parameters
        net = vgg54_features_net()
    missing = [k for k in net.state_dict() if k not in state]
    if missing:
        raise ConfigError(f"content=vgg54: the VGG19 weights lack {missing[:4]}...; they are not VGG19's.")
    net.load_state_dict({k: state[k] for k in net.state_dict()}, assign=True)
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)

    def prepare(x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)  # grayscale tiled to RGB
        elif x.shape[1] != 3:
            raise ConfigError(f"content=vgg54 takes 1- or 3-channel images; got {x.shape[1]} channels.")
        # [-1, 1] -> [0, 1] -> ImageNet normalisation (what torchvision's VGG19 weights expect).
        return ((x + 1.0) * 0.5 - mean.to(x.device, x.dtype)) / std.to(x.device, x.dtype)

    info = {
        "what": "VGG19 phi_5,4 (features[:36], after conv5_4's ReLU) feature MSE",
        "weights": os.path.basename(vgg54_url()) if pretrained else "given state_dict",
    }
    return FeatureContentLoss("vgg54", net, prepare, scale, info)


# ---------------------------------------------------------------------------------------- classifier
# The evaluator's LeNet body (extractors.ImageClassifier): [conv, bn, relu, pool, conv, bn, relu, pool,
# adaptive pool, flatten, linear, relu]. "conv" stops after the second convolution's ReLU, before its
# max-pool (the analogue of phi_5,4: the last convolution's activation); "penultimate" is the 512-d layer
# the classifier route's FID uses.
CLASSIFIER_LAYERS = {"conv": 7, "penultimate": 12}


def classifier_content(
    path: str | Path, data_name: str | None = None, layer: str = "conv", scale: float = 1.0
) -> FeatureContentLoss:
    """The ``classifier`` content loss: feature maps of the evaluator saved at ``path``.

    ``data_name`` is the dataset the evaluator must have been trained on: for paired SR data, the HR
    source (e.g. ``fashion_mnist``), whose images the classifier knows.
    """
    from ganforge.metrics.extractors import ImageClassifier, load_classifier

    if layer not in CLASSIFIER_LAYERS:
        raise ConfigError(f"content layer={layer!r} is unknown; use one of {list(CLASSIFIER_LAYERS)}.")
    try:
        extractor = load_classifier(path, data_name)
    except EvaluationError as exc:
        raise ConfigError(
            f"content=classifier uses the features of ganforge's evaluator classifier, which is not "
            f"usable: {exc} Alternatively use content=mse (pixel loss) or content=vgg54 (VGG19 weights)."
        ) from exc
    if not isinstance(extractor.net, ImageClassifier):
        raise ConfigError(f"content=classifier needs an image classifier; {path} classifies points.")
    features = extractor.net.body[: CLASSIFIER_LAYERS[layer]]
    size = tuple(extractor.shape[1:])
    channels = extractor.shape[0]

    def prepare(x: torch.Tensor) -> torch.Tensor:
        if x.shape[1] != channels:
            raise ConfigError(
                f"content=classifier: the evaluator {path} was trained on {channels}-channel images; the SR "
                f"images have {x.shape[1]}. Use content=mse or an evaluator for this data."
            )
        # The evaluator's input space is model space [-1, 1] at its training size (bilinear, no antialias,
        # as its extractor resizes); resizing keeps the graph differentiable.
        if tuple(x.shape[-2:]) != size:
            x = F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=False)
        return x

    info = {
        "what": f"evaluator classifier features ({layer} layer) MSE",
        "evaluator": str(path),
        "evaluator_data": extractor.info.get("data"),
        "weights_hash": extractor.weights_hash[:12],
    }
    return FeatureContentLoss("classifier", features, prepare, scale, info)


def build_content_loss(
    kind: str,
    classifier_path: str | Path | None = None,
    data_name: str | None = None,
    classifier_layer: str = "conv",
    feature_scale: float | None = None,
) -> ContentLoss:
    """``content=vgg54 | classifier | mse`` -> its loss. ``feature_scale`` defaults to 1/12.75 for vgg54
    (the paper) and 1 for the classifier."""
    if kind == "mse":
        return PixelMSE()
    if kind == "vgg54":
        return vgg54_content(scale=VGG_FEATURE_SCALE if feature_scale is None else feature_scale)
    if kind == "classifier":
        if classifier_path is None:
            raise ConfigError(
                "content=classifier needs the evaluator's path (train it with "
                f"`ganforge-train-evaluator data={data_name or '<name>'}`)."
            )
        scale = 1.0 if feature_scale is None else feature_scale
        return classifier_content(classifier_path, data_name, classifier_layer, scale)
    raise ConfigError(f"content={kind!r} is unknown; use one of {list(CONTENT_KINDS)}.")

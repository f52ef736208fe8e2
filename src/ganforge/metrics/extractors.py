"""Feature extractors of the two FID routes, never silently swapped for one another.

- ``classifier``: a small network ganforge trains on the dataset itself (``ganforge-train-evaluator``):
  a LeNet-style CNN for images (any size, through adaptive pooling), a spectrogram CNN for audio clips
  (``ganforge.metrics.audio_classifier``) or an MLP for 2-D points. Its
  penultimate layer gives the features (FID, KID, precision/recall), its logits the class posteriors (IS,
  mode counting). Numbers are comparable only between runs scored with the same classifier file.
- ``inception``: the Inception-v3 of the FID/IS literature (torch-fidelity's port, through torchmetrics)
  with the TF1-compatible bilinear resize (``antialias=False``), so numbers match published ones.

Every extractor takes samples in *storage space*: uint8 images [N, C, H, W] (generated images are
quantised the same way, as if saved to PNG), int16 clips [N, 1, T] (as if saved to a 16-bit WAV) or float
points [N, D].
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ganforge.errors import EvaluationError

INCEPTION_FILE = "weights-inception-2015-12-05-6726825d.pth"
# SHA-256 of torch-fidelity's release file (95,628,359 bytes); torch.hub names files after its first eight
# hex digits, hence the "6726825d" above. Checked after a download and on every load of the cached file.
INCEPTION_SHA256 = "6726825d0af5f729cebd5821db510b11b1cfad8faad88a03f1befd49fb9129b2"
CLASSIFIER_FORMAT = 1


def tensor_hash(*tensors: torch.Tensor, extra: str = "") -> str:
    """SHA-256 of tensors' dtype, shape and bytes (content, not identity)."""
    h = hashlib.sha256(extra.encode())
    for t in tensors:
        t = t.detach().cpu().contiguous().reshape(-1)
        h.update(f"{t.dtype}{tuple(t.shape)}".encode())
        h.update(t.view(torch.uint8).numpy().tobytes() if t.numel() else b"")
    return h.hexdigest()


def state_dict_hash(state_dict: dict[str, torch.Tensor]) -> str:
    h = hashlib.sha256()
    for key in sorted(state_dict):
        h.update(key.encode())
        h.update(tensor_hash(state_dict[key]).encode())
    return h.hexdigest()


# --------------------------------------------------------------------------- classifier networks
class ImageClassifier(nn.Module):
    """LeNet-style CNN (Caffe's LeNet: widths 20/50, valid 5x5 convolutions) with BatchNorm, ReLU and
    max-pooling; adaptive pooling to 4x4 (exact for 28x28) so other sizes work too; a ``feature_dim``
    fully connected layer (the features) and a linear head. Images under 16x16 (two valid 5x5 convolutions
    need at least that; data=digits is 8x8) are first upsampled bilinearly to 16x16."""

    MIN_SIZE = 16

    def __init__(
        self,
        in_channels: int,
        num_classes: int,
        feature_dim: int = 512,
        dropout: float = 0.3,
        image_size: tuple[int, int] | None = None,
    ):
        super().__init__()
        small = image_size is not None and min(image_size) < self.MIN_SIZE
        # Parameter-free and outside `body`, so the state dict of larger-image classifiers is unchanged.
        self.resize = (
            nn.Upsample(size=(self.MIN_SIZE, self.MIN_SIZE), mode="bilinear", align_corners=False)
            if small
            else nn.Identity()
        )
        self.body = nn.Sequential(
            nn.Conv2d(in_channels, 20, 5),
            nn.BatchNorm2d(20),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(20, 50, 5),
            nn.BatchNorm2d(50),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.AdaptiveAvgPool2d(4),
            nn.Flatten(),
            nn.Linear(50 * 16, feature_dim),
            nn.ReLU(),
        )
        self.head = nn.Sequential(nn.Dropout(dropout), nn.Linear(feature_dim, num_classes))
        self.num_features = feature_dim

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.body(self.resize(x))
        return features, self.head(features)


class PointClassifier(nn.Module):
    """MLP for low-dimensional points (the 2-D mixtures): which mode did a point come from."""

    def __init__(self, in_features: int, num_classes: int, feature_dim: int = 128):
        super().__init__()
        self.body = nn.Sequential(
            nn.Linear(in_features, feature_dim), nn.ReLU(), nn.Linear(feature_dim, feature_dim), nn.ReLU()
        )
        self.head = nn.Linear(feature_dim, num_classes)
        self.num_features = feature_dim

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        features = self.body(x)
        return features, self.head(features)


def build_classifier_net(shape: list[int], num_classes: int, feature_dim: int | None = None) -> nn.Module:
    """The classifier architecture for one sample shape: [C, H, W] images, [1, T] clips or [D] points."""
    if len(shape) == 3:
        return ImageClassifier(shape[0], num_classes, feature_dim or 512, image_size=(shape[1], shape[2]))
    if len(shape) == 2 and shape[0] == 1:
        from ganforge.metrics.audio_classifier import AudioClassifier

        return AudioClassifier(num_classes, feature_dim or 256)
    if len(shape) == 1:
        return PointClassifier(shape[0], num_classes, feature_dim or 128)
    raise EvaluationError(
        f"No classifier architecture for samples of shape {shape}; use [C, H, W] images, [1, T] mono "
        "clips or [D] points."
    )


def prepare_samples(x: torch.Tensor, shape: list[int]) -> torch.Tensor:
    """Storage-space samples -> the classifier's input: uint8 images to [-1, 1] at the trained size; int16
    clips to [-1, 1) floats (x / 32768) padded or cut to the trained length; points as float. The same
    conversion when the classifier is trained (classifier_module) and when it scores."""
    if len(shape) == 2:
        return _prepare_clips(x, shape)
    if len(shape) == 1:
        if x.dim() != 2 or x.shape[1] != shape[0]:
            raise EvaluationError(
                f"The point classifier expects [N, {shape[0]}] samples; got {list(x.shape)}."
            )
        return x.float()
    if x.dim() != 4 or x.shape[1] != shape[0]:
        raise EvaluationError(
            f"The image classifier was trained on {shape[0]}-channel images; got samples of shape "
            f"{list(x.shape)}. Convert the samples to the dataset's channels or train an evaluator "
            "for them."
        )
    if x.dtype != torch.uint8:
        raise EvaluationError("Image samples must reach the extractor as uint8 (quantised) tensors.")
    x = x.float().div_(127.5).sub_(1.0)
    if list(x.shape[-2:]) != shape[1:]:
        x = F.interpolate(x, size=shape[1:], mode="bilinear", align_corners=False, antialias=False)
    return x


def _prepare_clips(x: torch.Tensor, shape: list[int]) -> torch.Tensor:
    if x.dim() != 3 or x.shape[1] != shape[0]:
        raise EvaluationError(
            f"The audio classifier expects mono clips [N, 1, T]; got samples of shape {list(x.shape)}."
        )
    if x.dtype != torch.int16:
        raise EvaluationError("Audio samples must reach the extractor as int16 (quantised) clips.")
    from ganforge.audio.io import int16_to_float
    from ganforge.audio.spectrogram import fit_samples

    return fit_samples(int16_to_float(x), int(shape[1]))


# --------------------------------------------------------------------------- extractors
class Extractor(nn.Module):
    """Maps storage-space samples to (features [N, d], logits [N, classes]); eval mode only."""

    route: str = ""
    num_features: int = 0

    def identity(self) -> dict[str, Any]:
        """Everything the features depend on besides the input (cache key material)."""
        raise NotImplementedError

    def train(self, mode: bool = True) -> Extractor:
        return super().train(False)


class ClassifierExtractor(Extractor):
    route = "classifier"

    def __init__(self, net: nn.Module, shape: list[int], weights_hash: str, info: dict[str, Any]):
        super().__init__()
        self.net = net
        self.shape = [int(s) for s in shape]
        self.num_features = int(net.num_features)
        self.weights_hash = weights_hash
        self.info = info
        self.eval()

    def identity(self) -> dict[str, Any]:
        return {
            "route": self.route,
            "weights": self.weights_hash,
            "preprocessing": self.preprocessing(),
        }

    def preprocessing(self) -> str:
        if len(self.shape) == 3:
            return f"uint8/127.5-1;bilinear-noaa->{self.shape[1]}x{self.shape[2]}"
        if len(self.shape) == 2:
            from ganforge.metrics.audio_classifier import FRONT_END

            return f"{FRONT_END};fit->{self.shape[1]}"
        return "float32-identity"

    def prepare(self, x: torch.Tensor) -> torch.Tensor:
        """Storage-space samples -> the network's input. Images of another size than the classifier was
        trained on (a 28x28 evaluator scoring a data.image_size=32 run) are resized to its input size,
        bilinear without antialiasing, real and generated samples alike; ``preprocessing()`` names it."""
        return prepare_samples(x, self.shape)

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.net(self.prepare(x).to(next(self.net.parameters()).device))


def evaluator_command(data_name: str) -> str:
    return f"ganforge-train-evaluator data={data_name}"


def load_classifier(path: str | Path, data_name: str | None = None) -> ClassifierExtractor:
    """Load a classifier saved by ``ganforge-train-evaluator``, checking its content hash."""
    path = Path(path).expanduser()
    hint = evaluator_command(data_name) if data_name else "ganforge-train-evaluator data=<dataset>"
    if not path.is_file():
        raise EvaluationError(
            f"No trained evaluator at {path}: the classifier route needs a classifier trained on the "
            "dataset. "
            f"Train it once with `{hint}` (or point eval.classifier_path at one)."
        )
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
        if saved.get("format") != CLASSIFIER_FORMAT:
            raise ValueError(f"format {saved.get('format')!r}")
        net = build_classifier_net(saved["shape"], saved["num_classes"], saved["feature_dim"])
        net.load_state_dict(saved["state_dict"])
    except Exception as exc:  # noqa: BLE001 - any failure means the file is unusable
        raise EvaluationError(
            f"Evaluator {path} cannot be read ({type(exc).__name__}: {exc}); retrain it with `{hint}`."
        ) from exc
    if state_dict_hash(saved["state_dict"]) != saved["weights_hash"]:
        raise EvaluationError(f"Evaluator {path} fails its content hash (corrupt); retrain it with `{hint}`.")
    if data_name and saved.get("data") != data_name:
        raise EvaluationError(
            f"Evaluator {path} was trained on data={saved.get('data')}, not data={data_name}; "
            f"train one for this dataset with `{hint}`."
        )
    info = {k: saved[k] for k in ("data", "field", "test_accuracy", "weights_hash") if k in saved}
    # Samples of another size (data.image_size=32 on 28x28 Fashion-MNIST) are resized to this input size,
    # real and generated alike (see ClassifierExtractor.prepare); metrics.json records it.
    info["input_shape"] = [int(s) for s in saved["shape"]]
    return ClassifierExtractor(net, saved["shape"], saved["weights_hash"], info)


class InceptionExtractor(Extractor):
    """torch-fidelity's Inception-v3 (pool3 2048-d features, 1008 unbiased logits), TF1-compatible resize."""

    route = "inception"
    num_features = 2048

    def __init__(self, weights_path: Path, weights_hash: str | None = None):
        super().__init__()
        from torchmetrics.image.fid import NoTrainInceptionV3

        self.net = NoTrainInceptionV3(
            name="inception-v3-compat",
            features_list=["2048", "logits_unbiased"],
            feature_extractor_weights_path=str(weights_path),
            antialias=False,
        )
        self.weights_path = weights_path
        self._weights_hash = weights_hash
        self.eval()

    def identity(self) -> dict[str, Any]:
        if self._weights_hash is None:
            self._weights_hash = file_sha256(self.weights_path)
        return {
            "route": self.route,
            "weights": self._weights_hash,
            "preprocessing": "uint8;gray->rgb;tf1-bilinear(antialias=False)->299;(x-128)/128",
        }

    @torch.no_grad()
    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if x.dim() != 4 or x.dtype != torch.uint8 or x.shape[1] not in (1, 3):
            raise EvaluationError(
                "The inception route scores uint8 images with 1 or 3 channels; "
                f"got {x.dtype} {list(x.shape)}."
            )
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)  # grayscale tiled to RGB, as in Lucic et al. 2018
        features, logits = self.net._torch_fidelity_forward(x.to(self.net.fc.weight.device))
        return features, logits


def inception_weights_path() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints" / INCEPTION_FILE


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def load_inception() -> InceptionExtractor:
    """The Inception route: weights from the torch hub cache (SHA-256-checked), downloaded when online."""
    path = inception_weights_path()
    if not path.is_file():
        offline = os.environ.get("GANFORGE_OFFLINE", "") not in ("", "0")
        error = "GANFORGE_OFFLINE is set" if offline else None
        if not offline:
            from torch_fidelity.feature_extractor_inceptionv3 import URL_INCEPTION_V3

            try:
                path.parent.mkdir(parents=True, exist_ok=True)
                # torch.hub writes a temporary file next to `path`, checks its SHA-256 and only then renames
                # it into place; a mismatch removes it.
                torch.hub.download_url_to_file(
                    URL_INCEPTION_V3, str(path), hash_prefix=INCEPTION_SHA256, progress=False
                )
            except Exception as exc:  # noqa: BLE001 - any download failure gets the same advice
                error = f"{type(exc).__name__}: {exc}"
        if not path.is_file():
            raise EvaluationError(
                f"The inception route needs the FID Inception-v3 weights at {path} and they could not be "
                f"downloaded ({error}). Copy {INCEPTION_FILE} (torch-fidelity's release v0.2.0) to that path "
                "(set TORCH_HOME to use another cache), or use a *_classifier metric, which works offline."
            )
    digest = file_sha256(path)
    if digest != INCEPTION_SHA256:
        path.unlink()
        raise EvaluationError(
            f"The Inception-v3 weights at {path} fail their SHA-256 check (got {digest[:16]}..., expected "
            f"{INCEPTION_SHA256[:16]}...): the file is corrupt, truncated or not torch-fidelity's. It was "
            "deleted; run again to download it (or copy the right file there)."
        )
    return InceptionExtractor(path, weights_hash=digest)


@torch.no_grad()
def extract(
    extractor: Extractor, samples: torch.Tensor, batch_size: int = 500
) -> tuple[torch.Tensor, torch.Tensor]:
    """(features, logits) of storage-space samples, in batches, as float64 on the CPU."""
    feats, logits = [], []
    for chunk in samples.split(batch_size):
        f, lg = extractor(chunk)
        feats.append(f.double().cpu())
        logits.append(lg.double().cpu())
    return torch.cat(feats), torch.cat(logits)

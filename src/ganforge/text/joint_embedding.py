"""A joint image-text embedding trained on a dataset's real (image, caption) pairs.

Two uses, two separately trained files (``ganforge-train-text-encoder``):

- the char-CNN-RNN text encoder of the papers (``text_encoder=char_cnn_rnn``, default file
  ``outputs/text_encoders/<data>/char_cnn_rnn.pt``): its text side conditions the generators;
- the image-text matcher behind ``rprecision100_matcher`` (``text_training.role=matcher``, default file
  ``outputs/evaluators/<data>/text_image_matcher.pt``, another seed): rank of an image's own caption among
  100 (in the style of AttnGAN's DAMSM R-precision, with this small model, so comparable only between
  generators scored with the same matcher file, never with published R-precision).

Both sides are small networks (:class:`ImageEncoder`, a 4-layer CNN; the char-CNN-RNN) trained from scratch
with the symmetric structured hinge of Reed et al. 2016 (DS-SJE) in its minibatch form: each image must
score its caption above every caption of the batch with another meaning by a margin, and each caption
its image above every image of another meaning. Each step reads a random paraphrase of each row's
caption (the datamodule's meaning ids), so the text side learns what the words say, not one phrasing.
"""

from __future__ import annotations

import time
import warnings
from pathlib import Path
from typing import Any

import lightning as L
import torch
import torch.nn.functional as F
from torch import nn
from torch.utils.data import BatchSampler, DataLoader, RandomSampler, TensorDataset

from ganforge.data.base import uint8_to_model_space
from ganforge.errors import ConfigError, EvaluationError
from ganforge.io import atomic_path
from ganforge.metrics.extractors import state_dict_hash
from ganforge.metrics.train_classifier import one_device_trainer
from ganforge.text.char_cnn_rnn import MAX_CHARS, CharCNNRNN, one_hot_characters

FORMAT = "ganforge-joint-embedding-v1"
CANDIDATES = 100  # R-precision: the true caption among this many (99 of other meanings)


class ImageEncoder(nn.Module):
    def __init__(self, shape: list[int], dim: int, width: int = 32):
        super().__init__()
        layers, channels = [], int(shape[0])
        for k in range(4):
            layers += [
                nn.Conv2d(channels, width * 2**k, 4, 2, 1),
                nn.BatchNorm2d(width * 2**k),
                nn.LeakyReLU(0.2),
            ]
            channels = width * 2**k
        self.net = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(channels, dim))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Model-space images -> unit-normalised [N, dim]."""
        return F.normalize(self.net(images), dim=1)


class JointEmbedding(nn.Module):
    def __init__(self, shape: list[int], dim: int = 1024, width: int = 256, max_chars: int = MAX_CHARS):
        super().__init__()
        self.shape = [int(s) for s in shape]
        self.image = ImageEncoder(self.shape, dim)
        self.text = CharCNNRNN(dim, width, max_chars)


def structured_hinge(v: torch.Tensor, t: torch.Tensor, meanings: torch.Tensor, margin: float = 0.2):
    """Symmetric structured hinge: row i's image against every caption of another meaning, and row i's
    caption against every image of another meaning, each violation of the margin averaged over those
    negatives (the averaged form: its hardest-negative variant collapsed both sides to one point here)."""
    scores = v @ t.T
    own = scores.diagonal()
    other = (meanings[:, None] != meanings[None, :]).to(scores.dtype)
    image_side = ((margin + scores - own[:, None]).clamp(min=0) * other).sum(1) / other.sum(1).clamp(min=1)
    text_side = ((margin + scores - own[None, :]).clamp(min=0) * other).sum(0) / other.sum(0).clamp(min=1)
    return (image_side + text_side).mean()


class JointEmbeddingModule(L.LightningModule):
    def __init__(
        self,
        model: JointEmbedding,
        images: torch.Tensor,
        chars: torch.Tensor,
        meanings: torch.Tensor,
        paraphrases: list[torch.Tensor],
        lr: float,
        margin: float = 0.2,
    ):
        super().__init__()
        self.model, self.lr, self.margin = model, lr, margin
        # In-memory tables: rows' uint8 images, every caption's one-hot characters (uint8), meaning ids.
        self.images, self.chars, self.meanings, self.paraphrases = images, chars, meanings, paraphrases

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        rows, ids = batch
        # A random paraphrase of each row's caption: same meaning, any phrasing.
        options = [self.paraphrases[int(m)] for m in self.meanings[ids]]
        picks = torch.tensor([o[torch.randint(len(o), ())] for o in options])
        images = uint8_to_model_space(self.images[rows.cpu()].to(self.device))
        chars = self.chars[picks].to(self.device, torch.float32)
        loss = structured_hinge(
            self.model.image(images), self.model.text(chars), self.meanings[picks].to(self.device)
        )
        self.log("loss", loss, prog_bar=True)
        return loss

    def configure_optimizers(self):
        return torch.optim.Adam(self.model.parameters(), lr=self.lr)


def _paraphrase_table(meanings: torch.Tensor) -> list[torch.Tensor]:
    order = torch.argsort(meanings, stable=True)
    groups = torch.unique_consecutive(meanings[order], return_counts=True)[1]
    table = [torch.empty(0, dtype=torch.long)] * (int(meanings.max()) + 1)
    for ids in torch.split(order, groups.tolist()):
        table[int(meanings[ids[0]])] = ids
    return table


@torch.no_grad()
def r_precision(
    model: JointEmbedding,
    images: torch.Tensor,
    caption_ids: torch.Tensor,
    captions: list[str],
    meanings: torch.Tensor,
    seed: int = 0,
    batch_size: int = 500,
) -> float:
    """Fraction of images whose own caption ranks first among :data:`CANDIDATES` (the rest drawn at random,
    seeded, from captions of other meanings), by cosine similarity in the joint embedding."""
    model.eval()
    device = next(model.parameters()).device
    table = torch.cat([model.text.embed(captions[i : i + 1000]) for i in range(0, len(captions), 1000)])
    g = torch.Generator().manual_seed(seed)
    hits = 0
    for start in range(0, len(images), batch_size):
        x = images[start : start + batch_size]
        x = uint8_to_model_space(x.to(device)) if x.dtype == torch.uint8 else x.to(device).float()
        v = model.image(x).cpu()
        own = caption_ids[start : start + batch_size]
        others = torch.randint(0, len(captions), (len(own), 4 * CANDIDATES), generator=g)
        for i, cid in enumerate(own.tolist()):
            pool = others[i][meanings[others[i]] != meanings[cid]][: CANDIDATES - 1]
            candidates = torch.cat([torch.tensor([cid]), pool])
            hits += int((table[candidates] @ v[i]).argmax() == 0)
    return hits / max(len(images), 1)


def train_joint_embedding(
    datamodule: Any,
    dim: int = 1024,
    width: int = 256,
    max_chars: int | None = None,
    steps: int = 2000,
    batch_size: int = 64,
    lr: float = 1e-3,
    margin: float = 0.2,
    seed: int = 0,
    path: str | Path | None = None,
    config: dict[str, Any] | None = None,
    accelerator: str = "cpu",
    progress_bar: bool = False,
) -> dict[str, Any]:
    """Train on the captioned datamodule's train split, score R-precision on its test split, save the
    record atomically at ``path``; returns it."""
    if not hasattr(datamodule, "caption_table"):
        raise ConfigError(
            f"ganforge-train-text-encoder needs captioned data (e.g. data=captioned_fashion_mnist); "
            f"data={datamodule.name} has no captions."
        )
    if steps < 1 or batch_size < 2 or lr <= 0 or dim < 1 or not 0 < margin <= 2:
        raise ConfigError(
            f"text_training.steps={steps} must be >= 1, batch_size={batch_size} >= 2, lr={lr} > 0 and "
            f"dim={dim} >= 1, margin={margin} in (0, 2]."
        )
    datamodule.setup("fit")
    train, test = datamodule.split_fields("train"), datamodule.split_fields("test")
    captions, meanings = datamodule.caption_table(), datamodule.caption_meanings()
    # Read as many characters as the longest caption (padding steps would swamp the GRU's mean).
    max_chars = max_chars or max(30, max(len(c) for c in captions) + 4)
    chars = one_hot_characters(captions, max_chars).to(torch.uint8)
    L.seed_everything(seed, workers=True, verbose=False)
    model = JointEmbedding(list(train["image"].shape[1:]), dim, width, max_chars)
    module = JointEmbeddingModule(
        model, train["image"], chars, meanings, _paraphrase_table(meanings), lr, margin
    )
    rows = torch.arange(len(train["image"]))
    order = RandomSampler(rows, num_samples=steps * batch_size, generator=torch.Generator().manual_seed(seed))
    batches = DataLoader(
        TensorDataset(rows, train["caption"].to(torch.int64)),
        sampler=BatchSampler(order, batch_size, drop_last=True),
        batch_size=None,
    )
    trainer = one_device_trainer(steps, accelerator, progress_bar)
    start = time.perf_counter()
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*does not have many workers.*")
        trainer.fit(module, train_dataloaders=batches)
    seconds = time.perf_counter() - start
    model.cpu().eval()
    test_ids = test["caption"].to(torch.int64)
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    record = {
        "format": FORMAT,
        "data": datamodule.name,
        "shape": model.shape,
        "dim": dim,
        "width": width,
        "max_chars": max_chars,
        "state_dict": state,
        "weights_hash": state_dict_hash(state),
        "test_rprecision": r_precision(model, test["image"], test_ids, captions, meanings, seed=seed),
        "train_seconds": seconds,
        "train_steps": steps,
        "margin": margin,
        "config": config or {},
    }
    if path is not None:
        with atomic_path(path) as tmp:
            torch.save(record, tmp)
    return record


def load_joint_embedding(path: str | Path, key: str) -> JointEmbedding:
    """The model in a file of ``ganforge-train-text-encoder`` (its content hash checked); ``key`` names the
    config key that pointed at it, for the error message."""
    path = Path(path).expanduser()
    hint = "ganforge-train-text-encoder data=<captioned dataset>"
    if not path.is_file():
        raise ConfigError(
            f"{key}={path} does not exist: train it once with `{hint}` (or point {key} at one)."
        )
    try:
        saved = torch.load(path, map_location="cpu", weights_only=True)
        if saved.get("format") != FORMAT:
            raise ValueError(f"format {saved.get('format')!r}")
        model = JointEmbedding(saved["shape"], saved["dim"], saved["width"], saved["max_chars"])
        model.load_state_dict(saved["state_dict"])
    except Exception as exc:  # noqa: BLE001 - any failure means the file is unusable
        raise ConfigError(
            f"{key}={path} cannot be read ({type(exc).__name__}: {exc}); retrain it with `{hint}`."
        ) from exc
    if state_dict_hash(saved["state_dict"]) != saved["weights_hash"]:
        raise EvaluationError(f"{path} fails its content hash (corrupt); retrain it with `{hint}`.")
    model.record = {k: v for k, v in saved.items() if k != "state_dict"}
    return model.eval()

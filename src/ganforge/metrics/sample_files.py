"""Read samples made by any tool (an image or audio folder, or a .npy / .pt tensor) into a dataset's
storage space."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from ganforge.data.base import InMemoryDataModule
from ganforge.errors import EvaluationError
from ganforge.finite import check_finite_samples
from ganforge.torch_files import UnreadableFile, load_weights_only

FORMATS = "a folder of images (or audio files), a .npy file or a .pt file (torch.save of one tensor)"


def _read_tensor(path: Path) -> torch.Tensor:
    if path.suffix == ".pt":
        # weights_only=True: a foreign .pt holding pickled objects is refused, never run.
        try:
            value = load_weights_only(path)
        except UnreadableFile as exc:
            raise EvaluationError(
                f"Cannot read samples from {path}: it {exc.why.reason}; give {FORMATS}."
            ) from exc
        if not isinstance(value, torch.Tensor):
            raise EvaluationError(
                f"Cannot read samples from {path}: it holds a {type(value).__name__}, not a tensor; "
                f"give {FORMATS}."
            )
        return value
    if path.suffix == ".npy":
        try:
            return torch.from_numpy(np.load(path, allow_pickle=False))
        except Exception as exc:  # noqa: BLE001 - any read failure gets one clear message
            raise EvaluationError(
                f"Cannot read samples from {path} ({type(exc).__name__}: {exc}); give {FORMATS}."
            ) from exc
    raise EvaluationError(f"samples={path}: unknown format {path.suffix!r}; give {FORMATS}.")


def _images_to_storage(x: torch.Tensor, shape: tuple[int, ...], path: Path) -> torch.Tensor:
    from ganforge.data.image_datamodule import fit_images

    if x.dim() == 3:  # [N, H, W] grayscale
        x = x[:, None]
    if x.dim() != 4:
        raise EvaluationError(
            f"samples={path} has shape {list(x.shape)}; images must be [N, C, H, W] or [N, H, W]."
        )
    if x.shape[1] not in (1, 3) and x.shape[-1] in (1, 3):
        x = x.permute(0, 3, 1, 2)  # NHWC -> NCHW
    if x.dtype != torch.uint8:
        x = x.float()
        lo, hi = float(x.min()), float(x.max())
        if lo < -1.001 or hi > 1.001 or lo >= 0:
            raise EvaluationError(
                f"samples={path} holds floats in [{lo:.3g}, {hi:.3g}]; float images are read as model space "
                "[-1, 1] (what ganforge-sample writes). Save uint8 pixels (0..255) or rescale to [-1, 1]."
            )
        x = ((x + 1.0) * 127.5).round().clamp(0, 255).to(torch.uint8)
    return fit_images(x.contiguous(), image_size=shape[-1], channels=shape[0])


def _clips_to_storage(x: torch.Tensor, num_samples: int, path: Path) -> torch.Tensor:
    from ganforge.audio.io import float_to_int16
    from ganforge.audio.spectrogram import fit_samples

    if x.dim() == 2:  # [N, T] mono
        x = x[:, None]
    if x.dim() != 3 or x.shape[1] != 1:
        raise EvaluationError(
            f"samples={path} has shape {list(x.shape)}; clips must be mono [N, 1, T] or [N, T]."
        )
    if x.dtype != torch.int16:
        x = x.float()
        lo, hi = float(x.min()), float(x.max())
        if lo < -1.001 or hi > 1.001:
            raise EvaluationError(
                f"samples={path} holds floats in [{lo:.3g}, {hi:.3g}]; float clips are read as model space "
                "[-1, 1] (what ganforge-sample writes). Save int16 samples or rescale to [-1, 1]."
            )
        x = float_to_int16(x)
    return fit_samples(x, num_samples).contiguous()  # WaveGAN's 16,384 cut to the data's length


def load_samples(path: str | Path, datamodule: InMemoryDataModule) -> torch.Tensor:
    """Samples in the dataset's storage space: uint8 [N, C, H, W] images fitted to its shape, int16 clips
    [N, 1, T] of audio data (a folder of audio files is decoded as the data's loaders do), or points."""
    path = Path(path).expanduser()
    shape = datamodule.shape
    audio = callable(getattr(datamodule, "write_audio", None))
    if audio and path.is_dir():
        from ganforge.audio.io import audio_under, decode_clips
        from ganforge.errors import DatasetError

        try:
            _, files = audio_under(path, "samples", "give a folder of audio files or a tensor file")
            clips, _, _ = decode_clips(files, datamodule.sample_rate, datamodule.num_samples, name=str(path))
        except DatasetError as exc:
            raise EvaluationError(str(exc)) from exc
        return clips
    if path.is_dir():
        from ganforge.data.sources import image_folder

        if len(shape) != 3:
            raise EvaluationError(
                f"samples={path} is a folder of images, but data={datamodule.name} holds points."
            )
        images, _ = image_folder(path, "train", str(path))
        return _images_to_storage(images, shape, path)
    if not path.is_file():
        raise EvaluationError(f"samples={path} does not exist; give {FORMATS}.")
    x = _read_tensor(path)
    if x.dim() == 0 or len(x) == 0 or x.numel() == 0:
        raise EvaluationError(
            f"samples={path} holds no samples (a tensor of shape {list(x.shape)}); save the generated "
            "samples as one tensor [N, ...] with N >= 1, e.g. what ganforge-sample writes."
        )
    check_finite_samples(x, f"samples={path}")
    if audio:
        return _clips_to_storage(x, datamodule.num_samples, path)
    if len(shape) == 3:
        return _images_to_storage(x, shape, path)
    if x.dim() != 2 or tuple(x.shape[1:]) != shape or not x.is_floating_point():
        raise EvaluationError(
            f"samples={path} has shape {list(x.shape)} ({x.dtype}); data={datamodule.name} needs float "
            f"points [N, {shape[0]}]."
        )
    return x.float()

"""Audio files to fixed-length mono clips at one sample rate, and clips back to WAV files.

Every clip ganforge trains on passes :func:`decode_clips`, which handles bad input as documented in
docs/audio.md:

- **another sample rate**: resampled to ``sample_rate`` with ``scipy.signal.resample_poly`` (polyphase FIR,
  Kaiser window; scipy is already a dependency and needs no native library), said once per load in the
  summary line;
- **stereo / multichannel**: mixed down to mono (the mean of the channels);
- **shorter than the clip**: padded with zeros (``align="start"``: at the end, as WaveGAN's loader does;
  ``"centre"``: on both sides); **longer**: cropped the same way; both counted in the summary;
- **shorter than the STFT window** (256 samples, 16 ms at 16 kHz): refused, a DatasetError naming the file;
  SpecGAN's spectrogram has no frame for it and such a file is almost always a broken recording;
- **silent** (peak below -70 dBFS, about 10 steps of 16-bit audio): skipped with a warning and counted,
  so one dead file does not stop a 100,000-file set; a set with nothing but silence is refused;
- **a folder without audio**: a DatasetError naming the folder and the accepted extensions.

Clips are stored as int16 (exact for 16-bit sources, half of float32's memory); :func:`int16_to_float` maps
them to [-1, 1) as soundfile does (x / 32768).
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from math import gcd
from pathlib import Path

import numpy as np
import torch

from ganforge.errors import DatasetError

log = logging.getLogger(__name__)

AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".aiff", ".aif")
STFT_WINDOW = 256  # SpecGAN's window: a clip must have at least one frame
SILENCE_DBFS = -70.0
INT16_SCALE = 32768.0
ALIGNS = ("start", "centre")


def list_audio(directory: str | Path) -> list[Path]:
    """Every audio file (by suffix) under ``directory``, recursively, sorted."""
    return sorted(p for p in Path(directory).rglob("*") if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)


def audio_under(path: str | Path, key: str, hint: str) -> tuple[Path, list[Path]]:
    """(the folder, its audio files) for a user's ``key=path``; a DatasetError if it is not a directory
    (``hint`` says where to point it) or holds no audio file."""
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise DatasetError(f"{key}={folder} is not a directory; {hint}.")
    files = list_audio(folder)
    if not files:
        raise DatasetError(
            f"No audio files found under {folder} (searched recursively for {', '.join(AUDIO_SUFFIXES)}). "
            f"Point {key} at a folder of audio files (class subfolders optional), or convert the files "
            "to WAV first (e.g. ffmpeg -i in.mp3 -ac 1 -ar 16000 out.wav)."
        )
    return folder, files


def read_audio(path: str | Path) -> tuple[np.ndarray, int]:
    """(float32 samples [frames, channels] in [-1, 1] for integer formats, the file's sample rate)."""
    import soundfile as sf

    try:
        samples, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except (RuntimeError, sf.LibsndfileError, OSError) as exc:
        raise DatasetError(
            f"Cannot decode audio file {path} ({exc}); remove or replace it (accepted: "
            f"{', '.join(AUDIO_SUFFIXES)} that libsndfile reads)."
        ) from exc
    return samples, int(rate)


def to_mono(samples: np.ndarray) -> np.ndarray:
    """[frames, channels] -> [frames]: the mean of the channels (a plain mix-down, no panning law)."""
    return (
        samples.mean(axis=1, dtype=np.float64).astype(np.float32) if samples.shape[1] > 1 else samples[:, 0]
    )


def resample(samples: np.ndarray, from_rate: int, to_rate: int) -> np.ndarray:
    """Polyphase resampling by the reduced ratio to_rate / from_rate (22,050 -> 16,000 Hz: 320 / 441)."""
    if from_rate == to_rate:
        return samples
    from scipy.signal import resample_poly

    g = gcd(int(from_rate), int(to_rate))
    out = resample_poly(samples.astype(np.float64), int(to_rate) // g, int(from_rate) // g)
    return out.astype(np.float32)


def fit_length(samples: np.ndarray, length: int, align: str = "start") -> np.ndarray:
    """Zero-pad or crop a 1-D clip to ``length``: at the end (``start``) or evenly on both sides."""
    if align not in ALIGNS:
        raise DatasetError(f"align={align!r} is unknown; use one of {list(ALIGNS)}.")
    n = len(samples)
    if n == length:
        return samples
    if n > length:
        begin = 0 if align == "start" else (n - length) // 2
        return samples[begin : begin + length]
    before = 0 if align == "start" else (length - n) // 2
    return np.pad(samples, (before, length - n - before))


def peak_normalize(samples: np.ndarray, peak: float) -> np.ndarray:
    """Scale a clip so that its largest absolute sample is ``peak`` (a silent clip is left as is)."""
    top = float(np.abs(samples).max()) if len(samples) else 0.0
    return samples * np.float32(peak / top) if top > 0 else samples


def to_int16(samples: np.ndarray) -> np.ndarray:
    return np.clip(np.round(samples * INT16_SCALE), -32768, 32767).astype(np.int16)


def int16_to_float(values: torch.Tensor) -> torch.Tensor:
    """Stored int16 clips -> float32 in [-1, 1) (soundfile's convention, x / 32768); floats unchanged."""
    return values.float().div_(INT16_SCALE) if values.dtype == torch.int16 else values


def float_to_int16(values: torch.Tensor) -> torch.Tensor:
    """Float clips in [-1, 1] -> int16 as a 16-bit WAV stores them (x * 32768, rounded, clipped): the
    inverse of :func:`int16_to_float`, for generated clips and foreign float samples."""
    return (values.detach().float().cpu() * INT16_SCALE).round_().clamp_(-32768, 32767).to(torch.int16)


def is_silent(samples: np.ndarray, dbfs: float = SILENCE_DBFS) -> bool:
    return not len(samples) or float(np.abs(samples).max()) < 10 ** (dbfs / 20)


@dataclass
class AudioSummary:
    """What decoding did to a set of files, logged as one line (and one warning if any were skipped)."""

    name: str
    sample_rate: int
    num_samples: int
    files: int = 0
    kept: int = 0
    resampled: Counter = field(default_factory=Counter)  # source rate -> files
    mixed_down: int = 0
    padded: int = 0
    cropped: int = 0
    clipped: int = 0
    silent: list[str] = field(default_factory=list)

    def line(self) -> str:
        parts = [
            f"{self.name}: {self.kept:,} clips of {self.num_samples:,} samples from {self.files:,} files"
        ]
        for rate, count in sorted(self.resampled.items()):
            parts.append(f"resampled {count:,} from {rate:,} Hz to {self.sample_rate:,} Hz (resample_poly)")
        if self.mixed_down:
            parts.append(f"mixed {self.mixed_down:,} multichannel files down to mono")
        if self.padded:
            parts.append(f"zero-padded {self.padded:,} shorter clips")
        if self.cropped:
            parts.append(f"cropped {self.cropped:,} longer clips")
        if self.clipped:
            parts.append(f"clipped {self.clipped:,} float files beyond [-1, 1]")
        if self.silent:
            parts.append(f"skipped {len(self.silent):,} silent files")
        return "; ".join(parts)

    def log(self) -> None:
        log.info(self.line())
        if self.silent:
            shown = ", ".join(self.silent[:5]) + (", ..." if len(self.silent) > 5 else "")
            log.warning(
                f"{self.name}: skipped {len(self.silent):,} silent file(s) (peak below "
                f"{SILENCE_DBFS:g} dBFS): {shown}"
            )


def decode_clip(
    path: str | Path, sample_rate: int, num_samples: int, align: str, summary: AudioSummary
) -> np.ndarray | None:
    """One file as a float32 clip of exactly ``num_samples`` at ``sample_rate``; None if silent."""
    samples, rate = read_audio(path)
    if samples.shape[1] > 1:
        summary.mixed_down += 1
    mono = to_mono(samples)
    if rate != sample_rate:
        summary.resampled[rate] += 1
        mono = resample(mono, rate, sample_rate)
    if len(mono) < STFT_WINDOW:
        raise DatasetError(
            f"{path} holds {len(mono)} samples at {sample_rate:,} Hz ({1000 * len(mono) / sample_rate:.1f} "
            f"ms), fewer than the {STFT_WINDOW}-sample STFT window every clip needs: it is almost certainly "
            "a broken or truncated recording. Remove it from the folder (or pad it to at least "
            f"{STFT_WINDOW} samples yourself)."
        )
    if is_silent(mono):
        summary.silent.append(str(path))
        return None
    if np.abs(mono).max() > 1.0:
        summary.clipped += 1
        mono = np.clip(mono, -1.0, 1.0)
    summary.padded += len(mono) < num_samples
    summary.cropped += len(mono) > num_samples
    return fit_length(mono, num_samples, align)


def decode_clips(
    files: Sequence[str | Path],
    sample_rate: int,
    num_samples: int,
    align: str = "start",
    name: str = "audio",
) -> tuple[torch.Tensor, list[int], AudioSummary]:
    """(int16 clips [N, 1, num_samples], the indices into ``files`` that were kept, the summary).

    Silent files are skipped (their index is missing from the second value); everything else that is
    wrong with a file raises a DatasetError naming it.
    """
    summary = AudioSummary(name, int(sample_rate), int(num_samples), files=len(files))
    clips = np.zeros((len(files), 1, int(num_samples)), dtype=np.int16)
    kept: list[int] = []
    for i, path in enumerate(files):
        clip = decode_clip(path, sample_rate, num_samples, align, summary)
        if clip is not None:
            clips[len(kept), 0] = to_int16(clip)
            kept.append(i)
    summary.kept = len(kept)
    summary.log()
    if files and not kept:
        raise DatasetError(
            f"{name}: all {len(files):,} audio files are silent (peak below {SILENCE_DBFS:g} dBFS), e.g. "
            f"{files[0]}; check that the recordings are not empty or muted."
        )
    return torch.from_numpy(clips[: len(kept)]), kept, summary


def write_wav(path: str | Path, waveform: torch.Tensor | np.ndarray, sample_rate: int) -> Path:
    """One clip ([T] or [1, T], float in [-1, 1]) as a 16-bit PCM WAV, written atomically."""
    import soundfile as sf

    from ganforge.io import atomic_path

    data = waveform.detach().float().cpu().numpy() if isinstance(waveform, torch.Tensor) else waveform
    data = np.clip(np.asarray(data, dtype=np.float32).reshape(-1), -1.0, 1.0)
    path = Path(path)
    with atomic_path(path) as tmp:
        sf.write(str(tmp), data, int(sample_rate), subtype="PCM_16", format="WAV")
    return path


def write_wavs(
    samples: torch.Tensor, directory: str | Path, sample_rate: int, prefix: str = "sample"
) -> list[Path]:
    """Generated clips [B, 1, T] (model space) as ``<prefix>_<i>.wav`` files in ``directory``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    width = max(3, len(str(len(samples) - 1)))
    return [
        write_wav(directory / f"{prefix}_{i:0{width}d}.wav", clip, sample_rate)
        for i, clip in enumerate(samples)
    ]

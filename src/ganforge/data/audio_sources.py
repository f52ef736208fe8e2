"""Real audio sets, downloaded on first use, and a folder of audio files (docs/audio.md).

Every loader returns ``{"audio": int16 [N, 1, num_samples], "label": int64 [N][, "speaker": int64 [N]]}``
decoded by :func:`ganforge.audio.io.decode_clips` (resampling, mix-down, padding and the refusals of bad
input documented there).

- ``fsdd``: the Free Spoken Digit Dataset v1.0.9 (Jakobovski; CC BY-SA 4.0): 5 speakers x 10 digits x 50
  recordings at 8 kHz, upsampled to 16 kHz and centred. Split as its README says (recordings 0-4 test,
  5-49 train: the same speakers in both) or, ``split_by=speaker``, with ``test_speakers`` held out.
- ``speech_commands`` / ``sc09``: Speech Commands v0.02 (Warden 2018; CC BY 4.0), one-second 16 kHz
  clips; test = ``testing_list.txt``, train = every file in neither list (``validation_list.txt`` is left
  out); both lists split by speaker. ``classes``: the words to keep (label = position in the list);
  SC09 is its ten digits, the WaveGAN paper's data. Clips shorter than a second are padded at the end.
- ``audio_folder``: any folder of audio files; first-level subfolders are classes; a folder with
  ``train/`` and ``test/`` subfolders gives those splits, otherwise both splits are every file.

Archives go through :func:`ganforge.data.archives.ensure_archive` (temporary name, rename into place).
Their published checksums are checked: FSDD's SHA-256 from TensorFlow Datasets' ``checksums.tsv``, Speech
Commands' MD5 and SHA-256 from torchaudio's ``SPEECHCOMMANDS`` (older / newer releases). A SHA-256 is put
into the archive's download record before its first download, so ``ensure_archive`` refuses a file with
any other digest.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import torch

from ganforge.audio import CLIP_SAMPLES, SAMPLE_RATE
from ganforge.audio.io import audio_under, decode_clips, list_audio
from ganforge.audio.synthesis import DIGIT_WORDS
from ganforge.data.archives import Archive, ensure_archive, record_path
from ganforge.data.base import Fields
from ganforge.data.sources import SPLITS
from ganforge.errors import DatasetError
from ganforge.io import atomic_write_text

FSDD_VERSION = "1.0.9"
FSDD = Archive(
    name="fsdd",
    url=f"https://github.com/Jakobovski/free-spoken-digit-dataset/archive/v{FSDD_VERSION}.tar.gz",
    size_hint="12 MB",
)
FSDD_SHA256 = "8bc44cde129d505cbbb6b365c09f80c663f2aa77578afc634e6141a2f87100c0"
FSDD_SHA256_SOURCE = (
    "TensorFlow Datasets, tensorflow_datasets/datasets/spoken_digit/checksums.tsv (11,975,353 bytes)"
)
SPEECH_COMMANDS = Archive(
    name="speech_commands_v0.02",
    url="https://download.tensorflow.org/data/speech_commands_v0.02.tar.gz",
    md5="6b74f3901214cb2c2934e98196829835",
    md5_source="torchaudio's SPEECHCOMMANDS dataset (_CHECKSUMS of torchaudio 0.5-0.10)",
    size_hint="2.3 GB",
)
SPEECH_COMMANDS_SHA256 = "af14739ee7dc311471de98f5f9d2c9191b18aedfe957f4a6ff791c709868ff58"
SPEECH_COMMANDS_SHA256_SOURCE = "torchaudio's SPEECHCOMMANDS dataset (_CHECKSUMS of torchaudio >= 0.11)"
COMMANDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")
BACKGROUND = "_background_noise_"
FSDD_NAME = re.compile(r"^(\d)_([A-Za-z]+)_(\d+)\.wav$")


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise DatasetError(f"Unknown split {split!r}; use one of {list(SPLITS)}.")


def ensure_published(archive: Archive, sha256: str, source: str, root: str | Path, url: str | None) -> Path:
    """``ensure_archive`` with a published SHA-256 seeded into the download record (first download only)."""
    root = Path(root)
    record = record_path(archive, root)
    if not (root / archive.name).is_dir() and not record.is_file():
        seeded = {
            "url": archive.url,
            "sha256": sha256,
            "sha256_source": source,
            "seeded_before_download": True,
        }
        atomic_write_text(record, json.dumps(seeded, indent=2) + "\n")
    return ensure_archive(replace(archive, url=url) if url else archive, root)


def _select(fields: Fields, kept: list[int]) -> Fields:
    index = torch.tensor(kept, dtype=torch.int64)
    return {k: v if k == "audio" else v[index] for k, v in fields.items()}


def fsdd(
    root: str | Path,
    split: str,
    split_by: str = "index",
    test_speakers: Sequence[str] = ("theo",),
    sample_rate: int = SAMPLE_RATE,
    num_samples: int = CLIP_SAMPLES,
    align: str = "centre",
    url: str | None = None,
) -> Fields:
    """The Free Spoken Digit Dataset; ``split_by``: ``index`` (its README's split) or ``speaker``."""
    _check_split(split)
    if split_by not in ("index", "speaker"):
        raise DatasetError(f"data.loader.split_by={split_by!r} is unknown; use index or speaker.")
    top = ensure_published(FSDD, FSDD_SHA256, FSDD_SHA256_SOURCE, root, url)
    folder = top / f"free-spoken-digit-dataset-{FSDD_VERSION}" / "recordings"
    if not folder.is_dir():
        raise DatasetError(
            f"{folder} is missing: {top} does not hold FSDD v{FSDD_VERSION} as extracted from its archive. "
            f"Delete {top} to download it again."
        )
    parsed = [(p, FSDD_NAME.match(p.name)) for p in sorted(folder.glob("*.wav"))]
    rows = [(p, int(m[1]), m[2], int(m[3])) for p, m in parsed if m]
    speakers = sorted({speaker for _, _, speaker, _ in rows})
    unknown = sorted(set(test_speakers) - set(speakers))
    if split_by == "speaker" and unknown:
        raise DatasetError(f"data.loader.test_speakers {unknown} are not FSDD speakers; they are {speakers}.")
    in_test = (lambda r: r[3] < 5) if split_by == "index" else (lambda r: r[2] in set(test_speakers))
    rows = [r for r in rows if in_test(r) == (split == "test")]
    clips, kept, _ = decode_clips([r[0] for r in rows], sample_rate, num_samples, align, f"fsdd {split}")
    fields = {
        "audio": clips,
        "label": torch.tensor([r[1] for r in rows], dtype=torch.int64),
        "speaker": torch.tensor([speakers.index(r[2]) for r in rows], dtype=torch.int64),
    }
    return _select(fields, kept)


def _read_list(path: Path) -> set[str]:
    if not path.is_file():
        raise DatasetError(
            f"{path} is missing: the Speech Commands folder is incomplete; delete it to fetch again."
        )
    return {line.strip() for line in path.read_text().splitlines() if line.strip()}


def speech_commands(
    root: str | Path,
    split: str,
    classes: Sequence[str] | str = COMMANDS,
    sample_rate: int = SAMPLE_RATE,
    num_samples: int = CLIP_SAMPLES,
    align: str = "start",
    url: str | None = None,
) -> Fields:
    """Speech Commands v0.02, the words in ``classes`` (``"all"``: all 35, sorted); label = their index."""
    _check_split(split)
    folder = ensure_published(
        SPEECH_COMMANDS, SPEECH_COMMANDS_SHA256, SPEECH_COMMANDS_SHA256_SOURCE, root, url
    )
    available = sorted(p.name for p in folder.iterdir() if p.is_dir() and p.name != BACKGROUND)
    words = available if classes == "all" else [str(c) for c in classes]
    missing = [w for w in words if w not in available]
    if missing or not words:
        raise DatasetError(
            f"data.loader.classes: {missing or 'none given'} not in Speech Commands v0.02 ({folder}); its "
            f"words are {', '.join(available)} (or classes: all)."
        )
    testing = _read_list(folder / "testing_list.txt")
    validation = _read_list(folder / "validation_list.txt")
    selected = [(w, p) for w in words for p in sorted((folder / w).glob("*.wav"))]
    speakers = sorted({p.name.split("_nohash_")[0] for _, p in selected})
    speaker_index = {s: i for i, s in enumerate(speakers)}

    def wanted(word: str, path: Path) -> bool:
        name = f"{word}/{path.name}"
        return name in testing if split == "test" else name not in testing and name not in validation

    rows = [(w, p) for w, p in selected if wanted(w, p)]
    clips, kept, _ = decode_clips(
        [p for _, p in rows], sample_rate, num_samples, align, f"speech_commands {split}"
    )
    fields = {
        "audio": clips,
        "label": torch.tensor([words.index(w) for w, _ in rows], dtype=torch.int64),
        "speaker": torch.tensor(
            [speaker_index[p.name.split("_nohash_")[0]] for _, p in rows], dtype=torch.int64
        ),
    }
    return _select(fields, kept)


def sc09(root: str | Path, split: str, **kwargs) -> Fields:
    """SC09: the ten digit words of Speech Commands v0.02 (label = the digit), the WaveGAN paper's set."""
    return speech_commands(root, split, classes=DIGIT_WORDS, **kwargs)


def audio_folder(
    root: str | Path,
    split: str,
    path: str | None = None,
    sample_rate: int = SAMPLE_RATE,
    num_samples: int = CLIP_SAMPLES,
    labels: bool = True,
    align: str = "start",
) -> Fields:
    """Every audio file under ``path``; first-level subfolder names (sorted) become labels (all 0 with
    ``labels=False`` or without subfolders). With ``train/`` and ``test/`` subfolders those are the
    splits (classes inside them); otherwise both splits hold every file."""
    _check_split(split)
    if not path:
        raise DatasetError(
            "data=audio_folder needs data.loader.path=/path/to/audio (a folder of .wav/.flac/.ogg/.aiff "
            "files, class subfolders optional)."
        )
    folder, files = audio_under(path, "data.loader.path", "point it at a folder of audio files")
    if (folder / "train").is_dir() and (folder / "test").is_dir():
        folder, files = audio_under(folder / split, "data.loader.path", f"it needs a {split}/ subfolder")
    rel = [p.relative_to(folder).parts for p in files]
    classes = sorted({parts[0] for parts in rel if len(parts) > 1}) if labels else []
    index = {c: i for i, c in enumerate(classes)}
    clips, kept, _ = decode_clips(files, sample_rate, num_samples, align, f"audio_folder {split} ({folder})")
    label = torch.tensor(
        [index.get(parts[0], 0) if len(parts) > 1 else 0 for parts in rel], dtype=torch.int64
    )
    return _select({"audio": clips, "label": label}, kept)


__all__ = ["audio_folder", "fsdd", "list_audio", "sc09", "speech_commands"]

"""``data=spoken_digits``: "zero" ... "nine" synthesised offline with espeak-ng and flite (docs/audio.md).

Each voice (``espeak-ng:<accent>+<variant>`` or ``flite:<voice>``) says each digit ``utterances`` times,
each time with its own pitch and speed drawn uniformly from the configured ranges by a generator seeded
with (seed, voice, digit, take): the same seed gives the same set, and adding a voice changes no other
voice's clips. Each utterance is resampled to 16 kHz, trimmed of leading and trailing silence (below -50 dB
of its peak, keeping 10 ms), peak-normalised to 0.9 (-0.9 dBFS of headroom), centred in exactly
``num_samples`` (16,000: one second, like SC09; WaveGAN's 16,384 is padding the model side adds), given a
white-noise floor of ``noise_dbfs`` RMS (-60 dBFS; seeded like the prosody) and stored as int16. The floor
stands in for a recording's noise: without it the silence is digital zero, which a discriminator can tell
from any generator's output, which pins SpecGAN's log spectrogram at log(1e-6) and which pocketsphinx
recognises worse (68% of the clips right with a 10-digit grammar instead of 83%). Utterances that the
synthesiser made bit-identical to an earlier one are dropped (flite's rms ignores the pitch setting, and
neighbouring espeak-ng speeds can coincide). Train and test are voice-disjoint: ``test_voices`` are
fnmatch patterns over voice ids.

The set is synthesised once into ``<data root>/synth/spoken_digits/<key>-{train,test}.pt`` plus
``<key>.json`` (settings, voices of each split, counts, synthesiser versions, SHA-256 of each file), where
``<key>`` hashes the settings; later loads read and verify those files. The DVC stage ``synth_digits``
(``python -m ganforge.cli.synth_digits``) and ``ganforge-fetch data=spoken_digits`` both make it.
"""

from __future__ import annotations

import fnmatch
import hashlib
import io
import json
import logging
import time
import zlib
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch

from ganforge.audio import CLIP_SAMPLES, SAMPLE_RATE
from ganforge.audio import synthesis as syn
from ganforge.audio.io import fit_length, peak_normalize, resample, to_int16
from ganforge.data.base import Fields
from ganforge.data.sources import SPLITS, arrays_sha256
from ganforge.errors import DatasetError
from ganforge.io import atomic_path, atomic_write_text

log = logging.getLogger(__name__)

FORMAT = 1  # bump when the processing below changes, so old caches are not reused
CACHE = "synth/spoken_digits"
ESPEAK_ACCENTS = (
    "en-us", "en-gb", "en-gb-scotland", "en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-gb-x-rp", "en-029",
    "en-us-nyc",
)  # fmt: skip
ESPEAK_VARIANTS = ("m1", "m2", "m3", "m4", "m5", "m6", "m7", "f1", "f2", "f3", "f4", "f5")
FLITE_VOICES = ("kal16", "slt", "rms", "awb")  # the 16 kHz voices (kal is kal16 at 8 kHz; awb_time: clocks)
TEST_VOICES = ("espeak-ng:*+m4", "espeak-ng:*+f3", "flite:awb")
TRIM_DB = -50.0
TRIM_MARGIN_S = 0.010
PEAK = 0.9
NOISE_DBFS = -60.0


def voice_ids(
    espeak_accents: Sequence[str], espeak_variants: Sequence[str], flite_voices: Sequence[str]
) -> list[str]:
    """Every accent x variant of espeak-ng (an empty variant list: the plain accents) and the flite voices."""
    variants = [f"+{v}" for v in espeak_variants] or [""]
    espeak = [f"{syn.ESPEAK}:{a}{v}" for a in espeak_accents for v in variants]
    return sorted({*espeak, *(f"{syn.FLITE}:{v}" for v in flite_voices)})


def split_voices(voices: Sequence[str], test_patterns: Sequence[str]) -> dict[str, list[str]]:
    """{"train": [...], "test": [...]}: voices matching a test pattern go to test, the rest train."""
    unused = [p for p in test_patterns if not fnmatch.filter(voices, p)]
    if unused:
        raise DatasetError(
            f"data.loader.test_voices {unused} match none of the voices {list(voices)}; fix the pattern "
            "(fnmatch, e.g. 'espeak-ng:*+m4' or 'flite:awb')."
        )
    test = sorted(v for v in voices if any(fnmatch.fnmatchcase(v, p) for p in test_patterns))
    train = sorted(v for v in voices if v not in test)
    if not train or not test:
        raise DatasetError(
            f"data.loader.test_voices={list(test_patterns)} leaves the {'train' if not train else 'test'} "
            "split without voices; both splits need at least one voice."
        )
    return {"train": train, "test": test}


@dataclass(frozen=True)
class DigitSetSpec:
    """Everything the synthesised set depends on (besides the synthesiser versions, which are recorded)."""

    voices: tuple[str, ...]
    test_voices: tuple[str, ...]
    utterances: int
    pitch: tuple[int, int]
    speed: tuple[int, int]
    seed: int
    sample_rate: int
    num_samples: int
    peak: float
    noise_dbfs: float | None

    def key(self) -> str:
        text = json.dumps({"format": FORMAT, **asdict(self)}, sort_keys=True)
        return "digits-" + hashlib.sha256(text.encode()).hexdigest()[:12]


@dataclass(frozen=True)
class Utterance:
    voice: str
    digit: int
    take: int
    pitch: int
    speed: int


def utterances(spec: DigitSetSpec) -> list[Utterance]:
    """The utterances of the set in storage order (voice, digit, take), prosody drawn per utterance."""
    out = []
    for voice in sorted(spec.voices):
        for digit in range(10):
            for take in range(spec.utterances):
                rng = np.random.default_rng([spec.seed, zlib.crc32(voice.encode()), digit, take])
                pitch = int(rng.integers(spec.pitch[0], spec.pitch[1] + 1))
                speed = int(rng.integers(spec.speed[0], spec.speed[1] + 1))
                out.append(Utterance(voice, digit, take, pitch, speed))
    return out


def trim_silence(samples: np.ndarray, sample_rate: int) -> np.ndarray:
    """The clip from the first to the last sample above TRIM_DB of its peak, TRIM_MARGIN_S kept around."""
    loud = np.flatnonzero(np.abs(samples) > np.abs(samples).max() * 10 ** (TRIM_DB / 20))
    if not len(loud):
        return samples
    margin = int(TRIM_MARGIN_S * sample_rate)
    return samples[max(0, loud[0] - margin) : loud[-1] + 1 + margin]


def render(u: Utterance, spec: DigitSetSpec) -> tuple[np.ndarray, int, bytes]:
    """(int16 clip [num_samples], its trimmed length before fitting, a digest of the synthesiser's
    output: equal for utterances the synthesiser made identical, whatever noise they get) of one utterance."""
    samples, rate = syn.synthesise(syn.DIGIT_WORDS[u.digit], syn.Voice.parse(u.voice), u.pitch, u.speed)
    digest = hashlib.sha256(samples.tobytes()).digest()
    speech = trim_silence(resample(samples, rate, spec.sample_rate), spec.sample_rate)
    clip = fit_length(peak_normalize(speech, spec.peak), spec.num_samples, "centre")
    if spec.noise_dbfs is not None:
        rng = np.random.default_rng([spec.seed, zlib.crc32(u.voice.encode()), u.digit, u.take, 1])
        clip = clip + np.float32(10 ** (spec.noise_dbfs / 20)) * rng.standard_normal(len(clip), np.float32)
    return to_int16(clip), len(speech), digest


def synthesise_set(spec: DigitSetSpec, workers: int = 2) -> tuple[dict[str, Fields], dict]:
    """Both splits of the set and its manifest. ``workers`` synthesiser processes run at once (the set
    does not depend on it)."""
    voices = [syn.Voice.parse(v) for v in spec.voices]
    needed = frozenset(v.synthesiser for v in voices)
    syn.require(needed, "data=spoken_digits")
    syn.check_voices(voices)
    splits = split_voices(list(spec.voices), spec.test_voices)
    jobs = utterances(spec)
    start = time.perf_counter()
    with ThreadPoolExecutor(max(1, int(workers))) as pool:  # threads: the work is in the subprocesses
        rendered = list(pool.map(lambda u: render(u, spec), jobs))
    seconds = time.perf_counter() - start
    seen: set[bytes] = set()
    rows: dict[str, list[int]] = {s: [] for s in SPLITS}
    duplicates, cropped = [], []
    speaker_of = {v: i for i, v in enumerate(sorted(spec.voices))}
    split_of = {v: s for s, vs in splits.items() for v in vs}
    for i, (u, (_, length, digest)) in enumerate(zip(jobs, rendered)):
        if digest in seen:
            duplicates.append(f"{u.voice} {syn.DIGIT_WORDS[u.digit]} take {u.take}")
            continue
        seen.add(digest)
        if length > spec.num_samples:  # centre-cropped: loses (length - num_samples) / 2 at each end
            cropped.append(
                f"{u.voice} {syn.DIGIT_WORDS[u.digit]} take {u.take}: {length / spec.sample_rate:.3f} s"
            )
        rows[split_of[u.voice]].append(i)
    fields = {}
    for split, idx in rows.items():
        fields[split] = {
            "audio": torch.from_numpy(np.stack([rendered[i][0] for i in idx])[:, None]),
            "label": torch.tensor([jobs[i].digit for i in idx], dtype=torch.int64),
            "speaker": torch.tensor([speaker_of[jobs[i].voice] for i in idx], dtype=torch.int64),
        }
    lengths = np.array([r[1] for r in rendered]) / spec.sample_rate
    manifest = {
        "format": FORMAT,
        "key": spec.key(),
        "settings": asdict(spec),
        "processing": {
            "resample": "scipy.signal.resample_poly to sample_rate",
            "trim_db": TRIM_DB,
            "trim_margin_s": TRIM_MARGIN_S,
            "peak": spec.peak,
            "noise_floor_dbfs_rms": spec.noise_dbfs,
            "align": "centre",
            "dtype": "int16 (x / 32768 in [-1, 1))",
        },
        "synthesisers": syn.versions(needed),
        "speakers": sorted(spec.voices),  # the field `speaker` indexes this list
        "splits": {
            s: {
                "voices": splits[s],
                "clips": len(rows[s]),
                "per_digit": dict(sorted(Counter(jobs[i].digit for i in rows[s]).items())),
            }
            for s in SPLITS
        },
        "duplicates_dropped": duplicates,
        "cropped_longer_than_clip": cropped,
        "speech_seconds": {
            "min": float(lengths.min()),
            "mean": float(lengths.mean()),
            "max": float(lengths.max()),
        },
    }
    # The time is logged, not recorded: the manifest is a DVC output and must not change between runs.
    log.info(
        f"data=spoken_digits: synthesised {len(jobs):,} utterances in {seconds:.1f} s ({workers} workers)"
    )
    return fields, manifest


def _fields_sha256(fields: Fields) -> str:
    return arrays_sha256(*(fields[k].numpy() for k in sorted(fields)))


def ensure_spoken_digits(folder: Path, spec: DigitSetSpec, workers: int = 2) -> tuple[dict, float | None]:
    """(the manifest of the set in ``folder``, seconds spent synthesising it now or None if it was there)."""
    manifest_path = folder / f"{spec.key()}.json"
    if manifest_path.is_file() and all((folder / f"{spec.key()}-{s}.pt").is_file() for s in SPLITS):
        return json.loads(manifest_path.read_text()), None
    start = time.perf_counter()
    fields, manifest = synthesise_set(spec, workers)
    manifest["sha256"] = {}
    for split, content in fields.items():
        buffer = io.BytesIO()  # via a buffer: the bytes must not depend on the temporary file name
        torch.save(content, buffer)
        with atomic_path(folder / f"{spec.key()}-{split}.pt") as tmp:
            tmp.write_bytes(buffer.getvalue())
        manifest["sha256"][split] = _fields_sha256(content)
    atomic_write_text(manifest_path, json.dumps(manifest, indent=2) + "\n")  # last: marks it complete
    return manifest, time.perf_counter() - start


def make_spec(
    espeak_accents: Sequence[str] = ESPEAK_ACCENTS,
    espeak_variants: Sequence[str] = ESPEAK_VARIANTS,
    flite_voices: Sequence[str] = FLITE_VOICES,
    test_voices: Sequence[str] = TEST_VOICES,
    utterances: int = 6,
    pitch: Sequence[int] = (30, 70),
    speed: Sequence[int] = (130, 190),
    seed: int = 0,
    sample_rate: int = SAMPLE_RATE,
    num_samples: int = CLIP_SAMPLES,
    peak: float = PEAK,
    noise_dbfs: float | None = NOISE_DBFS,
) -> DigitSetSpec:
    if int(utterances) < 1:
        raise DatasetError(f"data.loader.utterances={utterances} must be >= 1 (takes per voice and digit).")
    pitch, speed = tuple(int(p) for p in pitch), tuple(int(s) for s in speed)
    if len(pitch) != 2 or not 0 <= pitch[0] <= pitch[1] <= 99:
        raise DatasetError(f"data.loader.pitch={list(pitch)} must be [low, high] within espeak-ng's 0..99.")
    if len(speed) != 2 or not 80 <= speed[0] <= speed[1] <= 450:
        raise DatasetError(
            f"data.loader.speed={list(speed)} must be [low, high] words/minute within 80..450."
        )
    if not 0 < float(peak) <= 1:
        raise DatasetError(f"data.loader.peak={peak} must be in (0, 1].")
    if noise_dbfs is not None and not -120 <= float(noise_dbfs) <= -20:
        raise DatasetError(
            f"data.loader.noise_dbfs={noise_dbfs} must be in [-120, -20] dBFS, or null (none)."
        )
    voices = voice_ids([str(a) for a in espeak_accents], [str(v) for v in espeak_variants],
                       [str(v) for v in flite_voices])  # fmt: skip
    if not voices:
        raise DatasetError("data=spoken_digits has no voices: give espeak_accents and/or flite_voices.")
    return DigitSetSpec(
        voices=tuple(voices),
        test_voices=tuple(str(p) for p in test_voices),
        utterances=int(utterances),
        pitch=pitch,  # type: ignore[arg-type]
        speed=speed,  # type: ignore[arg-type]
        seed=int(seed),
        sample_rate=int(sample_rate),
        num_samples=int(num_samples),
        peak=float(peak),
        noise_dbfs=None if noise_dbfs is None else float(noise_dbfs),
    )


def spoken_digits(root: str | Path, split: str, cache: str = CACHE, workers: int = 2, **settings) -> Fields:
    """A split of the synthesised spoken digits: ``audio`` int16 [N, 1, num_samples], ``label`` (the digit)
    and ``speaker`` (index into the manifest's ``speakers``), int64 [N]. ``settings``: see
    :func:`make_spec` (and conf/data/spoken_digits.yaml)."""
    if split not in SPLITS:
        raise DatasetError(f"Unknown split {split!r}; use one of {list(SPLITS)}.")
    spec = make_spec(**settings)
    folder = Path(root) / cache
    manifest, _ = ensure_spoken_digits(folder, spec, workers)
    path = folder / f"{spec.key()}-{split}.pt"
    try:
        fields = torch.load(path, weights_only=True)
        ok = isinstance(fields, dict) and _fields_sha256(fields) == manifest["sha256"][split]
    except Exception:  # noqa: BLE001 - unreadable or truncated: the same fix
        ok = False
    if not ok:
        raise DatasetError(
            f"{path} does not match the SHA-256 recorded in {folder / (spec.key() + '.json')}: it is corrupt "
            f"or was altered. Delete both files to synthesise the set again (or `dvc repro synth_digits`)."
        )
    return fields

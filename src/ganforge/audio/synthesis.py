"""Spoken words from Debian's speech synthesisers: espeak-ng (formant synthesis) and flite (CMU Flite).

A voice is ``<synthesiser>:<name>``: ``espeak-ng:en-us+m3`` (an espeak-ng language/accent plus a voice
variant, see ``espeak-ng --voices`` and ``espeak-ng --voices=variant``) or ``flite:slt`` (``flite -lv``).
Both synthesisers are deterministic: the same version, voice and settings give the same bytes.

The two prosody knobs are given in espeak-ng's units and mapped onto flite's:

- ``pitch``: espeak-ng's ``-p`` (0..99, default 50; 35 / 65 measured as x0.87 / x1.17 of the F0 of
  en-us+m3). flite: ``int_f0_target_mean`` = the voice's own mean F0 (measured, :data:`FLITE_MEAN_F0`) x
  2 ** ((pitch - 50) / 70), about the same factor. flite's ``rms`` ignores that setting (checked), so its
  pitch never changes.
- ``speed``: espeak-ng's ``-s`` in words per minute (default 175). flite: ``duration_stretch`` =
  160 / speed (flite's normal speed at 160 wpm).

espeak-ng writes 22,050 Hz, flite's kal16/slt/rms/awb 16,000 Hz (kal 8,000 Hz); the caller resamples.
"""

from __future__ import annotations

import functools
import io
import shutil
import subprocess
from dataclasses import dataclass

import numpy as np

from ganforge.errors import DatasetError

ESPEAK = "espeak-ng"
FLITE = "flite"
SYNTHESISERS = (ESPEAK, FLITE)
DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
# Median F0 (Hz) of each flite voice saying "nine" at its default settings (autocorrelation, measured with
# flite 2.2); rms has no entry because it ignores int_f0_target_mean.
FLITE_MEAN_F0 = {"kal": 103.0, "kal16": 103.0, "slt": 182.0, "awb": 147.0}
FLITE_NORMAL_WPM = 160.0
INSTALL_HINT = (
    "Install them with `make install` (as root; it runs apt-get), or `sudo apt-get install espeak-ng flite` "
    "on Debian/Ubuntu"
)


@dataclass(frozen=True, order=True)
class Voice:
    synthesiser: str
    name: str

    @property
    def id(self) -> str:
        return f"{self.synthesiser}:{self.name}"

    @classmethod
    def parse(cls, voice_id: str) -> Voice:
        synthesiser, sep, name = str(voice_id).partition(":")
        if not sep or synthesiser not in SYNTHESISERS or not name:
            raise DatasetError(
                f"Voice {voice_id!r} is not <synthesiser>:<name> with synthesiser one of "
                f"{list(SYNTHESISERS)} (e.g. espeak-ng:en-us+m3, flite:slt)."
            )
        return cls(synthesiser, name)


def missing_synthesisers(synthesisers: set[str] | frozenset[str]) -> list[str]:
    return sorted(s for s in synthesisers if shutil.which(s) is None)


def require(synthesisers: set[str] | frozenset[str], what: str) -> None:
    """A DatasetError naming the fix when a needed synthesiser is not on PATH."""
    missing = missing_synthesisers(synthesisers)
    if missing:
        raise DatasetError(
            f"{what} is synthesised with {' and '.join(sorted(synthesisers))}, but {' and '.join(missing)} "
            f"{'is' if len(missing) == 1 else 'are'} not installed (not found on PATH). {INSTALL_HINT}; or "
            "copy an already synthesised data/synth/spoken_digits/ from another machine (dvc pull)."
        )


def _run(args: list[str]) -> bytes:
    try:
        done = subprocess.run(args, capture_output=True, check=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as exc:
        stderr = getattr(exc, "stderr", b"") or b""
        raise DatasetError(
            f"{' '.join(args)} failed ({exc}; {stderr.decode(errors='replace').strip()}). Check the "
            f"synthesiser works on its own; reinstall it with `apt-get install --reinstall espeak-ng flite`."
        ) from exc
    return done.stdout


@functools.cache
def installed_voices(synthesiser: str) -> frozenset[str]:
    """The voice names a synthesiser knows: espeak-ng languages and ``language+variant`` parts, flite -lv."""
    if synthesiser == FLITE:
        listing = _run([FLITE, "-lv"]).decode()
        return frozenset(listing.split(":", 1)[-1].split())
    languages = [line.split()[1] for line in _run([ESPEAK, "--voices"]).decode().splitlines()[1:] if line]
    variants = [
        line.split()[4].split("/")[-1]
        for line in _run([ESPEAK, "--voices=variant"]).decode().splitlines()[1:]
        if len(line.split()) >= 5
    ]
    return frozenset(languages) | frozenset(f"+{v}" for v in variants)


def check_voices(voices: list[Voice]) -> None:
    """Refuse voices the installed synthesisers do not have (both fall back to a default voice silently)."""
    unknown = []
    for voice in voices:
        known = installed_voices(voice.synthesiser)
        if voice.synthesiser == FLITE:
            ok = voice.name in known
        else:
            language, _, variant = voice.name.partition("+")
            ok = language in known and (not variant or f"+{variant}" in known)
        if not ok:
            unknown.append(voice.id)
    if unknown:
        raise DatasetError(
            f"The installed synthesisers have no voice {', '.join(unknown)} (see `espeak-ng --voices`, "
            "`espeak-ng --voices=variant` and `flite -lv`); remove it from data.loader's voices or install "
            "the package that provides it."
        )


def synthesise(word: str, voice: Voice, pitch: int = 50, speed: int = 175) -> tuple[np.ndarray, int]:
    """(float32 mono samples in [-1, 1], sample rate) of ``word`` spoken by ``voice``."""
    import soundfile as sf

    if voice.synthesiser == ESPEAK:
        args = [ESPEAK, "-v", voice.name, "-p", str(int(pitch)), "-s", str(int(speed)), "--stdout", word]
    else:
        args = [FLITE, "-voice", voice.name, "--setf", f"duration_stretch={FLITE_NORMAL_WPM / speed:.4f}"]
        if voice.name in FLITE_MEAN_F0:
            f0 = FLITE_MEAN_F0[voice.name] * 2 ** ((pitch - 50) / 70)
            args += ["--setf", f"int_f0_target_mean={f0:.2f}"]
        args += ["-t", word, "-o", "/dev/stdout"]
    samples, rate = sf.read(io.BytesIO(_run(args)), dtype="float32", always_2d=True)
    return samples[:, 0], int(rate)


def _debian_version(package: str) -> str | None:
    if shutil.which("dpkg-query") is None:
        return None
    done = subprocess.run(["dpkg-query", "-W", "-f=${Version}", package], capture_output=True, text=True)
    return done.stdout.strip() or None if done.returncode == 0 else None


def versions(synthesisers: set[str] | frozenset[str]) -> dict[str, str]:
    """What made the audio, for the data set's manifest: each synthesiser's own version line (and the
    Debian package version where dpkg knows it)."""
    out = {}
    for synthesiser in sorted(synthesisers):
        # flite --version prints its version and exits with status 1: no check=True here.
        done = subprocess.run([synthesiser, "--version"], capture_output=True, text=True, timeout=60)
        text = done.stdout + done.stderr
        lines = [s.strip() for s in text.splitlines() if "version" in s.lower() or "espeak" in s.lower()]
        line = lines[0].split("  Data at")[0] if lines else "unknown"  # espeak-ng: no install path
        debian = _debian_version(synthesiser)
        out[synthesiser] = line + (f" (Debian package {debian})" if debian else "")
    return out

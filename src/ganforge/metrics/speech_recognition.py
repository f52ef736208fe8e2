"""An independent judge of generated speech: pocketsphinx's offline recogniser, limited to the ten digits.

Nobody here trained it: the en-us acoustic model and dictionary bundled in the ``pocketsphinx`` wheel
(CMU Sphinx), with a JSGF grammar that allows exactly one of "zero" ... "nine". The grammar decoder
returns no word where it finds no speech, so a generated clip either *is recognised* as some digit or is
not, and the recognised ones give a class histogram. It is not a perfect judge: white noise is heard as a
digit in 4-17% of clips (100 clips at each of -60 ... -10 dBFS; nearly always "two" or "eight", whose /t/
is hiss-like), so scripts/bench_audio.py scores white noise beside the models as the floor. It is the
check a reader can repeat without trusting ganforge's classifier, which scores every clip as some class.

``speech_digits<count>`` (ganforge.metrics.registry) reports, on the first ``count`` samples:

- ``_recognised``: share of clips in which a digit was recognised;
- ``_kl``: KL divergence (nats) of the recognised digits' histogram from uniform (0: every digit as
  often; log 10 = 2.30: one digit only), the recogniser's view of mode coverage;
- ``_digit<k>``: share of the recognised clips recognised as digit k;
- ``_agreement`` (when class labels are given: the real test set's labels, or the classifier's argmax on
  generated clips): share of all clips recognised as that label.

Its scores on the real clips of data=spoken_digits are in docs/audio.md (scripts/bench_audio.py).
"""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path

import torch

from ganforge.errors import EvaluationError

DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
SAMPLE_RATE = 16_000  # the bundled en-us model's rate


def grammar(words: tuple[str, ...] = DIGIT_WORDS) -> str:
    """A JSGF grammar: one of ``words``."""
    return "#JSGF V1.0;\ngrammar digits;\npublic <digit> = " + " | ".join(words) + " ;\n"


class DigitRecognizer:
    """pocketsphinx's decoder with the ten-word grammar; :meth:`recognise` maps clips to digit or -1."""

    def __init__(self, sample_rate: int = SAMPLE_RATE):
        try:
            from pocketsphinx import Decoder
        except ImportError as exc:
            raise EvaluationError(
                "The speech_digits metric needs the pocketsphinx package (its wheel bundles the en-us "
                "model): pip install 'ganforge[audio]' (make install does)."
            ) from exc
        if sample_rate != SAMPLE_RATE:
            raise EvaluationError(
                f"The speech_digits metric decodes 16 kHz speech (pocketsphinx's en-us model); these clips "
                f"are at {sample_rate} Hz. Use data.sample_rate=16000."
            )
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "digits.gram"
            path.write_text(grammar())
            self.decoder = Decoder(jsgf=str(path), logfn=os.devnull, samprate=SAMPLE_RATE)

    def recognise_one(self, clip: torch.Tensor) -> int:
        """An int16 clip [T] (or [1, T]) -> the recognised digit, or -1 for none."""
        raw = clip.reshape(-1).to(torch.int16).numpy().astype("<i2").tobytes()
        self.decoder.start_utt()
        self.decoder.process_raw(raw, no_search=False, full_utt=True)
        self.decoder.end_utt()
        hyp = self.decoder.hyp()
        word = hyp.hypstr.strip() if hyp is not None else ""
        return DIGIT_WORDS.index(word) if word in DIGIT_WORDS else -1

    def recognise(self, clips: torch.Tensor) -> torch.Tensor:
        """int16 clips [N, 1, T] -> int64 [N]: digit index, -1 where nothing was recognised."""
        if clips.dim() != 3 or clips.shape[1] != 1 or clips.dtype != torch.int16:
            raise EvaluationError(
                f"speech_digits scores mono int16 clips [N, 1, T]; got {clips.dtype} {list(clips.shape)}."
            )
        return torch.tensor([self.recognise_one(c) for c in clips], dtype=torch.int64)


def recogniser_identity() -> str:
    """What the speech_digits numbers depend on, for metrics.provenance.json."""
    from importlib.metadata import version

    return f"pocketsphinx {version('pocketsphinx')} bundled en-us model; JSGF: {' | '.join(DIGIT_WORDS)}"


def digit_scores(recognised: torch.Tensor, labels: torch.Tensor | None = None) -> dict[str, float]:
    """The ``speech_digits`` numbers (see the module docstring) from recognised digits (-1: none)."""
    n = len(recognised)
    hits = recognised[recognised >= 0]
    out: dict[str, float] = {"recognised": len(hits) / n if n else 0.0}
    counts = torch.bincount(hits, minlength=len(DIGIT_WORDS)).double()
    shares = counts / counts.sum() if len(hits) else counts
    nonzero = shares[shares > 0]
    out["kl"] = float((nonzero * (nonzero * len(DIGIT_WORDS)).log()).sum()) if len(hits) else math.log(10)
    out.update({f"digit{k}": float(s) for k, s in enumerate(shares)})
    if labels is not None:
        out["agreement"] = float((recognised == labels.to(recognised)).double().mean())
    return out

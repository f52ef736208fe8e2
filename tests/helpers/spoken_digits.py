"""The tiny synthesised spoken-digit set the audio tests share: two voices (espeak-ng en-us+m3 trains,
flite slt tests), 10 digits, 2 takes each: 20 train / 20 test clips, synthesised in about a second."""

from __future__ import annotations

import shutil

HAVE_SYNTHS = shutil.which("espeak-ng") is not None and shutil.which("flite") is not None
#: loader keywords of ganforge.data.audio_digits.spoken_digits
TINY = dict(
    espeak_accents=["en-us"],
    espeak_variants=["m3"],
    flite_voices=["slt"],
    test_voices=["flite:slt"],
    utterances=2,
)
#: the same set as config overrides (batch size left to the test)
TINY_OVERRIDES = [
    "data=spoken_digits",
    "data.loader.espeak_accents=[en-us]",
    "data.loader.espeak_variants=[m3]",
    "data.loader.flite_voices=[slt]",
    "data.loader.test_voices=[flite:slt]",
    "data.loader.utterances=2",
]

"""Audio for the audio GAN families (WaveGAN, SpecGAN): decoding, spectrograms, speech synthesis.

- :mod:`ganforge.audio.io`: WAV (and FLAC/OGG/AIFF) files to fixed-length mono clips at one sample rate,
  with the documented handling of bad input (another rate: resampled; stereo: mixed down; short: zero
  padded; shorter than the STFT window: refused; silent: skipped and counted); int16 <-> float.
- :mod:`ganforge.audio.spectrogram`: SpecGAN's 128x128 log-magnitude STFT, its per-frequency-bin
  normalisation and the inverse by Griffin-Lim, all in torch (batched, on the device).
- :mod:`ganforge.audio.synthesis`: spoken words from Debian's espeak-ng and flite.

The datasets themselves are in :mod:`ganforge.data.audio_digits` (the synthesised spoken digits),
:mod:`ganforge.data.audio_sources` (FSDD, SC09, Speech Commands, a folder) and
:mod:`ganforge.data.audio_datamodule` (batches ``{"audio", "label", "speaker"}``).
"""

SAMPLE_RATE = 16_000
CLIP_SAMPLES = 16_000  # one second at 16 kHz, as SC09; WaveGAN's 16,384 is the model's padding

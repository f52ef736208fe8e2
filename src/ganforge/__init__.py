"""ganforge: Lightning + Hydra pipeline for training, evaluating and comparing GANs."""

__version__ = "0.1.0"

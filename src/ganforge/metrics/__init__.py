"""Evaluation: feature extractors, real-data statistics, FID/KID/IS/precision-recall and mode coverage.

Metric names carry their protocol (see :mod:`ganforge.metrics.registry`); :func:`ganforge.metrics.evaluate.
evaluate` runs a list of them on generated samples against a dataset's real split.
"""

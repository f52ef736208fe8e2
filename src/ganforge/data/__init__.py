"""Datasets held in memory and served as index-sliced batches (see :mod:`.base`)."""

"""Multi-process training: the DDP strategy for alternating G/D updates and replica checks."""

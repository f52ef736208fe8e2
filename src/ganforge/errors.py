"""User-facing errors: each names the problem and the fix in one paragraph.

The CLIs print these without a traceback and exit with status 2, before any work is lost.
"""


class GanforgeError(Exception):
    """Base class of errors caused by user input (config, data, checkpoint, CLI)."""


class ConfigError(GanforgeError):
    """A config value is invalid or an impossible combination was requested."""


class DatasetError(GanforgeError):
    """A dataset is missing, corrupt or cannot be fetched."""


class CheckpointError(GanforgeError):
    """A checkpoint file is missing, corrupt or does not match the requested run."""


class EvaluationError(GanforgeError):
    """An evaluation cannot run as asked: unknown metric, missing evaluator or weights, bad samples."""


class NonFiniteError(GanforgeError):
    """Training produced a NaN or infinite loss or weight (it diverged)."""

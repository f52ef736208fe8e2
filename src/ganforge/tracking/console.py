"""The training console: each log line once, without Lightning's advertisement.

Importing ``lightning`` gives its ``lightning`` logger a handler of its own (``INFO: ...`` on stderr),
and ``lightning.pytorch`` another when the root logger has none yet; Hydra's job logging already prints
every record and writes it to train.log, so those handlers print each Lightning line a second time.
Lightning 2.6 also logs a "💡 Tip ... litlogger" line whenever a Trainer is built without its LitLogger;
it has no flag, so a standard ``logging.Filter`` on the logger it is emitted through drops it.

Hydra's console handler holds the ``sys.stdout`` of the moment it was configured. The progress bar (Rich)
redirects ``sys.stdout`` while it draws, so that printed lines land above the bar; log lines written to
the stale stream would instead be glued to the bar's line. The handler is pointed at whatever
``sys.stdout``/``sys.stderr`` is current when it writes.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

LIGHTNING_LOGGERS = ("lightning", "lightning.pytorch", "lightning.fabric")
# rank_zero_info() logs through the last of these to be imported (lightning_utilities' ``rank_zero.log``).
RANK_ZERO_LOGGERS = ("lightning.pytorch.utilities.rank_zero", "lightning.fabric.utilities.rank_zero")


class DropAdvertisement(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "litlogger" not in record.getMessage().lower()


class CurrentStream:
    """A stream that writes to ``sys.<name>`` as it is at each write."""

    def __init__(self, name: str):
        self.name = name

    def write(self, text: str) -> Any:
        return getattr(sys, self.name).write(text)

    def flush(self) -> None:
        getattr(sys, self.name).flush()


def follow_redirected_streams() -> None:
    """Point the root logger's stdout/stderr handlers at the current ``sys.stdout``/``sys.stderr``."""
    for handler in logging.getLogger().handlers:
        if type(handler) is not logging.StreamHandler:
            continue  # a FileHandler (train.log) is a StreamHandler subclass: left alone
        for name in ("stdout", "stderr"):
            if handler.stream in (getattr(sys, name), getattr(sys, f"__{name}__")):
                handler.setStream(CurrentStream(name))


def quiet_lightning_console() -> None:
    """Leave Lightning's records to the root (Hydra's) handlers only, minus the LitLogger tip."""
    import lightning.pytorch  # noqa: F401 - adds its handlers on import: clear them after

    for name in LIGHTNING_LOGGERS:
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    for name in RANK_ZERO_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, DropAdvertisement) for f in logger.filters):
            logger.addFilter(DropAdvertisement())

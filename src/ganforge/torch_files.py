"""Reading files written by ``torch.save`` safely, and saying in plain words why one cannot be read.

Everything ganforge reads with ``torch.load`` (checkpoints, sample tensors, caches) uses
``weights_only=True``, so no pickled code in a file runs. PyTorch's own error for a file that mode refuses
advises retrying with ``weights_only=False``, i.e. running whatever code the file holds; ganforge never
repeats that advice, and describes the file instead.
"""

from __future__ import annotations

import pickle
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

ZIP_MAGIC = b"PK\x03\x04"  # torch.save's format since PyTorch 1.6


@dataclass
class Unreadable:
    """Why a file could not be read. ``reason`` completes "<path> ..."; ``kind`` is ``foreign`` (not a
    torch.save file, or one holding more than data), ``truncated`` (looks cut short) or ``unopenable``."""

    reason: str
    kind: str = "foreign"


def load_weights_only(path: Path) -> Any:
    """``torch.load(path, weights_only=True)`` on the CPU; raises UnreadableFile with a plain reason."""
    try:
        with path.open("rb") as f:
            head = f.read(len(ZIP_MAGIC))
    except OSError as exc:
        raise UnreadableFile(Unreadable(f"cannot be opened ({exc.strerror})", kind="unopenable")) from exc
    if not head:
        raise UnreadableFile(Unreadable("is empty (0 bytes)", kind="truncated"))
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - any read failure gets one plain description
        raise UnreadableFile(describe_failure(exc, is_zip=head == ZIP_MAGIC)) from exc


class UnreadableFile(Exception):
    """Internal: carries an :class:`Unreadable`; callers turn it into their own GanforgeError."""

    def __init__(self, why: Unreadable):
        super().__init__(why.reason)
        self.why = why


def describe_failure(exc: Exception, is_zip: bool) -> Unreadable:
    """What a file is, judged from the exception ``torch.load(weights_only=True)`` raised on it."""
    # PyTorch names a refused class in one of two phrasings: "Unsupported global: GLOBAL x.Y" or
    # "unsupported GLOBAL x.Y whose module x is blocked".
    globals_ = sorted(set(re.findall(r"unsupported (?:global: )?GLOBAL ([\w.]+)", str(exc), re.IGNORECASE)))
    if isinstance(exc, pickle.UnpicklingError) and (globals_ or is_zip):
        named = f" ({', '.join(globals_)})" if globals_ else ""
        return Unreadable(
            f"holds Python objects{named} besides tensors and plain data; ganforge does not load those "
            "(loading them could run code)"
        )
    # A cut-short zip: the reader misses the central directory (RuntimeError), or, in small files, seeks
    # before the start looking for it (OSError EINVAL).
    if is_zip and (isinstance(exc, OSError) or "zip archive" in str(exc)):
        return Unreadable("is truncated or corrupt (its zip archive is incomplete)", kind="truncated")
    if is_zip:
        return Unreadable("is a zip archive, but not one written by torch.save")
    return Unreadable("is not a file written by torch.save (PyTorch cannot read its contents)")

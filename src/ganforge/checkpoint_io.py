"""How checkpoints reach the disk: a temporary next to the target, fsynced, then ``os.replace``.

Lightning's ``TorchCheckpointIO`` writes through an fsspec transaction, whose temporary lives in
``$TMPDIR`` and is moved into place with ``shutil.move``: a copy, not a rename, when ``$TMPDIR`` is another
filesystem, and a kill leaves the temporary (the size of a checkpoint) in ``$TMPDIR``. This plugin is the
Trainer's ``CheckpointIO``, so every ``trainer.save_checkpoint`` (periodic, last, best, preemption) goes
through it, on rank zero only (Lightning's strategies call it there).
"""

from __future__ import annotations

import errno
import logging
from pathlib import Path
from typing import Any

import torch
from lightning.fabric.plugins import TorchCheckpointIO

from ganforge.errors import CheckpointError
from ganforge.io import atomic_path

log = logging.getLogger(__name__)


def _os_error(exc: BaseException) -> OSError | None:
    # torch.save reports a failed write as a RuntimeError raised while handling the OSError.
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, OSError):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


class AtomicCheckpointIO(TorchCheckpointIO):
    def save_checkpoint(self, checkpoint: dict[str, Any], path: Any, storage_options: Any = None) -> None:
        if storage_options is not None:
            raise TypeError(f"{type(self).__name__} does not take storage_options")
        path = Path(path)
        try:
            with atomic_path(path) as tmp, open(tmp, "wb") as file:
                # Into an open file, not a path: torch.save names the archive inside the zip after a path,
                # and the temporary's random name would make every checkpoint's bytes differ.
                torch.save(checkpoint, file)
        except (OSError, RuntimeError) as exc:
            cause = _os_error(exc)
            if cause is None:
                raise
            full = cause.errno in (errno.ENOSPC, errno.EDQUOT)
            raise CheckpointError(
                f"Could not write checkpoint {path}: {cause.strerror or cause}. "
                + (
                    "The disk (or quota) is full: free space, then resume. "
                    if full
                    else "Check that the run directory is writable, then resume. "
                )
                + f"The previous {path.name} (if any) and the other checkpoints in {path.parent} are "
                f"intact; resume from its last.ckpt: ckpt_path={path.parent / 'last.ckpt'}."
            ) from None
        log.debug("checkpoint written: %s", path)

"""Atomic file writes: write to a temporary name in the same directory, fsync, then rename over the target.

The temporary sits next to the target so that ``os.replace`` is one rename on one filesystem: a reader
(or a process killed mid-write) sees the old file or the new one, never a part. Temporaries are named
``.<target name>.<8 characters>.tmp``; a kill can leave one behind, and :func:`remove_stale_temporaries`
(run at the start of each training run) removes them.
"""

from __future__ import annotations

import os
import re
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

TEMP_SUFFIX = ".tmp"
# Also matches the names of tempfile.mkstemp (8 characters of [a-z0-9_]), which ganforge used before.
_TEMP_NAME = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp$")


def umask_file_mode() -> int:
    """The mode ``open(path, "w")`` gives a new file: 0o666 less the process umask."""
    # os.umask is the only way to read the umask: set it and put it back at once.
    current = os.umask(0o022)
    os.umask(current)
    return 0o666 & ~current


def create_temporary(target: Path) -> Path:
    """Create an empty, exclusive ``.<target name>.<8 hex>.tmp`` next to ``target`` (mode from the umask)."""
    # Not tempfile.mkstemp: it creates files with mode 0600 whatever the umask. Mode 0666 here is reduced
    # by the umask (and default ACLs) like any file the user's programs create.
    for _ in range(100):
        tmp = target.with_name(f".{target.name}.{secrets.token_hex(4)}{TEMP_SUFFIX}")
        try:
            os.close(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666))
        except FileExistsError:
            continue
        return tmp
    raise FileExistsError(f"no free temporary name next to {target}")


def fsync_path(path: str | Path) -> None:
    """Flush a file's data to disk (fsync applies to the file, whichever descriptor wrote it)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:  # e.g. a directory that cannot be opened for reading: the rename itself is done
        return
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems do not support fsync on directories
    finally:
        os.close(fd)


@contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; on success it replaces ``path``, on error it is removed.

    The temporary is fsynced before the rename, so after a crash ``path`` holds complete content (old or
    new) also when the machine itself went down.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = create_temporary(path)
    try:
        yield tmp
        fsync_path(tmp)
        os.replace(tmp, path)
        _fsync_dir(path.parent)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def atomic_write_text(path: str | Path, text: str) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text)


def is_stale_temporary(name: str) -> bool:
    return bool(_TEMP_NAME.match(name))


def remove_stale_temporaries(directory: str | Path) -> list[Path]:
    """Remove the temporaries that interrupted atomic writes left in ``directory``; returns them.

    Only for directories that no other process is writing to at the moment (a run's own directories at
    its start): a live writer's temporary would be removed under it.
    """
    directory = Path(directory)
    if not directory.is_dir():
        return []
    removed = []
    for entry in directory.iterdir():
        if entry.is_file() and is_stale_temporary(entry.name):
            entry.unlink(missing_ok=True)
            removed.append(entry)
    return removed

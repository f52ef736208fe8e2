"""Argument checks the CLIs run before any work, so that a bad device or output folder costs nothing."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from ganforge.errors import GanforgeError

if TYPE_CHECKING:
    import torch

DEVICES = "cpu, cuda, cuda:N or mps"


def parse_key_values(argv: list[str], keys: set[str], usage: str, allow_extra: bool = False) -> dict:
    """``key=value`` arguments of the checkpoint CLIs (sample, translate, upscale) as a dict of typed
    values, refusing positional and (unless ``allow_extra``: the family's sampling options, checked once
    the checkpoint names the family) unknown arguments with the usage line."""
    from omegaconf import OmegaConf

    bad = [a for a in argv if "=" not in a]
    if bad:
        raise GanforgeError(f"Arguments must be key=value; got {bad}. {usage}")
    args = dict(OmegaConf.to_container(OmegaConf.from_dotlist(argv)))
    unknown = sorted(set(args) - keys)
    if unknown and not allow_extra:
        raise GanforgeError(f"Unknown argument(s) {unknown}; allowed: {sorted(keys)}. {usage}")
    return args


def os_error_reason(exc: OSError) -> str:
    """Why a path could not be created: names the part of it that is a file, else the OS's reason."""
    if exc.filename:
        path = Path(exc.filename)
        existing = next((p for p in (path, *path.parents) if p.exists()), None)
        if existing is not None and existing != path and not existing.is_dir():
            return f"{existing} is a file, not a directory"
        return f"{exc.strerror or type(exc).__name__}: {path}"
    return str(exc)


def writable_dir(path: str | Path, key: str, hint: str | None = None) -> Path:
    """Create ``path`` if needed, check a file can be written there, else a GanforgeError naming ``key``."""
    path = Path(path).expanduser()
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as exc:
        hint = hint or f"Pass {key}=<a folder you can write to>."
        reason = os_error_reason(exc)
        raise GanforgeError(f"{key}={path} is not a writable directory ({reason}). {hint}") from exc
    return path


def resolve_device(device: str, key: str = "device") -> torch.device:
    """``device`` as a torch.device this machine has, or a GanforgeError saying what is available."""
    import torch

    try:
        dev = torch.device(str(device))
    except (RuntimeError, TypeError) as exc:
        raise GanforgeError(f"{key}={device!r} is not a device; use {DEVICES}.") from exc
    if dev.type == "cuda":
        if not torch.cuda.is_available():
            build = f"CUDA {torch.version.cuda}" if torch.version.cuda else "a CPU-only build"
            raise GanforgeError(
                f"{key}={device}: CUDA is not available on this machine (torch {torch.__version__}, "
                f"{build}). Use {key}=cpu."
            )
        count = torch.cuda.device_count()
        if dev.index is not None and dev.index >= count:
            raise GanforgeError(
                f"{key}={device}: this machine has {count} CUDA device(s) (cuda:0..cuda:{count - 1})."
            )
    elif dev.type == "mps":
        if not torch.backends.mps.is_available():
            raise GanforgeError(f"{key}={device}: MPS (Apple GPU) is not available here. Use {key}=cpu.")
    elif dev.type != "cpu":
        raise GanforgeError(f"{key}={device}: device type {dev.type!r} is not supported; use {DEVICES}.")
    return dev

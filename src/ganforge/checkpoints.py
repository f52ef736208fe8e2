"""Reading ganforge checkpoints with clear errors, and checking a resume matches its run.

Every checkpoint is read with ``torch.load(weights_only=True)`` (no pickled code runs) and its stored config
is checked by :mod:`ganforge.config.safe_targets` before anyone can build from it (no ``_target_`` outside
what ganforge's configs produce), so loading a crafted file executes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from ganforge.config.safe_targets import unsafe_node
from ganforge.errors import CheckpointError
from ganforge.families.base import CHECKPOINT_KEY
from ganforge.torch_files import UnreadableFile, load_weights_only

# Sections whose change would make a resumed run a different experiment.
RESUME_MUST_MATCH = ("model", "data", "loss")
USE_ANOTHER = "use another one from the run's checkpoints/ folder (last.ckpt or step_*.ckpt)"
ONLY_OURS = (
    "ganforge can only resume from, sample or evaluate checkpoints written by ganforge-train (a run's "
    "checkpoints/last.ckpt or step_*.ckpt)."
)


def load_checkpoint(path: str | Path | None, arg: str = "ckpt") -> dict[str, Any]:
    """Read a checkpoint ganforge wrote; anything else raises CheckpointError naming what the file is.

    ``arg`` is the argument the user gave the path as (``ckpt`` or ``ckpt_path``), for the messages.
    """
    if path is None or not str(path).strip():
        raise CheckpointError(f"{arg}= is empty. Pass {arg}=<run>/checkpoints/last.ckpt of a run.")
    path = Path(str(path)).expanduser()  # str(): ckpt=123 arrives from the command line as an int
    _check_is_file(path, arg)
    try:
        ckpt = load_weights_only(path)
    except UnreadableFile as exc:
        why = exc.why
        if why.kind == "truncated":
            message = (
                f"Checkpoint {path} {why.reason}: a copy or write was probably cut short; {USE_ANOTHER}."
            )
        elif why.kind == "unopenable":
            message = f"Checkpoint {path} {why.reason}."
        else:
            message = f"{path} is not a ganforge checkpoint: it {why.reason}. {ONLY_OURS}"
        raise CheckpointError(message) from exc
    _check_is_ganforge(ckpt, path)
    problem = unsafe_node(ckpt[CHECKPOINT_KEY]["config"])
    if problem:
        raise CheckpointError(
            f"Refusing checkpoint {path}: its stored config has {problem}. ganforge never writes this, so "
            "the file was not written by ganforge or was tampered with; nothing from it was executed. Use "
            "a checkpoint written by ganforge-train. (A run trained with a _target_ override outside "
            "ganforge's configs cannot be loaded either: add the class to ganforge and name it in a config "
            "under conf/.)"
        )
    return ckpt


def checkpoint_config(ckpt: dict[str, Any]) -> DictConfig:
    """The run config stored in a checkpoint returned by :func:`load_checkpoint` (already checked safe)."""
    return OmegaConf.create(ckpt[CHECKPOINT_KEY]["config"])


@dataclass
class TrainedCheckpoint:
    """A checkpoint's module with its trained (EMA where kept) weights loaded, and what it came from."""

    module: Any  # the family's LightningModule
    cfg: DictConfig
    ckpt: dict[str, Any]

    @property
    def gen_step(self) -> int:
        return int(self.ckpt[CHECKPOINT_KEY]["gen_step"])


def load_trained_module(
    path: str | Path,
    accept: Callable[[Any, DictConfig], None] | None = None,
    device: str = "cpu",
) -> TrainedCheckpoint:
    """Read ``path`` safely, refuse non-finite weights, build the run's module and load its weights.

    ``accept(module, cfg)`` runs before the weights are loaded, so a command for one kind of family
    (ganforge-mix, -translate, -upscale) can refuse another with its own message; it raises to refuse.
    The one sequence every checkpoint command shares (ganforge-eval merges its overrides into the
    config first and so builds its own).
    """
    from ganforge.build import build_module  # lazy: build imports every family
    from ganforge.finite import check_finite_weights

    ckpt = load_checkpoint(path)  # refuses a stored config naming any target ganforge never writes
    check_finite_weights(ckpt["state_dict"], path)
    cfg = checkpoint_config(ckpt)
    module = build_module(cfg)
    if accept is not None:
        accept(module, cfg)
    module.load_trained(ckpt)
    return TrainedCheckpoint(module.to(device), cfg, ckpt)


def _check_is_file(path: Path, arg: str) -> None:
    if path.is_dir():
        found = [*sorted(path.glob("*.ckpt")), *sorted(path.glob("checkpoints/*.ckpt"))][:3]
        hint = ", ".join(f"{arg}={p}" for p in found) if found else f"{arg}=<run>/checkpoints/last.ckpt"
        raise CheckpointError(
            f"Checkpoint {path} is a directory, not a checkpoint file. Pass one of a run's .ckpt files, "
            f"e.g. {hint}."
        )
    if not path.exists():
        raise CheckpointError(
            f"Checkpoint {path} does not exist. Pass {arg}=<run>/checkpoints/last.ckpt of a run."
        )
    if not path.is_file():
        raise CheckpointError(f"Checkpoint {path} is not a regular file. Pass a run's .ckpt file.")


def _check_is_ganforge(ckpt: Any, path: Path) -> None:
    section = ckpt.get(CHECKPOINT_KEY) if isinstance(ckpt, dict) else None
    if (
        isinstance(section, dict)
        and isinstance(ckpt.get("state_dict"), dict)
        and isinstance(section.get("config"), dict)
        and isinstance(section.get("gen_step"), int)
    ):
        return
    if not isinstance(ckpt, dict):
        what = f"it holds a {type(ckpt).__name__}, not a checkpoint dictionary"
    elif "pytorch-lightning_version" in ckpt and CHECKPOINT_KEY not in ckpt:
        what = f"it is a Lightning checkpoint of another project (no '{CHECKPOINT_KEY}' section)"
    elif CHECKPOINT_KEY not in ckpt:
        keys = ", ".join(sorted(map(str, ckpt))[:6]) or "none"
        what = f"it has no '{CHECKPOINT_KEY}' section (top-level keys: {keys})"
    else:
        what = f"its '{CHECKPOINT_KEY}' section lacks the run config, step counter or weights"
    raise CheckpointError(f"{path} is not a ganforge checkpoint: {what}. {ONLY_OURS}")


def _flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(tree, dict):
        out: dict[str, Any] = {}
        for k, v in tree.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    return {prefix: tree}


def check_resume_matches(ckpt: dict[str, Any], config: dict[str, Any], path: str | Path) -> None:
    saved = ckpt[CHECKPOINT_KEY].get("config") or {}
    diffs = []
    for section in RESUME_MUST_MATCH:
        a, b = _flatten(saved.get(section, {}), section), _flatten(config.get(section, {}), section)
        diffs += [
            f"{k}: {a.get(k)!r} -> {b.get(k)!r}" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)
        ]
    if diffs:
        raise CheckpointError(
            f"Cannot resume from {path}: the requested config differs from the run's in "
            f"{'; '.join(diffs[:8])}{' ...' if len(diffs) > 8 else ''}. Resume with the same model/data/loss "
            "overrides as the original run (only trainer.* may change), or start a new run without ckpt_path."
        )

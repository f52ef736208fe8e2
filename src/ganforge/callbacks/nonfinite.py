"""NaN/Inf during training: stop with a clear error (or skip the update, or warn), and never checkpoint it.

``trainer.on_nonfinite`` chooses what a non-finite loss does:

- ``stop`` (default): raise :class:`NonFiniteError` naming the first non-finite generator step, the
  quantity (``loss/d``, ``loss/g`` or a weight), the likely causes and the last finite checkpoint;
- ``skip_step``: an update whose loss is non-finite is not applied to its network;
- ``warn``: log one warning per burst of non-finite steps and keep training.

In every mode a checkpoint is only written when all weights, buffers and optimizer states are finite
(:func:`checkpoint_allowed`, called before every ``trainer.save_checkpoint``), so the last finite checkpoint
is never overwritten by a diverged one.

Cost: each optimizer update adds a few scalar device ops (``isfinite`` of its loss folded into a small
device tensor of first-bad-step / count / kind per network): no host synchronisation. The tensor is read on
the host every ``trainer.log_every_n_steps`` generator steps and before each checkpoint (one tiny
all_gather under DDP, so every rank takes the same decision at the same step and all stop together). The
first non-finite step is therefore exact, though it is reported up to one log interval later.
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any

import lightning as L
import torch

from ganforge.callbacks.step_callback import GeneratorStepCallback
from ganforge.errors import ConfigError, NonFiniteError
from ganforge.families.sides import GENERATOR
from ganforge.finite import nonfinite_names

log = logging.getLogger(__name__)

MODES = ("stop", "skip_step", "warn")
# Index 0 is the discriminator: its updates come first within a generator step.
QUANTITIES = ("loss/d", "loss/g")
NETWORKS = ("discriminator", "generator")
KINDS = ("nan", "inf", "-inf")


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise ConfigError(
            f"trainer.on_nonfinite={mode!r} is unknown; allowed values: {list(MODES)} (stop: raise an error "
            "naming the step; skip_step: do not apply updates whose loss is NaN/Inf; warn: log and go on)."
        )
    return mode


class NonFiniteGuard(GeneratorStepCallback):
    def __init__(self, mode: str = "stop", every_n_steps: int = 1, final_step: int | None = None):
        super().__init__(every_n_steps, final_step)
        self.mode = check_mode(mode)
        # Per network (QUANTITIES order): first non-finite step since the last check, count, KINDS index.
        self._state: torch.Tensor | None = None
        self._loss: torch.Tensor | None = None
        self._network: dict[int, int] = {}  # id(optimizer) -> QUANTITIES index
        self._losses_checked_at: int | None = None  # global_step of the last host check
        self._weights_checked: tuple[int, list[str], bool] | None = None
        self._losses_ok_step = 0  # last generator step whose losses were checked finite
        self._weights_ok_step = 0  # last generator step whose weights were checked finite
        self._bursts = {"loss": False, "weights": False, "skip/d": False, "skip/g": False}
        self.saved: dict[Path, int] = {}  # checkpoints written (all finite) -> generator step
        self.events: list[dict[str, Any]] = []  # the first non-finite value of each burst
        self.skipped = [0, 0]  # updates not applied (skip_step), per network
        self.refused: list[Path] = []  # checkpoints not written because the weights were not finite

    # ------------------------------------------------------------------ device-side recording
    def on_train_start(self, trainer: L.Trainer, pl_module: Any) -> None:
        super().on_train_start(trainer, pl_module)
        self._state = torch.tensor([-1, -1, 0, 0, 0, 0], device=pl_module.device)
        self._losses_ok_step = self._weights_ok_step = pl_module.gen_step
        if trainer.ckpt_path:  # a resume: the checkpoint it started from is finite (it was guarded)
            self.saved[Path(trainer.ckpt_path)] = pl_module.gen_step

    def on_before_backward(self, trainer: L.Trainer, pl_module: Any, loss: torch.Tensor) -> None:
        self._loss = loss.detach()  # under 16-bit AMP the scaled loss: finite exactly when the loss is

    def on_before_optimizer_step(self, trainer: L.Trainer, pl_module: Any, optimizer: Any) -> None:
        loss, self._loss = self._loss, None
        if loss is None or self._state is None:
            return
        q = self._network_of(pl_module, optimizer)
        step = pl_module.gen_step + 1  # the generator step this update belongs to
        bad = ~torch.isfinite(loss).all()
        s = self._state
        new = bad & (s[q] < 0)
        kind = torch.where(torch.isnan(loss).any(), 0, torch.where((loss == math.inf).any(), 1, 2))
        s[q] = torch.where(new, step, s[q])
        s[2 + q] += bad.long()
        s[4 + q] = torch.where(new, kind, s[4 + q])
        if self.mode == "skip_step":
            self._skip_if_bad(trainer, optimizer, q, step, bool(bad))

    def _skip_if_bad(self, trainer: L.Trainer, optimizer: Any, q: int, step: int, bad: bool) -> None:
        # skip_step is a host decision: bool(bad) synchronises once per update, and under DDP one boolean
        # all-reduce makes every rank skip the same update (gradients are already averaged; an update
        # applied on some ranks only would split the replicas). A device-side masked update would instead
        # copy every weight and optimizer state per update, which costs more than one sync.
        skip = trainer.strategy.reduce_boolean_decision(bad, all=False)
        key = f"skip/{QUANTITIES[q][-1]}"
        if not skip:
            self._bursts[key] = False
            return
        for group in optimizer.param_groups:
            for p in group["params"]:
                p.grad = None  # optimizers leave a parameter without a gradient, and its state, untouched
        self.skipped[q] += 1
        if not self._bursts[key]:
            self._bursts[key] = True
            self.events.append({"step": step, "quantity": QUANTITIES[q], "skipped": True})
            if trainer.is_global_zero:
                log.warning(
                    "%s is not finite at generator step %d%s: the %s update is skipped "
                    "(trainer.on_nonfinite=skip_step; warned once per run of consecutive skips)",
                    QUANTITIES[q],
                    step,
                    " on at least one rank" if trainer.world_size > 1 else "",
                    NETWORKS[q],
                )

    def _network_of(self, pl_module: Any, optimizer: Any) -> int:
        raw = getattr(optimizer, "optimizer", optimizer)
        if id(raw) not in self._network:
            first = raw.param_groups[0]["params"][0]
            in_g = any(first is p for p in pl_module.sides[GENERATOR].parameters())
            self._network[id(raw)] = 1 if in_g else 0
        return self._network[id(raw)]

    # ------------------------------------------------------------------ host-side checks
    def on_generator_step(self, trainer: L.Trainer, pl_module: Any, step: int) -> None:
        self.check_losses(trainer, pl_module)

    def check_losses(self, trainer: L.Trainer, pl_module: Any) -> None:
        """Read the device record (one sync; all ranks' records under DDP) and act per mode."""
        if self._state is None or self._losses_checked_at == trainer.global_step:
            return
        self._losses_checked_at = trainer.global_step
        rows = trainer.strategy.all_gather(self._state).reshape(-1, 6).tolist()
        self._state[:2] = -1
        self._state[2:] = 0
        events = [
            (r[q], q, rank, KINDS[r[4 + q]]) for rank, r in enumerate(rows) for q in (0, 1) if r[q] >= 0
        ]
        step = pl_module.gen_step
        if not events:
            self._losses_ok_step = step
            self._bursts["loss"] = False
            return
        first, q, rank, kind = min(events)
        where = f" on rank {rank}" if trainer.world_size > 1 else ""
        what = (
            f"{QUANTITIES[q]} (the {NETWORKS[q]}'s loss) was {kind} at generator step {first}{where}, the "
            f"first non-finite loss after step {self._losses_ok_step} (losses are checked every "
            f"trainer.log_every_n_steps={self.every_n_steps} generator steps and before each checkpoint; "
            f"found at step {step})"
        )
        if self.mode == "stop":
            raise NonFiniteError(f"Training diverged: {what}. {self._causes(trainer)} {self._resume_hint()}")
        if self.mode == "warn" and not self._bursts["loss"]:
            self.events.append({"step": first, "quantity": QUANTITIES[q], "kind": kind, "rank": rank})
            if trainer.is_global_zero:
                log.warning(
                    "%s; training goes on (trainer.on_nonfinite=warn: warned once per run of non-finite "
                    "steps; checkpoints with non-finite weights are not written). %s",
                    what,
                    self._causes(trainer),
                )
        self._bursts["loss"] = True

    def allow_checkpoint(self, trainer: L.Trainer, pl_module: Any, path: str | Path) -> bool:
        """True when ``path`` may be written now; False (warn) or NonFiniteError if it would hold NaN/Inf."""
        self.check_losses(trainer, pl_module)
        step = pl_module.gen_step
        bad, ok = self._check_weights(trainer, pl_module)
        if ok:
            self._weights_ok_step = step
            self._bursts["weights"] = False
            self.saved[Path(path)] = step
            return True
        names = f"{', '.join(bad[:3])}{' ...' if len(bad) > 3 else ''}" if bad else "on another rank"
        what = (
            f"{len(bad) or 'some'} weight, buffer or optimizer-state tensor(s) of {_networks(bad)} hold "
            f"NaN/Inf at generator step {step} ({names}), found before writing {Path(path).name}; the last "
            f"check with finite values was at step {self._weights_ok_step}"
        )
        if self.mode != "warn":  # skip_step could not keep them finite either: nothing left to train
            raise NonFiniteError(f"Training diverged: {what}. {self._causes(trainer)} {self._resume_hint()}")
        self.refused.append(Path(path))
        if not self._bursts["weights"] and trainer.is_global_zero:
            log.warning("not writing %s (nor later checkpoints while this lasts): %s", path, what)
        self._bursts["weights"] = True
        return False

    def _check_weights(self, trainer: L.Trainer, pl_module: Any) -> tuple[list[str], bool]:
        # Several checkpoints at one step (step_N, last, best, preemption) share one check.
        if self._weights_checked is not None and self._weights_checked[0] == trainer.global_step:
            return self._weights_checked[1], self._weights_checked[2]
        named: list[tuple[str, Any]] = list(pl_module.state_dict().items())
        param_names = {p: n for n, p in pl_module.named_parameters()}
        for opt in trainer.optimizers:
            for param, state in opt.state.items():
                # e.g. Adam's exp_avg_sq overflows to inf under huge gradients while the weights stay finite
                where = param_names.get(param, "a parameter")
                named += [(f"optimizer state {k} of {where}", v) for k, v in state.items()]
        bad = nonfinite_names(named)
        # Saving is collective under DDP: every rank must take the same decision.
        ok = trainer.strategy.reduce_boolean_decision(not bad, all=True)
        self._weights_checked = (trainer.global_step, bad, ok)
        return bad, ok

    # ------------------------------------------------------------------ messages
    def _causes(self, trainer: L.Trainer) -> str:
        lr = {
            NETWORKS[self._network_of(trainer.lightning_module, o)]: f"{o.param_groups[0]['lr']:.3g}"
            for o in trainer.optimizers
        }
        return (
            f"Likely causes: a learning rate too high (now generator {lr.get('generator')}, discriminator "
            f"{lr.get('discriminator')}: model.g_optimizer.lr, model.d_optimizer.lr; GANs train with "
            "about 1e-4 to 1e-3 under adam); a loss/model pairing that lets the discriminator's output grow "
            "without bound (e.g. loss=wasserstein without weight clipping, a gradient penalty or spectral "
            "normalisation); float16 overflow under hardware.precision=16-mixed (this run: "
            f"{trainer.precision}; try bf16-mixed or 32); data outside the model's range (images must lie in "
            "[-1, 1] and hold no NaN)."
        )

    def _resume_hint(self) -> str:
        tail = (
            " (trainer.on_nonfinite=warn keeps training instead; checkpoints holding NaN/Inf are never "
            "written in any mode.)"
        )
        if not self.saved:
            return (
                "No checkpoint of this run was written before the failure, so there is none to resume from; "
                "start a new run once the cause is fixed." + tail
            )
        path, step = max(self.saved.items(), key=lambda kv: (kv[1], kv[0].name == "last.ckpt"))
        return (
            f"No checkpoint holding NaN/Inf was written: the last checkpoint, {path}, is from generator step "
            f"{step}. Resume from it with ckpt_path={path} (a resume keeps the model and loss settings; "
            "trainer.on_nonfinite=skip_step skips updates whose loss is not finite), or start a new run once "
            "the cause is fixed." + tail
        )

    def on_train_end(self, trainer: L.Trainer, pl_module: Any) -> None:
        if trainer.is_global_zero and (any(self.skipped) or self.refused):
            log.warning(
                "non-finite values during training: %d discriminator and %d generator updates skipped; "
                "%d checkpoint(s) not written",
                *self.skipped,
                len(self.refused),
            )


def _networks(names: list[str]) -> str:
    """The networks (top-level state_dict prefixes: generator, g_ab, d_a, ...) the keys belong to."""
    nets = sorted({k.split(".", 1)[0] for k in names if "." in k})
    return " and ".join(nets) or "the model"


def checkpoint_allowed(trainer: L.Trainer, path: str | Path) -> bool:
    """Call before every ``trainer.save_checkpoint``: never write a checkpoint holding NaN/Inf.

    False (trainer.on_nonfinite=warn) or NonFiniteError (stop, skip_step) when the weights, buffers or
    optimizer states are not finite. All ranks must call it together (it reduces the decision under DDP).
    """
    guard = next((c for c in trainer.callbacks if isinstance(c, NonFiniteGuard)), None)
    if guard is None:  # a trainer assembled without the guard still never saves NaN weights
        guard = NonFiniteGuard("stop")
    return guard.allow_checkpoint(trainer, trainer.lightning_module, path)

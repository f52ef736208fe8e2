"""Mixed precision for alternating G/D updates: one GradScaler per optimizer.

Lightning's MixedPrecision plugin shares one GradScaler between the generator and discriminator
optimizers. Their losses and gradients differ by orders of magnitude, and an overflow in one network
would shrink the scale (and skip steps) of the other. Here each optimizer gets its own scaler; the
engine says which optimizer a backward belongs to through ``toggle_optimizer``. Gradient clipping in
``on_before_optimizer_step`` sees unscaled gradients, because this plugin unscales before that hook.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from lightning.pytorch.plugins.precision import MixedPrecision, Precision


def _index_of(module: Any, optimizer: Any) -> int:
    raw = getattr(optimizer, "optimizer", optimizer)  # unwrap a LightningOptimizer
    for i, opt in enumerate(module.trainer.optimizers):
        if opt is raw:
            return i
    raise RuntimeError("optimizer is not one of the trainer's optimizers")


class PerOptimizerMixedPrecision(MixedPrecision):
    def __init__(self, precision: str = "16-mixed", device: str = "cuda"):
        super().__init__(precision, device)  # type: ignore[arg-type]
        self.uses_scaler = self.scaler is not None
        self.scalers: dict[int, torch.amp.GradScaler] = {}
        self._pending_state: dict[int, dict[str, Any]] = {}

    def scaler_for(self, index: int) -> torch.amp.GradScaler:
        if index not in self.scalers:
            self.scalers[index] = torch.amp.GradScaler(device=self.device)
            if index in self._pending_state:
                self.scalers[index].load_state_dict(self._pending_state.pop(index))
        return self.scalers[index]

    def pre_backward(self, tensor: torch.Tensor, module: Any) -> torch.Tensor:  # type: ignore[override]
        if self.uses_scaler:
            tensor = self.scaler_for(_index_of(module, module.active_optimizer)).scale(tensor)
        return Precision.pre_backward(self, tensor, module)

    def optimizer_step(self, optimizer: Any, model: Any, closure: Callable[[], Any], **kwargs: Any) -> Any:
        if not self.uses_scaler:
            return super().optimizer_step(optimizer, model=model, closure=closure, **kwargs)
        scaler = self.scaler_for(_index_of(model, optimizer))
        closure()
        scaler.unscale_(optimizer)
        self._after_closure(model, optimizer)  # on_before_optimizer_step: clipping on unscaled gradients
        output = scaler.step(optimizer, **kwargs)
        scaler.update()
        return output

    def state_dict(self) -> dict[str, Any]:
        return {"per_optimizer_scalers": {i: s.state_dict() for i, s in self.scalers.items()}}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self._pending_state = dict(state_dict.get("per_optimizer_scalers", {}))
        self.scalers = {}


def precision_arguments(precision: str, accelerator: str) -> dict[str, Any]:
    """Trainer keyword arguments for a precision setting: our plugin for 16-bit AMP, else Lightning's."""
    if precision == "16-mixed":
        device = "cpu" if accelerator == "cpu" else "cuda"
        return {"plugins": [PerOptimizerMixedPrecision("16-mixed", device)]}
    return {"precision": precision}

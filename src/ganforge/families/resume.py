"""Checkpoint state of the engine (a mixin): step counters, phase, every rank's RNG, the run's config.

Weights, optimizers, schedulers and the data position are Lightning's (state_dict, optimizer states,
the dataloader's ``state_dict``); this adds what makes a resume continue exactly: the generator-step
counter and the position in the discriminator cycle, the training phase (checked against the family's
schedule on load), and the RNG state of every process.
"""

from __future__ import annotations

from typing import Any

import torch

from ganforge.errors import CheckpointError
from ganforge.rng import capture_rng_state, restore_rng_state

CHECKPOINT_KEY = "ganforge"


class ResumeState:
    """Needs ``gen_step``, ``d_updates_in_cycle``, ``phase``, ``run_config`` (set by AdversarialModule)."""

    def on_save_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        rng = capture_rng_state()
        if self.trainer is not None and self.trainer.world_size > 1:
            # Only rank 0 writes the file: gather every process's noise RNG so a resume continues each.
            rng["torch_per_rank"] = self._gather_rng(torch.get_rng_state())
            if self.device.type == "cuda":
                rng["cuda_per_rank"] = self._gather_rng(torch.cuda.get_rng_state(self.device))
        checkpoint[CHECKPOINT_KEY] = {
            "gen_step": self.gen_step,
            "d_updates_in_cycle": self.d_updates_in_cycle,
            "phase": self.phase.record(),
            "rng": rng,
            "config": self.run_config,
        }

    def _gather_rng(self, state: torch.Tensor) -> torch.Tensor:
        return self.all_gather(state.to(self.device)).cpu()

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        state = checkpoint[CHECKPOINT_KEY]
        self.gen_step = int(state["gen_step"])
        self.d_updates_in_cycle = int(state["d_updates_in_cycle"])
        saved = state.get("phase")  # absent in checkpoints written before training phases existed
        if saved is not None and saved != self.phase.record():
            raise CheckpointError(
                f"The checkpoint was written in training phase {saved}, but model={self.name}'s phase "
                f"schedule puts generator step {self.gen_step} in {self.phase.record()}. Resume with the "
                "phase settings of the original run."
            )
        rng = state["rng"]
        restore_rng_state(rng)
        if self.trainer is not None and self.trainer.world_size > 1:
            rank, world = self.trainer.global_rank, self.trainer.world_size
            if len(rng.get("torch_per_rank", ())) == world:
                torch.set_rng_state(rng["torch_per_rank"][rank].clone())  # a row view fails set_state
                if "cuda_per_rank" in rng and self.device.type == "cuda":
                    torch.cuda.set_rng_state(rng["cuda_per_rank"][rank].clone(), self.device)
            else:  # saved with another number of processes: a fresh, distinct stream per rank
                torch.manual_seed(torch.initial_seed() + 7919 * self.gen_step + rank)

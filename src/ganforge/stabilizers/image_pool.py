"""History pool of past generated images (Shrivastava et al. 2017; CycleGAN's ``ImagePool`` of 50).

Updating a discriminator on a history of fakes rather than only the newest generator's output reduces
model oscillation (Zhu et al. 2017, section 4). Until the pool holds ``size`` images it stores every new
fake and returns it unchanged; once full, each new fake is, with probability 1/2, stored in place of a
uniformly chosen stored image, which is returned instead; otherwise the new fake is returned as is. So
every fake reaches the discriminator exactly once: at once, or later in place of a newer one.

The pool is an ``nn.Module`` without parameters or buffers, so DDP never broadcasts or reduces it (each
rank keeps the fakes of its own data shard), and its contents travel in the module's ``state_dict`` as
*extra state* (``<name>._extra_state``): a checkpoint restores the pool with the networks. Randomness
comes from torch's global CPU generator, which ganforge's checkpoints save and restore per rank, or, with
``seed``, from a private ``torch.Generator`` whose state is part of the pool's extra state. Either way a
resumed run draws exactly what the uninterrupted one would have.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from ganforge.errors import CheckpointError, ConfigError

DEFAULT_SIZE = 50  # the paper's buffer of 50 previously generated images


class ImagePool(nn.Module):
    """``pool(fakes)`` -> the images to show the discriminator (detached, same shape as ``fakes``)."""

    def __init__(self, size: int = DEFAULT_SIZE, seed: int | None = None):
        super().__init__()
        if size < 0:
            raise ConfigError(f"image pool size={size} must be >= 0 (0 disables the pool).")
        self.size = int(size)
        self.generator: torch.Generator | None = None
        if seed is not None:
            self.generator = torch.Generator().manual_seed(int(seed))
        self._images: torch.Tensor | None = None  # [size, C, H, W] once the first fakes arrive
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def forward(self, fakes: torch.Tensor) -> torch.Tensor:
        return self.query(fakes)[0]

    @torch.no_grad()
    def query(self, fakes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(images for D, bool mask [N] of those that came out of the pool rather than from ``fakes``)."""
        fakes = fakes.detach()
        n = len(fakes)
        from_pool = torch.zeros(n, dtype=torch.bool)
        if self.size == 0:
            return fakes, from_pool
        self._prepare_storage(fakes)
        out = fakes.clone()
        # Draws happen only once the pool is full, a fixed number per image: resumes stay in step.
        for i in range(n):
            if self._count < self.size:
                self._images[self._count] = fakes[i]
                self._count += 1
                continue
            if float(torch.rand((), generator=self.generator)) < 0.5:
                j = int(torch.randint(self.size, (), generator=self.generator))
                out[i] = self._images[j]
                self._images[j] = fakes[i]
                from_pool[i] = True
        return out, from_pool

    def _prepare_storage(self, fakes: torch.Tensor) -> None:
        shape = tuple(fakes.shape[1:])
        if self._images is None:
            self._images = fakes.new_zeros((self.size, *shape))
            return
        if tuple(self._images.shape[1:]) != shape:
            raise ConfigError(
                f"The image pool holds images of shape {list(self._images.shape[1:])} but got fakes of shape "
                f"{list(shape)}: the image size or channels changed (e.g. a resume with another "
                "data.image_size). Resume with the original data settings or start a new run."
            )
        if self._images.device != fakes.device or self._images.dtype != fakes.dtype:
            self._images = self._images.to(fakes.device, fakes.dtype)  # e.g. loaded on CPU, training on GPU

    # ----------------------------------------------------------------- checkpoint state
    def get_extra_state(self) -> dict[str, Any]:
        stored = self._images[: self._count] if self._images is not None else torch.empty(0)
        return {
            "size": self.size,
            "count": self._count,
            "images": stored.detach().cpu().clone(),
            "generator": self.generator.get_state() if self.generator is not None else None,
        }

    def set_extra_state(self, state: dict[str, Any]) -> None:
        if int(state["size"]) != self.size:
            raise CheckpointError(
                f"The checkpoint's image pool holds up to {state['size']} images, this model's "
                f"{self.size}: resume with the pool size the run was trained with."
            )
        if (state["generator"] is None) != (self.generator is None):
            raise CheckpointError(
                "The checkpoint's image pool and this model's disagree on whether the pool has its own "
                "seed: resume with the pool settings the run was trained with."
            )
        self._count = int(state["count"])
        images = state["images"]
        self._images = None
        if self._count:
            self._images = images.new_zeros((self.size, *images.shape[1:]))
            self._images[: self._count] = images
        if self.generator is not None:
            self.generator.set_state(state["generator"])

    def extra_repr(self) -> str:
        return f"size={self.size}, stored={self._count}, own_generator={self.generator is not None}"


class PendingFakes(nn.Module):
    """The fakes of the last generator step, held until the next discriminator update shows them to D.

    CycleGAN's authors update G first and then D on ``pool(fake)`` of that same G step; ganforge's engine
    updates D first. Keeping the G step's fakes here (detached) gives D exactly the authors' fakes one
    engine step later. They travel in checkpoints as extra state: checkpoints are written between a
    generator step and the next discriminator update, exactly when fakes are pending, so a resumed run
    shows D what the uninterrupted one would have.
    """

    def __init__(self) -> None:
        super().__init__()
        self._fakes: dict[str, torch.Tensor] = {}

    def __len__(self) -> int:
        return len(self._fakes)

    def put(self, **fakes: torch.Tensor) -> None:
        self._fakes = {name: value.detach() for name, value in fakes.items()}

    def take(self) -> dict[str, torch.Tensor] | None:
        """The pending fakes (then none are pending), or None if no generator step left any."""
        fakes, self._fakes = self._fakes, {}
        return fakes or None

    def get_extra_state(self) -> dict[str, torch.Tensor]:
        return {name: value.cpu().clone() for name, value in self._fakes.items()}

    def set_extra_state(self, state: dict[str, torch.Tensor]) -> None:
        self._fakes = dict(state)

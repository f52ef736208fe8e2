"""Learning-rate factors for ``torch.optim.lr_scheduler.LambdaLR``, configurable as Hydra partials.

ganforge steps a network's scheduler once per generator step, so a factor's argument ``step`` is the number
of generator steps taken so far: step 0 is the first update.

CycleGAN's schedule (Zhu et al. 2017: lr 2e-4 for 100 epochs, then linearly to zero over the next 100),
counted in generator steps::

    scheduler:
      _target_: torch.optim.lr_scheduler.LambdaLR
      _partial_: true
      lr_lambda:
        _target_: ganforge.families.lr_schedules.ConstantThenLinear
        constant_steps: 2500
        decay_steps: 2500

The factor is an object, not a function: LambdaLR saves callable objects' attributes in its state_dict,
so a checkpoint keeps both lengths and a resume continues the schedule where it stopped rather than
restarting it (pytorch-CycleGAN-and-pix2pix #65, #448, #1095).
"""

from __future__ import annotations

from ganforge.errors import ConfigError


class ConstantThenLinear:
    """Factor 1 for ``constant_steps`` steps, then linearly down to 0 over ``decay_steps`` steps.

    factor(t) = 1 - max(0, t + 1 - constant_steps) / (decay_steps + 1), clipped at 0: the authors'
    ``lambda_rule`` (N steps at 1, then M steps at M/(M+1), ..., 1/(M+1)), so every step of a run of
    N + M steps updates the networks and the lr reaches 0 exactly when the run ends.
    """

    def __init__(self, constant_steps: int, decay_steps: int):
        if constant_steps < 0 or decay_steps < 1:
            raise ConfigError(
                f"ConstantThenLinear(constant_steps={constant_steps}, decay_steps={decay_steps}): "
                "constant_steps must be >= 0 and decay_steps >= 1."
            )
        self.constant_steps = int(constant_steps)
        self.decay_steps = int(decay_steps)

    def __call__(self, step: int) -> float:
        return max(0.0, 1.0 - max(0, step + 1 - self.constant_steps) / (self.decay_steps + 1))

    def __repr__(self) -> str:
        return f"ConstantThenLinear(constant_steps={self.constant_steps}, decay_steps={self.decay_steps})"

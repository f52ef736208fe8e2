"""Mixed precision with manual optimization: per-optimizer loss scaling, clipping on unscaled gradients."""

from __future__ import annotations

import math

import lightning as L
import pytest
import torch

from ganforge.distributed.precision import PerOptimizerMixedPrecision

needs_cuda = pytest.mark.skipif(
    not torch.cuda.is_available(), reason="16-bit AMP needs a CUDA GPU (no GradScaler on CPU); none here"
)


class GradNormProbe(L.Callback):
    """Generator gradient norm as on_before_optimizer_step sees it (unscaled, before clipping)."""

    def __init__(self):
        self.norms: list[float] = []

    def on_before_optimizer_step(self, trainer, pl_module, optimizer):
        if optimizer is trainer.optimizers[0]:
            grads = [p.grad.flatten() for p in pl_module.generator.parameters() if p.grad is not None]
            self.norms.append(float(torch.cat(grads).norm()))


def test_bf16_mixed_trains_on_cpu(run):
    summary = run("model=vanilla", "data=ring", "hardware.precision=bf16-mixed", "trainer.max_steps=4")
    assert all(math.isfinite(v) for v in summary["metrics"].values())


@needs_cuda
def test_16_mixed_keeps_one_scaler_per_optimizer_and_clips_unscaled_gradients(run):
    clip = 1e-2
    probe = GradNormProbe()
    summary = run(
        "model=dcgan",
        "hardware=gpu",
        "hardware.precision=16-mixed",
        "trainer.max_steps=20",
        "model.generator.base_width=16",
        "model.discriminator.base_width=16",
        f"model.g_optimizer.grad_clip_norm={clip}",
        callbacks=[probe],
    )
    assert all(math.isfinite(v) for v in summary["metrics"].values())
    plugin = summary["trainer"].precision_plugin
    assert isinstance(plugin, PerOptimizerMixedPrecision) and sorted(plugin.scalers) == [0, 1]
    assert plugin.scalers[0] is not plugin.scalers[1]
    # The probe saw true (unscaled) gradients: of order 1e-3..1e1, not multiplied by the 2^16 scale.
    # Steps where fp16 overflowed show inf here; the scaler skips those steps.
    finite = [n for n in probe.norms if math.isfinite(n)]
    assert len(finite) >= len(probe.norms) // 2 and 1e-6 < max(finite) < 1e3
    module = summary["module"]
    final = float(torch.cat([p.grad.float().flatten() for p in module.generator.parameters()]).norm())
    if math.isfinite(probe.norms[-1]):
        # Clipping acted on unscaled gradients: the stored norm is the threshold, not threshold / scale.
        assert clip * 0.5 < final <= clip * 1.001


@needs_cuda
def test_16_mixed_resume_restores_both_scalers(run, tmp_path):
    common = ["model=vanilla", "data=ring", "hardware=gpu", "hardware.precision=16-mixed"]
    run(*common, "trainer.max_steps=4")
    resumed = run(
        *common, "trainer.max_steps=6", f"ckpt_path={tmp_path / 'run' / 'checkpoints' / 'last.ckpt'}"
    )
    assert sorted(resumed["trainer"].precision_plugin.scalers) == [0, 1]

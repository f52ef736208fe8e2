"""A conditional GAN generates the class it is asked for: after a short run on the 8x8 digits, a
classifier trained on the real digits labels samples requested for class c as c far above chance;
``ganforge-sample class=c`` draws only class c, and grids show one row per class."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch
from sklearn.linear_model import LogisticRegression

from ganforge.data.sources import digits

CGAN_DIGITS = [
    "model=cgan",
    "data=digits",
    "model.latent_dim=16",
    # The projection discriminator learns the conditioning within a few hundred steps; one-hot input
    # concatenation (the default) needs several times longer (README, "GAN families").
    "model.discriminator.conditioning=projection",
    "model.generator.net.hidden_dims=[128,128]",
    "model.discriminator.net.hidden_dims=[128,128]",
    "model.discriminator.net.dropout=0.0",
    "model.g_optimizer.lr=1e-3",
    "model.d_optimizer.lr=1e-3",
    "data.batch_size=64",
    "trainer.max_steps=300",
    "trainer.sample_every_n_steps=300",
    "trainer.checkpoint_every_n_steps=300",
]


def digit_classifier() -> LogisticRegression:
    """Logistic regression on the real 8x8 digits in model space ([-1, 1]); ~95% test accuracy."""
    images, labels = digits("unused", "train")
    x = images.float().div(127.5).sub(1.0).flatten(1).numpy()
    return LogisticRegression(max_iter=2000).fit(x, labels.numpy())


def test_cgan_samples_are_classified_as_the_requested_class(run, tmp_path):
    summary = run(*CGAN_DIGITS, "trainer.seed=0")
    module = summary["module"]
    classifier = digit_classifier()
    test_images, test_labels = digits("unused", "test")
    real_accuracy = classifier.score(test_images.float().div(127.5).sub(1.0).flatten(1).numpy(), test_labels)
    assert real_accuracy > 0.9

    per_class = 50
    labels = torch.arange(10).repeat_interleave(per_class)
    z = torch.randn(len(labels), module.latent_dim, generator=torch.Generator().manual_seed(123))
    samples = module.sample(z, labels)
    predicted = classifier.predict(samples.flatten(1).numpy())
    accuracy = float(np.mean(predicted == labels.numpy()))
    per_class_accuracy = [float(np.mean(predicted[labels.numpy() == c] == c)) for c in range(10)]
    # Chance is 10%. A generator ignoring its label would score about that.
    assert accuracy > 0.5, (accuracy, per_class_accuracy)
    assert sum(a > 0.3 for a in per_class_accuracy) >= 7, per_class_accuracy

    # The sample grid of the run shows one row per class: labels 0,0,...,1,1,...
    _, grid_labels = module.grid_inputs(64, 0)
    assert module.grid_nrow == 7 and grid_labels.tolist() == [i // 7 for i in range(64)]

    # ganforge-sample class=c (run as a process, like a user) draws only class c.
    ckpt = Path(summary["run_dir"]) / "checkpoints" / "last.ckpt"
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    cmd = [sys.executable, "-m", "ganforge.cli.sample", f"ckpt={ckpt}", "n=40", f"out={tmp_path / 's'}"]
    done = subprocess.run([*cmd, "class=3"], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    (pt,) = (tmp_path / "s").glob("*_class3.pt")
    predicted = classifier.predict(torch.load(pt).flatten(1).numpy())
    assert np.mean(predicted == 3) > 0.5

    bad = subprocess.run([*cmd, "class=10"], env=env, capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "class=10 is out of range: data=digits has classes 0..9" in bad.stderr


def test_sample_class_on_an_unconditional_model_fails_clearly(run, tmp_path):
    summary = run("model=vanilla", "data=ring", "trainer.max_steps=2")
    ckpt = Path(summary["run_dir"]) / "checkpoints" / "last.ckpt"
    env = {**os.environ, "PYTHONWARNINGS": "ignore"}
    cmd = [sys.executable, "-m", "ganforge.cli.sample", f"ckpt={ckpt}", "n=4", "class=1"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and "model=vanilla is unconditional" in done.stderr

"""Every bad input a user can give, and the message each one must get.

Each row of CASES runs one console script (pyproject.toml's [project.scripts]) with bad arguments or files
and checks the ganforge standard: a non-zero exit, no traceback, no internal schema names, and a message
matching the row's regex (the problem named, the fix given). New families and tools add rows here.

Files a row needs are named in its argv as ``{name}`` and made by FILES[name] in the case's own temporary
folder (also its working directory); ``{ckpt}``, ``{evaluator}`` and ``{cache}`` are a real checkpoint, a
real evaluator and its feature cache, made once per session in seconds.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers.bad_inputs import Case, console_scripts, placeholders, run_in_process, run_subprocess
from PIL import Image

# Imported here, outside any captured test: Lightning adds its log handler (bound to sys.stderr) at import.
from ganforge.training import train

# Random bytes must be called "not a checkpoint", without PyTorch's advice to retry with weights_only=False.
NOT_A_CHECKPOINT = r"^(?!.*weights_only).*is not a .*checkpoint"
TINY = (
    "model=vanilla",
    "data=digits",
    "data.batch_size=32",
    "trainer.max_steps=1",
    "logger=none",
    "trainer.progress_bar=false",
)


def _c(id: str, script: str, argv: str | tuple[str, ...], expect: str, **kw) -> Case:
    return Case(id, script, tuple(argv.split()) if isinstance(argv, str) else argv, expect, **kw)


# GAN-INT-CLS on a small captioned set (tiny networks), for the text-to-image rows.
TEXT = ("model=gan_int_cls", "data=captioned_mnist5k", "data.canvas=32", "data.loader.limit=64",
        "model.generator.net.base_width=4", "model.discriminator.net.base_width=4")  # fmt: skip

STACK = ("model=stackgan", "data=captioned_mnist5k", "data.canvas=32", "data.loader.limit=64",
         "model.stage1_size=8", "model.generator.g1.base_width=4", "model.generator.g2.base_width=4",
         "model.discriminator.d1.net.base_width=4")  # fmt: skip

T, S, E = "ganforge-train", "ganforge-sample", "ganforge-eval"
F, C, V = "ganforge-fetch", "ganforge-compare", "ganforge-train-evaluator"
TR, UP, MX = "ganforge-translate", "ganforge-upscale", "ganforge-mix"
TT = "ganforge-train-text-encoder"
CAPTIONS = ("data=captioned_mnist5k", "data.canvas=32", "data.loader.limit=64", "trainer.progress_bar=false")
# Sample files are scored against digits (small, quick to load) with the session's evaluator and cache.
SAMPLES = "data=digits metrics=[fid10_classifier] eval.classifier_path={evaluator} eval.cache_dir={cache}"

# fmt: off
CASES = [
    # ---------------------------------------------------------------- config: unknown group options
    _c("train-unknown-model", T, "model=nosuch", r"model=nosuch: .*no option 'nosuch'.*Available options: "
       r"cdcgan, cgan, cyclegan, dcgan, gan_int_cls, specgan, srgan, srresnet, stackgan, stylegan, vanilla, "
       r"wavegan, wgan, wgan_gp\.",
       subprocess=True),
    _c("train-unknown-data", T, "data=nosuch", r"data=nosuch.*Available options: apple2orange, "
       r"audio_folder, captioned_cub200, captioned_fashion_mnist, captioned_mnist5k, captioned_oxford102, "
       r"celeba, cifar10, cyclegan_folder, digits"),
    _c("train-unknown-loss", T, "loss=nosuch", r"loss=nosuch.*Available options: hinge, least_squares"),
    _c("train-unknown-hardware", T, "hardware=tpu", r"hardware=tpu.*Available options: cpu, ddp"),
    _c("train-unknown-logger", T, "logger=nosuch", r"logger=nosuch.*Available options: csv, none"),
    _c("train-unknown-logger-in-list", T, "logger=[csv,nosuch]", r"logger=nosuch.*Available options: csv"),
    _c("train-unknown-experiment", T, "experiment=nosuch", r"experiment=nosuch.*Available options: "
       r"cyclegan_mnist5k_edges, dcgan_fashion_mnist, .*vanilla_ring"),
    _c("train-unknown-hparams-search", T, "hparams_search=nosuch", r"hparams_search=nosuch.*optuna_fid"),
    _c("train-unknown-launcher", T, "hydra/launcher=nosuch", r"hydra/launcher=nosuch.*basic, joblib"),
    _c("train-misspelt-option", T, "model=dcgn", r"Did you mean model=dcgan\?"),
    _c("train-unknown-experiment-cfg", T, "experiment=nosuch --cfg job", r"experiment=nosuch.*no option"),
    # ---------------------------------------------------------------- config: keys, types, syntax
    _c("train-unknown-group", T, "modl=vanilla", r"modl is not a key of the config\. Did you mean model\?"),
    _c("train-unknown-key", T, "model.d_stepz=3", r"model\.d_stepz is not a key of 'model'\. Did you mean "
       r"model\.d_steps\?"),
    _c("train-unknown-data-key", T, "data.bach_size=3", r"Did you mean data\.batch_size\?"),
    _c("train-sweep-key-of-swept-options", T, "-m model=wavegan,specgan model.model_dim=2",
       r"model\.model_dim is not a key of 'model'\..*write \+\+model\.model_dim=\.\.\. for a key that "
       r"only the swept options have", subprocess=True),
    _c("train-wrong-type", T, "trainer.max_steps=many", r"trainer\.max_steps: Value 'many'.*Integer"),
    _c("train-float-for-int", T, "trainer.seed=1.5", r"trainer\.seed: Value '1\.5'.*Integer"),
    _c("train-empty-value", T, "data.batch_size=", r"data\.batch_size: Value ''.*Integer"),
    _c("train-unknown-optimizer", T, "model.g_optimizer.name=adamx", r"model\.g_optimizer\.name='adamx' is "
       r"not an optimizer ganforge can use; allowed values: any torch.optim optimizer class: .*Adam, AdamW"),
    _c("train-unknown-optimizer-kwarg", T, "+model.g_optimizer.kwargs.nesterov=true", r"model\.g_optimizer"
       r"\.kwargs: torch\.optim\.Adam takes no argument nesterov; it takes: lr, betas"),
    _c("train-value-for-section", T, "trainer=3", r"trainer: .*int is not a subclass of TrainerConfig"),
    _c("train-list-for-path", T, "ckpt_path=[1]", r"ckpt_path: Cannot convert 'list' to string"),
    _c("train-override-syntax", T, "model=[", r"Cannot parse the override 'model=\['"),
    _c("train-missing-config-dir", T, "--config-dir {tmp}/nope", r"config directory .*nope' not found"),
    _c("train-missing-config-name", T, "--config-name nosuch", r"Cannot find primary config 'nosuch'"),
    # ---------------------------------------------------------------- config: ranges
    _c("train-d-steps-zero", T, (*TINY, "model.d_steps=0"), r"model\.d_steps=0: k must be >= 1",
       subprocess=True),
    _c("train-lr-zero", T, (*TINY, "model.g_optimizer.lr=0"), r"model\.g_optimizer\.lr=0\.0 must be > 0"),
    _c("train-lr-negative", T, (*TINY, "model.d_optimizer.lr=-1e-3"), r"model\.d_optimizer\.lr=-0\.001 must"),
    _c("train-lr-nan", T, (*TINY, "model.g_optimizer.lr=nan"), r"model\.g_optimizer\.lr=nan must be > 0 "
       r"\(a finite number\)"),
    _c("train-lr-inf", T, (*TINY, "model.d_optimizer.lr=inf"), r"model\.d_optimizer\.lr=inf must be > 0"),
    _c("train-betas-range", T, (*TINY, "model.g_optimizer.betas=[0.5,1.5]"), r"betas=\[0\.5, 1\.5\] must "
       r"be two numbers in \[0, 1\)"),
    _c("train-betas-count", T, (*TINY, "model.g_optimizer.betas=[0.5]"), r"must be two numbers"),
    _c("train-weight-decay-negative", T, (*TINY, "model.d_optimizer.weight_decay=-1"), r"weight_decay=-1\.0 "
       r"must be >= 0"),
    _c("train-eps-zero", T, (*TINY, "model.g_optimizer.eps=0"), r"model\.g_optimizer\.eps=0\.0 must be > 0"),
    _c("train-grad-clip-nan", T, (*TINY, "model.g_optimizer.grad_clip_norm=nan"), r"grad_clip_norm=nan must"),
    _c("train-ema-decay", T, (*TINY, "model.ema_decay=1.5"), r"model\.ema_decay=1\.5 must be in \(0, 1\)"),
    _c("train-latent-dim-zero", T, (*TINY, "model.latent_dim=0"), r"model\.latent_dim=0 must be > 0"),
    _c("train-batch-size-zero", T, (*TINY, "data.batch_size=0"), r"data\.batch_size=0 must be > 0"),
    _c("train-image-size-zero", T, (*TINY, "data.image_size=0"), r"data\.image_size=0 must be > 0"),
    _c("train-max-steps-zero", T, (*TINY, "trainer.max_steps=0"), r"trainer\.max_steps=0 must be > 0"),
    _c("train-precision", T, (*TINY, "hardware.precision=8-bit"), r"hardware\.precision='8-bit' is unknown"),
    _c("train-accelerator", T, (*TINY, "hardware.accelerator=tpu"), r"accelerator='tpu' is unknown"),
    _c("train-ddp-string-strategy", T, (*TINY, "hardware.strategy=ddp"), r"Use hardware=ddp, hardware=ddp"),
    _c("train-r1-nan", T, (*TINY, "model.stabilizers.r1_gamma=nan"), r"r1_gamma=nan must be >= 0 and finite"),
    _c("train-label-smoothing", T, (*TINY, "loss.real_label_smoothing=1.5"), r"real_label_smoothing=1\.5 "
       r"must be in \[0, 1\)"),
    _c("train-wgan-clip-zero", T, (*TINY, "model=wgan", "loss=wasserstein", "model.clip_value=0"),
       r"model\.clip_value=0\.0 must be > 0"),
    # ---------------------------------------------------------------- config: impossible combinations
    _c("train-dcgan-image-size", T, (*TINY, "model=dcgan", "data=digits", "data.image_size=30"),
       r"data\.image_size=30 cannot be produced by model=dcgan: allowed sizes"),
    _c("train-dcgan-on-points", T, (*TINY, "model=dcgan", "data=ring"), r"Use image data"),
    _c("train-critic-loss-unconstrained", T, (*TINY, "data=digits", "loss=wasserstein"), r"loss=wasserstein "
       r"treats the discriminator as a critic.*Use model=wgan"),
    _c("train-diffaugment-on-points", T, (*TINY, "data=ring", "model.stabilizers.diffaugment=[color]"),
       r"augments images.*Use image data"),
    _c("train-diffaugment-policy", T, (*TINY, "model.stabilizers.diffaugment=[nosuch]"), r"nosuch"),
    _c("train-channels", T, (*TINY, "data=digits", "data.channels=2"), r"data\.channels=2 is not supported"),
    # ---------------------------------------------------------------- text-to-image (GAN-INT-CLS)
    _c("train-text-model-on-uncaptioned-data", T, (*TINY, "model=gan_int_cls", "data=mnist5k"),
       r"model=gan_int_cls reads the batch field\(s\) \['caption'\], but data=mnist5k provides"),
    _c("train-text-dim-mismatch", T, (*TINY, *TEXT, "model.generator.text_dim=100"),
       r"model\.generator takes 100-d text embeddings, but the text encoder gives 384-d ones"),
    _c("train-text-interpolation-beta", T, (*TINY, *TEXT, "model.interpolation_beta=1.5"),
       r"model\.interpolation_beta=1\.5 must lie in \[0, 1\]"),
    _c("train-text-encoder-unknown", T, (*TINY, *TEXT, "text_encoder=bert"), r"text_encoder=bert.*Available "
       r"options: char_cnn_rnn, minilm, precomputed"),
    _c("train-precomputed-without-path", T, (*TINY, *TEXT, "text_encoder=precomputed"),
       r"needs text_encoder\.path=<file \.pt or \.npz> text_encoder\.dim=<dim>.*text_encoder=minilm"),
    _c("train-precomputed-missing-file", T, (*TINY, *TEXT, "text_encoder=precomputed",
       "text_encoder.path={tmp}/nope.pt", "text_encoder.dim=384"),
       r"text_encoder\.path=.*nope\.pt' does not exist\. Give a \.pt or \.npz file with 'captions'"),
    _c("train-precomputed-bad-file", T, (*TINY, *TEXT, "text_encoder=precomputed",
       "text_encoder.path={a_file}", "text_encoder.dim=384"), r"a_file is not a readable embeddings file"),
    _c("train-stackgan-stage2-without-stage1", T, (*TINY, *STACK, "model.stage1_steps=0"),
       r"model\.stage1_steps=0: Stage-II needs a trained Stage-I.*model\.stage1_from=<stackgan checkpoint>"),
    _c("train-stackgan-stage1-size", T, (*TINY, *STACK, "model.stage1_size=12"),
       r"model\.stage1_size=12 must be 4 times a power of 2"),
    _c("train-stackgan-stage2-size", T, (*TINY, *STACK, "model.stage1_size=32"),
       r"Stage-II draws data\.canvas=32 px from Stage-I's model\.stage1_size=32 px: the canvas must be"),
    _c("train-stackgan-kl-weight", T, (*TINY, *STACK, "model.kl_weight=-1"),
       r"model\.kl_weight=-1\.0 must be >= 0"),
    _c("train-stackgan-stage1-from-missing", T, (*TINY, *STACK, "model.stage1_steps=0",
       "model.stage1_from={tmp}/nope.ckpt"), r"nope\.ckpt does not exist"),
    _c("train-captioned-canvas", T, (*TINY, *TEXT, "data.canvas=8"), r"data\.loader\.canvas=8 must be an "
       r"integer >= 16"),
    _c("train-captioned-base", T, (*TINY, *TEXT, "data.loader.base=cifar10"), r"data\.loader\.base='cifar10' "
       r"is unknown; captioned data is made from \['fashion_mnist', 'mnist5k'\]"),
    _c("train-captioned-shape", T, (*TINY, *TEXT, "data.shape=[3,16,16]"), r"data\.shape=\[3, 16, 16\] "
       r"disagrees with data\.channels=3 and data\.canvas=32"),
    _c("train-multirun-ddp", T, ("-m", *TINY, "hardware=ddp_cpu"), r"multirun sweep \(-m\) cannot launch "
       r"multi-process DDP jobs"),
    # ---------------------------------------------------------------- data
    _c("train-folder-missing", T, (*TINY, "data=folder", "data.loader.path={tmp}/nope"),
       r"data\.loader\.path=.*nope is not a directory"),
    _c("train-folder-empty", T, (*TINY, "data=folder", "data.loader.path={empty_dir}"), r"No images .*found"),
    _c("train-folder-undecodable", T, (*TINY, "data=folder", "data.loader.path={undecodable_images}"),
       r"Cannot decode image .*broken\.png.*remove or replace"),
    _c("train-folder-too-few", T, (*TINY, "data=folder", "data.loader.path={five_images}"),
       r"training set has 5 sample\(s\), fewer than one batch: data\.batch_size=32 .*at most 5"),
    _c("train-digits-batch-too-big", T, (*TINY, "data=digits", "data.batch_size=5000"), r"has 1437 sample"),
    _c("train-mnist-corrupt-cache", T, (*TINY, "data=mnist", "paths.data_dir={corrupt_mnist}"),
       r"train-images-idx3-ubyte\.gz fails torchvision's MD5 check.*Delete .*MNIST to download"),
    _c("train-cifar-corrupt-cache", T, (*TINY, "data=cifar10", "paths.data_dir={corrupt_cifar}"),
       r"cifar-10-batches-py fails torchvision's MD5 check"),
    # ---------------------------------------------------------------- IO
    _c("train-output-dir-unwritable", T, (*TINY, "paths.output_dir=/proc/ganforge"), r"Cannot create (a|the) "
       r"run directory .*(/proc/ganforge).*No such file or directory.*paths\.output_dir", subprocess=True),
    _c("train-output-dir-is-file", T, (*TINY, "paths.output_dir={a_file}/out"), r"Cannot create (a|the) run "
       r"directory .*a_file.*paths\.output_dir"),
    # ---------------------------------------------------------------- checkpoints (resume)
    _c("train-ckpt-missing", T, (*TINY, "ckpt_path={tmp}/run/checkpoints/nope.ckpt"),
       r"nope\.ckpt does not exist"),
    _c("train-ckpt-foreign", T, (*TINY, "ckpt_path={foreign_ckpt}"), r"not a ganforge checkpoint"),
    _c("train-ckpt-other-config", T, (*TINY, "model.latent_dim=7", "ckpt_path={ckpt}"),
       r"Cannot resume .*model\.latent_dim: 100 -> 7"),
    _c("train-ckpt-random-bytes", T, (*TINY, "ckpt_path={random_ckpt}"), NOT_A_CHECKPOINT,
       ),
    # ---------------------------------------------------------------- ganforge-sample
    _c("sample-no-args", S, (), r"Missing ckpt=<path>", subprocess=True),
    _c("sample-positional", S, "x.ckpt", r"Arguments must be key=value; got \['x\.ckpt'\]"),
    # keys the CLI does not know are the family's sampling options, checked once the checkpoint names it
    _c("sample-unknown-arg", S, "ckpt={ckpt} size=3", r"model=vanilla does not accept the sampling "
       r"option\(s\) \['size'\]; it takes no sampling options"),
    _c("sample-n-zero", S, "ckpt=x.ckpt n=0", r"n=0 must be a positive integer"),
    _c("sample-n-text", S, "ckpt=x.ckpt n=many", r"n='many' must be a positive integer"),
    _c("sample-seed-text", S, "ckpt=x.ckpt seed=abc", r"seed='abc' must be an integer"),
    _c("sample-class-text", S, "ckpt=x.ckpt class=cat", r"class='cat' must be an integer class index"),
    _c("sample-ckpt-missing", S, "ckpt={tmp}/nope.ckpt", r"nope\.ckpt does not exist"),
    _c("sample-ckpt-empty", S, "ckpt={empty_ckpt}", r"empty\.ckpt is empty \(0 bytes\)"),
    _c("sample-ckpt-foreign", S, "ckpt={foreign_ckpt}", r"not a ganforge checkpoint"),
    _c("sample-ckpt-directory", S, "ckpt={ckpt_dir}", r"is a directory"),
    _c("sample-ckpt-random-bytes", S, "ckpt={random_ckpt}", NOT_A_CHECKPOINT),
    _c("sample-device-unknown", S, "ckpt={ckpt} device=tpu9", r"device='tpu9' is not a device; use cpu, "
       r"cuda, cuda:N or mps"),
    _c("sample-device-unsupported", S, "ckpt={ckpt} device=meta", r"device type 'meta' is not supported"),
    _c("sample-device-cuda-index", S, "ckpt={ckpt} device=cuda:99", r"device=cuda:99: (CUDA is not "
       r"available|this machine has \d+ CUDA device)"),
    _c("sample-class-unconditional", S, "ckpt={ckpt} class=3", r"model=vanilla is unconditional"),
    _c("sample-out-unwritable", S, "ckpt={ckpt} out=/proc/x", r"out=/proc/x is not a writable directory"),
    _c("sample-out-is-file", S, "ckpt={ckpt} out={a_file}", r"a_file is not a writable directory"),
    # ---------------------------------------------------------------- ganforge-eval: arguments
    _c("eval-no-args", E, (), r"Give exactly one of ckpt=<checkpoint> or samples=<path>", subprocess=True),
    _c("eval-positional", E, "x.pt", r"Arguments must be key=value"),
    _c("eval-ckpt-and-samples", E, "ckpt=a samples=b metrics=[x]", r"Give exactly one of ckpt"),
    _c("eval-no-metrics", E, "samples=x.pt data=mnist5k", r"Missing metrics=\[\.\.\.\]"),
    _c("eval-unknown-metric", E, "samples=x.pt data=mnist5k metrics=[fid10k_clasifier]",
       r"Unknown metric 'fid10k_clasifier'"),
    _c("eval-samples-without-data", E, "samples=x.pt metrics=[fid10_classifier]", r"needs data=<dataset>"),
    _c("eval-ckpt-with-data", E, "ckpt=x.ckpt metrics=[fid10_classifier] data=ring",
       r"only eval\.\* and paths\.\* overrides apply"),
    _c("eval-seed-text", E, "ckpt=x.ckpt metrics=[fid10_classifier] seed=abc", r"seed='abc' must be an int"),
    _c("eval-unknown-data", E, "samples=x.pt data=mnist6k metrics=[fid10_classifier]",
       r"Did you mean data=mnist5k\?"),
    _c("eval-unknown-key", E, "samples=x.pt data=mnist5k metrics=[fid10_classifier] eval.batchsize=3",
       r"eval\.batchsize is not a key of 'eval'\. Did you mean eval\.batch_size\?"),
    _c("eval-device-unknown", E, "samples=x.pt data=mnist5k metrics=[fid10_classifier] device=tpu9",
       r"device='tpu9' is not a device"),
    _c("eval-missing-evaluator", E, "samples={uint8_samples} data=digits metrics=[fid10_classifier] "
       "eval.classifier_path={tmp}/none.pt", r"ganforge-train-evaluator data=digits"),
    _c("eval-inception-offline", E, "samples={uint8_samples} data=digits metrics=[fid10_inception]",
       r"Copy weights-inception-2015-12-05-6726825d\.pth",
       env={"TORCH_HOME": "{tmp}/torch", "GANFORGE_OFFLINE": "1"}),
    _c("eval-inception-tampered", E, "samples={uint8_samples} data=digits metrics=[fid10_inception]",
       r"Inception-v3 weights at .* fail their SHA-256 check.*deleted",
       env={"TORCH_HOME": "{tampered_torch}"}),
    # ---------------------------------------------------------------- ganforge-eval: checkpoints, outputs
    _c("eval-ckpt-missing", E, "ckpt={tmp}/nope.ckpt metrics=[fid10_classifier]", r"nope\.ckpt does not "
       r"exist"),
    _c("eval-ckpt-directory", E, "ckpt={ckpt_dir} metrics=[fid10_classifier]", r"is a directory",
       ),
    _c("eval-ckpt-random-bytes", E, "ckpt={random_ckpt} metrics=[fid10_classifier]",
       NOT_A_CHECKPOINT),
    _c("eval-out-unwritable", E, f"samples={{uint8_samples}} {SAMPLES} out=/proc/x/m.json",
       r"out=/proc/x is not a writable directory"),
    _c("eval-out-is-directory", E, f"samples={{uint8_samples}} {SAMPLES} out={{tmp}}",
       r"out=.* is a directory; give a file name"),
    # ---------------------------------------------------------------- ganforge-eval: samples
    _c("eval-samples-missing", E, f"samples={{tmp}}/nope.pt {SAMPLES}", r"nope\.pt does not exist"),
    _c("eval-samples-format", E, f"samples={{a_file}} {SAMPLES}", r"unknown format ''"),
    _c("eval-samples-not-a-tensor", E, f"samples={{list_samples}} {SAMPLES}", r"holds a list, not a tensor"),
    _c("eval-samples-unreadable", E, f"samples={{random_samples}} {SAMPLES}", r"Cannot read samples from"),
    _c("eval-samples-wrong-shape", E, f"samples={{flat_samples}} {SAMPLES}", r"has shape \[10, 5\]; "
       r"images must be \[N, C, H, W\]"),
    _c("eval-samples-wrong-dtype", E, f"samples={{int_samples}} {SAMPLES}", r"holds floats in \[\d+, \d+\]; "
       r"float images are read as model space"),
    _c("eval-samples-too-few", E, f"samples={{uint8_samples}} {SAMPLES.replace('fid10_', 'fid1k_')}",
       r"20 samples given, but fid1k_classifier needs 1000"),
    _c("eval-points-wrong-shape", E, "samples={points3_samples} data=ring metrics=[modes2k5]",
       r"needs float points \[N, 2\]"),
    _c("eval-samples-nan", E, f"samples={{nan_samples}} {SAMPLES}", r"NaN"),
    _c("eval-samples-empty", E, f"samples={{empty_samples}} {SAMPLES}", r"no samples|empty"),
    # ---------------------------------------------------------------- ganforge-fetch
    _c("fetch-unknown-data", F, "data=nosuch", r"data=nosuch.*Available options", subprocess=True),
    _c("fetch-unknown-key", F, "data.bach_size=3", r"Did you mean data\.batch_size\?"),
    _c("fetch-unknown-flag", F, "--frobnicate", r"unrecognized arguments: --frobnicate"),
    _c("fetch-params-missing", F, "--params {tmp}/params.yaml", r"params\.yaml does not exist"),
    _c("fetch-params-not-a-mapping", F, "--params {list_yaml}", r"is not a mapping of config groups"),
    _c("fetch-params-bad-override", F, "--params {params_yaml} data.nosuch=1",
       r"Override 'data\.nosuch=1' does not apply"),
    _c("fetch-verify-unfetched", F, "--verify data=digits paths.data_dir={tmp}/data",
       r"checksums\.json is missing: fetch the dataset first"),
    # ---------------------------------------------------------------- ganforge-compare
    _c("compare-no-args", C, (), r"the following arguments are required: paths", subprocess=True),
    _c("compare-missing-dir", C, "{tmp}/nope", r"nope is not a directory"),
    _c("compare-no-runs", C, "{empty_dir}", r"[Nn]o runs?"),
    _c("compare-out-format", C, "{run_dir} --out {tmp}/page.pdf", r"--out .*page\.pdf: use a \.html .* or "
       r"a \.png file"),
    # ---------------------------------------------------------------- ganforge-train-evaluator
    _c("train-evaluator-unknown-data", V, "data=nosuch", r"data=nosuch.*Available options", subprocess=True),
    _c("train-evaluator-unknown-key", V, "evaluator.epoch=3", r"Did you mean evaluator\.epochs\?"),
    _c("train-evaluator-wrong-type", V, "evaluator.lr=fast", r"evaluator\.lr: Value 'fast'.*Float"),
    _c("train-evaluator-params-missing", V, "--params {tmp}/params.yaml", r"params\.yaml does not exist"),
    # ---------------------------------------------------------------- ganforge-translate (CycleGAN)
    _c("translate-no-args", TR, (), r"Missing ckpt=<path>", subprocess=True),
    _c("translate-positional", TR, "x.ckpt", r"Arguments must be key=value; got \['x\.ckpt'\]"),
    _c("translate-unknown-arg", TR, "ckpt=x.ckpt input=x scale=4", r"Unknown argument\(s\) \['scale'\]"),
    _c("translate-no-input", TR, "ckpt=x.ckpt", r"Missing input=<path>"),
    _c("translate-ckpt-missing", TR, "ckpt={tmp}/nope.ckpt input={five_images}",
       r"nope\.ckpt does not exist"),
    _c("translate-ckpt-random-bytes", TR, "ckpt={random_ckpt} input={five_images}", NOT_A_CHECKPOINT),
    _c("translate-noise-model", TR, "ckpt={ckpt} input={five_images} out={tmp}/out",
       r"model=vanilla checkpoint, and that family has no translation directions.*model=cyclegan"),
    # ---------------------------------------------------------------- ganforge-upscale (SRResNet / SRGAN)
    _c("upscale-no-args", UP, (), r"Missing ckpt=, input=, out=", subprocess=True),
    _c("upscale-positional", UP, "x.ckpt", r"Arguments must be key=value; got \['x\.ckpt'\]"),
    _c("upscale-unknown-arg", UP, "ckpt=x.ckpt input=x out=y scale=4", r"Unknown argument\(s\) \['scale'\]"),
    _c("upscale-ckpt-missing", UP, "ckpt={tmp}/nope.ckpt input={five_images} out={tmp}/out",
       r"nope\.ckpt does not exist"),
    _c("upscale-ckpt-foreign", UP, "ckpt={foreign_ckpt} input={five_images} out={tmp}/out",
       r"not a ganforge checkpoint"),
    _c("upscale-noise-model", UP, "ckpt={ckpt} input={five_images} out={tmp}/out",
       r"checkpoint of model=vanilla, not of a super-resolution"),
    # ---------------------------------------------------------------- ganforge-train-text-encoder
    _c("text-encoder-uncaptioned-data", TT, "data=mnist5k", r"needs captioned data \(e\.g\. "
       r"data=captioned_fashion_mnist\); data=mnist5k has no captions", subprocess=True),
    _c("text-encoder-role", TT, (*CAPTIONS, "text_training.role=judge"), r"text_training\.role='judge' is "
       r"unknown; use one of \['encoder', 'matcher'\]"),
    _c("text-encoder-steps", TT, (*CAPTIONS, "text_training.steps=0"),
       r"text_training\.steps=0 must be >= 1"),
    _c("text-encoder-margin", TT, (*CAPTIONS, "text_training.margin=3"), r"margin=3\.0 in \(0, 2\]"),
    _c("text-encoder-unknown-key", TT, "text_training.stepz=3", r"Did you mean text_training\.steps\?"),
    _c("text-encoder-unknown-data", TT, "data=captions", r"data=captions.*Available options"),
    _c("train-char-cnn-rnn-missing", T, (*TINY, *TEXT, "text_encoder=char_cnn_rnn",
       "text_training.path={tmp}/nope.pt"), r"text_encoder\.path=.*nope\.pt does not exist: train it once "
       r"with `ganforge-train-text-encoder"),
    # ---------------------------------------------------------------- ganforge-mix (StyleGAN)
    _c("mix-no-args", MX, (), r"Missing ckpt=", subprocess=True),
    _c("mix-positional", MX, "x.ckpt", r"Arguments must be key=value; got \['x\.ckpt'\]"),
    _c("mix-unknown-arg", MX, "ckpt=x.ckpt rows=1 cols=2 scale=4", r"Unknown argument\(s\) \['scale'\]"),
    _c("mix-ckpt-missing", MX, "ckpt={tmp}/nope.ckpt rows=1 cols=2", r"nope\.ckpt does not exist"),
    _c("mix-ckpt-random-bytes", MX, "ckpt={random_ckpt} rows=1 cols=2", NOT_A_CHECKPOINT),
    _c("mix-noise-model", MX, "ckpt={ckpt} rows=1 cols=2 out={tmp}/mix.png",
       r"model=vanilla checkpoint; ganforge-mix mixes the styles"),
]
# fmt: on


# ---------------------------------------------------------------------------------------------- files
def _images(folder: Path, n: int) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        Image.fromarray(np.full((16, 16, 3), 40 * i, np.uint8)).save(folder / f"{i}.png")
    return folder


def _write(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _save(path: Path, value) -> Path:
    torch.save(value, path)
    return path


def _corrupt_mnist(tmp: Path) -> Path:
    names = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz")
    for name in names:
        _write(tmp / "data" / "MNIST" / "raw" / name, b"\x1f\x8b not really gzip")
    return tmp / "data"


def _corrupt_cifar(tmp: Path) -> Path:
    _write(tmp / "data" / "cifar-10-batches-py" / "data_batch_1", b"junk")
    return tmp / "data"


def _tampered_torch(tmp: Path) -> Path:
    from ganforge.metrics.extractors import INCEPTION_FILE

    _write(tmp / "torch" / "hub" / "checkpoints" / INCEPTION_FILE, b"not the inception weights")
    return tmp / "torch"


def _params_yaml(tmp: Path) -> Path:
    from omegaconf import OmegaConf

    from ganforge.config.loading import compose_config

    path = tmp / "params.yaml"
    OmegaConf.save(compose_config(["data=digits"]), path)
    return path


def _run_dir(tmp: Path) -> Path:
    _write(tmp / "run" / "config.yaml", b"model: {name: vanilla}\n")
    return tmp / "run"


def _ckpt_dir(tmp: Path) -> Path:
    (tmp / "last.ckpt").mkdir()
    return tmp / "last.ckpt"


FILES = {
    "a_file": lambda tmp: _write(tmp / "a_file", b"a plain file"),
    "empty_dir": lambda tmp: (tmp / "empty").mkdir() or tmp / "empty",
    "five_images": lambda tmp: _images(tmp / "five", 5),
    "undecodable_images": lambda tmp: _write(_images(tmp / "broken", 2) / "broken.png", b"not a png").parent,
    "corrupt_mnist": _corrupt_mnist,
    "corrupt_cifar": _corrupt_cifar,
    "tampered_torch": _tampered_torch,
    "empty_ckpt": lambda tmp: _write(tmp / "empty.ckpt", b""),
    "random_ckpt": lambda tmp: _write(tmp / "random.ckpt", np.random.default_rng(0).bytes(4096)),
    "foreign_ckpt": lambda tmp: _save(tmp / "foreign.ckpt", {"state_dict": {}, "epoch": 3}),
    "ckpt_dir": _ckpt_dir,
    "uint8_samples": lambda tmp: _save(tmp / "x.pt", torch.randint(0, 256, (20, 1, 8, 8), dtype=torch.uint8)),
    "flat_samples": lambda tmp: _save(tmp / "flat.pt", torch.zeros(10, 5)),
    "int_samples": lambda tmp: _save(tmp / "int.pt", torch.randint(0, 256, (10, 1, 8, 8))),
    "nan_samples": lambda tmp: _save(tmp / "nan.pt", torch.full((10, 1, 8, 8), float("nan"))),
    "empty_samples": lambda tmp: _save(tmp / "empty.pt", torch.empty(0, 1, 8, 8)),
    "list_samples": lambda tmp: _save(tmp / "list.pt", [1, 2, 3]),
    "random_samples": lambda tmp: _write(tmp / "random.npy", np.random.default_rng(0).bytes(512)),
    "points3_samples": lambda tmp: _save(tmp / "p3.pt", torch.randn(100, 3)),
    "list_yaml": lambda tmp: _write(tmp / "list.yaml", b"- 1\n- 2\n"),
    "params_yaml": _params_yaml,
    "run_dir": _run_dir,
}


@pytest.fixture(scope="session")
def trained(tmp_path_factory) -> dict[str, Path]:
    """A real checkpoint (model=vanilla, 1 generator step), a real evaluator (digits, 2 steps) and a
    feature cache shared by the cases."""
    from ganforge.build import build_datamodule
    from ganforge.config.loading import compose_config
    from ganforge.metrics.train_classifier import train_classifier

    root = tmp_path_factory.mktemp("trained")
    cfg = compose_config([*TINY, f"paths.root_dir={root}"])
    train(cfg, root / "run")
    evaluator = root / "classifier.pt"
    train_classifier(build_datamodule(compose_config(["data=digits"])), epochs=0, min_steps=2, path=evaluator)
    return {
        "ckpt": root / "run" / "checkpoints" / "last.ckpt",
        "evaluator": evaluator,
        "cache": root / "cache",
    }


def _prepare(case: Case, tmp: Path, request) -> dict[str, str]:
    values = {"tmp": str(tmp)}
    for name in placeholders([*case.argv, *case.env.values()]) - {"tmp"}:
        if name in ("ckpt", "evaluator", "cache"):
            values[name] = str(request.getfixturevalue("trained")[name])
        else:
            values[name] = str(FILES[name](tmp))
    return values


def _params(cases: list[Case]):
    for case in cases:
        marks = [pytest.mark.xfail(strict=True, reason=case.xfail)] if case.xfail else []
        yield pytest.param(case, id=case.id, marks=marks)


@pytest.mark.parametrize("case", list(_params(CASES)))
def test_bad_input_gets_a_clear_message(case: Case, tmp_path, request, capsys, monkeypatch):
    values = _prepare(case, tmp_path, request)
    argv = [a.format(**values) for a in case.argv]
    env = {k: v.format(**values) for k, v in case.env.items()}
    if case.subprocess:
        code, output = run_subprocess(case.script, argv, tmp_path, env)
    else:
        monkeypatch.chdir(tmp_path)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        code, output = run_in_process(case.script, argv, capsys)
    assert code != 0, f"exit status 0 for {case.script} {' '.join(argv)}:\n{output[-3000:]}"
    assert "Traceback" not in output, output[-3000:]
    assert "schema_" not in output, "internal ConfigStore entries leaked into the message:\n" + output[-2000:]
    assert re.search(case.expect, " ".join(output.split())), f"expected /{case.expect}/ in:\n{output[-3000:]}"


def test_table_is_well_formed():
    """Unique ids; every console script is covered, at least once as a real process; files exist."""
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids)), sorted({i for i in ids if ids.count(i) > 1})
    assert len(CASES) >= 60
    scripts = set(console_scripts())
    assert {c.script for c in CASES} == scripts
    assert {c.script for c in CASES if c.subprocess} == scripts
    for case in CASES:
        assert placeholders([*case.argv, *case.env.values()]) <= {
            "tmp",
            "ckpt",
            "evaluator",
            "cache",
            *FILES,
        }, case.id


def test_hydra_help_cfg_and_full_error_still_work(tmp_path, capsys, monkeypatch):
    """The message layer leaves Hydra's own CLI alone: --help, --cfg, and HYDRA_FULL_ERROR=1 tracebacks."""
    from hydra.errors import MissingConfigException

    monkeypatch.chdir(tmp_path)
    assert run_in_process("ganforge-train", ["--help"], capsys)[0] == 0
    code, output = run_in_process("ganforge-train", ["experiment=toy_gan", "--cfg", "job"], capsys)
    assert code == 0 and "name: ring" in output  # the experiment's data=ring applies
    code, output = run_in_process("ganforge-train", ["--cfg", "job"], capsys)
    assert code == 0 and "name: mnist5k" in output  # no experiment given: the defaults
    monkeypatch.setenv("HYDRA_FULL_ERROR", "1")
    with pytest.raises(MissingConfigException, match="experiment/nosuch"):
        run_in_process("ganforge-train", ["experiment=nosuch"], capsys)

"""The one validated schema of ganforge's configuration.

Every config group option under ``conf/`` extends one of these dataclasses through its defaults list
(``defaults: [schema_<group>, _self_]``), so Hydra rejects unknown keys and wrong types before anything
runs. Value ranges and cross-group combinations are checked by :mod:`ganforge.config.validate`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from hydra.core.config_store import ConfigStore
from omegaconf import MISSING


@dataclass
class OptimizerConfig:
    """One network's optimizer. Fields an optimizer does not use are ignored (betas for SGD, say)."""

    # Any torch.optim optimizer class, case-insensitive: adam, adamw, rmsprop, sgd, Adamax, NAdam, RAdam...
    # (a name looked up in torch.optim, not a _target_: see ganforge.families.optim).
    name: str = "adam"
    lr: float = 2e-4
    betas: list[float] = field(default_factory=lambda: [0.5, 0.999])
    momentum: float = 0.0  # sgd, rmsprop
    alpha: float = 0.99  # rmsprop smoothing
    eps: float = 1e-8
    weight_decay: float = 0.0
    # Further keyword arguments of the optimizer class (nesterov, amsgrad, dampening...); they override
    # the fields above, which are passed only to classes that take them.
    kwargs: dict[str, Any] = field(default_factory=dict)
    # Clip this network's gradient norm (on unscaled gradients, also under mixed precision).
    grad_clip_norm: float | None = None
    # A torch.optim.lr_scheduler as a partial ({_target_, _partial_: true, ...}); stepped once per
    # generator step for both networks.
    scheduler: Any = None


@dataclass
class StabilizersConfig:
    """Training stabilisers any family can switch on (see ganforge.stabilizers); all off by default."""

    # Spectral normalisation (Miyato et al. 2018) of every linear/conv/embedding layer of D.
    spectral_norm: bool = False
    # Feature matching (Salimans et al. 2016): G matches the batch-mean of D's intermediate features
    # on real data instead of maximising D's output.
    feature_matching: bool = False
    # Minibatch discrimination (Salimans et al. 2016): number of kernels B (0 = off) of dimension C.
    minibatch_discrimination: int = 0
    minibatch_discrimination_dim: int = 5
    # Minibatch standard deviation (Karras et al. 2018): one extra feature, std over groups of this size.
    minibatch_std: bool = False
    minibatch_std_group: int = 4
    # R1 penalty (Mescheder et al. 2018): gamma / 2 * E||grad D(x_real)||^2; 0 = off.
    r1_gamma: float = 0.0
    # DiffAugment (Zhao et al. 2020) policies applied to real and fake images before D: any of
    # color, translation, cutout. Empty = off. Images only.
    diffaugment: list[str] = field(default_factory=list)


@dataclass
class ModelConfig:
    _target_: str = "ganforge.families.gan.GAN"
    name: str = MISSING
    latent_dim: int = 100
    # k: discriminator updates per generator update (each on a fresh real batch).
    d_steps: int = 1
    generator: Any = MISSING
    discriminator: Any = MISSING
    g_optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    d_optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    # Exponential moving average of generator weights used for samples; null disables it.
    ema_decay: float | None = None
    stabilizers: StabilizersConfig = field(default_factory=StabilizersConfig)


@dataclass
class WGANModelConfig(ModelConfig):
    _target_: str = "ganforge.families.wgan.WGAN"
    # Critic weights are clipped to [-clip_value, clip_value] after every update (Arjovsky et al.).
    clip_value: float = 0.01


@dataclass
class WGANGPModelConfig(ModelConfig):
    _target_: str = "ganforge.families.wgan_gp.WGANGP"
    # lambda of the gradient penalty (Gulrajani et al.).
    gp_weight: float = 10.0


@dataclass
class CycleGANModelConfig(ModelConfig):
    """CycleGAN (ganforge.families.cyclegan): generator {g_ab, g_ba}, discriminator {d_a, d_b}."""

    _target_: str = "ganforge.families.cyclegan.CycleGAN"
    # Cycle-consistency weights of A -> B -> A and B -> A -> B (the paper: 10 each).
    lambda_a: float = 10.0
    lambda_b: float = 10.0
    # Identity term weight relative to lambda (the authors' default 0.5; 0 disables it).
    lambda_identity: float = 0.5
    # Factor on ganforge's generator loss; 2.0 with loss=least_squares is the authors' (D - 1)^2.
    adversarial_weight: float = 2.0
    # Past fakes each discriminator is shown from (the paper: 50; 0 disables the pools).
    pool_size: int = 50
    # lr schedule in generator steps: constant, then linearly to 0 (the paper: 100 + 100 epochs).
    lr_constant_steps: int = 750
    lr_decay_steps: int = 750


@dataclass
class StyleGANModelConfig(ModelConfig):
    """StyleGAN (ganforge.families.stylegan): StyleGenerator + StyleDiscriminator, progressive growing."""

    _target_: str = "ganforge.families.stylegan.StyleGAN"
    latent_dim: int = 512
    # adain (StyleGAN) or demod (StyleGAN2 weight modulation/demodulation); passed to the generator.
    modulation: str = "adain"
    # Grow 4 -> 8 -> ... -> data.image_size (a fade-in and a stabilisation phase per resolution); false:
    # train at the full resolution from the start (StyleGAN2-style).
    progressive: bool = True
    # Phase lengths in length_unit (steps = generator steps, or images: steps = ceil(images / batch of
    # that resolution), images counted per process). The paper: 600k images each.
    fade_length: int = 600_000
    stable_length: int = 600_000
    length_unit: str = "images"
    # Images per step by resolution ({4: 128, 32: 32}; on the command line model.batch_sizes={4:128,32:32});
    # each step takes the first n rows of the loader's batch (data.batch_size, which must be >= every n).
    # null or missing resolutions: the whole batch. (Any: typed dicts refuse int keys from YAML.)
    batch_sizes: Any = None
    loader_batch: int = "${data.batch_size}"  # type: ignore[assignment]
    # Style-mixing regularisation: probability that a fake mixes two latents at a random crossover.
    style_mixing_prob: float = 0.9
    # Lazy regularisation: D's penalties (stabilizers.r1_gamma) every N-th D update, times N; 1 = always.
    r1_interval: int = 1
    # w_avg <- lerp(mean w of the batch, w_avg, beta) at every generator step.
    w_avg_beta: float = 0.995
    # Truncation psi of sample grids, metrics and ganforge-sample (1 = none); style inputs below the
    # cutoff are truncated (null = all).
    truncation: float = 1.0
    truncation_cutoff: int | None = None
    # Noise inputs at sampling: const (fixed per layer: samples are a function of the seed), random, none.
    sample_noise: str = "const"


@dataclass
class LossConfig:
    _target_: str = MISSING
    name: str = MISSING
    # One-sided label smoothing (Salimans et al. 2016): real target 1 - s, for losses that have one.
    real_label_smoothing: float = 0.0


@dataclass
class DataConfig:
    _target_: str = MISSING
    name: str = MISSING
    # Shape of one sample: [channels, height, width] for images, [dim] for points.
    shape: list[int] = MISSING
    num_classes: int | None = None
    # Samples lie in [-1, 1] (images), so generators end in tanh; false for unbounded points.
    bounded: bool = True
    batch_size: int = 64
    num_workers: int = 0
    root: str = "${paths.data_dir}"
    # Seed of the batch order (epoch e uses seed + e).
    seed: int = "${trainer.seed}"  # type: ignore[assignment]


@dataclass
class ImageDataConfig(DataConfig):
    _target_: str = "ganforge.data.image_datamodule.ImageDataModule"
    image_size: int = 28
    channels: int = 1
    shape: list[int] = field(
        default_factory=lambda: ["${data.channels}", "${data.image_size}", "${data.image_size}"]
    )
    # A ganforge.data.sources function as a partial: {_target_: ..., _partial_: true, ...}.
    loader: Any = MISSING


@dataclass
class PointsDataConfig(DataConfig):
    _target_: str = "ganforge.data.mixtures.MixtureDataModule"
    shape: list[int] = field(default_factory=lambda: [2])
    bounded: bool = False
    layout: str = MISSING  # ring | grid
    num_samples: int = 100_000
    std: float = 0.01
    data_seed: int = 0


@dataclass
class FieldsDataConfig(DataConfig):
    """Any loader returning {field: tensor} per split (ganforge.data.fields.FieldsDataModule)."""

    _target_: str = "ganforge.data.fields.FieldsDataModule"
    # A function (root=, split=) -> {field: tensor} as a partial: {_target_: ..., _partial_: true, ...}.
    loader: Any = MISSING
    # Names of the fields every batch holds, e.g. [a, b] (unpaired) or [lr, hr] (paired).
    fields: list[str] = MISSING
    # Groups of fields drawn together; null = all together (paired). [[a], [b]]: each domain shuffled
    # with its own epochs (unpaired).
    sources: Any = None
    # The field generated samples are compared with by metrics (e.g. b, hr); null = none.
    sample_field: str | None = None


@dataclass
class HardwareConfig:
    accelerator: str = "cpu"
    devices: Any = 1
    num_nodes: int = 1
    # "auto" for one process; for several, ganforge.distributed.strategy.GANDDPStrategy as a
    # {_target_: ..., ...} mapping (see conf/hardware/ddp*.yaml).
    strategy: Any = "auto"
    precision: str = "32"
    # SyncBatchNorm across processes (GPU only); otherwise BatchNorm uses per-device batch statistics.
    sync_batchnorm: bool = False
    # torch intra-op threads; null leaves torch's default.
    num_threads: int | None = None


@dataclass
class TrainerConfig:
    # All step counts below are generator steps (one generator update = one step; see docs/configuration.md).
    max_steps: int = 1500
    log_every_n_steps: int = 10
    sample_every_n_steps: int = 250
    checkpoint_every_n_steps: int = 500
    num_sample_images: int = 64
    seed: int = 0
    deterministic: bool = False
    progress_bar: bool = True
    # Signal announcing preemption (SLURM's --signal): checkpoint at the next generator step, requeue the
    # SLURM job, stop. "auto" = SIGUSR1 when running as a SLURM job, none otherwise; null disables.
    preemption_signal: str | None = "auto"
    # What a NaN/Inf loss does (ganforge.callbacks.nonfinite): stop (an error naming the step and the last
    # finite checkpoint), skip_step (that update is not applied) or warn (log and go on). Checkpoints with
    # non-finite weights are never written.
    on_nonfinite: str = "stop"


@dataclass
class PathsConfig:
    root_dir: str = "."
    data_dir: str = "${paths.root_dir}/data"
    output_dir: str = "${paths.root_dir}/outputs"


@dataclass
class EvalConfig:
    """Metrics by registry name (ganforge.metrics.registry; e.g. fid10k_classifier), during training and for
    ganforge-eval. The sample count is part of each name; the real reference is the train split."""

    # Metrics computed during training; empty (the default) keeps training free of evaluation cost.
    metrics: list[str] = field(default_factory=list)
    every_n_steps: int = 1000
    # Lower-is-better metric whose best value is kept as checkpoints/best.ckpt; null picks the first fid/kid
    # metric of eval.metrics, "none" disables.
    best_metric: str | None = None
    classifier_path: str = "${paths.output_dir}/evaluators/${data.name}/classifier.pt"
    # The mnist5k digit classifier that labels each channel for stacked_modes metrics.
    digit_classifier_path: str = "${paths.output_dir}/evaluators/mnist5k/classifier.pt"
    cache_dir: str = "${paths.output_dir}/cache"
    # The image-text matcher behind rprecision100_matcher (ganforge-train-text-encoder
    # text_training.role=matcher).
    matcher_path: str = "${paths.output_dir}/evaluators/${data.name}/text_image_matcher.pt"
    batch_size: int = 500
    seed: int = 0


@dataclass
class EvaluatorConfig:
    """The classifier route's feature network, trained by ganforge-train-evaluator on data.* train split."""

    # Training length: `epochs` passes over the train split, but at least `min_steps` batches (small
    # datasets such as mnist5k need many passes).
    epochs: int = 4
    min_steps: int = 600
    batch_size: int = 128
    lr: float = 2e-3
    # Random translations (pixels) of training images; 0 disables; null: 2 for train splits under 20,000
    # images (mnist5k: +2 points of accuracy), 0 above (Fashion-MNIST: shifts cost accuracy).
    augment_shift: float | None = None
    weight_decay: float = 1e-4
    # Width of the feature layer; null: 512 for images, 128 for points.
    feature_dim: int | None = None
    seed: int = 0
    path: str = "${eval.classifier_path}"
    # The data field it learns, with that field's labels; null: the data's sample_field, the one metrics
    # compare with (image; domain b, labels b_labels, of unpaired translation data).
    field: str | None = None


@dataclass
class TextTrainingConfig:
    """ganforge-train-text-encoder: a char-CNN-RNN + image encoder joint embedding on data.* (captioned)."""

    # encoder: the text side conditions generators (text_encoder=char_cnn_rnn, written to `path`);
    # matcher: the evaluator behind rprecision100_matcher (eval.matcher_path, trained with seed + 1000).
    role: str = "encoder"
    dim: int = 1024
    width: int = 256
    # Characters read per caption; null: the longest caption of the data (+4), at most what it needs.
    max_chars: int | None = None
    steps: int = 2000
    batch_size: int = 64
    lr: float = 1.0e-3
    # Hinge margin of the structured loss on cosine similarities (in [0, 2]).
    margin: float = 0.2
    seed: int = 0
    path: str = "${paths.output_dir}/text_encoders/${data.name}/char_cnn_rnn.pt"


@dataclass
class Config:
    model: Any = MISSING
    data: Any = MISSING
    loss: Any = MISSING
    hardware: Any = MISSING
    # The text encoder of text-to-image families (conf/text_encoder/); null for every other family.
    text_encoder: Any = None
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    paths: PathsConfig = field(default_factory=PathsConfig)
    # Lightning loggers by name: {name: {_target_: ..., ...}}; empty for none.
    logger: dict[str, Any] = field(default_factory=dict)
    # Resume the run this checkpoint belongs to (same run directory, same step counter).
    ckpt_path: str | None = None
    eval: EvalConfig = field(default_factory=EvalConfig)
    evaluator: EvaluatorConfig = field(default_factory=EvaluatorConfig)
    text_training: TextTrainingConfig = field(default_factory=TextTrainingConfig)
    run_name: str = "${model.name}-${data.name}-${loss.name}"
    # The metric ganforge-train returns to a Hydra sweeper (e.g. Optuna), read from the run's final metrics.
    optimized_metric: str | None = None


def register_configs() -> None:
    """Register the schema in Hydra's ConfigStore (idempotent)."""
    cs = ConfigStore.instance()
    cs.store(name="schema_config", node=Config)
    cs.store(group="model", name="schema_model", node=ModelConfig)
    cs.store(group="model", name="schema_model_wgan", node=WGANModelConfig)
    cs.store(group="model", name="schema_model_wgan_gp", node=WGANGPModelConfig)
    cs.store(group="model", name="schema_model_cyclegan", node=CycleGANModelConfig)
    cs.store(group="model", name="schema_model_stylegan", node=StyleGANModelConfig)
    cs.store(group="loss", name="schema_loss", node=LossConfig)
    cs.store(group="data", name="schema_image_data", node=ImageDataConfig)
    cs.store(group="data", name="schema_points_data", node=PointsDataConfig)
    cs.store(group="data", name="schema_fields_data", node=FieldsDataConfig)
    cs.store(group="hardware", name="schema_hardware", node=HardwareConfig)
    # Family groups kept in their own modules (they import this one's base dataclasses).
    from ganforge.config.schema_audio import register_audio_configs
    from ganforge.config.schema_sr import register_sr_configs
    from ganforge.config.schema_text import register_text_configs

    register_sr_configs(cs)
    register_text_configs(cs)
    register_audio_configs(cs)

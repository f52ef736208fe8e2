"""``ganforge-train-text-encoder data=<captioned set> [text_training.role=encoder|matcher] [text_training.*]``

Trains a joint image-text embedding (char-CNN-RNN text side, small CNN image side; ganforge.text.
joint_embedding) on the dataset's real (image, caption) pairs and reports its R-precision on the test
split (own caption first among 100). ``role=encoder`` (default) writes ``text_training.path``, read by
``text_encoder=char_cnn_rnn``; ``role=matcher`` writes ``eval.matcher_path``, the evaluator behind
``rprecision100_matcher``, with seed ``text_training.seed + 1000`` so it never is the encoder a generator
was conditioned on. ``--params params.yaml`` reads a composed config (the DVC stage); ``--when-used`` (the
DVC stage ``train_text_encoder``) trains only if the config's ``text_encoder`` is ``char_cnn_rnn`` and
otherwise writes ``not_used.json`` beside ``text_training.path`` saying so, so every pipeline has the
stage and only text-to-image ones pay for it.
"""

from __future__ import annotations

import sys
import warnings

from omegaconf import OmegaConf

from ganforge.errors import ConfigError, GanforgeError

ROLES = ("encoder", "matcher")
CHAR_CNN_RNN_TARGET = "ganforge.text.char_cnn_rnn.CharCNNRNNEncoder"
MATCHER_SEED_OFFSET = 1000


def train_text_encoder(cfg, progress_bar: bool | None = None) -> tuple[dict, str]:
    """(the saved record, its path) of ``cfg.text_training`` on ``cfg.data``."""
    from ganforge.build import build_datamodule, resolved_container
    from ganforge.config.validate import check_accelerator
    from ganforge.text.joint_embedding import train_joint_embedding

    tt = cfg.text_training
    if tt.role not in ROLES:
        raise ConfigError(f"text_training.role={tt.role!r} is unknown; use one of {list(ROLES)}.")
    check_accelerator(cfg.hardware.accelerator)
    if cfg.hardware.num_threads:
        import torch

        torch.set_num_threads(cfg.hardware.num_threads)
    path = str(tt.path if tt.role == "encoder" else cfg.eval.matcher_path)
    resolved = resolved_container(cfg)
    record = train_joint_embedding(
        build_datamodule(cfg),
        dim=tt.dim,
        width=tt.width,
        max_chars=tt.max_chars,
        steps=tt.steps,
        batch_size=tt.batch_size,
        lr=tt.lr,
        margin=tt.margin,
        seed=tt.seed + (MATCHER_SEED_OFFSET if tt.role == "matcher" else 0),
        path=path,
        config={"text_training": resolved["text_training"], "data": resolved["data"]},
        accelerator=cfg.hardware.accelerator,
        progress_bar=cfg.trainer.progress_bar if progress_bar is None else progress_bar,
    )
    return record, path


def write_not_used(cfg, target: str | None):
    """``not_used.json`` where the encoder would go: the DVC stage's output when no char-CNN-RNN is used."""
    from pathlib import Path

    from ganforge.config.params import write_not_used as write_note

    reason = {"text_encoder": target, "reason": "the pipeline's text_encoder is not char_cnn_rnn"}
    return write_note(Path(str(cfg.text_training.path)).parent / "not_used.json", reason)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    from ganforge.config.params import config_from_argv, split_when_used

    when_used, argv = split_when_used(argv)
    try:
        cfg = config_from_argv(argv)
        target = OmegaConf.select(cfg, "text_encoder._target_")
        if when_used and target != CHAR_CNN_RNN_TARGET:
            note = write_not_used(cfg, target)
            print(f"text_encoder is {target or 'none'}, not char_cnn_rnn: nothing to train; wrote {note}")
            return
        from ganforge.tracking.console import quiet_lightning_console

        quiet_lightning_console()
        warnings.filterwarnings("ignore", message=".*LeafSpec.*")
        record, path = train_text_encoder(cfg)
    except GanforgeError as exc:
        print(f"ganforge-train-text-encoder: error: {exc}", file=sys.stderr)
        sys.exit(2)
    role = OmegaConf.select(cfg, "text_training.role")
    print(
        f"{role} for data={record['data']}: test R-precision (own caption first of 100) "
        f"{record['test_rprecision']:.4f} ({record['train_steps']} steps, {record['train_seconds']:.1f} s); "
        f"wrote {path}"
    )


if __name__ == "__main__":
    main()

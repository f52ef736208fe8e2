"""``ganforge-train-evaluator data=<dataset> [evaluator.epochs=4 ...]``: the classifier route's network.

Trains the classifier on the dataset's train split, reports its held-out test accuracy and saves it (with
the accuracy, the config and a content hash) to ``evaluator.path`` (default
``outputs/evaluators/<data>/classifier.pt``). It learns the field metrics compare samples with (``image``;
domain ``b`` with labels ``b_labels`` for unpaired data such as ``data=mnist5k_to_edges``), or
``evaluator.field=<field>``. Arguments are Hydra overrides of the training config; it trains on one
device of ``hardware.accelerator`` (e.g. ``hardware.accelerator=gpu``) with a progress bar in steps
(``trainer.progress_bar=false`` hides it).
"""

from __future__ import annotations

import sys
import warnings

from ganforge.errors import GanforgeError


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    from omegaconf import OmegaConf

    from ganforge.config.params import config_from_argv

    try:
        # --params FILE: a composed config (the DVC stage reads params.yaml; dvc #10186).
        cfg = config_from_argv(argv)
        # Imported once the config composes: a bad override fails without loading torch and Lightning.
        from ganforge.metrics.train_classifier import train_evaluator
        from ganforge.tracking.console import quiet_lightning_console

        quiet_lightning_console()  # no "GPU available" lines or Lightning's advertisement; the bar shows
        warnings.filterwarnings("ignore", message=".*LeafSpec.*")  # Lightning's, as in ganforge-train
        record = train_evaluator(cfg)
    except GanforgeError as exc:
        print(f"ganforge-train-evaluator: error: {exc}", file=sys.stderr)
        sys.exit(2)
    print(
        f"evaluator for data={record['data']} (field {record['field']}): "
        f"test accuracy {record['test_accuracy']:.4f} "
        f"(train {record['train_accuracy']:.4f}, {record['train_seconds']:.1f} s); "
        f"weights {record['weights_hash'][:12]}; wrote {OmegaConf.select(cfg, 'evaluator.path')}"
    )


if __name__ == "__main__":
    main()

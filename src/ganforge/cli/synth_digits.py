"""``python -m ganforge.cli.synth_digits [--params params.yaml] [overrides] [--when-used]``: the DVC stage
``synth_digits``.

Synthesises the spoken-digit set of ``data=spoken_digits`` (ganforge.data.audio_digits) into
``paths.data_dir/synth/spoken_digits/`` (the stage's output) and prints its manifest's counts. With
``--when-used`` (the DVC stage) a pipeline whose data is not the synthesised set only writes
``not_used.json`` there, so every pipeline has the stage and only spoken-digit ones pay for it (~40 s).
``ganforge-fetch data=spoken_digits`` synthesises the same files when they are missing.
"""

from __future__ import annotations

import sys
from pathlib import Path

from omegaconf import OmegaConf

from ganforge.errors import ConfigError, GanforgeError

TARGET = "ganforge.data.audio_digits.spoken_digits"


def synth_digits(cfg) -> tuple[dict, Path, float | None]:
    """(manifest, folder, seconds spent synthesising or None if it was there) of cfg.data.loader's set."""
    from ganforge.data import audio_digits as ad

    loader = OmegaConf.to_container(cfg.data.loader, resolve=True)
    if loader.get("_target_") != TARGET:
        raise ConfigError(
            f"data={cfg.data.name} is not a synthesised set (its loader is {loader.get('_target_')}); "
            "run this with data=spoken_digits."
        )
    settings = {k: v for k, v in loader.items() if not k.startswith("_")}
    folder = Path(str(cfg.paths.data_dir)) / settings.pop("cache", ad.CACHE)
    workers = settings.pop("workers", 2)
    manifest, seconds = ad.ensure_spoken_digits(folder, ad.make_spec(**settings), workers)
    return manifest, folder, seconds


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    from ganforge.config.params import config_from_argv, split_when_used, write_not_used

    when_used, argv = split_when_used(argv)
    try:
        cfg = config_from_argv(argv)
        target = OmegaConf.select(cfg, "data.loader._target_")
        if when_used and target != TARGET:
            note = Path(str(cfg.paths.data_dir)) / "synth" / "spoken_digits" / "not_used.json"
            reason = {"data": str(cfg.data.name), "reason": "the pipeline's data is not data=spoken_digits"}
            write_not_used(note, reason)
            print(f"data={cfg.data.name} is not the synthesised spoken digits: nothing to do; wrote {note}")
            return
        manifest, folder, seconds = synth_digits(cfg)
    except GanforgeError as exc:
        print(f"synth_digits: error: {exc}", file=sys.stderr)
        sys.exit(2)
    splits = ", ".join(
        f"{s}: {v['clips']:,} clips, {len(v['voices'])} voices" for s, v in manifest["splits"].items()
    )
    made = f"synthesised in {seconds:.1f} s" if seconds is not None else "already there"
    print(f"spoken digits {manifest['key']} ({splits}; {made}) in {folder}")


if __name__ == "__main__":
    main()

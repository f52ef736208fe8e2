"""The style-mixing figure, the truncation strip and ganforge-mix."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ganforge.data import style_figures as sf
from ganforge.errors import ConfigError, GanforgeError
from ganforge.networks.stylegan import StyleGenerator


def tiny_generator(size: int = 32, channels: int = 1) -> StyleGenerator:
    torch.manual_seed(0)
    g = StyleGenerator(
        latent_dim=6,
        data_shape=[channels, size, size],
        w_dim=8,
        mapping_layers=2,
        channel_base=64,
        channel_max=8,
    )
    with torch.no_grad():
        for layer in g.layers:
            layer.noise_strength.fill_(0.5)  # const noise must keep the figures deterministic
    return g.eval()


# ----------------------------------------------------------------------------------------- levels
def test_levels_resolve_by_name_and_index_and_fail_beyond_the_layers():
    g = tiny_generator(32)
    assert [sf.resolve_level(g, name) for name in sf.LEVELS] == [[0, 1, 2, 3], [4, 5], [6, 7]]
    assert sf.resolve_level(g, "2-4") == [2, 3, 4] and sf.resolve_level(g, 7) == [7]
    with pytest.raises(
        ConfigError, match=r"beyond the layers of this 32x32 generator: it has 8 style inputs"
    ):
        sf.resolve_level(g, "6-9")
    with pytest.raises(ConfigError, match=r"Unknown style level 'texture'; use coarse \| middle \| fine"):
        sf.resolve_level(g, "texture")
    with pytest.raises(ConfigError, match=r"'middle' is beyond the layers of this 8x8 generator"):
        sf.resolve_level(tiny_generator(8), "middle")


def test_mixing_images_take_the_level_from_b_and_nothing_else():
    g = tiny_generator(32)
    out = sf.mixing_images(g, [1, 2], [2, 3, 4], "coarse")
    assert out["a"].shape == (2, 1, 32, 32) and out["b"].shape == (3, 1, 32, 32)
    assert out["mix"].shape == (2, 3, 1, 32, 32)
    assert torch.allclose(out["mix"][1, 0], out["a"][1], atol=1e-5), "A2 with B2's styles is A2"
    assert not torch.allclose(out["mix"][0, 1], out["a"][0]) and not torch.allclose(
        out["mix"][0, 1], out["b"][1]
    )
    everything = sf.mixing_images(g, [1, 2], [3, 4], "0-7")
    assert torch.allclose(everything["mix"][0, 1], everything["b"][1], atol=1e-5), "all styles from B: B"
    # The pure images are the generator's own for those seeds (fixed noise).
    with torch.no_grad():
        direct = g(sf.seed_latents([1, 2], g.latent_dim), noise_mode="const")
    assert torch.allclose(out["a"], direct, atol=1e-5)
    with pytest.raises(ConfigError, match="non-negative integer seeds"):
        sf.mixing_images(g, [1, -2], [3], "fine")


def _dark(region: np.ndarray) -> bool:
    return bool((region < 100).any())


def test_mixing_figure_has_one_labelled_block_per_level():
    g = tiny_generator(16, channels=3)
    rows, cols = [1, 2, 3], [4, 5]
    image = sf.mixing_figure(g, rows, cols, levels=["coarse", "middle"], min_tile=32)
    tile, pad, line = 32, sf.PADDING, sf.LINE  # 16 px images enlarged x2
    block = 2 * line + (len(rows) + 1) * (tile + pad) + pad
    margin = 6 * len("A3") + 2 * pad
    assert image.size == (margin + (len(cols) + 1) * (tile + pad) + pad, 2 * block)
    pixels = np.asarray(image.convert("L"))
    for top in (0, block):
        assert _dark(pixels[top : top + line, :]), "a title line per level"
        header = pixels[top + line : top + 2 * line]
        corner = header[:, margin : margin + tile]
        assert not _dark(corner), "no label over the empty corner"
        for j in range(1, len(cols) + 1):
            x = margin + pad + j * (tile + pad)
            assert _dark(header[:, x : x + tile]), f"column {j} is labelled with its B seed"
        for i in range(1, len(rows) + 1):
            y = top + 2 * line + pad + i * (tile + pad)
            assert _dark(pixels[y : y + tile, :margin]), f"row {i} is labelled with its A seed"
        assert (
            pixels[top + 2 * line + pad : top + 2 * line + pad + tile, margin + pad :][:, :tile] == 255
        ).all()


def test_truncation_strip_goes_from_each_seed_to_the_mean_image():
    g = tiny_generator(16)
    with torch.no_grad():
        g.w_avg.copy_(g.mapping(sf.seed_latents(range(50), g.latent_dim)).mean(0))
    images = sf.truncation_images(g, [1, 2, 3], [1.0, 0.5, 0.0])
    assert images.shape == (3, 3, 1, 16, 16)
    assert torch.allclose(images[0, 2], images[1, 2]) and torch.allclose(images[1, 2], images[2, 2])
    with torch.no_grad():
        mean_image = g.synthesis(g.broadcast(g.w_avg[None]), "const")[0]
        direct = g(sf.seed_latents([2], g.latent_dim), noise_mode="const")[0]
    assert torch.allclose(images[0, 2], mean_image, atol=1e-5)
    assert torch.allclose(images[1, 0], direct, atol=1e-5)
    assert not torch.allclose(images[0, 1], images[1, 1])
    strip = sf.truncation_strip(g, [1, 2], psis=(1.0, 0.5, 0.0), min_tile=64)
    assert strip.size == (6 * 2 + 2 * sf.PADDING + 3 * 66 + 2, 2 * sf.LINE + 2 * 66 + 2)
    with pytest.raises(ConfigError, match=r"psi values must lie in \[0, 1\]"):
        sf.truncation_images(g, [1], [1.5])


def test_save_png_writes_atomically(tmp_path):
    image = sf.truncation_strip(tiny_generator(8), [0], psis=(1.0, 0.0))
    path = sf.save_png(image, tmp_path / "sub" / "strip.png")
    assert Image.open(path).size == image.size
    assert [p.name for p in path.parent.iterdir()] == ["strip.png"]


def test_write_style_figures_writes_both_pictures(tmp_path):
    paths = sf.write_style_figures(tiny_generator(8), tmp_path / "samples" / "step_0000010", [0, 1], [2])
    assert [p.name for p in paths] == ["step_0000010_mixing.png", "step_0000010_truncation.png"]
    assert all(Image.open(p).size[0] > 0 for p in paths)  # an 8x8 generator: coarse and fine only


# ----------------------------------------------------------------------------------- ganforge-mix
TINY_STYLEGAN = [
    "model=stylegan", "data=mnist5k", "data.image_size=16", "data.batch_size=8", "model.latent_dim=8",
    "model.generator.w_dim=8", "model.generator.mapping_layers=2", "model.generator.channel_base=64",
    "model.generator.channel_max=8", "model.fade_length=2", "model.stable_length=2",
    "model.length_unit=steps", "trainer.max_steps=5", "trainer.sample_every_n_steps=5",
    "trainer.checkpoint_every_n_steps=5",
]  # fmt: skip


@pytest.fixture
def stylegan_ckpt(run, tmp_path):
    summary = run(*TINY_STYLEGAN, run_dir=tmp_path / "run")
    return {"ckpt": tmp_path / "run" / "checkpoints" / "last.ckpt", "summary": summary, "root": tmp_path}


def test_mix_checkpoint_draws_the_trained_generators_figure(stylegan_ckpt, tmp_path):
    from ganforge.cli.mix import main, mix_checkpoint

    ckpt = stylegan_ckpt["ckpt"]
    path = mix_checkpoint(ckpt, [1, 2], [3, 4, 5])
    assert path == tmp_path / "run" / "mixing" / "step_0000005_coarse_middle_fine.png"
    generator = stylegan_ckpt["summary"]["module"].sampling_network()
    assert (generator.resolution, generator.alpha) == (8, 1.0)  # step 5: 8 px, stabilising
    expected = sf.mixing_figure(generator, [1, 2], [3, 4, 5])
    assert np.array_equal(np.asarray(Image.open(path).convert("RGB")), np.asarray(expected)), (
        "the checkpoint's EMA generator, growth state included"
    )
    options = {"truncation": 0.5, "truncation_cutoff": 2}  # the family's sampling options, as in sample
    out = mix_checkpoint(ckpt, [1], [2], levels=["coarse", "4-5"], out=tmp_path / "figs", options=options)
    assert out == tmp_path / "figs" / "step_0000005_coarse_4-5.png"
    truncated = sf.mixing_figure(generator, [1], [2], ["coarse", "4-5"], psi=0.5, cutoff=2)
    assert np.array_equal(np.asarray(Image.open(out).convert("RGB")), np.asarray(truncated))
    assert not np.array_equal(
        np.asarray(truncated), np.asarray(sf.mixing_figure(generator, [1], [2], ["coarse", "4-5"]))
    )
    main([f"ckpt={ckpt}", "rows=[1,2]", "cols=3", f"out={tmp_path / 'one.png'}", "levels=fine"])
    assert Image.open(tmp_path / "one.png").size[0] > 2 * 64  # corner + one column


def test_mix_fails_clearly_and_writes_nothing(stylegan_ckpt, run, tmp_path, capsys):
    from ganforge.cli.mix import main, mix_checkpoint

    ckpt = stylegan_ckpt["ckpt"]
    with pytest.raises(
        ConfigError, match=r"beyond the layers of this 16x16 generator: it has 6 style inputs"
    ):
        mix_checkpoint(ckpt, [1], [2], levels=["coarse", "5-9"], out=tmp_path / "x.png")
    cases = {
        ("rows=[1,a]", "cols=2"): r"rows=.*seeds must be non-negative integers",
        ("rows=1", "cols=-2"): r"cols=-2: seeds must be non-negative integers",
        ("rows=1", "cols=2", "levels=texture"): r"Unknown style level 'texture'",
        ("rows=1", "cols=2", "truncation=1.5"): r"truncation=1.5 is invalid for model=stylegan: it must be "
        r"float in \[0, 1\]",
        ("rows=1", "cols=2", "noise=loud"): r"noise_mode='loud' is invalid for model=stylegan: it must be "
        "const|random|none",
        ("rows=1", "cols=2", "truncation_cutoff=99"): r"truncation_cutoff=99 is invalid",
        ("rows=1",): r"Missing cols=",
        ("rows=1", "cols=2", "out=fig.jpg"): r"must be a .png file name or a folder",
    }
    for args, message in cases.items():
        with pytest.raises(SystemExit) as exit_info:
            main([f"ckpt={ckpt}", *args])
        err = capsys.readouterr().err
        assert exit_info.value.code == 2 and err.startswith("ganforge-mix: error:"), err
        assert "Traceback" not in err and re.search(message, err), (args, err)
    assert not (tmp_path / "run" / "mixing").exists() and not (tmp_path / "x.png").exists()

    run("model=vanilla", "data=ring", "trainer.max_steps=1", run_dir=tmp_path / "gan")
    with pytest.raises(GanforgeError, match=r"model=vanilla checkpoint; ganforge-mix mixes the styles"):
        mix_checkpoint(tmp_path / "gan" / "checkpoints" / "last.ckpt", [1], [2])


def test_mix_console_script_is_declared():
    text = (Path(__file__).resolve().parents[1] / "pyproject.toml").read_text()
    assert 'ganforge-mix = "ganforge.cli.mix:main"' in text

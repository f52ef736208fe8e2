"""StyleGAN's two pictures: the style-mixing figure and the truncation strip (Karras et al. 2019, Figs. 3, 8).

Both work on any :class:`ganforge.networks.stylegan.StyleGenerator` (pass the EMA copy for samples) and
return a labelled PIL image; :func:`save_png` writes one atomically.

- Style mixing, one block per level (coarse = 4-8 px style inputs, middle = 16 px, fine = 32 px and up,
  as ``StyleGenerator.style_levels()`` defines them): the top row holds the pure source-B images (column
  seeds), the left column the pure source-A images (row seeds), and cell (i, j) is A_i with that level's
  style inputs taken from B_j. A level can also be a range of style-input indices ("0-3", "6").
- Truncation strip: one row per seed, one column per psi (1 = untruncated ... 0 = the image of w_avg).

Seed s means z = ``torch.randn(latent_dim, generator=torch.Generator().manual_seed(s))`` (drawn on the CPU,
so a seed gives the same image on every device). Noise is the generator's fixed per-layer noise
(``noise_mode="const"``) unless told otherwise, so images differ only by their styles.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from torchvision.utils import make_grid

from ganforge.errors import ConfigError
from ganforge.io import atomic_path

LEVELS = ("coarse", "middle", "fine")
PADDING = 2
LINE = 12  # pixels per line of PIL's default bitmap font (~11 px tall, ~6 px a letter)


# ------------------------------------------------------------------------------------------- styles
def seed_latents(seeds: Sequence[int], latent_dim: int) -> torch.Tensor:
    """z [len(seeds), latent_dim]: one standard normal draw per seed, on the CPU."""
    return torch.stack(
        [torch.randn(latent_dim, generator=torch.Generator().manual_seed(int(s))) for s in seeds]
    )


def resolve_level(generator, level: str | int) -> list[int]:
    """The style-input indices of a level: a name of ``style_levels()`` or indices "i" / "i-j" (inclusive).

    Raises a ConfigError naming this generator's levels for unknown names, levels this generator has no
    layers for (``middle`` of an 8x8 generator) and indices beyond its ``num_ws`` style inputs.
    """
    levels = generator.style_levels()
    described = ", ".join(f"{k} = style inputs {v}" for k, v in levels.items() if v)
    size = f"{generator.target_resolution}x{generator.target_resolution}"
    text = str(level).strip()
    if text in levels:
        if not levels[text]:
            raise ConfigError(
                f"Style level {text!r} is beyond the layers of this {size} generator (it has no "
                f"{text} resolution); its levels are: {described}."
            )
        return list(levels[text])
    first, sep, last = text.partition("-")
    if not (first.isdigit() and (not sep or last.isdigit())):
        raise ConfigError(
            f"Unknown style level {level!r}; use {' | '.join(LEVELS)} or style-input indices i or i-j "
            f"(this {size} generator: {described})."
        )
    lo, hi = int(first), int(last) if sep else int(first)
    if lo > hi or hi >= generator.num_ws:
        raise ConfigError(
            f"Style level {text!r} is beyond the layers of this {size} generator: it has {generator.num_ws} "
            f"style inputs, 0-{generator.num_ws - 1} ({described})."
        )
    return list(range(lo, hi + 1))


def available_levels(generator) -> list[str]:
    """The named levels this generator has style inputs for (an 8 px generator has no "middle")."""
    return [name for name, indices in generator.style_levels().items() if indices]


def take_styles(ws_a: torch.Tensor, ws_b: torch.Tensor, indices: Sequence[int]) -> torch.Tensor:
    """ws_a with the style inputs ``indices`` replaced by ws_b's ("take this level from B")."""
    mixed = ws_a.clone()
    mixed[:, list(indices)] = ws_b[:, list(indices)]
    return mixed


def _device(generator) -> torch.device:
    return next(generator.parameters()).device


@torch.no_grad()
def seed_ws(generator, seeds: Sequence[int], psi: float = 1.0, cutoff: int | None = None) -> torch.Tensor:
    """ws [len(seeds), num_ws, w_dim] of seeds, truncated by ``psi`` (1 = not truncated)."""
    ws = generator.broadcast(
        generator.mapping(seed_latents(seeds, generator.latent_dim).to(_device(generator)))
    )
    return generator.truncate(ws, psi, cutoff) if psi != 1.0 else ws


@torch.no_grad()
def mixing_images(
    generator,
    row_seeds: Sequence[int],
    col_seeds: Sequence[int],
    level: str | int,
    psi: float = 1.0,
    noise_mode: str = "const",
    cutoff: int | None = None,
) -> dict[str, torch.Tensor]:
    """{"a": [R, C, H, W] pure row images, "b": [K, C, H, W] pure column images, "mix": [R, K, C, H, W]}
    in model space; mix[i, j] is A_i with ``level``'s styles taken from B_j."""
    _check_seeds(row_seeds, "rows")
    _check_seeds(col_seeds, "cols")
    indices = resolve_level(generator, level)
    ws_a, ws_b = seed_ws(generator, row_seeds, psi, cutoff), seed_ws(generator, col_seeds, psi, cutoff)
    rows, cols = len(ws_a), len(ws_b)
    mixed = take_styles(ws_a.repeat_interleave(cols, 0), ws_b.repeat(rows, 1, 1), indices)
    images = generator.synthesis(torch.cat([ws_a, ws_b, mixed]), noise_mode).cpu()
    mix = images[rows + cols :]
    return {
        "a": images[:rows],
        "b": images[rows : rows + cols],
        "mix": mix.reshape(rows, cols, *mix.shape[1:]),
    }


def _check_seeds(seeds: Sequence[int], key: str) -> None:
    if not seeds:
        raise ConfigError(f"{key}= needs at least one seed.")
    bad = [s for s in seeds if isinstance(s, bool) or not isinstance(s, int) or s < 0]
    if bad:
        raise ConfigError(f"{key}= takes non-negative integer seeds; got {bad}.")


# ------------------------------------------------------------------------------------------ drawing
def _tile_scale(size: int, min_tile: int) -> int:
    return max(1, -(-min_tile // size))  # nearest-neighbour upscaling so small images stay readable


def _tiles(images: torch.Tensor, scale: int) -> torch.Tensor:
    """Model-space images -> [N, 3, H*scale, W*scale] in [0, 1]."""
    x = images.detach().float().cpu().clamp(-1, 1).add(1).div(2)
    x = x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x
    return F.interpolate(x, scale_factor=scale, mode="nearest") if scale > 1 else x


def _labelled(grid: torch.Tensor, title: str, column_labels: list[str], row_labels: list[str], tile: int):
    """The make_grid image with a title line, a label over each column and left of each row."""
    from PIL import Image, ImageDraw

    pixels = grid.mul(255).round().clamp(0, 255).to(torch.uint8).permute(1, 2, 0).numpy()
    body = Image.fromarray(pixels)
    margin = 6 * max((len(t) for t in row_labels), default=0) + 2 * PADDING
    image = Image.new("RGB", (body.width + margin, body.height + 2 * LINE), "white")
    image.paste(body, (margin, 2 * LINE))
    draw = ImageDraw.Draw(image)
    draw.text((PADDING, 0), title, fill="black")
    step = tile + PADDING
    letters = max(1, (tile - PADDING) // 6)
    for j, text in enumerate(column_labels):
        draw.text((margin + PADDING + j * step, LINE), text[:letters], fill="black")
    for i, text in enumerate(row_labels):
        draw.text((PADDING, 2 * LINE + PADDING + i * step + tile // 2 - LINE // 2), text, fill="black")
    return image


def _stack(images: list) -> object:
    from PIL import Image

    out = Image.new("RGB", (max(i.width for i in images), sum(i.height for i in images)), "white")
    top = 0
    for im in images:
        out.paste(im, (0, top))
        top += im.height
    return out


def mixing_figure(
    generator,
    row_seeds: Sequence[int],
    col_seeds: Sequence[int],
    levels: Sequence[str | int] = LEVELS,
    psi: float = 1.0,
    noise_mode: str = "const",
    min_tile: int = 64,
    cutoff: int | None = None,
):
    """The style-mixing figure as a PIL image: one labelled block per level, stacked top to bottom.

    Each block: an empty corner, the pure B images (``col_seeds``) along the top, the pure A images
    (``row_seeds``) down the left, and A_i with the level's styles from B_j in row i, column j. Titles
    name the level and its style inputs and resolutions; images smaller than ``min_tile`` pixels are
    enlarged with nearest neighbours.
    """
    if not levels:
        raise ConfigError(f"levels= needs at least one level ({' | '.join(LEVELS)}).")
    blocks = []
    for level in levels:
        images = mixing_images(generator, row_seeds, col_seeds, level, psi, noise_mode, cutoff)
        size = images["a"].shape[-1]
        scale = _tile_scale(size, min_tile)
        corner = torch.ones_like(images["b"][:1])  # white once mapped to [0, 1]
        cells = [corner, images["b"]]
        for i in range(len(row_seeds)):
            cells += [images["a"][i : i + 1], images["mix"][i]]
        grid = make_grid(
            _tiles(torch.cat(cells), scale), nrow=len(col_seeds) + 1, padding=PADDING, pad_value=1
        )
        indices = resolve_level(generator, level)
        resolutions = sorted({generator.layer_resolution(i) for i in indices})
        title = (
            f"{level}: style inputs {indices[0]}-{indices[-1]} ({'/'.join(map(str, resolutions))} px) "
            f"from B{'' if psi == 1.0 else f', psi={psi:g}'}"
        )
        blocks.append(
            _labelled(
                grid,
                title,
                ["", *(f"B{s}" for s in col_seeds)],
                ["", *(f"A{s}" for s in row_seeds)],
                size * scale,
            )
        )
    return _stack(blocks)


@torch.no_grad()
def truncation_images(
    generator,
    seeds: Sequence[int],
    psis: Sequence[float],
    cutoff: int | None = None,
    noise_mode: str = "const",
) -> torch.Tensor:
    """[len(seeds), len(psis), C, H, W] model-space images: each seed at each truncation psi."""
    _check_seeds(seeds, "seeds")
    bad = [p for p in psis if not 0.0 <= float(p) <= 1.0]
    if not psis or bad:
        raise ConfigError(f"Truncation psi values must lie in [0, 1]; got {list(psis) or 'none'}.")
    ws = seed_ws(generator, seeds)
    truncated = torch.stack([generator.truncate(ws, float(p), cutoff) for p in psis], dim=1)
    images = generator.synthesis(truncated.flatten(0, 1), noise_mode).cpu()
    return images.reshape(len(seeds), len(psis), *images.shape[1:])


def truncation_strip(
    generator,
    seeds: Sequence[int],
    psis: Sequence[float] = (1.0, 0.75, 0.5, 0.25, 0.0),
    cutoff: int | None = None,
    noise_mode: str = "const",
    min_tile: int = 64,
):
    """The truncation strip as a PIL image: one row per seed, one column per psi (labelled)."""
    images = truncation_images(generator, seeds, psis, cutoff, noise_mode)
    size = images.shape[-1]
    scale = _tile_scale(size, min_tile)
    grid = make_grid(_tiles(images.flatten(0, 1), scale), nrow=len(psis), padding=PADDING, pad_value=1)
    title = "truncation w' = w_avg + psi (w - w_avg)" + (f", style inputs < {cutoff}" if cutoff else "")
    return _labelled(grid, title, [f"psi={p:g}" for p in psis], [f"s{s}" for s in seeds], size * scale)


def save_png(image, path: str | Path) -> Path:
    """Write a PIL image as PNG atomically (never a half-written file)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        image.save(tmp, format="png")
    return path


def write_style_figures(
    generator,
    path_prefix: str | Path,
    row_seeds: Sequence[int] = (0, 1, 2, 3),
    col_seeds: Sequence[int] = (4, 5, 6, 7),
    psis: Sequence[float] = (1.0, 0.75, 0.5, 0.25, 0.0),
) -> list[Path]:
    """Both figures of a generator, for a training run's sample step: ``<prefix>_mixing.png`` (every level
    the generator has) and ``<prefix>_truncation.png`` (the row seeds); returns their paths."""
    prefix = Path(path_prefix)
    mixing = mixing_figure(generator, row_seeds, col_seeds, available_levels(generator))
    strip = truncation_strip(generator, row_seeds, psis)
    return [
        save_png(mixing, prefix.with_name(f"{prefix.name}_mixing.png")),
        save_png(strip, prefix.with_name(f"{prefix.name}_truncation.png")),
    ]

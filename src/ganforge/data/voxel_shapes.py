"""A procedural ModelNet-like set of solid voxel objects for 3D-GAN (issue 16), made offline with trimesh.

Ten classes (``CLASSES``): six primitives (box, sphere, cylinder, cone, torus, capsule lying on its side)
and four composites of watertight parts (table = top + 4 legs, chair = seat + back + 4 legs, lamp = base +
pole + shade, bench = seat + 2 slab legs), each with proportions drawn per object. An object is turned by
a random angle about the up axis (z), scaled so that its yaw-invariant extent (the diameter of its
footprint's circle around the axis, or its height) is a random fraction ``size`` of the grid less
``margin`` voxels on each side, and moved by a random offset within the space left, so it fits at any yaw.
Every draw comes from a generator seeded with (seed, class, index): the same seed gives the same set, and
adding a class changes no other class's objects. Train/test is split per class (``test_fraction``).

Objects are voxelised solid (a voxel whose centre is inside; composites are the voxel OR of their parts)
by :mod:`ganforge.data.voxelize`, which also renders the 2-D view stored with each object for the
3D-VAE-GAN (an orthographic depth image from a fixed camera, made from the grid with numpy).

The set is generated once into ``<data root>/synth/voxel_shapes/<key>-{train,test}.pt`` (grids bit-packed
with numpy.packbits) plus ``<key>.json`` (settings, counts, trimesh version, SHA-256 of each split's
unpacked fields), where ``<key>`` hashes the settings; later loads read and verify those files.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import math
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganforge.data.base import Fields
from ganforge.data.sources import SPLITS, arrays_sha256
from ganforge.data.voxelize import render_view, require_trimesh, voxelize
from ganforge.errors import DatasetError
from ganforge.io import atomic_path, atomic_write_text

log = logging.getLogger(__name__)

FORMAT = 1  # bump when the generation below changes, so old caches are not reused
CACHE = "synth/voxel_shapes"
CLASSES = ("box", "sphere", "cylinder", "cone", "torus", "capsule", "table", "chair", "lamp", "bench")
RESOLUTIONS = (32, 64)

# --- the classes: parts in object coordinates, z up, largest dimension about 1 -------------------------
# Thin parts are >= 0.08 of the object so that, scaled into 32³, they stay >= 1.5 voxels thick: any
# cross-section that wide holds a voxel centre whatever the yaw.


def _box(lo: Sequence[float], hi: Sequence[float]) -> Any:
    return require_trimesh().creation.box(bounds=[list(lo), list(hi)])


def _legs(half_x: float, half_y: float, leg: float, height: float) -> list[Any]:
    return [_box((sx * half_x - (sx > 0) * leg, sy * half_y - (sy > 0) * leg, 0.0),
                 (sx * half_x + (sx < 0) * leg, sy * half_y + (sy < 0) * leg, height))
            for sx in (-1, 1) for sy in (-1, 1)]  # fmt: skip


def _table(rng: np.random.Generator) -> list[Any]:
    depth, height = rng.uniform(0.5, 0.9), rng.uniform(0.45, 0.8)
    top, leg, inset = rng.uniform(0.1, 0.14), rng.uniform(0.1, 0.14), rng.uniform(0.0, 0.08)
    parts = [_box((-0.5, -depth / 2, height - top), (0.5, depth / 2, height))]
    return parts + _legs(0.5 - inset, depth / 2 - inset, leg, height - top / 2)


def _chair(rng: np.random.Generator) -> list[Any]:
    width, depth, seat_z = rng.uniform(0.4, 0.55), rng.uniform(0.4, 0.55), rng.uniform(0.4, 0.5)
    seat, back, leg = rng.uniform(0.08, 0.1), rng.uniform(0.08, 0.11), rng.uniform(0.08, 0.1)
    top = seat_z + rng.uniform(0.35, 0.5)
    parts = [_box((-width / 2, -depth / 2, seat_z - seat), (width / 2, depth / 2, seat_z)),
             _box((-width / 2, depth / 2 - back, seat_z - seat), (width / 2, depth / 2, top))]  # fmt: skip
    return parts + _legs(width / 2, depth / 2, leg, seat_z - seat / 2)


def _lamp(rng: np.random.Generator) -> list[Any]:
    creation = require_trimesh().creation
    base_r, base_h = rng.uniform(0.22, 0.35), rng.uniform(0.06, 0.09)
    pole_r = rng.uniform(0.045, 0.06)
    shade_r, shade_h = rng.uniform(0.22, 0.35), rng.uniform(0.2, 0.3)
    height = rng.uniform(0.85, 1.0)
    shade = creation.cone(shade_r, shade_h, sections=32)
    shade.apply_translation((0, 0, height - shade_h))
    return [creation.cylinder(base_r, segment=[[0, 0, 0], [0, 0, base_h]], sections=32),
            creation.cylinder(pole_r, segment=[[0, 0, 0], [0, 0, height - shade_h / 2]], sections=16),
            shade]  # fmt: skip


def _bench(rng: np.random.Generator) -> list[Any]:
    depth, height = rng.uniform(0.25, 0.4), rng.uniform(0.3, 0.45)
    seat, slab, inset = rng.uniform(0.08, 0.11), rng.uniform(0.08, 0.12), rng.uniform(0.0, 0.12)
    parts = [_box((-0.5, -depth / 2, height - seat), (0.5, depth / 2, height))]
    for sx in (-1, 1):
        x = sx * (0.5 - inset)
        parts.append(
            _box((min(x, x - sx * slab), -depth / 2, 0.0), (max(x, x - sx * slab), depth / 2, height))
        )
    return parts


def _primitive(name: str, rng: np.random.Generator) -> list[Any]:
    creation = require_trimesh().creation
    if name == "box":
        return [creation.box(extents=rng.uniform(0.35, 1.0, size=3))]
    if name == "sphere":
        return [creation.icosphere(subdivisions=4, radius=0.5)]
    if name == "cylinder":
        return [creation.cylinder(0.5, rng.uniform(0.4, 1.6), sections=48)]
    if name == "cone":
        return [creation.cone(0.5, rng.uniform(0.5, 1.5), sections=48)]
    if name == "torus":
        return [creation.torus(0.5, rng.uniform(0.12, 0.22), major_sections=48, minor_sections=16)]
    capsule = creation.capsule(rng.uniform(0.3, 0.8), rng.uniform(0.15, 0.3), count=[24, 24])
    capsule.apply_transform(require_trimesh().transformations.rotation_matrix(math.pi / 2, [0, 1, 0]))
    return [capsule]  # lying along x: distinct from the standing cylinder


_COMPOSITES: dict[str, Callable[[np.random.Generator], list[Any]]] = {
    "table": _table, "chair": _chair, "lamp": _lamp, "bench": _bench,
}  # fmt: skip


def build_parts(name: str, rng: np.random.Generator) -> list[Any]:
    """The watertight trimesh parts of one object of class ``name``, proportions drawn from ``rng``."""
    if name not in CLASSES:
        raise DatasetError(f"Unknown voxel class {name!r}; use some of {list(CLASSES)}.")
    return _COMPOSITES[name](rng) if name in _COMPOSITES else _primitive(name, rng)


def place(
    parts: Sequence[Any], rng: np.random.Generator, resolution: int, margin: int, size: Sequence[float]
) -> list[Any]:
    """The parts turned about z, scaled into the grid's coordinates ([0, resolution]³, voxel k centred at
    k + 0.5) and moved, so that the object fits inside ``margin`` voxels at any yaw."""
    trimesh = require_trimesh()
    vertices = np.concatenate([p.vertices for p in parts])
    lo, hi = vertices.min(0), vertices.max(0)
    centre = np.array([(lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2, (lo[2] + hi[2]) / 2])
    radius = float(np.linalg.norm(vertices[:, :2] - centre[:2], axis=1).max())  # yaw-invariant footprint
    extent = np.array([2 * radius, 2 * radius, hi[2] - lo[2]])
    yaw = rng.uniform(0.0, 2 * math.pi)
    usable = resolution - 2 * margin
    scale = usable * rng.uniform(*size) / extent.max()
    slack = usable - extent * scale
    offset = np.array([rng.uniform(-s / 2, s / 2) for s in slack])
    transform = trimesh.transformations.translation_matrix(resolution / 2 + offset)
    transform = transform @ trimesh.transformations.rotation_matrix(yaw, [0, 0, 1])
    transform = transform @ np.diag([scale, scale, scale, 1.0])
    transform = transform @ trimesh.transformations.translation_matrix(-centre)
    return [p.copy().apply_transform(transform) for p in parts]


# --- the set -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VoxelSetSpec:
    """Everything the generated set depends on (besides trimesh's version, which is recorded)."""

    classes: tuple[str, ...]
    per_class: int
    test_fraction: float
    resolution: int
    margin: int
    size: tuple[float, float]
    seed: int
    view_size: int
    view_angles: tuple[float, float]

    def key(self) -> str:
        text = json.dumps({"format": FORMAT, **asdict(self)}, sort_keys=True)
        return "voxels-" + hashlib.sha256(text.encode()).hexdigest()[:12]


def make_object(name: str, index: int, spec: VoxelSetSpec) -> np.ndarray:
    """uint8 [R, R, R] grid of object ``index`` of class ``name``."""
    rng = np.random.default_rng([spec.seed, zlib.crc32(name.encode()), index])
    parts = place(build_parts(name, rng), rng, spec.resolution, spec.margin, spec.size)
    return voxelize(parts, spec.resolution, what=f"{name} #{index}")


def split_indices(name: str, spec: VoxelSetSpec) -> dict[str, list[int]]:
    """The object indices of class ``name`` in each split (a seeded permutation, ``test_fraction`` test)."""
    order = np.random.default_rng([spec.seed, zlib.crc32(name.encode()), 2**32 - 1]).permutation(
        spec.per_class
    )
    n_test = min(spec.per_class - 1, max(1, round(spec.test_fraction * spec.per_class)))
    return {"train": sorted(order[n_test:].tolist()), "test": sorted(order[:n_test].tolist())}


def generate_set(spec: VoxelSetSpec) -> tuple[dict[str, Fields], dict]:
    """Both splits (``voxels`` uint8 [N, 1, R, R, R], ``label`` int64 [N], ``view`` uint8 [N, 1, S, S]
    when view_size > 0) and the manifest."""
    start = time.perf_counter()
    fields, counts, occupancy = {}, {}, {}
    rows: dict[str, list[tuple[int, np.ndarray]]] = {s: [] for s in SPLITS}
    for label, name in enumerate(spec.classes):
        indices = split_indices(name, spec)
        for split in SPLITS:
            rows[split] += [(label, make_object(name, i, spec)) for i in indices[split]]
        counts[name] = {s: len(indices[s]) for s in SPLITS}
        grids = [g for s in SPLITS for lab, g in rows[s] if lab == label]
        occupancy[name] = float(np.mean([g.mean() for g in grids]))
    for split, items in rows.items():
        fields[split] = {
            "voxels": torch.from_numpy(np.stack([g for _, g in items])[:, None]),
            "label": torch.tensor([lab for lab, _ in items], dtype=torch.int64),
        }
        if spec.view_size:
            views = [render_view(g, spec.view_size, *spec.view_angles) for _, g in items]
            fields[split]["view"] = torch.from_numpy(
                np.round(np.stack(views)[:, None] * 255).astype(np.uint8)
            )
    manifest = {
        "format": FORMAT,
        "key": spec.key(),
        "settings": asdict(spec),
        "classes": list(spec.classes),  # the field `label` indexes this list
        "trimesh": version("trimesh"),
        "processing": {
            "voxelisation": "voxel centre inside the mesh (winding number); composites: OR of parts",
            "axes": "voxels[n, 0, x, y, z], z up",
            "view": "orthographic depth from (azimuth, elevation) degrees; 255 near .. 26 far, 0 background",
            "storage": "numpy.packbits along z on disk, uint8 0/1 in memory",
        },
        "counts": counts,
        "mean_occupancy": occupancy,
        "sha256": {s: _fields_sha256(fields[s]) for s in SPLITS},
    }
    n = sum(len(r) for r in rows.values())  # logged, not recorded: the manifest must not change between runs
    log.info(f"data=voxel_shapes: generated {n:,} objects in {time.perf_counter() - start:.1f} s")
    return fields, manifest


def _fields_sha256(fields: Fields) -> str:
    return arrays_sha256(*(fields[k].numpy() for k in sorted(fields)))


def _pack(fields: Fields) -> dict[str, torch.Tensor]:
    packed = {k: v for k, v in fields.items() if k != "voxels"}
    packed["voxels_packed"] = torch.from_numpy(np.packbits(fields["voxels"].numpy(), axis=-1))
    return packed


def _unpack(packed: dict[str, torch.Tensor], resolution: int) -> Fields:
    fields = {k: v for k, v in packed.items() if k != "voxels_packed"}
    voxels = np.unpackbits(packed["voxels_packed"].numpy(), axis=-1, count=resolution)
    fields["voxels"] = torch.from_numpy(np.ascontiguousarray(voxels))
    return fields


def ensure_voxel_shapes(folder: Path, spec: VoxelSetSpec) -> tuple[dict, float | None]:
    """(the manifest of the set in ``folder``, seconds spent generating it now or None if it was there)."""
    manifest_path = folder / f"{spec.key()}.json"
    if manifest_path.is_file() and all((folder / f"{spec.key()}-{s}.pt").is_file() for s in SPLITS):
        return json.loads(manifest_path.read_text()), None
    start = time.perf_counter()
    fields, manifest = generate_set(spec)
    for split, content in fields.items():
        buffer = io.BytesIO()  # via a buffer: the bytes must not depend on the temporary file name
        torch.save(_pack(content), buffer)
        with atomic_path(folder / f"{spec.key()}-{split}.pt") as tmp:
            tmp.write_bytes(buffer.getvalue())
    atomic_write_text(manifest_path, json.dumps(manifest, indent=2) + "\n")  # last: marks it complete
    return manifest, time.perf_counter() - start


def make_spec(
    classes: Sequence[str] = CLASSES,
    per_class: int = 100,
    test_fraction: float = 0.2,
    resolution: int = 32,
    margin: int | None = None,
    size: Sequence[float] = (0.85, 1.0),
    seed: int = 0,
    view_size: int = 64,
    view_angles: Sequence[float] = (45.0, 30.0),
) -> VoxelSetSpec:
    classes = tuple(str(c) for c in classes)
    if not classes or len(set(classes)) != len(classes) or set(classes) - set(CLASSES):
        raise DatasetError(
            f"data.loader.classes={list(classes)} must be distinct names from {list(CLASSES)}."
        )
    if int(per_class) < 2:
        raise DatasetError(f"data.loader.per_class={per_class} must be >= 2 (one train and one test object).")
    if not 0 < float(test_fraction) < 1:
        raise DatasetError(f"data.loader.test_fraction={test_fraction} must be in (0, 1).")
    if int(resolution) not in RESOLUTIONS:
        raise DatasetError(f"data.loader.resolution={resolution} must be one of {list(RESOLUTIONS)}.")
    margin = int(resolution) // 16 if margin is None else int(margin)
    if not 0 <= margin < int(resolution) // 4:
        raise DatasetError(f"data.loader.margin={margin} must be in [0, {int(resolution) // 4}) voxels.")
    size = tuple(float(s) for s in size)
    if len(size) != 2 or not 0.3 <= size[0] <= size[1] <= 1:
        raise DatasetError(f"data.loader.size={list(size)} must be [low, high] within [0.3, 1].")
    if int(view_size) < 0 or len(view_angles) != 2:
        raise DatasetError(
            "data.loader.view_size must be >= 0 (0: no views) and view_angles [azimuth, elevation]."
        )
    return VoxelSetSpec(
        classes=classes, per_class=int(per_class), test_fraction=float(test_fraction),
        resolution=int(resolution), margin=margin, size=size, seed=int(seed),  # type: ignore[arg-type]
        view_size=int(view_size), view_angles=tuple(float(a) for a in view_angles),  # type: ignore[arg-type]
    )  # fmt: skip


def voxel_shapes(root: str | Path, split: str, cache: str = CACHE, **settings: Any) -> Fields:
    """A split of the procedural voxel set: ``voxels`` uint8 [N, 1, R, R, R], ``label`` int64 [N] (index
    into the manifest's ``classes``), ``view`` uint8 [N, 1, S, S]. ``settings``: see :func:`make_spec`."""
    if split not in SPLITS:
        raise DatasetError(f"Unknown split {split!r}; use one of {list(SPLITS)}.")
    spec = make_spec(**settings)
    folder = Path(root) / cache
    manifest, _ = ensure_voxel_shapes(folder, spec)
    path = folder / f"{spec.key()}-{split}.pt"
    try:
        fields = _unpack(torch.load(path, weights_only=True), spec.resolution)
        ok = _fields_sha256(fields) == manifest["sha256"][split]
    except Exception:  # noqa: BLE001 - unreadable or truncated: the same fix
        ok = False
    if not ok:
        raise DatasetError(
            f"{path} does not match the SHA-256 recorded in {folder / (spec.key() + '.json')}: it is corrupt "
            "or was altered. Delete both files to generate the set again."
        )
    return fields

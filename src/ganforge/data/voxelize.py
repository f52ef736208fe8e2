"""Solid voxel grids from watertight meshes, and 2-D views of voxel grids (3D-GAN, issue 16).

A voxel is occupied when its centre lies inside the mesh: the winding number of a vertical ray through the
voxel's column, counted from the triangles the column crosses (numpy, no ray library). trimesh's
``mesh.voxelized(pitch).fill()`` also marks every voxel the surface touches, which at 32³ makes a sphere
about 15% too large; ``method="trimesh"`` keeps that route for comparison. A list of parts is voxelised part
by part and united by voxel OR, so composites need no mesh boolean; every part must be watertight.
Grids are indexed (x, y, z) with z up; mesh coordinates are voxel units, voxel k centred at k + 0.5.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from ganforge.errors import DatasetError

# Columns sit this far off the voxel lattice so that no column passes exactly through a mesh edge or
# vertex (which would count a crossing twice); it moves no voxel centre by a measurable amount.
_COLUMN_OFFSET = np.array([1.2345e-4, 2.7183e-4])


def require_trimesh() -> Any:
    """The trimesh module, or a DatasetError saying how to install it (it is an optional extra)."""
    try:
        import trimesh
    except ImportError as e:
        raise DatasetError(
            "Voxelising meshes (data=voxel_shapes) needs trimesh, which is not installed. Install the extra: "
            "pip install -e '.[voxels]' (trimesh>=4,<5; scipy is already a dependency)."
        ) from e
    return trimesh


# --- voxelisation --------------------------------------------------------------------------------------


def check_watertight(mesh: Any, what: str = "the mesh") -> None:
    """Raise DatasetError unless ``mesh`` is a closed, consistently wound surface."""
    if mesh.is_watertight and mesh.is_winding_consistent:
        return
    open_edges = len(require_trimesh().grouping.group_rows(mesh.edges_sorted, require_count=1))
    raise DatasetError(
        f"Cannot voxelise {what}: it is not watertight ({open_edges} edges bound only one face; winding "
        f"consistent: {mesh.is_winding_consistent}), so its inside is undefined and a filled voxel grid of "
        "it would be wrong (the fill leaks through the holes). Repair it first (e.g. trimesh's "
        "mesh.fill_holes() and trimesh.repair.fix_winding(mesh), or rebuild it from closed primitives); a "
        "composite object can be given as a list of watertight parts, which are voxelised separately and "
        "united by voxel OR."
    )


def _inside_centres(vertices: np.ndarray, faces: np.ndarray, resolution: int) -> np.ndarray:
    """bool [R, R, R]: voxel centres inside the closed mesh (non-zero winding along +z)."""
    r = resolution
    tri = vertices[faces]  # [F, 3 corners, 3]
    xy = tri[..., :2] - 0.5 - _COLUMN_OFFSET  # column (i, j) at integer (i, j)
    a, b, c = xy[:, 0], xy[:, 1], xy[:, 2]
    area = (b - a)[:, 0] * (c - a)[:, 1] - (b - a)[:, 1] * (c - a)[:, 0]  # > 0: outward normal points up
    lo = np.ceil(xy.min(1)).clip(0, r).astype(np.int64)
    hi = np.floor(xy.max(1)).clip(-1, r - 1).astype(np.int64)
    n = (hi - lo + 1).clip(0)
    count = np.where(np.abs(area) > 1e-12, n[:, 0] * n[:, 1], 0)  # vertical faces cross no column
    f = np.repeat(np.arange(len(faces)), count)  # one row per (triangle, column in its bounding box)
    local = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    i, j = lo[f, 0] + local // n[f, 1], lo[f, 1] + local % n[f, 1]
    p = np.stack([i, j], 1).astype(np.float64)

    def cross(u: np.ndarray, v: np.ndarray) -> np.ndarray:
        return u[:, 0] * v[:, 1] - u[:, 1] * v[:, 0]

    la, lb = cross(b[f] - p, c[f] - p) / area[f], cross(c[f] - p, a[f] - p) / area[f]
    lc = 1.0 - la - lb
    hit = (la >= 0) & (lb >= 0) & (lc >= 0)
    z = la * tri[f, 0, 2] + lb * tri[f, 1, 2] + lc * tri[f, 2, 2]
    # The crossing counts for voxels below it: centre k + 0.5 < z, i.e. k < ceil(z - 0.5).
    below = np.ceil(z - 0.5).clip(0, r).astype(np.int64)
    delta = np.zeros((r, r, r + 1), np.int32)
    np.add.at(delta, (i[hit], j[hit], below[hit]), np.sign(area[f][hit]).astype(np.int32))
    winding = np.cumsum(delta[..., ::-1], axis=-1)[..., ::-1][..., 1:]
    return winding != 0


def _trimesh_filled(mesh: Any, resolution: int) -> np.ndarray:
    shifted = mesh.copy().apply_translation((-0.5, -0.5, -0.5))  # trimesh centres voxels on k * pitch
    points = np.round(shifted.voxelized(pitch=1.0).fill().points).astype(np.int64)
    points = points[((points >= 0) & (points < resolution)).all(1)]
    grid = np.zeros((resolution,) * 3, bool)
    grid[tuple(points.T)] = True
    return grid


def voxelize(
    meshes: Any, resolution: int = 32, method: str = "centres", what: str = "the mesh"
) -> np.ndarray:
    """uint8 [R, R, R] (x, y, z; z up) occupancy of a mesh or a list of parts already in grid coordinates
    (see :func:`ganforge.data.voxel_shapes.place`): each part must be watertight and occupy a voxel; the
    parts are OR-ed. ``method``: ``centres`` (a voxel whose centre is inside) or ``trimesh``
    (``voxelized().fill()``: also every voxel the surface touches)."""
    parts = list(meshes) if isinstance(meshes, (list, tuple)) else [meshes]
    if method not in ("centres", "trimesh"):
        raise DatasetError(f"Unknown voxelisation method {method!r}; use 'centres' or 'trimesh'.")
    grid = np.zeros((resolution,) * 3, bool)
    for k, part in enumerate(parts):
        name = what if len(parts) == 1 else f"part {k} of {what}"
        check_watertight(part, name)
        occupied = (
            _inside_centres(np.asarray(part.vertices, np.float64), np.asarray(part.faces), resolution)
            if method == "centres"
            else _trimesh_filled(part, resolution)
        )
        if not occupied.any():
            raise DatasetError(
                f"Voxelising {name} at {resolution}³ gave an empty grid: it is thinner than a voxel or lies "
                "outside [0, resolution]³. Scale it into the grid first (ganforge.data.voxel_shapes.place) "
                "or use a finer resolution."
            )
        grid |= occupied
    return grid.astype(np.uint8)


def check_grid(grid: np.ndarray | torch.Tensor) -> np.ndarray:
    """The grid as bool [R, R, R] (a leading [1] channel allowed); DatasetError if not cubic or empty."""
    array = np.asarray(grid)
    if array.ndim == 4 and array.shape[0] == 1:
        array = array[0]
    if array.ndim != 3 or len(set(array.shape)) != 1:
        raise DatasetError(
            f"A voxel grid must be [R, R, R] (or [1, R, R, R]); got shape {list(array.shape)}."
        )
    if not array.any():
        raise DatasetError(
            f"The voxel grid ({array.shape[0]}³) is empty: there is no object to render or use. A generator "
            "that outputs only empty grids has collapsed; a threshold above every occupancy (e.g. > 0.5 on "
            "sigmoid outputs that never exceed it) gives the same."
        )
    return array > 0


# --- 2-D views -----------------------------------------------------------------------------------------


def render_view(
    grid: np.ndarray | torch.Tensor, size: int = 64, azimuth: float = 45.0, elevation: float = 30.0,
    kind: str = "depth",
) -> np.ndarray:  # fmt: skip
    """float32 [size, size] orthographic view of a grid from a camera at (azimuth, elevation) degrees:
    ``depth`` is 1 at the near point of the sphere around the cylinder inscribed in the grid (where every
    object of this set lies, at any yaw) falling to 0.1 at its far one, 0 background; ``silhouette`` is 1
    on the object. That sphere fills the image, so views of different objects share one scale; voxels
    outside it (in the grid's corners) may fall outside the image and are dropped."""
    occupied = check_grid(grid)
    if kind not in ("depth", "silhouette"):
        raise DatasetError(f"Unknown view kind {kind!r}; use 'depth' or 'silhouette'.")
    r = occupied.shape[0]
    padded = np.pad(occupied, 1)
    inner = padded[1:-1, 1:-1, 1:-1]
    hidden = inner.copy()  # interior voxels are never seen: splat only the surface ones
    for axis in range(3):
        for shift in (-1, 1):
            hidden &= np.roll(padded, shift, axis)[1:-1, 1:-1, 1:-1]
    centres = np.argwhere(occupied & ~hidden) + 0.5 - r / 2
    rho = r / math.sqrt(2)
    pixel = 2 * rho / size
    k = max(1, math.ceil(2 / pixel))  # sub-points per voxel edge: spacing < half a pixel, no holes
    sub = (np.arange(k) + 0.5) / k - 0.5
    offsets = np.stack(np.meshgrid(sub, sub, sub, indexing="ij"), -1).reshape(-1, 3)
    points = (centres[:, None] + offsets[None]).reshape(-1, 3)
    az, el = math.radians(azimuth), math.radians(elevation)
    eye = np.array([math.cos(el) * math.cos(az), math.cos(el) * math.sin(az), math.sin(el)])
    right = np.cross(-eye, [0.0, 0.0, 1.0])
    right /= np.linalg.norm(right)
    up = np.cross(right, -eye)
    col = np.floor((points @ right + rho) / pixel).astype(np.int64)
    row = np.floor((rho - points @ up) / pixel).astype(np.int64)
    keep = (col >= 0) & (col < size) & (row >= 0) & (row < size)
    distance = np.clip(rho - points @ eye, 0, 2 * rho)  # 0 at the sphere's near point, 2 rho at its far one
    nearest = np.full(size * size, np.inf)
    np.minimum.at(nearest, row[keep] * size + col[keep], distance[keep])
    seen = np.isfinite(nearest)
    image = np.zeros(size * size, np.float32)
    image[seen] = 1.0 if kind == "silhouette" else 1.0 - 0.9 * nearest[seen] / (2 * rho)
    return image.reshape(size, size)

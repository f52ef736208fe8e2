"""3D-GAN's procedural voxel set (issue 16): solid voxelisation, classes, determinism, splits, refusals."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

trimesh = pytest.importorskip(
    "trimesh", reason="the voxels extra (pip install -e '.[voxels]') is not installed"
)

from ganforge.data import voxel_shapes as vs  # noqa: E402
from ganforge.data import voxelize as vx  # noqa: E402
from ganforge.errors import DatasetError  # noqa: E402

R = 32


def _sphere(radius: float, centre=(16.0, 16.0, 16.0)):
    mesh = trimesh.creation.icosphere(subdivisions=4, radius=radius)
    return mesh.apply_translation(centre)


@pytest.mark.parametrize("radius", [8.0, 13.0])
def test_sphere_occupancy_is_its_volume(radius):
    grid = vx.voxelize(_sphere(radius, (16.1, 15.8, 16.3)), R)
    assert grid.dtype == np.uint8 and grid.shape == (R, R, R)
    assert int(grid.sum()) / (4 / 3 * math.pi * radius**3) == pytest.approx(1.0, abs=0.03)
    # solid, not a shell: the centre and a point halfway out are filled
    assert grid[16, 16, 16] and grid[16, 16, 16 + int(radius / 2)]


def test_trimesh_fill_route_is_conservative():
    """trimesh's voxelized().fill() also keeps every voxel the surface touches: a superset, ~15% larger."""
    sphere = _sphere(12.0)
    centres, touched = vx.voxelize(sphere, R), vx.voxelize(sphere, R, method="trimesh")
    assert not (centres & ~touched).any()
    assert touched.sum() > 1.08 * centres.sum()


def test_box_occupancy_equals_its_volume():
    box = trimesh.creation.box(bounds=[[11, 12, 13], [21, 20, 19]])  # faces on voxel boundaries
    assert vx.voxelize(box, R).sum() == 480
    turned = trimesh.creation.box(extents=[10, 8, 6])
    turned.apply_transform(trimesh.transformations.rotation_matrix(0.5, [0, 0, 1]))
    turned.apply_translation((16.3, 15.8, 16.1))
    assert int(vx.voxelize(turned, R).sum()) == pytest.approx(480, rel=0.03)


def test_classes_are_nonempty_fit_the_margin_and_differ():
    spec = vs.make_spec(per_class=2, view_size=0)
    grids = {name: vs.make_object(name, 0, spec) for name in vs.CLASSES}
    assert len(vs.CLASSES) >= 8
    for name, grid in grids.items():
        filled = np.argwhere(grid)
        assert len(filled) > 100, name
        assert filled.min() >= spec.margin and filled.max() < R - spec.margin, name
    # composites are one connected solid (the parts touch), and no two classes share a grid
    from scipy import ndimage

    for name in ("table", "chair", "lamp", "bench"):
        assert ndimage.label(grids[name])[1] == 1, name
    digests = {name: grid.tobytes() for name, grid in grids.items()}
    assert len(set(digests.values())) == len(digests)

    def layer_contrast(grid):  # largest over median filled z-layer: 1 for a prism, large for legs + top
        layers = grid.sum((0, 1))
        return layers.max() / np.median(layers[layers > 0])

    assert layer_contrast(grids["box"]) < 1.1 and layer_contrast(grids["cylinder"]) < 1.1
    assert layer_contrast(grids["table"]) > 3 and layer_contrast(grids["bench"]) > 3


def test_set_is_deterministic_split_per_class_and_cached(tmp_path):
    settings = dict(classes=("box", "sphere", "table", "lamp"), per_class=5, view_size=32)
    spec = vs.make_spec(**settings)
    fields, manifest = vs.generate_set(spec)
    again = vs.generate_set(vs.make_spec(**settings))[1]
    assert again["sha256"] == manifest["sha256"]
    assert vs.generate_set(vs.make_spec(**settings, seed=1))[1]["sha256"] != manifest["sha256"]
    for name in settings["classes"]:
        split = vs.split_indices(name, spec)
        assert not set(split["train"]) & set(split["test"])
        assert len(split["train"]) == 4 and len(split["test"]) == 1
    for split in ("train", "test"):
        assert set(fields[split]["label"].tolist()) == {0, 1, 2, 3}
        assert fields[split]["voxels"].shape[1:] == (1, R, R, R)
        assert fields[split]["view"].shape[1:] == (1, 32, 32)
    train, test = (fields[s]["voxels"].flatten(1).numpy() for s in ("train", "test"))
    assert not {row.tobytes() for row in train} & {row.tobytes() for row in test}

    loaded = vs.voxel_shapes(tmp_path, "test", **settings)
    assert all(np.array_equal(loaded[k], fields["test"][k]) for k in fields["test"])
    folder = tmp_path / vs.CACHE
    assert json.loads((folder / f"{spec.key()}.json").read_text())["sha256"] == manifest["sha256"]
    (folder / f"{spec.key()}-test.pt").write_bytes(b"garbage")
    with pytest.raises(DatasetError, match="does not match the SHA-256"):
        vs.voxel_shapes(tmp_path, "test", **settings)


def test_non_watertight_mesh_is_refused():
    open_box = trimesh.creation.box(extents=[10, 10, 10]).apply_translation((16, 16, 16))
    open_box.update_faces(np.arange(len(open_box.faces)) != 0)  # drop one triangle: a hole
    with pytest.raises(DatasetError, match="not watertight") as info:
        vx.voxelize(open_box, R, what="the open box")
    message = str(info.value)
    assert "the open box" in message and "fill_holes" in message and "watertight parts" in message
    with pytest.raises(DatasetError, match="part 1 of the pair: it is not watertight"):
        vx.voxelize([_sphere(4.0), open_box], R, what="the pair")


def test_empty_grid_is_refused():
    with pytest.raises(DatasetError, match="empty grid"):
        vx.voxelize(_sphere(0.3, (16.0, 16.0, 16.0)), R)  # between voxel centres
    with pytest.raises(DatasetError, match="is empty"):
        vx.check_grid(np.zeros((R, R, R), np.uint8))
    with pytest.raises(DatasetError, match="is empty"):
        vx.render_view(np.zeros((1, R, R, R), np.uint8))
    with pytest.raises(DatasetError, match=r"\[R, R, R\]"):
        vx.check_grid(np.ones((R, R, 16), np.uint8))


def test_views_show_the_object_from_a_fixed_camera():
    grid = vx.voxelize(_sphere(10.0), R)
    depth = vx.render_view(grid, 64)
    silhouette = vx.render_view(grid, 64, kind="silhouette")
    assert depth.shape == (64, 64) and depth.dtype == np.float32
    assert np.array_equal(depth > 0, silhouette > 0)
    # voxel centres within 10 of the centre fill a ball of radius ~10.5, seen in a view 2 * 32 / sqrt(2)
    # voxels wide: a disc of radius ~14.8 pixels
    area = (silhouette > 0).sum()
    assert area == pytest.approx(math.pi * (10.5 * 64 / (2 * R / math.sqrt(2))) ** 2, rel=0.05)
    assert depth[32, 32] > depth[silhouette > 0].min()  # the middle is nearer than the rim
    tall = np.zeros((R, R, R), np.uint8)
    tall[14:18, 14:18, 4:28] = 1  # a vertical bar: taller than wide in the image
    rows, cols = np.nonzero(vx.render_view(tall, 64, elevation=0.0))
    assert np.ptp(rows) > 3 * np.ptp(cols)


def test_bad_settings_are_refused():
    with pytest.raises(DatasetError, match="resolution"):
        vs.make_spec(resolution=48)
    with pytest.raises(DatasetError, match="classes"):
        vs.make_spec(classes=("box", "teapot"))
    with pytest.raises(DatasetError, match="per_class"):
        vs.make_spec(per_class=1)

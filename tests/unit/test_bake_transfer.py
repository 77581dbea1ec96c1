"""lifecast.bake.transfer: albedo baked from a source surface into a target's UV tiles."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from lifecast.bake import AlbedoTile, sample_bilinear, transfer_albedo, write_png
from lifecast.bake.sampling import interpolate_corners
from lifecast.errors import InputError
from lifecast.mesh import TriMesh
from lifecast.uv import udim_layout, unwrap
from tests.conftest import grid_plane, icosphere


def colour_of(points: np.ndarray) -> np.ndarray:
    """A smooth colour field on the unit sphere, in [0, 1]."""
    p = points / np.linalg.norm(points, axis=1, keepdims=True)
    return np.clip(0.5 + 0.4 * p, 0.0, 1.0).astype(np.float32)


@pytest.fixture(scope="module")
def coloured_sphere() -> TriMesh:
    sphere = icosphere(4)
    return sphere.with_(vertex_colors=colour_of(sphere.vertices))


@pytest.fixture(scope="module")
def coarse_target() -> TriMesh:
    return unwrap(icosphere(2), texture_size=256)


def texel_points(target: TriMesh, tile: AlbedoTile) -> np.ndarray:
    """3D points of the covered texels of a tile, through the same rasterizer the bake uses."""
    from lifecast.bake import rasterize_uv
    from lifecast.uv.udim import face_udims, tile_origin

    assert target.uvs is not None and target.face_uvs is not None
    faces = np.flatnonzero(face_udims(target.uvs, target.face_uvs) == tile.udim)
    corners = target.uvs[target.face_uvs[faces]] - np.array(tile_origin(tile.udim), np.float32)
    face, bary = rasterize_uv(corners, tile.image.shape[0])
    covered = face >= 0
    np.testing.assert_array_equal(covered, tile.coverage)
    return interpolate_corners(target.vertices, target.faces, faces[face[covered]], bary[covered])


def test_vertex_colours_transfer_onto_a_coarser_sphere(coloured_sphere: TriMesh, coarse_target: TriMesh) -> None:
    tiles = transfer_albedo(coloured_sphere, coarse_target, size=256)
    assert list(tiles) == [1001]
    tile = tiles[1001]
    assert tile.image.shape == (256, 256, 3) and tile.image.dtype == np.uint8
    assert tile.coverage.shape == (256, 256) and tile.coverage.any()
    expected = colour_of(texel_points(coarse_target, tile)) * 255.0
    error = np.abs(tile.image[tile.coverage].astype(np.float32) - expected)
    assert error.mean() < 0.5  # measured 0.25 (8-bit levels)
    assert error.max() < 1.2  # measured 0.60


def test_padding_fills_the_whole_tile(coloured_sphere: TriMesh, coarse_target: TriMesh) -> None:
    tile = transfer_albedo(coloured_sphere, coarse_target, size=128)[1001]
    assert not tile.coverage.all()
    # Background texels take chart colours (the field never goes below 0.1 * 255 in any channel).
    assert tile.image[~tile.coverage].min() >= 20


def test_texture_transfer_through_source_uvs() -> None:
    plane = grid_plane(9)
    h = w = 64
    yy, xx = np.mgrid[0:h, 0:w]
    texture = np.stack([xx * 4, yy * 4, np.full_like(xx, 128)], axis=-1).astype(np.uint8)
    source = plane.with_(uvs=plane.vertices[:, :2].copy(), face_uvs=plane.faces, texture=texture)
    target = unwrap(grid_plane(5), texture_size=128)
    tile = transfer_albedo(source, target, size=128)[1001]
    points = texel_points(target, tile)
    expected = sample_bilinear(texture, points[:, :2])
    assert np.abs(tile.image[tile.coverage].astype(np.float32) - expected).max() <= 1.0


def test_each_udim_tile_is_baked(coloured_sphere: TriMesh, coarse_target: TriMesh) -> None:
    target = udim_layout(coarse_target, 2, texture_size=64)
    tiles = transfer_albedo(coloured_sphere, target, size=64)
    assert sorted(tiles) == [1001, 1002]
    for udim, tile in tiles.items():
        assert tile.udim == udim
        expected = colour_of(texel_points(target, tile)) * 255.0
        assert np.abs(tile.image[tile.coverage].astype(np.float32) - expected).mean() < 0.5  # measured 0.25


def test_needs_source_colour_and_target_uvs(coloured_sphere: TriMesh, coarse_target: TriMesh) -> None:
    with pytest.raises(InputError):
        transfer_albedo(icosphere(2), coarse_target, size=32)
    with pytest.raises(InputError):
        transfer_albedo(coloured_sphere, icosphere(2), size=32)


def test_sample_bilinear_interpolates_between_texel_centres() -> None:
    texture = np.array([[[0], [100]], [[200], [255]]], np.uint8)  # row 0 is v = 1
    uv = np.array([[0.25, 0.75], [0.75, 0.25], [0.5, 0.5], [-1.0, 2.0]])
    np.testing.assert_allclose(sample_bilinear(texture, uv)[:, 0], [0.0, 255.0, 138.75, 0.0])


@pytest.mark.parametrize(
    "image", [np.arange(48, dtype=np.uint8).reshape(4, 4, 3), np.arange(16, dtype=np.uint16).reshape(4, 4) * 4000]
)
def test_write_png_round_trips_atomically(tmp_path: Path, image: np.ndarray) -> None:
    path = tmp_path / "tiles" / "albedo.1001.png"
    write_png(path, image)
    back = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if back.ndim == 3:
        back = cv2.cvtColor(back, cv2.COLOR_BGR2RGB)
    np.testing.assert_array_equal(back, image)
    assert back.dtype == image.dtype
    assert [p.name for p in path.parent.iterdir()] == ["albedo.1001.png"]


def test_write_png_rejects_float_images(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        write_png(tmp_path / "x.png", np.zeros((2, 2), np.float32))  # type: ignore[arg-type]
    assert not list(tmp_path.iterdir())

"""lifecast.uv.udim and texel density: charts spread over UDIM tiles, each wholly in one tile."""

from __future__ import annotations

import numpy as np
import pytest

from lifecast.errors import InputError
from lifecast.geometry.measure import face_areas
from lifecast.mesh import TriMesh
from lifecast.uv import face_udims, texel_density, udim_layout, udim_tiles, unwrap, uv_charts
from lifecast.uv.udim import balance_groups, tile_origin
from tests.conftest import grid_plane, icosphere


@pytest.fixture(scope="module")
def unwrapped() -> TriMesh:
    sphere = icosphere(3)
    v = sphere.vertices * np.array([1.0, 1.8, 0.7], np.float32)
    return unwrap(TriMesh(v.astype(np.float32), sphere.faces), texture_size=512)


def test_udim_numbers_of_uvs() -> None:
    uvs = np.array([[0.5, 0.5], [1.5, 0.5], [0.5, 1.5], [9.5, 2.5]], np.float32)
    assert udim_tiles(uvs) == [1001, 1002, 1011, 1030]
    # A coordinate on a tile border belongs to the tile below / left of it.
    assert udim_tiles(np.array([[0.0, 0.0], [1.0, 1.0], [0.5, 1.0]], np.float32)) == [1001]
    assert tile_origin(1001) == (0, 0) and tile_origin(1012) == (1, 1)


def test_face_udims_use_centroids() -> None:
    uvs = np.array([[1.0, 0.0], [2.0, 0.0], [1.0, 1.0], [0.0, 0.0], [1.0, 0.0], [0.0, 1.0]], np.float32)
    face_uvs = np.array([[0, 1, 2], [3, 4, 5]], np.int32)
    np.testing.assert_array_equal(face_udims(uvs, face_uvs), [1002, 1001])
    assert udim_tiles(uvs, face_uvs) == [1001, 1002]


def test_layout_puts_every_chart_in_one_tile(unwrapped: TriMesh) -> None:
    out = udim_layout(unwrapped, 4, texture_size=512)
    assert out.uvs is not None and out.face_uvs is not None and unwrapped.uvs is not None
    np.testing.assert_array_equal(out.vertices, unwrapped.vertices)
    np.testing.assert_array_equal(out.faces, unwrapped.faces)
    assert udim_tiles(out.uvs, out.face_uvs) == [1001, 1002, 1003, 1004]
    tile = face_udims(out.uvs, out.face_uvs)
    chart = uv_charts(out.face_uvs, len(out.uvs))
    for c in np.unique(chart):
        assert len(np.unique(tile[chart == c])) == 1
    # Each corner lies in its face's tile.
    corners = out.uvs[out.face_uvs]
    origin = np.array([tile_origin(int(t)) for t in tile], np.float32)[:, None, :]
    local = corners - origin
    assert local.min() >= 0.0 and local.max() <= 1.0
    # The charts are those of the input: same faces grouped together.
    before = uv_charts(unwrapped.face_uvs, len(unwrapped.uvs))  # type: ignore[arg-type]
    assert len(np.unique(before)) == len(np.unique(chart))
    assert len(np.unique(before * 1000 + chart)) == len(np.unique(chart))


def test_layout_balances_surface_area(unwrapped: TriMesh) -> None:
    out = udim_layout(unwrapped, 2, texture_size=512)
    assert out.uvs is not None and out.face_uvs is not None
    area = face_areas(out.vertices, out.faces)
    per_tile = [area[face_udims(out.uvs, out.face_uvs) == t].sum() for t in (1001, 1002)]
    assert max(per_tile) / min(per_tile) < 1.03  # measured 1.013


def test_one_tile_is_a_no_op(unwrapped: TriMesh) -> None:
    assert udim_layout(unwrapped, 1) is unwrapped


def test_layout_needs_uvs_and_a_sane_tile_count(unwrapped: TriMesh) -> None:
    with pytest.raises(InputError):
        udim_layout(icosphere(1), 2)
    with pytest.raises(InputError):
        udim_layout(unwrapped, 0)
    with pytest.raises(InputError):
        udim_layout(unwrapped, 101)


def test_balance_groups_is_greedy_and_even() -> None:
    groups = balance_groups(np.array([5.0, 4.0, 3.0, 3.0, 2.0, 1.0]), 3)
    totals = np.bincount(groups, weights=[5.0, 4.0, 3.0, 3.0, 2.0, 1.0])
    np.testing.assert_allclose(sorted(totals), [6.0, 6.0, 6.0])
    assert balance_groups(np.array([1.0, 2.0]), 5).max() == 1  # no more groups than items


def test_texel_density_of_a_unit_square_mapped_to_the_tile() -> None:
    plane = grid_plane(5, size=2.0)  # 2 x 2 units
    uvs = plane.vertices[:, :2] / 2.0
    stats = texel_density(plane.with_(uvs=uvs.astype(np.float32), face_uvs=plane.faces), 1024)
    for key in ("mean", "min", "p5", "p50", "p95", "max"):
        assert stats[key] == pytest.approx(512.0, rel=1e-4)


def test_texel_density_needs_uvs() -> None:
    with pytest.raises(InputError):
        texel_density(icosphere(1), 1024)

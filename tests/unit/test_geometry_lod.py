"""build_lods: counts, boundaries, colours and UVs."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from numpy.typing import NDArray

from lifecast.geometry import build_lods
from lifecast.geometry.topology import edge_table
from lifecast.mesh import TriMesh
from tests.conftest import grid_plane, icosphere


def _boundary_vertices(mesh: TriMesh) -> NDArray[np.float32]:
    table = edge_table(mesh.faces)
    b = np.unique(table.edges[table.counts == 1])
    return np.unique(np.round(mesh.vertices[b], 5), axis=0)


def _wavy_grid(n: int) -> TriMesh:
    g = grid_plane(n)
    v = g.vertices.copy()
    v[:, 2] = 0.1 * np.sin(6 * v[:, 0]) * np.cos(5 * v[:, 1])
    colors = np.stack([v[:, 0], v[:, 1], 0.5 + 5 * v[:, 2]], axis=1).clip(0, 1).astype(np.float32)
    return TriMesh(v, g.faces, vertex_colors=colors)


def test_face_counts_hit_targets_on_a_closed_mesh() -> None:
    sphere = icosphere(5)  # 20,480 triangles
    lods = build_lods(sphere, (10_000, 2_000, 50_000))
    assert len(lods[2].faces) == len(sphere.faces)  # not upsampled
    assert lods[2] is sphere
    for lod, target in zip(lods[:2], (10_000, 2_000), strict=True):
        assert abs(len(lod.faces) - target) <= 0.01 * target  # measured exactly on target
        assert lod.faces.dtype == np.int32 and lod.vertices.dtype == np.float32
        assert np.abs(np.linalg.norm(lod.vertices, axis=1) - 1.0).max() < 0.05


def test_open_grid_boundary_is_preserved() -> None:
    grid = _wavy_grid(60)  # 6,962 triangles, 236 boundary edges
    before = _boundary_vertices(grid)
    (lod,) = build_lods(grid, (1_500,))
    assert len(lod.faces) <= 1_500 * 1.05
    np.testing.assert_array_equal(_boundary_vertices(lod), before)


def test_colours_are_carried() -> None:
    grid = _wavy_grid(60)
    (lod,) = build_lods(grid, (1_500,))
    assert lod.vertex_colors is not None and lod.vertex_colors.shape == lod.vertices.shape
    v = lod.vertices
    truth = np.stack([v[:, 0], v[:, 1], 0.5 + 5 * v[:, 2]], axis=1).clip(0, 1)
    assert np.abs(lod.vertex_colors - truth).mean() < 0.02


def test_uv_seams_are_kept() -> None:
    grid = _wavy_grid(40)
    v = grid.vertices
    # Two UV charts split down x = 0.5 (the seam runs through the middle column of vertices).
    chart = (v[grid.faces].mean(axis=1)[:, 0] > 0.5).astype(np.int64)
    corner_uv_key = grid.faces * 2 + chart[:, None]
    keys, face_uvs = np.unique(corner_uv_key, return_inverse=True)
    uv_vertex, uv_chart = keys // 2, keys % 2
    uvs = np.stack([v[uv_vertex, 0] * 0.5 + 0.5 * uv_chart, v[uv_vertex, 1]], axis=1).astype(np.float32)
    mesh = grid.with_(uvs=uvs, face_uvs=face_uvs.reshape(-1, 3).astype(np.int32))
    (lod,) = build_lods(mesh, (800,))
    assert lod.uvs is not None and lod.face_uvs is not None
    assert lod.face_uvs.shape == lod.faces.shape
    assert len(lod.faces) < 0.5 * len(mesh.faces)
    # Positions are welded across the seam: the surface has no extra boundary.
    assert int((edge_table(lod.faces).counts == 1).sum()) <= int((edge_table(mesh.faces).counts == 1).sum())
    # Each corner's UV is the chart's mapping of its position.
    lod_chart = (lod.vertices[lod.faces].mean(axis=1)[:, 0] > 0.5).astype(np.float64)
    expected_u = lod.vertices[lod.faces][:, :, 0] * 0.5 + 0.5 * lod_chart[:, None]
    got_u = lod.uvs[lod.face_uvs][:, :, 0]
    assert np.abs(got_u - expected_u).mean() < 0.01


def test_bad_targets_raise() -> None:
    with pytest.raises(ValueError):
        build_lods(icosphere(1), (0,))


def test_a_child_process_decimates_exactly_as_in_process(monkeypatch: pytest.MonkeyPatch) -> None:
    """Large meshes go to a forked child (fast-simplification's buffers die with it): same bits as in-process."""
    from lifecast.geometry import decimate

    if sys.platform != "linux":
        pytest.skip("decimation runs in a forked child on Linux only")
    sphere = icosphere(5)
    here = decimate.decimate_arrays(sphere.vertices, sphere.faces, 3_000)
    monkeypatch.setattr(decimate, "CHILD_PROCESS_FACES", 1)
    calls: list[int] = []
    real = decimate._in_child_process
    monkeypatch.setattr(decimate, "_in_child_process", lambda fn, *a: calls.append(1) or real(fn, *a))
    there = decimate.decimate_arrays(sphere.vertices, sphere.faces, 3_000)
    assert calls == [1, 1]  # the collapse, then its replay
    np.testing.assert_array_equal(here.vertices, there.vertices)
    np.testing.assert_array_equal(here.faces, there.faces)
    np.testing.assert_array_equal(here.mapping, there.mapping)


def test_a_decimation_child_that_dies_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import os

    from lifecast.errors import LifecastError
    from lifecast.geometry import decimate

    if sys.platform != "linux":
        pytest.skip("decimation runs in a forked child on Linux only")

    def killed(*_: object) -> None:
        os._exit(137)  # what the kernel's OOM killer leaves: no result, no exception

    with pytest.raises(LifecastError, match="killed for memory"):
        decimate._in_child_process(killed, np.zeros((3, 3)), np.zeros((1, 3), np.int32))
    with pytest.raises(ValueError, match="bad"):
        decimate._in_child_process(lambda *_: (_ for _ in ()).throw(ValueError("bad")), 1, [1])

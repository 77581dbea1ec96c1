"""Topology helpers on small meshes whose answers are known by construction."""

from __future__ import annotations

import numpy as np

from lifecast.geometry.measure import face_areas
from lifecast.geometry.topology import (
    edge_table,
    face_components,
    non_manifold_edges,
    non_manifold_vertices,
)
from tests.conftest import grid_plane, icosphere


def test_closed_sphere_has_only_manifold_edges() -> None:
    s = icosphere(2)
    table = edge_table(s.faces)
    assert len(table.edges) == len(s.faces) * 3 // 2
    assert np.all(table.counts == 2)
    assert len(non_manifold_vertices(s.faces, len(s.vertices))) == 0


def test_grid_boundary_count() -> None:
    g = grid_plane(5)
    assert int((edge_table(g.faces).counts == 1).sum()) == 4 * 4


def test_fin_is_a_non_manifold_edge() -> None:
    faces = np.array([[0, 1, 2], [1, 0, 3], [0, 1, 4]])
    assert non_manifold_edges(faces).tolist() == [[0, 1]]


def test_two_cones_touching_at_a_tip_make_a_non_manifold_vertex() -> None:
    s = icosphere(1)
    n = len(s.vertices)
    # A second copy of the sphere sharing vertex 0 with the first.
    faces = np.concatenate([s.faces, np.where(s.faces == 0, 0, s.faces + n)])
    assert non_manifold_vertices(faces, 2 * n).tolist() == [0]


def test_components_and_areas() -> None:
    g = grid_plane(3, size=2.0)
    faces = np.concatenate([g.faces, g.faces + len(g.vertices)])
    count, labels = face_components(faces, 2 * len(g.vertices))
    assert count == 2
    assert np.bincount(labels).tolist() == [len(g.faces), len(g.faces)]
    verts = np.concatenate([g.vertices, g.vertices])
    np.testing.assert_allclose(face_areas(verts, faces).sum(), 8.0, rtol=1e-6)

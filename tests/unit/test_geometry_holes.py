"""Hole measurement and filling on meshes with holes of known size."""

from __future__ import annotations

import numpy as np
import pytest

from lifecast.geometry import find_holes, qa_report
from lifecast.geometry.holes import fill_holes
from lifecast.geometry.topology import edge_table
from lifecast.mesh import TriMesh
from tests.conftest import grid_plane, icosphere


def test_open_grid_is_one_hole_with_known_size() -> None:
    g = grid_plane(11, size=2.0)
    holes = find_holes(g.vertices, g.faces)
    assert holes.count == 1 and holes.closed.all()
    assert holes.edges[0] == 40
    assert holes.perimeter[0] == pytest.approx(8.0)
    assert holes.diameter[0] == pytest.approx(2 * np.sqrt(2), rel=1e-6)


def test_two_holes_measured_and_filled_consistently() -> None:
    s = icosphere(3)
    f = s.faces
    # Open two 1-rings at antipodal icosahedron corners (0 and 3 in trimesh's icosahedron).
    ring = np.any(f == 0, axis=1) | np.any(f == 3, axis=1)
    holes = find_holes(s.vertices, f[~ring])
    assert holes.count == 2 and list(holes.edges) == [5, 5]
    result = fill_holes(s.vertices, f[~ring], holes, np.array([True, True]))
    assert len(result.vertices) == len(s.vertices) + 2
    table = edge_table(result.faces)
    assert np.all(table.counts == 2)
    # The fan is oriented with its neighbours: every directed edge appears once.
    d = np.concatenate([result.faces[:, [0, 1]], result.faces[:, [1, 2]], result.faces[:, [2, 0]]])
    assert len(np.unique(d, axis=0)) == len(d)


def test_qa_report_on_a_clean_sphere() -> None:
    s = icosphere(3, radius=10.0)
    r = qa_report(s, "cm")
    assert r["watertight"] and r["holes"]["count"] == 0
    assert r["vertices"] == len(s.vertices) and r["faces"] == len(s.faces)
    assert r["surface_area"] == pytest.approx(4 * np.pi * 100, rel=0.02)
    np.testing.assert_allclose(r["bbox"]["size"], [20, 20, 20], rtol=1e-5)
    assert r["components"]["count"] == 1


def test_qa_counts_unreferenced_and_non_finite() -> None:
    s = icosphere(1)
    v = np.concatenate([s.vertices, [[np.inf, 0, 0], [5, 5, 5]]]).astype(np.float32)
    r = qa_report(TriMesh(v, s.faces), "m")
    assert r["unreferenced_vertices"] == 2
    assert r["non_finite_vertices"] == 1
    assert r["bbox"]["max"] == pytest.approx([5, 5, 5])

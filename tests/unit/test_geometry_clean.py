"""clean_mesh and its steps on an icosphere with injected defects of known sizes."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from lifecast.errors import InputError
from lifecast.geometry import clean_mesh, qa_report
from lifecast.geometry.attributes import keep_faces, keep_vertices
from lifecast.geometry.clean import (
    close_small_holes,
    drop_degenerate_faces,
    drop_duplicate_faces,
    drop_floaters,
    drop_non_finite_vertices,
    drop_unreferenced_vertices,
    merge_duplicate_vertices,
    repair_non_manifold_edges,
)
from lifecast.geometry.qa import MeshMeasures
from lifecast.mesh import TriMesh
from tests.conftest import icosphere


def _with_colors(mesh: TriMesh) -> TriMesh:
    """Colour = a smooth function of position, so any misalignment shows."""
    colors = (0.5 + 0.5 * np.asarray(mesh.vertices)).clip(0, 1).astype(np.float32)
    return mesh.with_(vertex_colors=colors)


def _defective_sphere() -> tuple[TriMesh, dict[str, int]]:
    """A radius-50 mm sphere with one of each defect; returns the mesh and what was injected."""
    s = icosphere(3, radius=50.0)
    v = s.vertices.astype(np.float32)
    f = s.faces.astype(np.int64)
    n = len(v)
    # A hole: remove the 1-ring of vertex 0 (its centre vertex becomes unreferenced).
    ring = np.any(f == 0, axis=1)
    f = f[~ring]
    extra_v = [
        [np.nan, 0.0, 0.0],  # n: non-finite
        (v[1] + v[2]) / 2,  # n+1: on an edge, for a zero-area face
        [300.0, 0.0, 0.0],  # n+2..n+4: a tiny floater triangle
        [300.5, 0.0, 0.0],
        [300.0, 0.5, 0.0],
        v[5] * 1.2,  # n+5: a fin on edge (5, b)
    ]
    b = int(f[np.any(f == 5, axis=1)][0][f[np.any(f == 5, axis=1)][0] != 5][0])
    extra_f = [
        [n, 1, 2],  # uses the NaN vertex
        [1, 2, n + 1],  # zero area
        [3, 3, 4],  # repeated corner
        list(f[10][::-1]),  # duplicate of face 10, other winding
        [n + 2, n + 3, n + 4],  # floater
        [5, b, n + 5],  # fin: edge (5, b) now has three faces
    ]
    mesh = TriMesh(
        np.concatenate([v, np.asarray(extra_v, np.float32)]),
        np.concatenate([f, np.asarray(extra_f)]).astype(np.int32),
    )
    injected = {"ring_faces": int(ring.sum())}
    return _with_colors(mesh), injected


def test_each_step_removes_exactly_its_defect() -> None:
    mesh, _ = _defective_sphere()
    m0 = len(mesh.faces)
    mesh, step = drop_non_finite_vertices(mesh)
    assert (step["removed"], step["faces_removed"]) == (1, 1)
    mesh, step = merge_duplicate_vertices(mesh)
    assert step["merged"] == 0
    mesh, step = drop_degenerate_faces(mesh)
    assert step["removed"] == 2
    mesh, step = drop_duplicate_faces(mesh)
    assert step["removed"] == 1
    mesh, step = drop_floaters(mesh, min_component_fraction=0.01)
    assert (step["removed"], step["faces_removed"]) == (1, 1)
    mesh, step = repair_non_manifold_edges(mesh)
    assert (step["edges"], step["faces_removed"]) == (1, 1)
    assert len(mesh.faces) == m0 - 6


def test_clean_report_counts_and_hole_fill() -> None:
    mesh, injected = _defective_sphere()
    before = qa_report(mesh, "mm")
    assert before["non_finite_vertices"] == 1
    assert before["duplicate_faces"] == 1
    assert before["non_manifold_edges"] == 3 + 1  # the duplicate's three edges and the fin's
    assert before["components"]["count"] == 2

    cleaned, report = clean_mesh(mesh, units="mm")
    json.dumps(report)  # JSON-able
    steps = {s["name"]: s for s in report["steps"]}
    assert steps["non_finite_vertices"]["removed"] == 1
    assert steps["degenerate_faces"]["removed"] == 2
    assert steps["duplicate_faces"]["removed"] == 1
    assert steps["floaters"]["removed"] == 1
    assert steps["non_manifold_edges"]["edges"] == 1
    assert steps["fill_holes"]["filled"] == 1
    assert report["holes_left"] == []
    # The ring hole: 5 edges (vertex 0 is an icosahedron corner), two edge lengths (~2 * 6.6 mm) across.
    hole = report["holes_filled"][0]
    assert hole["edges"] == injected["ring_faces"] == 5
    assert 10.0 < hole["diameter"] < 15.0
    after = report["after"]
    assert after["watertight"]
    assert after["degenerate_faces"] == after["duplicate_faces"] == after["unreferenced_vertices"] == 0
    assert after["components"]["count"] == 1
    assert cleaned.vertex_colors is not None and cleaned.vertex_colors.shape == cleaned.vertices.shape
    # Colours stayed attached to their vertices (all but the new centroid are originals).
    expected = (0.5 + 0.5 * cleaned.vertices[:-1]).clip(0, 1)
    np.testing.assert_allclose(cleaned.vertex_colors[:-1], expected, atol=1e-6)


def test_holes_above_the_limit_are_reported_not_filled() -> None:
    mesh, _ = _defective_sphere()
    _, report = clean_mesh(mesh, units="mm", fill_holes_max_diameter=10.0)
    assert report["steps"][-1]["filled"] == 0
    assert len(report["holes_left"]) == 1 and report["holes_left"][0]["diameter"] > 10.0
    assert report["after"]["boundary_edges"] == report["holes_left"][0]["edges"]
    # The default limit is 15 mm whatever the units: read as centimetres the same hole is 13 cm, too big.
    _, report_cm = clean_mesh(mesh, units="cm")
    assert report_cm["fill_holes_max_diameter"] == pytest.approx(1.5)
    assert report_cm["steps"][-1]["filled"] == 0


def test_merge_duplicate_vertices_welds_seams_and_keeps_uvs() -> None:
    s = icosphere(2)
    n = len(s.vertices)
    # Split every face's first corner onto its own copy, like a UV seam export does.
    m = len(s.faces)
    verts = np.concatenate([s.vertices, s.vertices[s.faces[:, 0]]])
    faces = s.faces.copy()
    faces[:, 0] = n + np.arange(m)
    uvs = np.random.default_rng(0).random((3 * m, 2)).astype(np.float32)
    face_uvs = np.arange(3 * m, dtype=np.int32).reshape(m, 3)
    split = _with_colors(TriMesh(verts, faces.astype(np.int32), uvs=uvs, face_uvs=face_uvs))
    assert qa_report(split, "m")["boundary_edges"] > 0
    welded, step = merge_duplicate_vertices(split)
    assert step["merged"] == m
    assert len(welded.vertices) == n
    assert qa_report(welded, "m")["watertight"]
    assert welded.face_uvs is not None and np.array_equal(welded.face_uvs, face_uvs)
    np.testing.assert_array_equal(welded.vertices[welded.faces], split.vertices[split.faces])


def test_uvs_follow_faces_through_cleaning() -> None:
    mesh, _ = _defective_sphere()
    m = len(mesh.faces)
    uvs = np.random.default_rng(1).random((3 * m, 2)).astype(np.float32)
    face_uvs = np.arange(3 * m, dtype=np.int32).reshape(m, 3)
    # Each corner's UV encodes its face's first position, so alignment is checkable.
    tagged = mesh.with_(uvs=uvs, face_uvs=face_uvs)
    cleaned, _ = clean_mesh(tagged, units="mm")
    assert cleaned.face_uvs is not None and cleaned.uvs is not None
    assert cleaned.face_uvs.shape == cleaned.faces.shape
    assert cleaned.face_uvs.max() < len(cleaned.uvs)
    # Original faces keep their original corner UVs (look them up by corner positions).
    corners = np.round(mesh.vertices[mesh.faces], 4).reshape(len(mesh.faces), -1)
    lookup = {tuple(c): tuple(uvs[fu].ravel()) for c, fu in zip(corners, face_uvs, strict=True)}
    for f, fu in zip(cleaned.faces[:100], cleaned.face_uvs[:100], strict=True):
        assert lookup[tuple(np.round(cleaned.vertices[f], 4).ravel())] == tuple(cleaned.uvs[fu].ravel())


def test_unknown_units_are_an_input_error() -> None:
    with pytest.raises(InputError):
        clean_mesh(icosphere(1), units="inch")


def test_clean_is_idempotent_on_the_defective_sphere() -> None:
    mesh, _ = _defective_sphere()
    once, _ = clean_mesh(mesh, units="mm")
    twice, report = clean_mesh(once, units="mm")
    assert np.array_equal(once.faces, twice.faces)
    np.testing.assert_array_equal(once.vertices, twice.vertices)
    assert all(v == 0 for s in report["steps"] for k, v in s.items() if k not in ("name", "detail", "left"))


@settings(max_examples=25, deadline=None)
@given(
    drop=st.lists(st.integers(0, 319), max_size=12, unique=True),
    dup=st.lists(st.integers(0, 319), max_size=5),
    seed=st.integers(0, 1000),
)
def test_clean_is_idempotent_and_keeps_colours_aligned(drop: list[int], dup: list[int], seed: int) -> None:
    s = icosphere(2, radius=50.0)
    keep = np.ones(len(s.faces), bool)
    keep[drop] = False
    faces = np.concatenate([s.faces[keep], s.faces[dup][:, ::-1]]).astype(np.int32)
    perm = np.random.default_rng(seed).permutation(len(faces))
    mesh = _with_colors(TriMesh(s.vertices, faces[perm]))
    once, _ = clean_mesh(mesh, units="mm")
    twice, _ = clean_mesh(once, units="mm")
    assert np.array_equal(once.faces, twice.faces)
    np.testing.assert_array_equal(once.vertices, twice.vertices)
    assert once.vertex_colors is not None and len(once.vertex_colors) == len(once.vertices)
    original = np.isin(once.vertices, s.vertices).all(axis=1)
    expected = (0.5 + 0.5 * once.vertices[original]).clip(0, 1)
    np.testing.assert_allclose(once.vertex_colors[original], expected, atol=1e-6)


def _clean_step_by_step(mesh: TriMesh) -> tuple[TriMesh, list[dict[str, object]]]:
    """clean_mesh's steps (defaults, no ground plane), each measuring its input afresh."""
    steps = []
    for fn in (
        drop_non_finite_vertices,
        merge_duplicate_vertices,
        drop_degenerate_faces,
        drop_duplicate_faces,
        drop_unreferenced_vertices,
        lambda m: drop_floaters(m, min_component_fraction=0.01),
    ):
        mesh, step = fn(mesh)
        steps.append(step)
    steps.append({"name": "ground_plane", "removed": 0, "detail": "disabled"})
    for fn in (repair_non_manifold_edges, drop_unreferenced_vertices):
        mesh, step = fn(mesh)
        steps.append(step)
    mesh, step, _, _ = close_small_holes(mesh, max_diameter=15.0)
    return mesh, [*steps, step]


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_shared_measures_change_no_result(seed: int) -> None:
    # clean_mesh reuses measurements between steps; measuring every step afresh must agree exactly.
    mesh, _ = _defective_sphere()
    rng = np.random.default_rng(seed)
    mesh = mesh.with_(faces=mesh.faces[rng.permutation(len(mesh.faces))])
    cleaned, report = clean_mesh(mesh, units="mm")
    expected, steps = _clean_step_by_step(mesh)
    for name, a in expected.arrays().items():
        np.testing.assert_array_equal(cleaned.arrays()[name], a)
    assert report["steps"] == steps
    assert report["before"] == qa_report(mesh, "mm")
    assert report["after"] == qa_report(cleaned, "mm")


def test_measures_are_reused_only_for_the_same_arrays() -> None:
    mesh, _ = _defective_sphere()
    measures = MeshMeasures(mesh.vertices, mesh.faces)
    assert measures.for_arrays(mesh.vertices, mesh.faces) is measures
    copy = mesh.with_(faces=mesh.faces.copy())
    assert measures.for_arrays(copy.vertices, copy.faces) is not measures
    # Measures of another mesh are ignored, not trusted.
    other = icosphere(2)
    assert qa_report(other, "m", measures=measures) == qa_report(other, "m")


def test_keeping_everything_returns_the_mesh_itself() -> None:
    mesh = _with_colors(icosphere(1))
    assert keep_faces(mesh, np.ones(len(mesh.faces), bool)) is mesh
    assert keep_vertices(mesh, np.ones(len(mesh.vertices), bool)) is mesh
    wide = mesh.with_(faces=mesh.faces.astype(np.int64))
    assert keep_vertices(wide, np.ones(len(mesh.vertices), bool)).faces.dtype == np.int32


@settings(max_examples=60, deadline=None)
@given(
    drop=st.lists(st.integers(0, 319), max_size=20, unique=True),
    fins=st.lists(st.tuples(st.integers(0, 319), st.integers(0, 2), st.floats(-3, 3)), max_size=12),
    pinch=st.lists(st.tuples(st.integers(0, 161), st.integers(0, 161)), max_size=4),
    seed=st.integers(0, 1000),
)
# Two holes touching at a corner: one fan over both gave the corner's spoke four faces (the fill's own
# non-manifold edge, found by this test; likely what left edges on PCL's five_people.pcd).
@example(drop=[185, 256], fins=[], pinch=[], seed=0)
def test_clean_leaves_no_non_manifold_edge_and_no_new_one_from_filling(
    drop: list[int], fins: list[tuple[int, int, float]], pinch: list[tuple[int, int]], seed: int
) -> None:
    """Fins on any edge (three or more faces on it), holes next to them, vertices welded together (pinches):
    whatever the mix, the cleaned mesh has no non-manifold edge, and the report says so."""
    s = icosphere(2, radius=50.0)
    v = s.vertices.astype(np.float64)
    keep = np.ones(len(s.faces), bool)
    keep[drop] = False
    faces = [s.faces[keep].astype(np.int64)]
    extra = []
    for face, side, lift in fins:  # a fin: a new triangle on an existing edge, sticking out of the surface
        a, b = s.faces[face, side], s.faces[face, (side + 1) % 3]
        extra.append(v[[a, b]].mean(axis=0) * (1.1 + 0.05 * lift))
        faces.append(np.array([[a, b, len(v) + len(extra) - 1]]))
    v = np.concatenate([v, np.array(extra).reshape(-1, 3)])
    f = np.concatenate(faces)
    for i, j in pinch:  # weld two vertices: the faces around them now share edges and corners oddly
        f[f == j] = i
    perm = np.random.default_rng(seed).permutation(len(f))
    mesh = TriMesh(v.astype(np.float32), f[perm].astype(np.int32))
    cleaned, report = clean_mesh(mesh, units="mm", fill_holes_max_diameter=30.0)
    assert qa_report(cleaned, "mm")["non_manifold_edges"] == 0
    assert report["after"]["non_manifold_edges"] == 0

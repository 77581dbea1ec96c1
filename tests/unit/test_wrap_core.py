"""Unit tests of the wrap building blocks on small synthetic meshes."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from lifecast.errors import InputError
from lifecast.mesh import TriMesh
from lifecast.wrap.correspond import ScanSurface
from lifecast.wrap.landmarks import check_scan_landmarks, read_scan_landmarks
from lifecast.wrap.nonrigid import conjugate_gradients
from lifecast.wrap.parts import follow_neighbours
from lifecast.wrap.polygon_obj import read_polygon_obj, write_polygon_obj
from lifecast.wrap.similarity import Similarity, umeyama
from lifecast.wrap.template import load_template, template_from_arrays
from lifecast.wrap.wrap import wrap_scan
from tests.conftest import grid_plane, icosphere

QUAD_OBJ = """v 0 0 0
v 1 0 0
v 1 1 0
v 0 1 0
v 2 0 0
vt 0 0
vt 1 0
vt 1 1
vt 0 1
vt 0.5 0
f 1/1 2/2 3/3 4/4
f 2/2 5/5 3/3
"""


def _random_similarity(seed: int) -> Similarity:
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    if np.linalg.det(q) < 0:
        q[:, 2] *= -1
    return Similarity(q, rng.normal(size=3) * 5, float(rng.uniform(0.1, 10)))


def test_polygon_obj_round_trip_keeps_quads(tmp_path: Path) -> None:
    (tmp_path / "t.obj").write_text(QUAD_OBJ)
    mesh = read_polygon_obj(tmp_path / "t.obj")
    assert mesh.polygon_count == 2 and list(np.diff(mesh.polygon_starts)) == [4, 3]
    faces, face_uvs, polygon_of = mesh.triangles()
    assert faces.tolist() == [[0, 1, 2], [0, 2, 3], [1, 4, 2]] and polygon_of.tolist() == [0, 0, 1]
    assert face_uvs.tolist() == [[0, 1, 2], [0, 2, 3], [1, 4, 2]]
    write_polygon_obj(tmp_path / "o.obj", mesh)
    again = read_polygon_obj(tmp_path / "o.obj")
    np.testing.assert_array_equal(again.corner_vertices, mesh.corner_vertices)
    np.testing.assert_array_equal(again.corner_uvs, mesh.corner_uvs)
    np.testing.assert_allclose(again.vertices, mesh.vertices)


def test_umeyama_recovers_a_similarity() -> None:
    truth = _random_similarity(1)
    src = np.random.default_rng(2).normal(size=(20, 3))
    got = umeyama(src, truth.apply(src))
    np.testing.assert_allclose(got.rotation, truth.rotation, atol=1e-9)
    np.testing.assert_allclose(got.translation, truth.translation, atol=1e-9)
    assert got.scale == pytest.approx(truth.scale)
    np.testing.assert_allclose(got.inverse().apply(truth.apply(src)), src, atol=1e-9)


def test_template_markup_errors(tmp_path: Path) -> None:
    (tmp_path / "t.obj").write_text(QUAD_OBJ)
    (tmp_path / "bad.json").write_text(json.dumps({"nose_tip": 99}))
    with pytest.raises(InputError, match="nose_tip"):
        load_template(tmp_path / "t.obj", tmp_path / "bad.json")
    (tmp_path / "nouv.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
    with pytest.raises(InputError, match="no UVs"):
        load_template(tmp_path / "nouv.obj")
    (tmp_path / "ok.json").write_text(json.dumps({"landmarks": {"a": 0}, "exclude": [[3, 4]]}))
    t = load_template(tmp_path / "t.obj", tmp_path / "ok.json")
    assert t.exclude.tolist() == [False, False, False, True, True]
    assert t.fit_mask.tolist() == [True, True, True, False, False]


def test_boundary_matches_are_flagged() -> None:
    plane = grid_plane(11)
    surface = ScanSurface(plane.vertices, plane.faces)
    m = surface.closest(np.array([[0.5, 0.5, 0.2], [1.5, 0.5, 0.0]]))
    assert m.on_boundary.tolist() == [False, True]
    np.testing.assert_allclose(m.points, [[0.5, 0.5, 0.0], [1.0, 0.5, 0.0]], atol=1e-6)
    assert m.distances[0] == pytest.approx(0.2)


def test_moved_surface_answers_like_a_new_one() -> None:
    """``ScanSurface.moved`` reuses the triangles' boundary edges; its answers are those of a surface built anew."""
    plane = grid_plane(11)
    bent = plane.vertices.astype(np.float64).copy()
    bent[:, 2] = 0.3 * np.sin(3.0 * bent[:, 0]) * bent[:, 1]
    queries = np.random.default_rng(0).uniform([-0.2, -0.2, -0.5], [1.2, 1.2, 0.5], (200, 3))
    moved = ScanSurface(plane.vertices, plane.faces, normal_rings=1).moved(bent).closest(queries)
    fresh = ScanSurface(bent, plane.faces, normal_rings=1).closest(queries)
    for field in ("points", "normals", "distances", "on_boundary", "triangles", "barycentric"):
        np.testing.assert_array_equal(getattr(moved, field), getattr(fresh, field))
    assert moved.on_boundary.any() and not moved.on_boundary.all()
    with pytest.raises(ValueError, match="3 positions for a surface of 121 vertices"):
        ScanSurface(plane.vertices, plane.faces).moved(bent[:3])


def test_scan_landmark_checks(tmp_path: Path) -> None:
    sphere = icosphere(3)
    uvs = np.zeros((len(sphere.vertices), 2))
    polys = read_polygon_obj(_write_sphere_obj(tmp_path, sphere))
    template = template_from_arrays("s", polys, {"a": 0, "b": 5, "c": 9, "d": 20}, require_uvs=False)
    assert len(uvs)
    surface = ScanSurface(sphere.vertices, sphere.faces)
    v = sphere.vertices.astype(np.float64)
    with pytest.raises(InputError, match="unknown landmark name"):
        check_scan_landmarks({"a": v[0], "zz": v[1], "b": v[5]}, template, surface)
    with pytest.raises(InputError, match="off the scan"):
        check_scan_landmarks({"a": v[0], "b": v[5], "c": v[9] * 3}, template, surface)
    assert check_scan_landmarks({"c": v[9], "a": v[0], "b": v[5]}, template, surface) == ["a", "b", "c"]
    (tmp_path / "l.json").write_text(json.dumps({"a": [1, 2]}))
    with pytest.raises(InputError, match=r"\[x, y, z\]"):
        read_scan_landmarks(tmp_path / "l.json")


def _write_sphere_obj(tmp_path: Path, sphere: TriMesh) -> Path:
    lines = [f"v {x} {y} {z}" for x, y, z in sphere.vertices]
    lines += [f"vt {0.5 + 0.5 * x} {0.5 + 0.5 * y}" for x, y, _ in sphere.vertices]
    lines += [f"f {a + 1}/{a + 1} {b + 1}/{b + 1} {c + 1}/{c + 1}" for a, b, c in sphere.faces]
    path = tmp_path / "sphere.obj"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_conjugate_gradients_matches_a_dense_solve() -> None:
    rng = np.random.default_rng(0)
    a = rng.normal(size=(30, 30))
    spd = torch.as_tensor(a @ a.T + 30 * np.eye(30))
    rhs = torch.as_tensor(rng.normal(size=(10, 3)))

    def apply(x: torch.Tensor) -> torch.Tensor:
        return (spd @ x.reshape(-1)).reshape(10, 3)

    got = conjugate_gradients(apply, rhs, torch.zeros_like(rhs), lambda r: r / 30.0, 200, tol=1e-12)
    want = torch.linalg.solve(spd, rhs.reshape(-1)).reshape(10, 3)
    torch.testing.assert_close(got, want)


def test_excluded_part_follows_rigidly() -> None:
    rng = np.random.default_rng(3)
    rest = rng.normal(size=(40, 3))
    faces = np.array([[30, 31, 32], [32, 33, 30]])
    excluded = np.zeros(40, bool)
    excluded[30:34] = True
    motion = Similarity(_random_similarity(4).rotation, np.array([1.0, 2.0, 3.0]))
    out = follow_neighbours(rest, motion.apply(rest) * np.where(excluded, 0, 1)[:, None], faces, excluded, ~excluded)
    np.testing.assert_allclose(out, motion.apply(rest), atol=1e-9)


def test_wrap_sphere_onto_moved_scaled_sphere(tmp_path: Path) -> None:
    template = template_from_arrays(
        "sphere",
        read_polygon_obj(_write_sphere_obj(tmp_path, icosphere(3))),
        {"landmarks": {f"p{i}": i for i in range(12)}},
    )
    scan_v = icosphere(5).vertices.astype(np.float64)
    move = _random_similarity(5)
    scan = TriMesh(move.apply(scan_v).astype(np.float32), icosphere(5).faces)
    truth = move.apply(template.vertices)
    marks = {f"p{i}": truth[i] for i in range(12)}
    result = wrap_scan(scan, template, scan_landmarks=marks)
    err = np.linalg.norm(result.vertices - truth, axis=1) / move.scale
    assert err.mean() < 4e-5  # measured 2.2e-5
    assert result.report.flipped_faces == 0 and result.report.confidence == "high"
    assert result.report.mean_distance / move.scale < 4e-5  # measured 2.2e-5
    assert np.nanmax(result.fit_distance) / move.scale < 6.5e-5  # measured 3.3e-5
    result.write(tmp_path / "w.obj")
    back = read_polygon_obj(tmp_path / "w.obj")
    np.testing.assert_allclose(back.vertices, result.vertices, rtol=0, atol=1e-6)  # 6 decimals: measured 5.0e-7
    with pytest.raises(InputError, match="far fewer"):
        wrap_scan(TriMesh(scan.vertices[:3], np.array([[0, 1, 2]], np.int32)), template, scan_landmarks=marks)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device on this machine")
def test_wrap_cpu_and_cuda_agree(tmp_path: Path) -> None:
    template = template_from_arrays("sphere", read_polygon_obj(_write_sphere_obj(tmp_path, icosphere(3))), {})
    scan = icosphere(5).with_(vertices=icosphere(5).vertices * np.float32(1.1))
    cpu = wrap_scan(scan, template, device="cpu")
    gpu = wrap_scan(scan, template, device="cuda")
    np.testing.assert_allclose(cpu.vertices, gpu.vertices, atol=1e-3)

"""Unit tests of the wrap solve: regularisers, scan normals, similarity ICP, reverse matches, synthetic scans."""

from __future__ import annotations

import numpy as np
import pytest

from lifecast.geometry.measure import vertex_normals_area_weighted
from lifecast.mesh import TriMesh
from lifecast.wrap.align import similarity_icp_plane
from lifecast.wrap.correspond import ScanSurface
from lifecast.wrap.nonrigid import RefineSettings, _regulariser_matrix, refine_nonrigid
from lifecast.wrap.similarity import Similarity
from lifecast.wrap.synthetic import clicked_landmarks, make_scan
from tests.conftest import grid_plane, icosphere


def _bumpy_sphere(subdivisions: int = 4) -> TriMesh:
    """A sphere with a few bumps: no rotational symmetry left for an ICP to slide along."""
    s = icosphere(subdivisions)
    v = s.vertices.astype(np.float64)
    bumps = np.array([[1.0, 0.0, 0.0], [0.0, 0.8, 0.6], [-0.6, -0.8, 0.0], [0.0, 0.0, -1.0]])
    height = sum(
        h * np.exp(-np.sum((v - b) ** 2, 1) / 0.08) for h, b in zip((0.3, 0.2, 0.15, 0.25), bumps, strict=True)
    )
    return s.with_(vertices=(v * (1.0 + height)[:, None]).astype(np.float32))


def _rotation(axis: np.ndarray, degrees: float) -> np.ndarray:
    k = axis / np.linalg.norm(axis)
    kx = np.array([[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]])
    a = np.radians(degrees)
    return np.eye(3) + np.sin(a) * kx + (1.0 - np.cos(a)) * kx @ kx


@pytest.mark.parametrize("kind", ["membrane", "bending"])
def test_regularisers_are_symmetric_psd_and_ignore_translation(kind: str) -> None:
    mesh = grid_plane(8)
    n = len(mesh.vertices)
    k, edge = _regulariser_matrix(mesh.faces.astype(np.int64), np.arange(n), n, mesh.vertices.astype(float), kind)  # type: ignore[arg-type]
    dense = k.toarray()
    np.testing.assert_allclose(dense, dense.T, atol=1e-12)
    assert np.linalg.eigvalsh(dense).min() > -1e-9
    np.testing.assert_allclose(dense @ np.ones(n), 0.0, atol=1e-9)
    assert edge == pytest.approx(np.mean([1 / 7, 1 / 7, np.sqrt(2) / 7]), rel=0.2)


def test_bending_leaves_a_uniform_stretch_free_inside() -> None:
    """A linear displacement field costs the membrane inside the mesh, not the bending energy."""
    mesh = grid_plane(10)
    v = mesh.vertices.astype(np.float64)
    n = len(v)
    faces = mesh.faces.astype(np.int64)
    stretch = 0.1 * v[:, 0]  # every point moved 10% further along x
    bending, _ = _regulariser_matrix(faces, np.arange(n), n, v, "bending")
    membrane, _ = _regulariser_matrix(faces, np.arange(n), n, v, "membrane")
    interior = (v[:, 0] > 0.01) & (v[:, 0] < 0.99) & (v[:, 1] > 0.01) & (v[:, 1] < 0.99)
    # the umbrella operator of a linear field vanishes at interior vertices of a regular grid ...
    lap = membrane @ stretch
    np.testing.assert_allclose(lap[interior], 0.0, atol=1e-7)
    # ... so its bending energy comes from the rim alone, while the membrane resists it along every edge
    degree = np.asarray((membrane != 0).sum(1)).ravel() - 1
    np.testing.assert_allclose(stretch @ bending @ stretch, np.sum(lap[~interior] ** 2 / degree[~interior]), rtol=1e-6)
    e = np.unique(np.sort(np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]]), axis=1), axis=0)
    along_edges = np.sum((stretch[e[:, 0]] - stretch[e[:, 1]]) ** 2)
    assert stretch @ membrane @ stretch == pytest.approx(along_edges) and along_edges > 0


def test_smoothed_scan_normals_beat_noisy_triangles() -> None:
    plane = grid_plane(40)
    rng = np.random.default_rng(0)
    v = plane.vertices.astype(np.float64)
    v[:, 2] += rng.normal(0.0, 0.15 / 39, len(v))  # noise of 15% of an edge
    raw = ScanSurface(v, plane.faces, normal_rings=0)
    smooth = ScanSurface(v, plane.faces)
    q = rng.uniform(0.2, 0.8, (200, 3)) * np.array([1.0, 1.0, 0.0])

    def tilt(surface: ScanSurface) -> float:
        n = surface.closest(q).normals
        return float(np.degrees(np.arccos(np.clip(np.abs(n[:, 2]), 0.0, 1.0))).mean())

    assert tilt(smooth) < 0.5 * tilt(raw)


def test_degenerate_scan_triangles_give_finite_normals_and_a_fit() -> None:
    """Zero-area triangles once gave NaN normals, which silently stopped the whole solve."""
    scan = icosphere(4)
    v = scan.vertices.astype(np.float64)
    f = scan.faces.astype(np.int64)
    mids = 0.5 * (v[f[:, 0]] + v[f[:, 1]])
    extra = np.stack([f[:, 0], len(v) + np.arange(len(f)), f[:, 1]], 1)  # collinear corners: zero area
    v2 = np.concatenate([v, mids])
    f2 = np.concatenate([f, extra])
    surface = ScanSurface(v2 * 1.05, f2)
    m = surface.closest(mids * 1.1)  # just outside the edges: many of these land on a zero-area triangle
    assert (m.triangles >= len(f)).sum() > 100
    assert np.isfinite(m.normals).all()
    radial = mids / np.linalg.norm(mids, axis=1, keepdims=True)
    assert (np.sum(m.normals * radial, 1) > 0.95).all()
    template = icosphere(3)
    turned = template.vertices @ _rotation(np.array([0.2, 1.0, 0.4]), 7.0).T  # vertices off the scan's vertices
    out = refine_nonrigid(turned, template.faces, np.ones(len(turned), bool), surface, device="cpu")
    assert np.abs(np.linalg.norm(out, axis=1) - 1.05).mean() < 1e-3  # measured 5.3e-4


def test_point_to_plane_similarity_icp_recovers_a_pose() -> None:
    mesh = _bumpy_sphere()
    v = mesh.vertices.astype(np.float64)
    truth = Similarity(_rotation(np.array([0.3, 1.0, -0.2]), 25.0), np.array([3.0, -1.0, 2.0]), 2.5)
    surface = ScanSurface(truth.apply(v), mesh.faces)
    start = Similarity(truth.rotation @ _rotation(np.array([1.0, 0.2, 0.5]), 4.0), truth.translation + 0.1, 2.4)
    found, rms = similarity_icp_plane(v[::3], surface, start, 30, keep=1.0)
    # Noise-free, so the pose is found to rounding: measured 5.2e-8 x scale off, rms 1.2e-7.
    np.testing.assert_allclose(found.apply(v), truth.apply(v), rtol=0, atol=1e-6 * truth.scale)
    assert rms < 1e-6


def test_landmark_pairs_pin_a_symmetric_surface() -> None:
    """On a plain sphere the surface cannot tell rotations apart: the landmark pairs do."""
    sphere = icosphere(4)
    v = sphere.vertices.astype(np.float64)
    truth = Similarity(_rotation(np.array([0.0, 0.0, 1.0]), 10.0), np.zeros(3), 1.0)
    surface = ScanSurface(truth.apply(v), sphere.faces)
    pick = np.array([0, 5, 11, 40])
    found, _ = similarity_icp_plane(v, surface, Similarity.identity(), 30, pairs=(v[pick], truth.apply(v[pick]), 50.0))
    np.testing.assert_allclose(found.rotation, truth.rotation, rtol=0, atol=1e-6)  # measured 6.8e-9


def test_reverse_matches_do_not_inflate_a_coarse_template() -> None:
    """Scan points meet a coarse template's flat triangles a sagitta outside them; matched to its Phong surface
    instead, they leave it on the scan."""
    template = icosphere(2)  # 162 vertices: flat triangles fall ~1% inside the sphere
    scan = icosphere(5)
    surface = ScanSurface(scan.vertices, scan.faces)
    fit = np.ones(len(template.vertices), bool)
    settings = RefineSettings(reverse_weight=1.0, similarity_iterations=0)
    out = refine_nonrigid(template.vertices, template.faces, fit, surface, settings=settings)
    assert np.abs(np.linalg.norm(out, axis=1) - 1.0).mean() < 5e-4
    flat = ScanSurface(template.vertices, template.faces).closest(scan.vertices.astype(np.float64)).distances
    assert flat.mean() > 5e-3  # what the uncorrected matches would have pushed outwards by


def test_synthetic_scan_has_no_degenerate_triangles_and_lies_on_the_truth() -> None:
    truth = _bumpy_sphere(3)
    syn = make_scan(truth.vertices, truth.faces, target_faces=3000, holes=2, hole_radius=0.2, scale=10.0, seed=3)
    v = syn.transform.inverse().apply(syn.mesh.vertices)
    f = syn.mesh.faces.astype(np.int64)
    area = 0.5 * np.linalg.norm(np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]]), axis=1)
    assert area.min() > 0.025 * np.median(area)  # measured 0.049
    on = ScanSurface(truth.vertices, truth.faces).closest(v)
    assert on.distances.max() < 3.5e-6  # measured 1.7e-6: float32 rounding at scale 10
    assert syn.transform.scale == 10.0
    # the holes are open boundaries
    assert len(f) < 3000


def test_clicked_landmarks_land_on_the_scan_with_the_given_error() -> None:
    plane = grid_plane(30, size=100.0)
    points = np.random.default_rng(1).uniform(20.0, 80.0, (400, 3)) * np.array([1.0, 1.0, 0.0])
    names = [f"l{k}" for k in range(len(points))]
    clicked = clicked_landmarks(points, names, plane, noise=2.0)
    got = np.stack([clicked[n] for n in names])
    np.testing.assert_allclose(got[:, 2], 0.0, atol=1e-6)  # on the surface (measured exactly 0)
    rms = float(np.sqrt(np.mean(np.sum((got - points) ** 2, 1))))
    assert rms == pytest.approx(2.0 * np.sqrt(2.0 / 3.0), rel=0.1)  # the normal third of the error is projected away
    exact = clicked_landmarks(points, names, plane, noise=0.0)
    # measured 4.0e-6; bound: that plus one float32 ulp at 80 (7.6e-6)
    np.testing.assert_allclose(np.stack([exact[n] for n in names]), points, rtol=0, atol=1.2e-5)


def test_vertex_normals_of_a_sphere_point_outwards() -> None:
    s = icosphere(3)
    n = vertex_normals_area_weighted(s.vertices, s.faces)
    unit = s.vertices / np.linalg.norm(s.vertices, axis=1, keepdims=True)
    assert (np.sum(n * unit, 1) > 0.99).all()


def test_float32_and_float64_solves_agree() -> None:
    """A GPU solves in float32: the same solve in float32 on the CPU stands in for it here."""
    import torch

    template = _bumpy_sphere(3)
    scan = _bumpy_sphere(5)
    moved = Similarity(_rotation(np.array([0.0, 1.0, 0.0]), 3.0), np.array([0.02, 0.0, -0.01]), 1.05)
    surface = ScanSurface(moved.apply(scan.vertices), scan.faces)
    fit = np.ones(len(template.vertices), bool)
    args = (template.vertices, template.faces, fit, surface)
    wide = refine_nonrigid(*args, dtype=torch.float64)
    narrow = refine_nonrigid(*args, dtype=torch.float32)
    assert np.linalg.norm(wide - moved.apply(template.vertices), axis=1).mean() < 5e-3  # measured 3.0e-3
    np.testing.assert_allclose(narrow, wide, rtol=0, atol=2e-5)  # measured 9.8e-6 at most (2.6e-6 mean)

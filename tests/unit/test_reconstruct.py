"""Point-cloud meshing: both methods on sampled closed shapes, normals, colours, refusals."""

from __future__ import annotations

import numpy as np
import pytest
import trimesh

from lifecast.errors import InputError
from lifecast.geometry.reconstruct import estimate_normals, mean_spacing, mesh_point_cloud


def sphere_points(count: int = 4000, radius: float = 0.1, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    d = rng.normal(size=(count, 3))
    return (radius * d / np.linalg.norm(d, axis=1, keepdims=True)).astype(np.float32)


def boundary_edges(faces: np.ndarray) -> int:
    edges = np.sort(np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]]), axis=1)
    _, counts = np.unique(edges, axis=0, return_counts=True)
    return int((counts == 1).sum())


def test_mean_spacing_of_a_grid() -> None:
    g = np.stack(np.meshgrid(np.arange(20.0), np.arange(20.0), [0.0]), -1).reshape(-1, 3) * 0.5
    assert mean_spacing(g) == pytest.approx(0.5)


def test_estimated_normals_point_out_of_a_sphere() -> None:
    p = sphere_points()
    n = estimate_normals(p, mean_spacing(p))
    radial = p / np.linalg.norm(p, axis=1, keepdims=True)
    cos = np.einsum("ij,ij->i", n, radial)
    assert np.all(np.abs(np.linalg.norm(n, axis=1) - 1) < 1e-5)
    assert np.mean(cos > 0.9) > 0.98


def test_poisson_on_a_sphere_is_closed_and_on_the_surface() -> None:
    p = sphere_points()
    seen: list[float] = []
    mesh = mesh_point_cloud(p, progress=lambda f, m: seen.append(f))
    assert mesh.vertices.dtype == np.float32 and mesh.faces.dtype == np.int32
    assert len(mesh.faces) > 1000
    assert boundary_edges(mesh.faces) == 0
    radius = np.linalg.norm(mesh.vertices, axis=1)
    assert np.abs(radius - 0.1).mean() < 0.002
    assert trimesh.Trimesh(mesh.vertices, mesh.faces).volume > 0  # outward orientation
    assert seen[0] == 0.0 and seen[-1] == 1.0


def test_ball_pivoting_interpolates_the_points() -> None:
    p = sphere_points()
    mesh = mesh_point_cloud(p, method="ball_pivoting")
    assert len(mesh.faces) > 1.5 * len(p)
    np.testing.assert_allclose(np.linalg.norm(mesh.vertices, axis=1), 0.1, atol=1e-6)


@pytest.mark.parametrize("method", ["poisson", "ball_pivoting"])
def test_colours_are_carried_over(method: str) -> None:
    p = sphere_points(3000)
    colors = np.where(p[:, :1] > 0, [[1.0, 0.0, 0.0]], [[0.0, 0.0, 1.0]]).astype(np.float32)
    mesh = mesh_point_cloud(p, colors=colors, method=method)  # type: ignore[arg-type]
    assert mesh.vertex_colors is not None and mesh.vertex_colors.shape == mesh.vertices.shape
    far_right = mesh.vertices[:, 0] > 0.05
    assert mesh.vertex_colors[far_right, 0].mean() > 0.9


def test_given_normals_and_non_finite_points() -> None:
    p = sphere_points(3000)
    normals = p / np.linalg.norm(p, axis=1, keepdims=True)
    p[:10] = np.nan
    mesh = mesh_point_cloud(p, normals=normals)
    assert np.isfinite(mesh.vertices).all() and len(mesh.faces) > 1000


def test_open_patch_stays_open() -> None:
    rng = np.random.default_rng(2)
    xy = rng.random((3000, 2)).astype(np.float32)
    p = np.column_stack([xy, 0.05 * np.sin(3 * xy[:, 0])]).astype(np.float32)
    mesh = mesh_point_cloud(p)
    assert boundary_edges(mesh.faces) > 0
    inside = (mesh.vertices[:, :2] > -0.05).all(axis=1) & (mesh.vertices[:, :2] < 1.05).all(axis=1)
    assert inside.all()  # trimmed to the data, no Poisson balloon


def test_refusals() -> None:
    with pytest.raises(InputError, match="at least"):
        mesh_point_cloud(np.zeros((5, 3), np.float32))
    with pytest.raises(InputError, match="coincide"):
        mesh_point_cloud(np.zeros((50, 3), np.float32))
    with pytest.raises(ValueError, match="normals"):
        mesh_point_cloud(sphere_points(100), normals=np.zeros((3, 3), np.float32))
    with pytest.raises(ValueError, match="method"):
        mesh_point_cloud(sphere_points(100), method="marching")  # type: ignore[arg-type]

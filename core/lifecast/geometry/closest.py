"""Closest points on a triangle mesh: open3d's ``RaycastingScene`` (C++, multi-threaded), built once, queried often."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True)
class ClosestHits:
    """The closest mesh points of ``q`` query points.

    Attributes
    ----------
    triangles
        ``(q,) int64`` triangle hit.
    barycentric
        ``(q, 3) float64`` barycentric coordinates of the closest point in that triangle (corner order).
    points
        ``(q, 3) float64`` the closest points, ``barycentric`` over the triangle's float64 corners.
    distances
        ``(q,) float64`` query-to-closest-point distances.
    """

    triangles: NDArray[np.int64]
    barycentric: NDArray[np.float64]
    points: NDArray[np.float64]
    distances: NDArray[np.float64]


class ClosestPoints:
    """A triangle mesh prepared for closest-point queries.

    The scene holds the mesh in float32 (what open3d takes); the points are then rebuilt in float64 from
    the barycentric coordinates it returns.

    Parameters
    ----------
    vertices
        ``(n, 3)`` float positions.
    faces
        ``(m, 3)`` integer triangles (at least one).
    """

    def __init__(self, vertices: NDArray[np.floating], faces: NDArray[np.integer]) -> None:
        import open3d as o3d

        self.vertices = np.asarray(vertices, np.float64)
        self.faces = np.asarray(faces, np.int64)
        self._scene = o3d.t.geometry.RaycastingScene()
        self._scene.add_triangles(
            o3d.core.Tensor.from_numpy(np.ascontiguousarray(self.vertices, np.float32)),
            o3d.core.Tensor.from_numpy(np.ascontiguousarray(self.faces, np.uint32)),
        )

    def query(self, queries: NDArray[np.floating]) -> ClosestHits:
        """The closest mesh points of ``(q, 3)`` queries (looked up in float32, see the class docstring)."""
        import open3d as o3d

        found = self._scene.compute_closest_points(
            o3d.core.Tensor.from_numpy(np.ascontiguousarray(queries, np.float32))
        )
        tri = found["primitive_ids"].numpy().astype(np.int64)
        uv = found["primitive_uvs"].numpy().astype(np.float64)
        bary = np.stack([1.0 - uv[:, 0] - uv[:, 1], uv[:, 0], uv[:, 1]], axis=1)
        points = np.einsum("qk,qkd->qd", bary, self.vertices[self.faces[tri]])
        distances = np.linalg.norm(points - np.asarray(queries, np.float64), axis=1)
        return ClosestHits(tri, bary, points, distances)

"""Closest points on a scan, with the filters a wrap needs.

A template vertex is matched to the closest point of the scan surface
(:class:`lifecast.geometry.closest.ClosestPoints`). The normal there is
interpolated from the scan's area-weighted vertex normals, averaged over a few
rings of neighbours: a scan's own triangles are noisy (0.5 mm noise on 2 mm
triangles tilts them by 15 degrees and more) or degenerate, and a tilted plane
in a point-to-plane fit drags the template along the surface. A match is dropped when

- it lands on an open boundary of the scan (the vertex is over a hole: the
  regulariser fills it in),
- the scan's normal there disagrees with the template's normal by more than
  ``max_normal_angle`` (the front of a lip matched to the back of a lip),
- it is farther than ``max_distance`` (robust trimming of outliers).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from lifecast.geometry.closest import ClosestPoints
from lifecast.geometry.measure import vertex_normals_area_weighted
from lifecast.geometry.topology import boundary_edges

BARY_EPS = 1e-4
#: Rings of neighbours a scan's vertex normals are averaged over.
NORMAL_RINGS = 2


@dataclass(frozen=True)
class Matches:
    """Closest scan points of some query points.

    Attributes
    ----------
    points
        ``(q, 3) float64`` closest points on the scan.
    normals
        ``(q, 3) float64`` unit normals of the scan triangles hit.
    distances
        ``(q,) float64`` query-to-closest-point distances.
    on_boundary
        ``(q,) bool``: the closest point lies on an open boundary edge of the scan.
    triangles
        ``(q,) int64`` scan triangles hit.
    barycentric
        ``(q, 3) float64`` barycentric coordinates of the closest points in those triangles.
    """

    points: NDArray[np.float64]
    normals: NDArray[np.float64]
    distances: NDArray[np.float64]
    on_boundary: NDArray[np.bool_]
    triangles: NDArray[np.int64]
    barycentric: NDArray[np.float64]


class ScanSurface:
    """A scan triangle mesh prepared for closest-point queries.

    Parameters
    ----------
    vertices
        ``(n, 3)`` float positions.
    faces
        ``(m, 3)`` integer triangles.
    normal_rings
        Rings of neighbours the vertex normals are averaged over (0: area-weighted vertex normals only).
    """

    def __init__(
        self, vertices: NDArray[np.floating], faces: NDArray[np.integer], *, normal_rings: int = NORMAL_RINGS
    ) -> None:
        self.faces = np.asarray(faces, np.int64)
        self._normal_rings = normal_rings
        edges = boundary_edges(self.faces)
        # Sorted keys ``lo * n + hi`` of the open boundary edges (the edges come in lexicographic order).
        self._boundary_keys = edges[:, 0] * len(vertices) + edges[:, 1]
        self._place(vertices)

    def moved(self, vertices: NDArray[np.floating]) -> ScanSurface:
        """The same triangles over ``(n, 3)`` new positions (what depends only on the triangles is reused)."""
        if len(vertices) != len(self.vertices):
            raise ValueError(f"{len(vertices)} positions for a surface of {len(self.vertices)} vertices")
        out = object.__new__(ScanSurface)
        out.faces, out._normal_rings, out._boundary_keys = self.faces, self._normal_rings, self._boundary_keys
        out._place(vertices)
        return out

    def _place(self, vertices: NDArray[np.floating]) -> None:
        self.vertices = np.asarray(vertices, np.float64)
        self.vertex_normals = vertex_normals_area_weighted(self.vertices, self.faces, rings=self._normal_rings)
        self._closest = ClosestPoints(self.vertices, self.faces)

    def closest(self, queries: NDArray[np.floating]) -> Matches:
        """Closest surface points of ``(q, 3)`` queries."""
        hits = self._closest.query(queries)
        tri, bary = hits.triangles, hits.barycentric
        normals = np.einsum("qk,qkd->qd", bary, self.vertex_normals[self.faces[tri]])
        normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-20)
        return Matches(hits.points, normals, hits.distances, self._on_boundary(tri, bary), tri, bary)

    def _on_boundary(self, tri: NDArray[np.int64], bary: NDArray[np.float64]) -> NDArray[np.bool_]:
        out = np.zeros(len(tri), bool)
        if len(self._boundary_keys) == 0:
            return out
        f = self.faces[tri]
        n = len(self.vertices)
        # The edge opposite corner k is where bary[k] == 0.
        for k, (a, b) in enumerate(((1, 2), (2, 0), (0, 1))):
            near = bary[:, k] < BARY_EPS
            if not near.any():
                continue
            lo = np.minimum(f[near, a], f[near, b])
            hi = np.maximum(f[near, a], f[near, b])
            keys = lo * n + hi
            pos = np.searchsorted(self._boundary_keys, keys)
            pos = np.minimum(pos, len(self._boundary_keys) - 1)
            out[np.flatnonzero(near)] |= self._boundary_keys[pos] == keys
        return out


def match_filter(
    matches: Matches,
    query_normals: NDArray[np.floating],
    *,
    max_distance: float,
    max_normal_angle: float = 60.0,
) -> NDArray[np.bool_]:
    """``(q,) bool``: matches kept after the boundary, normal and distance filters."""
    cos_ok = np.einsum("qd,qd->q", matches.normals, np.asarray(query_normals, np.float64)) > np.cos(
        np.radians(max_normal_angle)
    )
    finite = np.isfinite(matches.normals).all(1) & np.isfinite(matches.distances)
    return cos_ok & finite & ~matches.on_boundary & (matches.distances <= max_distance)

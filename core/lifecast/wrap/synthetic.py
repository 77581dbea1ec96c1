"""Synthetic scans made from a ground-truth mesh, to score a wrap vertex by vertex.

The ground truth is resampled onto another topology (midpoint subdivision,
then quadric decimation, then a few steps of tangential relaxation on the
ground truth's surface, so that no triangle is left with three corners on one
of its edges),
noise is added along the normals, holes are cut, and it is moved by a random
rigid transform and scaled.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from lifecast.geometry.closest import ClosestPoints
from lifecast.geometry.measure import vertex_normals_area_weighted
from lifecast.geometry.topology import boundary_vertices, edge_table
from lifecast.mesh import TriMesh
from lifecast.wrap.similarity import Similarity


@dataclass(frozen=True)
class SyntheticScan:
    """A scan made from a ground truth, and the transform from ground-truth space to scan space."""

    mesh: TriMesh
    transform: Similarity


def subdivide_midpoint(
    vertices: NDArray[np.float64], faces: NDArray[np.int64]
) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """One 1-to-4 midpoint subdivision (shared edges get one new vertex)."""
    table = edge_table(faces)
    uniq = table.edges
    mid = len(vertices) + table.side_to_edge.reshape(3, -1).T
    v = np.concatenate([vertices, 0.5 * (vertices[uniq[:, 0]] + vertices[uniq[:, 1]])])
    a, b, c = faces.T
    ab, bc, ca = mid.T
    f = np.concatenate([np.stack(x, 1) for x in ((a, ab, ca), (ab, b, bc), (ca, bc, c), (ab, bc, ca))])
    return v, f


def make_scan(
    vertices: NDArray[np.floating],
    faces: NDArray[np.integer],
    *,
    target_faces: int = 110_000,
    noise: float = 0.0,
    holes: int = 0,
    hole_radius: float = 0.0,
    scale: float = 1.0,
    relax: int = 1,
    seed: int = 0,
) -> SyntheticScan:
    """A resampled, noisy, holed, moved and scaled copy of a triangle mesh.

    Parameters
    ----------
    vertices, faces
        ``(n, 3)`` and ``(m, 3)``: the ground truth.
    target_faces
        Triangle count of the resampled scan.
    noise
        Standard deviation of the noise along the normals, in ground-truth units.
    holes, hole_radius
        Number of holes and their radius (ground-truth units), centred on random vertices.
    scale
        Scale of the scan relative to the ground truth (10 for cm to mm).
    relax
        Tangential relaxation steps after the decimation. Quadric decimation of a subdivided mesh
        leaves many zero-area triangles (three corners on one original edge), whose normals are
        undefined; real scans do not look like that.
    """
    from lifecast.geometry.decimate import decimate_arrays

    rng = np.random.default_rng(seed)
    v = np.asarray(vertices, np.float64)
    f = np.asarray(faces, np.int64)
    while len(f) < 3 * target_faces:
        v, f = subdivide_midpoint(v, f)
    dense_v, dense_f = v, f
    dec = decimate_arrays(v, f, target_faces)
    v, f = np.asarray(dec.vertices, np.float64), np.asarray(dec.faces, np.int64)
    v = relax_on_surface(v, f, dense_v, dense_f, relax)
    if noise > 0:
        v = v + vertex_normals_area_weighted(v, f) * rng.normal(0.0, noise, (len(v), 1))
    if holes > 0:
        centres = v[rng.choice(len(v), holes, replace=False)]
        centroid = v[f].mean(1)
        cut = np.zeros(len(f), bool)
        for c in centres:
            cut |= np.linalg.norm(centroid - c, axis=1) < hole_radius
        f = f[~cut]
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    if np.linalg.det(q) < 0:
        q[:, 2] *= -1
    transform = Similarity(q, rng.normal(0.0, 50.0 * scale, 3), scale)
    used = np.unique(f)
    remap = np.full(len(v), -1, np.int64)
    remap[used] = np.arange(len(used))
    moved = transform.apply(v[used]).astype(np.float32)
    return SyntheticScan(TriMesh(moved, remap[f].astype(np.int32)), transform)


def relax_on_surface(
    vertices: NDArray[np.float64],
    faces: NDArray[np.int64],
    surface_vertices: NDArray[np.float64],
    surface_faces: NDArray[np.int64],
    iterations: int,
) -> NDArray[np.float64]:
    """``(n, 3)``: tangential relaxation, each vertex moved halfway to its neighbours' centroid along its
    tangent plane and put back on the surface ``surface_vertices``/``surface_faces``, ``iterations`` times.

    Open-boundary vertices stay where they are.
    """
    if iterations <= 0 or len(faces) == 0:
        return vertices
    from scipy.sparse import coo_matrix

    n = len(vertices)
    table = edge_table(faces)
    boundary = np.zeros(n, bool)
    boundary[boundary_vertices(faces, table)] = True
    both = np.concatenate([table.edges, table.edges[:, ::-1]])
    adjacency = coo_matrix((np.ones(len(both)), (both[:, 0], both[:, 1])), shape=(n, n)).tocsr()
    degree = np.maximum(np.asarray(adjacency.sum(1)).ravel(), 1.0)[:, None]
    surface = ClosestPoints(surface_vertices, surface_faces)
    v = np.asarray(vertices, np.float64).copy()
    for _ in range(iterations):
        normals = vertex_normals_area_weighted(v, faces)
        step = 0.5 * (adjacency @ v / degree - v)
        step -= normals * (step * normals).sum(1, keepdims=True)
        step[boundary] = 0.0
        moved = surface.query(v + step).points
        v[~boundary] = moved[~boundary]
    return v


def clicked_landmarks(
    points: NDArray[np.floating],
    names: list[str],
    scan: TriMesh,
    *,
    noise: float,
    seed: int = 7,
) -> dict[str, NDArray[np.float64]]:
    """Landmarks as an artist clicks them: ``(k, 3)`` true ``points`` moved by ``noise`` RMS (3D), put on the scan.

    Parameters
    ----------
    points
        ``(k, 3)`` true landmark positions, in the scan's frame and units.
    names
        ``k`` landmark names.
    scan
        The scan the clicks land on (closest surface point).
    noise
        RMS length of the 3D click error, in the scan's units (0: exact points, still put on the scan).
    """
    from lifecast.wrap.correspond import ScanSurface

    rng = np.random.default_rng(seed)
    p = np.asarray(points, np.float64)
    noisy = p + rng.normal(0.0, noise / np.sqrt(3.0), p.shape) if noise > 0 else p
    on_scan = ScanSurface(scan.vertices, scan.faces, normal_rings=0).closest(noisy).points
    return {name: q for name, q in zip(names, on_scan, strict=True)}

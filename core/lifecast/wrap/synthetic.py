"""Synthetic scans made from a ground-truth mesh, to score a wrap vertex by vertex.

The ground truth is resampled onto another topology (midpoint subdivision,
then quadric decimation), noise is added along the normals, holes are cut,
and it is moved by a random rigid transform and scaled.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from lifecast.mesh import TriMesh
from lifecast.wrap.correspond import vertex_normals
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
    e = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    key = np.sort(e, axis=1)
    uniq, inverse = np.unique(key, axis=0, return_inverse=True)
    mid = len(vertices) + inverse.reshape(3, -1).T
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
    """
    from lifecast.geometry.decimate import decimate_arrays

    rng = np.random.default_rng(seed)
    v = np.asarray(vertices, np.float64)
    f = np.asarray(faces, np.int64)
    while len(f) < 3 * target_faces:
        v, f = subdivide_midpoint(v, f)
    dec = decimate_arrays(v, f, target_faces)
    v, f = np.asarray(dec.vertices, np.float64), np.asarray(dec.faces, np.int64)
    if noise > 0:
        v = v + vertex_normals(v, f) * rng.normal(0.0, noise, (len(v), 1))
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

"""Find a ground plane or turntable disc in a scan, so that it can be removed.

A RANSAC over *faces*, not points: each hypothesis is the plane of one
area-weighted random face and is scored by the area of the faces that lie on
it (all three corners within ``distance`` and the normal within
``max_angle_deg``). Scoring by area and normal keeps a densely sampled
subject from outvoting a coarse disc, and keeps a band around a sphere's
equator (close to the plane but perpendicular to it) from counting at all.

A plane is only reported as ground when its largest connected flat patch is
a substantial part of the surface (``min_area_fraction``) *and* the rest of
the mesh lies on one side of it: a turntable or floor under the subject.
A head on its own never has such a patch, so it is never cut.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from lifecast.geometry.measure import face_areas, face_normals
from lifecast.geometry.topology import face_components


@dataclass(frozen=True)
class GroundPlane:
    """A detected ground plane.

    Attributes
    ----------
    normal
        ``(3,) float64`` unit normal, pointing towards the subject.
    offset
        Plane is ``normal . x + offset = 0``.
    faces
        ``(k,) int64`` the faces of the flat patch to remove.
    area
        Area of that patch.
    area_fraction
        Patch area over the total surface area.
    """

    normal: NDArray[np.float64]
    offset: float
    faces: NDArray[np.int64]
    area: float
    area_fraction: float

    def summary(self) -> dict[str, object]:
        """JSON-able description."""
        return {
            "normal": [float(x) for x in self.normal],
            "offset": float(self.offset),
            "faces_removed": len(self.faces),
            "area": float(self.area),
            "area_fraction": float(self.area_fraction),
        }


def find_ground_plane(
    vertices: NDArray[np.floating],
    faces: NDArray[np.integer],
    *,
    distance: float | None = None,
    max_angle_deg: float = 10.0,
    min_area_fraction: float = 0.15,
    max_far_side_fraction: float = 0.02,
    hypotheses: int = 256,
    sample_faces: int = 20_000,
    seed: int = 0,
) -> GroundPlane | None:
    """Detect a large flat region that the rest of the mesh stands on.

    Parameters
    ----------
    vertices
        ``(n, 3)`` float positions.
    faces
        ``(m, 3)`` integer corner indices.
    distance
        Inlier distance to the plane; default 0.5% of the bounding-box diagonal.
    max_angle_deg
        Largest angle between an inlier face's normal and the plane normal.
    min_area_fraction
        The flat patch must cover at least this fraction of the surface area.
    max_far_side_fraction
        At most this fraction of the remaining area may lie below the plane.
    hypotheses
        Number of RANSAC hypotheses (planes of random faces).
    sample_faces
        Hypotheses are scored on an area-weighted sample of this many faces.
    seed
        Random seed: the result is deterministic.

    Returns
    -------
    GroundPlane or None
        None when there is no plane that qualifies.
    """
    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    if len(f) < 4:
        return None
    areas = face_areas(v, f)
    total = float(areas.sum())
    if total <= 0:
        return None
    normals = face_normals(v, f)
    if distance is None:
        distance = 0.005 * float(np.linalg.norm(np.ptp(v[np.unique(f)], axis=0)))
    cos_max = float(np.cos(np.radians(max_angle_deg)))
    rng = np.random.default_rng(seed)
    weights = areas / total
    sample = rng.choice(len(f), size=min(sample_faces, len(f)), p=weights)
    seeds = rng.choice(len(f), size=hypotheses, p=weights)

    # Score every hypothesis against the sample at once: (hypotheses, sample) matrices.
    hyp_n = normals[seeds]  # (h, 3)
    hyp_d = -np.einsum("hj,hj->h", hyp_n, v[f[seeds, 0]])
    dist = np.zeros((hypotheses, len(sample)), np.float64)
    for corner in range(3):
        np.maximum(dist, np.abs(hyp_n @ v[f[sample, corner]].T + hyp_d[:, None]), out=dist)
    aligned = np.abs(hyp_n @ normals[sample].T) >= cos_max
    score = ((dist <= distance) & aligned).astype(np.float64) @ areas[sample]
    best = int(np.argmax(score))
    normal, offset = _refine(v, f, areas, normals, hyp_n[best], float(hyp_d[best]), distance, cos_max)

    on_plane = _faces_on_plane(v, f, normals, normal, offset, distance, cos_max)
    if not on_plane.any():
        return None
    patch = _largest_patch(f, areas, np.flatnonzero(on_plane), len(v))
    patch_area = float(areas[patch].sum())
    if patch_area < min_area_fraction * total:
        return None
    # The subject must stand on one side: orient the normal towards most of the rest.
    rest = np.ones(len(f), bool)
    rest[patch] = False
    centroid_dist = v[f[rest]].mean(axis=1) @ normal + offset
    rest_areas = areas[rest]
    above = float(rest_areas[centroid_dist > distance].sum())
    below = float(rest_areas[centroid_dist < -distance].sum())
    if below > above:
        normal, offset, above, below = -normal, -offset, below, above
    if below > max_far_side_fraction * max(float(rest_areas.sum()), 1e-300):
        return None
    return GroundPlane(normal, offset, patch, patch_area, patch_area / total)


def _faces_on_plane(
    v: NDArray[np.float64],
    f: NDArray[np.int64],
    normals: NDArray[np.float64],
    normal: NDArray[np.float64],
    offset: float,
    distance: float,
    cos_max: float,
) -> NDArray[np.bool_]:
    """``(m,) bool``: faces with all corners within ``distance`` and a parallel normal."""
    corner_dist = np.abs(v[f] @ normal + offset).max(axis=1)
    return (corner_dist <= distance) & (np.abs(normals @ normal) >= cos_max)


def _refine(
    v: NDArray[np.float64],
    f: NDArray[np.int64],
    areas: NDArray[np.float64],
    normals: NDArray[np.float64],
    normal: NDArray[np.float64],
    offset: float,
    distance: float,
    cos_max: float,
) -> tuple[NDArray[np.float64], float]:
    """Least-squares (area-weighted) plane through the inlier faces' centroids."""
    inliers = _faces_on_plane(v, f, normals, normal, offset, distance, cos_max)
    if inliers.sum() < 3:
        return normal, offset
    c = v[f[inliers]].mean(axis=1)
    w = areas[inliers]
    mean = (c * w[:, None]).sum(axis=0) / w.sum()
    cov = ((c - mean) * w[:, None]).T @ (c - mean)
    refined = np.linalg.eigh(cov)[1][:, 0]
    if refined @ normal < 0:
        refined = -refined
    return refined, float(-refined @ mean)


def _largest_patch(
    f: NDArray[np.int64], areas: NDArray[np.float64], candidates: NDArray[np.int64], n_vertices: int
) -> NDArray[np.int64]:
    """The connected group of candidate faces with the largest area."""
    count, labels = face_components(f[candidates], n_vertices)
    patch_areas = np.bincount(labels, weights=areas[candidates], minlength=count)
    return candidates[labels == int(np.argmax(patch_areas))]

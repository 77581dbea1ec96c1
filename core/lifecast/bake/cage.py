"""The cage distance: how far above and below the low surface each texel's ray searches for the high one."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from lifecast.bake.correspond import RayEngine
from lifecast.errors import InputError
from lifecast.geometry.measure import area_samples
from lifecast.mesh import TriMesh


def auto_cage(
    high: TriMesh,
    low: TriMesh,
    engine: RayEngine,
    samples: int = 20_000,
    on_scan: NDArray[np.bool_] | None = None,
) -> float:
    """A cage distance from how far the low surface lies from the high one.

    Twice the larger of two spreads, plus 0.1 % of the low mesh's bounding-box diagonal: the 99th percentile of the
    distance to the high surface from up to ``samples`` low vertices, and the 95th from as many points drawn by area
    across the low triangles. The texels lie across the triangles, and a coarse LOD's triangles cut through the scan
    between vertices that sit on it: on the 4.5M-triangle Lee Perry-Smith head the 5k-triangle LOD2 missed on 53 % of
    its texels with the vertices alone. The 95th, not the 99th, across the triangles: a few triangles bridge openings
    (a wrapped template's lips over the mouth slit, 3 % of its fitted area up to 3.5 cm off the scan) and must not
    widen the cage for all the others.

    Parameters
    ----------
    high
        The detailed surface; ``engine`` traces its triangles.
    low
        The production mesh.
    engine
        Ray engine over the high mesh (:func:`lifecast.bake.correspond.make_ray_engine`).
    samples
        Low vertices measured at most (a fixed random choice).
    on_scan
        ``(n,) bool``: the low vertices that lie on the scan, the only ones measured. A wrapped template's
        fitted vertices: its eyes, mouth bag and nostrils are not on the scan (centimetres off it), and they
        would set a cage wide enough for the rays to land on the wrong surfaces. ``None``: every vertex.

    Raises
    ------
    InputError
        When the meshes do not overlap (their bounding boxes are disjoint, or
        the median distance exceeds a quarter of the low mesh's size).
    """
    lo_min, lo_max = low.vertices.min(axis=0), low.vertices.max(axis=0)
    hi_min, hi_max = high.vertices.min(axis=0), high.vertices.max(axis=0)
    diagonal = bounding_diagonal(low.vertices)
    if np.any(lo_max < hi_min) or np.any(hi_max < lo_min):
        raise InputError(
            f"the high and low meshes do not overlap: bounding boxes {np.round(hi_min, 3).tolist()}-"
            f"{np.round(hi_max, 3).tolist()} and {np.round(lo_min, 3).tolist()}-{np.round(lo_max, 3).tolist()}"
        )
    candidates = np.arange(len(low.vertices)) if on_scan is None else np.flatnonzero(on_scan)
    if on_scan is not None and (len(on_scan) != len(low.vertices) or len(candidates) == 0):
        raise InputError(
            f"the on-scan vertex mask has {len(on_scan)} entries ({len(candidates)} set) for {len(low.vertices)} "
            "low vertices"
        )
    rng = np.random.default_rng(0)
    pick = candidates[rng.choice(len(candidates), size=min(samples, len(candidates)), replace=False)]
    faces = low.faces if on_scan is None else low.faces[on_scan[low.faces].all(axis=1)]
    across = area_samples(low.vertices, faces, samples, seed=1) if len(faces) else np.zeros((0, 3))
    points = np.ascontiguousarray(np.concatenate([low.vertices[pick], across]), np.float32)
    face, bary = engine.closest(points)
    nearest = np.einsum("qk,qkc->qc", bary, high.vertices[high.faces[face]])
    distance = np.linalg.norm(nearest - points, axis=1)
    if np.median(distance) > 0.25 * diagonal:
        raise InputError(
            f"the high and low meshes do not overlap: the low surface is {np.median(distance):.4g} from the high "
            f"one (median), {np.median(distance) / diagonal:.0%} of its size; align them first"
        )
    at_vertices, across_faces = distance[: len(pick)], distance[len(pick) :]
    spread = max(np.percentile(at_vertices, 99), np.percentile(across_faces, 95) if len(across_faces) else 0.0)
    return float(2.0 * spread + 1e-3 * diagonal)


def bounding_diagonal(vertices: NDArray[np.floating]) -> float:
    """Length of the diagonal of the ``(n, 3)`` vertices' axis-aligned bounding box (in float64)."""
    return float(np.linalg.norm(np.ptp(np.asarray(vertices, np.float64), axis=0)))

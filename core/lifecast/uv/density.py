"""Texel density: texture pixels per unit of surface length, for the QA summary."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from lifecast.errors import InputError
from lifecast.geometry.measure import face_areas, face_areas_uv
from lifecast.mesh import TriMesh


def texel_density(mesh: TriMesh, texture_size: int) -> dict[str, float]:
    """Texel density of a UV'd mesh, in texels per unit length (the mesh's units).

    Each face's density is ``sqrt(uv_area * texture_size² / surface_area)``.
    Statistics are weighted by surface area (a texel-density map shows what the
    surface gets, not what the triangle count gets). Faces with no surface or
    UV area are left out. With UDIMs every tile has ``texture_size²`` texels,
    so the formula holds unchanged.

    Parameters
    ----------
    mesh
        A mesh with ``uvs`` / ``face_uvs``.
    texture_size
        Texels along a side of each (square) texture tile.

    Returns
    -------
    dict
        ``mean``, ``min``, ``p5``, ``p50``, ``p95``, ``max`` (texels per unit length).
    """
    if mesh.uvs is None or mesh.face_uvs is None:
        raise InputError("texel density needs a mesh with UVs")
    area = face_areas(mesh.vertices, mesh.faces)
    uv_area = face_areas_uv(mesh.uvs, mesh.face_uvs)
    keep = (area > 0) & (uv_area > 0)
    if not keep.any():
        raise InputError("no face has both surface and UV area: cannot measure texel density")
    density = np.sqrt(uv_area[keep] / area[keep]) * texture_size
    weights = area[keep]
    return {
        "mean": float(np.average(density, weights=weights)),
        "min": float(density.min()),
        "p5": weighted_percentile(density, weights, 5.0),
        "p50": weighted_percentile(density, weights, 50.0),
        "p95": weighted_percentile(density, weights, 95.0),
        "max": float(density.max()),
    }


def weighted_percentile(values: NDArray[np.floating], weights: NDArray[np.floating], q: float) -> float:
    """The ``q``-th percentile (0-100) of ``(n,)`` values, each counted with its ``(n,)`` weight."""
    order = np.argsort(values)
    cumulative = np.cumsum(weights[order])
    index = int(np.searchsorted(cumulative, q / 100.0 * cumulative[-1]))
    return float(values[order][min(index, len(values) - 1)])

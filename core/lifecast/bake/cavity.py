"""Cavity of a dense scan: how far each vertex sinks below the surface around it.

A cavity map darkens pores, wrinkles and creases, the fine detail a skin
shader uses to break up specular; like xNormal's and Marmoset's it is white
on flat and raised surface and falls towards black into cavities. It is
measured on the high mesh itself, in 3D, so it has no UV seams: each vertex's
height above its neighbourhood is

    h_i = (x_i - s_i) . n_i

where ``s_i`` is the vertex's position after ``k`` rounds of averaging over its
1-ring neighbours (a diffusion that spreads about ``sqrt(k)`` edges, so
``k = (radius / mean edge length)^2``), and ``n_i`` its unit normal. ``h < 0``
is a pit. The map stores ``clip(1 + h / depth, 0, 1)``: ``depth`` is the pit
depth that reaches black (by default the 99th percentile of ``-h`` over the
scan's pits, so every scan uses the map's range; pass a depth for maps that
compare across scans). The baker interpolates ``h`` at each texel's hit point.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from lifecast.geometry.measure import vertex_normals_angle_weighted
from lifecast.mesh import triangle_adjacency

#: Default neighbourhood radius, in mean edge lengths of the high mesh: the finest detail a scan holds.
RADIUS_EDGES = 3.0
#: Most averaging rounds (a radius of 8 edges); wider neighbourhoods are the displacement map's business.
MAX_ROUNDS = 64
#: Faces (at most, evenly strided) the mean edge length is measured on.
EDGE_SAMPLE_FACES = 100_000
#: Percentile of the pit depths that maps to black when no depth is given.
DEPTH_PERCENTILE = 99.0


def vertex_heights(
    vertices: NDArray[np.floating],
    faces: NDArray[np.integer],
    radius: float | None = None,
    normals: NDArray[np.floating] | None = None,
) -> NDArray[np.float32]:
    """``(n,) float32`` height of each vertex above the smoothed surface around it, along its normal.

    Parameters
    ----------
    vertices
        ``(n, 3)`` positions.
    faces
        ``(m, 3)`` triangles.
    radius
        Neighbourhood radius in mesh units (default :data:`RADIUS_EDGES` mean edge lengths).
    normals
        ``(n, 3)`` unit vertex normals (default: :func:`lifecast.geometry.measure.vertex_normals_angle_weighted`).

    Returns
    -------
    Negative in pits, positive on ridges and convex ground, zero on flat ground and on unused vertices.
    """
    v = np.asarray(vertices, np.float64)
    f = np.asarray(faces, np.int64)
    n = len(v)
    if len(f) == 0:
        return np.zeros(n, np.float32)
    sample = f[:: max(1, len(f) // EDGE_SAMPLE_FACES)]
    mean_edge = float(np.linalg.norm(v[sample] - v[np.roll(sample, 1, axis=1)], axis=2).mean())
    if radius is None:
        radius = RADIUS_EDGES * mean_edge
    if radius <= 0:
        raise ValueError(f"the cavity radius must be positive, got {radius}")
    rounds = int(np.clip(np.ceil((radius / max(mean_edge, 1e-30)) ** 2), 1, MAX_ROUNDS))
    adjacency = triangle_adjacency(f, n)
    degree = np.asarray(adjacency.sum(axis=1)).ravel()
    inverse_degree = (1.0 / np.maximum(degree, 1.0))[:, None]
    isolated = np.flatnonzero(degree == 0)
    smooth = v
    for _ in range(rounds):
        smooth = adjacency @ smooth
        smooth *= inverse_degree
        smooth[isolated] = v[isolated]
    if normals is None:
        normals = vertex_normals_angle_weighted(v, f)
    heights = np.einsum("nd,nd->n", v - smooth, np.asarray(normals, np.float64))
    return heights.astype(np.float32)


def default_cavity_depth(heights: NDArray[np.floating]) -> float:
    """The pit depth that maps to black by default: the :data:`DEPTH_PERCENTILE` percentile of ``-h`` over pits."""
    pits = -np.asarray(heights, np.float64)
    pits = pits[pits > 0]
    return float(np.percentile(pits, DEPTH_PERCENTILE)) if len(pits) else 1.0


def cavity_values(heights: NDArray[np.float32], depth: float) -> NDArray[np.float32]:
    """``clip(1 + h / depth, 0, 1)``: 1 on flat and raised ground, 0 at ``depth`` below the neighbourhood."""
    if depth <= 0:
        raise ValueError(f"the cavity depth must be positive, got {depth}")
    out = heights * np.float32(1.0 / depth)
    out += 1.0
    return np.clip(out, 0.0, 1.0, out=out)

"""Ambient occlusion of a surface: the fraction of cosine-weighted hemisphere rays about each normal that escape."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from lifecast.bake.correspond import RayEngine
from lifecast.bake.tangents import any_perpendicular
from lifecast.bake.vectors import unit_vectors


def ambient_occlusion(
    engine: RayEngine,
    points: NDArray[np.float32],
    normals: NDArray[np.float32],
    samples: int,
    reach: float,
    seed: int = 0,
) -> NDArray[np.float32]:
    """``(q,)`` unoccluded fraction of cosine-weighted hemisphere rays about each normal (1 = fully open).

    Each point gets its own random rotation of the sample pattern, so the
    noise is uncorrelated between texels rather than banded.

    Parameters
    ----------
    engine
        Ray engine over the occluding surface.
    points
        ``(q, 3)`` points on that surface (each ray starts a hair above its point).
    normals
        ``(q, 3)`` unit normals there.
    samples
        Rays per point.
    reach
        Occluders farther than this do not count.
    seed
        Seed of the random directions.
    """
    rng = np.random.default_rng(seed)
    q = len(points)
    tangent = any_perpendicular(normals).astype(np.float32)
    bitangent = np.cross(normals, tangent)
    origins = (points + normals * np.float32(1e-4 * reach)).astype(np.float32)
    open_count = np.zeros(q, np.float32)
    for _ in range(samples):
        r1, r2 = rng.random(q, np.float32), rng.random(q, np.float32)
        radius, phi = np.sqrt(r1)[:, None], (np.float32(2 * np.pi) * r2)[:, None]
        direction = tangent * (radius * np.cos(phi)) + bitangent * (radius * np.sin(phi))
        direction += normals * np.sqrt(1 - r1)[:, None]
        open_count += ~engine.occluded(origins, unit_vectors(direction), reach)
    return open_count / np.float32(max(samples, 1))

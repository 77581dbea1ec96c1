"""Deep shadow: texels too dark in the capture to delight, their albedo taken from the lit surface around them.

Where the shading a delighter removes reaches its brightening limit (``min_shading``, e.g. 0.1: the texel got a
tenth of the surface's mean light, or less), an 8-bit capture holds a handful of codes there, or clips to black:
dividing by the shading amplifies the quantisation and noise of those codes up to ``1 / min_shading`` times, and
cannot give back an albedo the capture never recorded (eye and mouth slits, the inner ear, cast shadows under a
hard key). On the held-out Lee Perry-Smith captures these texels (1-3 % of them) carried over half the squared
error of the division, of the model's and of the true shading's alike (docs/ml.md).

So the delight trusts the division in proportion to how lit the texel was (:func:`shadow_trust`: 0 at the limit,
1 from :data:`TRUST_FACTOR` times it) and takes the rest of the albedo from the trusted texels around it on the
surface: the inpaint's chart-aware fill (:func:`lifecast.ml.inpaint.inpaint_tiles`: in 3D, across seams and
UDIM tiles, never from a chart that merely lies close in UV; blended into its surroundings without an edge), at
the working size. The fill is an albedo, so it carries no shading (``shading="none"``).

What an artist sees: a nostril or an eye slit in the delit albedo reads as the skin around it, not as a dark
hole or noise lifted tenfold; the removed shading (the ``_shading`` map) holds the rest, so albedo x shading is
still the bake. ``lifecast delight --no-shadow-fill`` (``lifecast process --no-shadow-fill``) keeps the plain
division.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

from lifecast.bake.padding import pad_edges
from lifecast.ml.geometry_maps import GeometryTile
from lifecast.ml.inpaint import inpaint_tiles

#: The division is trusted fully where the shading is at least this many times the brightening limit; below, the
#: trust falls linearly to 0 at the limit itself.
TRUST_FACTOR = 2.0


def shadow_trust(
    log_shading: NDArray[np.floating], covered: NDArray[np.bool_], min_shading: float
) -> NDArray[np.float32]:
    """``(s, s) float32`` in ``[0, 1]``: how far the division by ``log_shading (s, s, 3)`` (natural log, the
    surface's mean at 0) is trusted. 0 where the shading's grey is at ``min_shading`` or below, 1 from
    ``TRUST_FACTOR * min_shading`` up, linear in between; outside ``covered (s, s)`` the nearest covered texel's
    value (edge-padded), so an upsampled trust does not jump at chart edges."""
    if not 0.0 < min_shading < 1.0:
        raise ValueError(f"min_shading must lie in (0, 1), got {min_shading}")
    if not covered.any():
        return np.ones(covered.shape, np.float32)
    grey = np.exp(np.asarray(log_shading, np.float32).mean(axis=-1))
    trust = np.clip((grey - min_shading) / ((TRUST_FACTOR - 1.0) * min_shading), 0.0, 1.0).astype(np.float32)
    return np.ascontiguousarray(pad_edges(trust[..., None], covered)[..., 0], dtype=np.float32)


def fill_from_trusted(
    albedo: Sequence[NDArray[np.float32]],
    trust: Sequence[NDArray[np.float32]],
    geometry: Sequence[GeometryTile],
) -> list[NDArray[np.float32]] | None:
    """Per tile ``(s, s, 3) float32``: ``albedo[i]`` (linear, at the geometry's size) with every covered texel of
    trust under 1 filled from the fully trusted ones around it on the surface (gutters edge-padded), or ``None``
    when there is nothing to fill, nothing trusted to fill from (a capture that is all deep shadow keeps its
    division), or no surface points (``position`` all one point, as in a stored correction's geometry)."""
    holes = [g.covered & (t < 1.0) for t, g in zip(trust, geometry, strict=True)]
    if not any(h.any() for h in holes):
        return None
    if not any(np.ptp(g.position[g.covered], axis=0).any() for g in geometry if g.covered.any()):
        return None  # no surface points to fill along (a stored correction's geometry keeps none)
    if not any((g.covered & ~h).any() for g, h in zip(geometry, holes, strict=True)):
        return None
    textures = [np.ascontiguousarray(a, dtype=np.float32) for a in albedo]
    return inpaint_tiles(textures, holes, geometry, shading="none")


def blend(divided: NDArray[np.float32], fill: NDArray[np.float32], trust: NDArray[np.float32]) -> NDArray[np.float32]:
    """``(..., 3)`` the division where trusted, the fill where not: ``trust * divided + (1 - trust) * fill``
    (``trust (...)`` broadcast over the channels); exactly ``divided`` where the trust is 1."""
    w = trust[..., None]
    out = np.where(w >= 1.0, divided, w * divided + (1.0 - w) * fill)
    return np.asarray(out, np.float32)


def refill_deep_shadows(
    albedo: NDArray[np.float32], lit: NDArray[np.float32], geometry: GeometryTile, min_shading: float
) -> NDArray[np.float32]:
    """``(s, s, 3)`` any delighter's ``albedo`` of ``lit`` (both linear, at the geometry's size) with its deep
    shadows filled by the same rule as the delight's: the shading it removed (``lit / albedo``, mean 1 over the
    covered texels) decides the trust. For the evaluation, so the baselines and the ceiling can be scored with
    the fill too."""
    cov = geometry.covered
    # A texel the capture clipped to black (lit 0) reads as the deepest shadow, whatever the albedo says.
    log_s = np.log(np.maximum(np.maximum(lit, 0.0) / np.maximum(albedo, 1e-4), 1e-6)).astype(np.float32)
    if cov.any():
        log_s -= log_s[cov].mean(axis=0)
    trust = shadow_trust(log_s, cov, min_shading)
    filled = fill_from_trusted([albedo], [trust], [geometry])
    if filled is None:
        return albedo
    out = blend(albedo, filled[0], trust)
    return np.where(cov[..., None], out, albedo).astype(np.float32)


__all__ = ["TRUST_FACTOR", "blend", "fill_from_trusted", "refill_deep_shadows", "shadow_trust"]

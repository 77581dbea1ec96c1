"""How much each photo is trusted at each texel it sees.

The weight of photo ``i`` at a texel is the product of three terms, each in ``[0, 1]``:

- **angle**: ``((cos - min_cos) / (1 - min_cos))^2`` of the angle between the smooth normal and the
  direction to the camera: grazing views stretch the photo over the surface and blur it;
- **resolution**: ``min(rho / rho_full, 1)^2`` where ``rho`` is the number of photo pixels spanning one
  texel (``focal * texel side / depth``): a photo with a quarter of the pixels on the texel counts a
  quarter; above ``rho_full`` pixels per texel more resolution adds nothing;
- **edge**: ``smoothstep(distance to the nearest edge / feather)``, the distance measured in the photo
  from the nearest silhouette, occlusion boundary, masked region or photo border
  (:class:`lifecast.photo.visibility.CameraView`): a small calibration error moves these, so the texels
  next to them fade out instead of picking up the wrong surface. The fade is at least as wide as the
  blur of the colour read there (:mod:`lifecast.photo.project` reads the low band from coarse pyramid
  levels, which must not average in the backdrop or another surface).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

#: Photo pixels per texel above which a view is not preferred for its resolution.
RHO_FULL = 2.0


def view_weights(
    cos: NDArray[np.floating],
    pixels_per_texel: NDArray[np.floating],
    edge_px: NDArray[np.floating],
    *,
    min_cos: float,
    feather_px: float | NDArray[np.floating],
    rho_full: float = RHO_FULL,
) -> NDArray[np.float32]:
    """``(k,) float32`` weight of one photo at the texels it sees (see the module docstring).

    Parameters
    ----------
    cos
        ``(k,)`` cosine between the normal and the direction to the camera.
    pixels_per_texel
        ``(k,)`` photo pixels spanning one texel.
    edge_px
        ``(k,)`` distance to the nearest edge in photo pixels.
    min_cos
        Cosine at and below which the weight is 0.
    feather_px
        Edge distance from which the edge term is 1 (one for all, or ``(k,)``).
    rho_full
        Pixels per texel from which the resolution term is 1.
    """
    angle = np.clip((np.asarray(cos, np.float32) - min_cos) / (1.0 - min_cos), 0.0, 1.0)
    weight = angle * angle
    res = np.minimum(np.asarray(pixels_per_texel, np.float32) / np.float32(rho_full), 1.0)
    weight *= res * res
    t = np.clip(np.asarray(edge_px, np.float32) / np.asarray(feather_px, np.float32), 0.0, 1.0)
    weight *= t * t * (3.0 - 2.0 * t)
    return np.asarray(weight, np.float32)


def pyramid_levels(
    pixels_per_texel: NDArray[np.floating], split_texels: float
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Pyramid levels to read a texel's full colour and its low band at.

    Parameters
    ----------
    pixels_per_texel
        ``(k,)`` photo pixels spanning one texel.
    split_texels
        Width, in texels, of the blur that separates the low band from the detail.

    Returns
    -------
    full
        ``(k,) float32``: ``log2(rho)``, at least 0: one pyramid pixel per texel (no aliasing).
    low
        ``(k,) float32``: ``log2(rho * split_texels)``, at least 0.
    """
    rho = np.maximum(np.asarray(pixels_per_texel, np.float32), 1e-6)
    full = np.maximum(np.log2(rho), 0.0)
    low = np.maximum(np.log2(rho * np.float32(split_texels)), 0.0)
    return full.astype(np.float32), low.astype(np.float32)

"""The simple methods the delight model is measured against, in the same evaluation.

- :func:`divide_by_ao`: the texture divided by its baked ambient occlusion (scaled to mean 1);
- :func:`unity_style`: the Unity De-Lighting tool's approach: a low-order (SH band 2) lighting fitted to the
  texture's luminance as a function of the normal, divided out together with AO (one grey shading for all
  channels).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from lifecast.ml.geometry_maps import GeometryTile
from lifecast.ml.sh import fit_shading

_LUMA = np.array([0.2126, 0.7152, 0.0722], np.float32)


def divide_by_ao(lit: NDArray[np.float32], geometry: GeometryTile) -> NDArray[np.float32]:
    """``(s, s, 3)`` linear albedo estimate: ``lit / (ao / mean ao)`` on the surface, 0 off it."""
    cov = geometry.covered
    ao = np.maximum(geometry.ao, 0.05)
    out = np.zeros_like(lit, dtype=np.float32)
    out[cov] = lit[cov] / (ao[cov] / ao[cov].mean())[:, None]
    return np.clip(out, 0.0, 1.0)


def unity_style(lit: NDArray[np.float32], geometry: GeometryTile) -> NDArray[np.float32]:
    """``(s, s, 3)`` linear albedo estimate: ``lit`` divided by a luminance SH fit times AO, 0 off the surface."""
    cov = geometry.covered
    n, ao = geometry.normal[cov], geometry.ao[cov]
    fit = fit_shading(lit[cov] @ _LUMA, n, ao)
    out = np.zeros_like(lit, dtype=np.float32)
    out[cov] = lit[cov] / fit.shading(n, ao)
    return np.clip(out, 0.0, 1.0)


__all__ = ["divide_by_ao", "unity_style"]

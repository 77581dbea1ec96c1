"""Low-order lighting as a function of the surface normal: real spherical harmonics to band 2 and their fit.

Nine real SH basis functions of a unit normal (Ramamoorthi & Hanrahan, "An Efficient Representation for
Irradiance Environment Maps", SIGGRAPH 2001, eq. 3: the constants below) span the irradiance of any distant
lighting on a convex Lambertian surface to within a few percent. :func:`fit_shading` fits them, times ambient
occlusion, to a texture: the Unity De-Lighting tool's idea (a low-frequency environment fitted to base colour,
normals and AO), used here both as a baseline and as a feature the delight model refines.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

#: Band 0-2 normalisation constants of the real SH basis (Ramamoorthi & Hanrahan 2001).
_C0 = 0.282095
_C1 = 0.488603
_C2 = 1.092548
_C20 = 0.315392
_C22 = 0.546274

#: Texels a fit reads at most (a deterministic random subset beyond this).
FIT_SAMPLES = 65536
#: The smallest fitted shading kept (a fit can dip towards zero or below where no texel constrained it).
MIN_SHADING = 0.05
#: Robust fit: texels brighter than the fit by more than this factor (specular highlights) are down-weighted.
_HIGHLIGHT = 1.35


def sh_basis(normals: NDArray[np.floating]) -> NDArray[np.float32]:
    """``(q, 9) float32`` the real SH basis to band 2 at unit ``normals (q, 3)``."""
    n = np.asarray(normals, np.float32)
    x, y, z = n[:, 0], n[:, 1], n[:, 2]
    return np.stack(
        [
            np.full_like(x, _C0),
            _C1 * y,
            _C1 * z,
            _C1 * x,
            _C2 * x * y,
            _C2 * y * z,
            _C20 * (3.0 * z * z - 1.0),
            _C2 * x * z,
            _C22 * (x * x - y * y),
        ],
        axis=1,
    )


@dataclass(frozen=True)
class ShadingFit:
    """Lighting fitted to a texture: ``shading(n, ao) = ao * basis(n) @ coeffs``, scaled to mean 1 over the fit.

    Attributes
    ----------
    coeffs
        ``(9, c) float32`` SH coefficients per colour channel (``c`` = 3, or 1 for a luminance fit).
    """

    coeffs: NDArray[np.float32]

    def shading(self, normals: NDArray[np.floating], ao: NDArray[np.floating]) -> NDArray[np.float32]:
        """``(q, c) float32`` the fitted shading at ``normals (q, 3)`` with occlusion ``ao (q,)``, at least
        :data:`MIN_SHADING`."""
        s = sh_basis(normals) @ self.coeffs
        s *= np.asarray(ao, np.float32)[:, None]
        return np.maximum(s, MIN_SHADING)

    def dominant_direction(self) -> NDArray[np.float32]:
        """``(3,)`` the unit direction the fitted light comes from most (band 1 of the luminance), or +Z if none."""
        band1 = self.coeffs[1:4].mean(axis=1)  # (y, z, x) order of the basis
        d = np.array([band1[2], band1[0], band1[1]], np.float32)
        norm = float(np.linalg.norm(d))
        return d / norm if norm > 1e-8 else np.array([0.0, 0.0, 1.0], np.float32)


def fit_shading(
    colors: NDArray[np.floating],
    normals: NDArray[np.floating],
    ao: NDArray[np.floating],
    *,
    seed: int = 0,
    rounds: int = 3,
) -> ShadingFit:
    """Fit ``colors ≈ albedo_mean * ao * basis(n) @ coeffs`` by reweighted least squares, normalised to mean 1.

    Parameters
    ----------
    colors
        ``(q, c)`` linear colour (or luminance, ``c = 1``) of covered texels.
    normals
        ``(q, 3)`` their unit normals.
    ao
        ``(q,)`` their ambient occlusion.
    seed
        Picks the texels read when there are more than :data:`FIT_SAMPLES`.
    rounds
        Reweighting rounds; each down-weights texels far above the fit (highlights) and deep below it (shadows,
        dark features), so the fit follows the broad lighting.

    Returns
    -------
    ShadingFit
        Whose :meth:`ShadingFit.shading` has mean 1 per channel over the texels fitted.
    """
    c = np.asarray(colors, np.float32)
    if c.ndim == 1:
        c = c[:, None]
    q = len(c)
    if q < 16:
        raise ValueError(f"a lighting fit needs at least 16 texels, got {q}")
    if q > FIT_SAMPLES:
        pick = np.sort(np.random.default_rng(seed).choice(q, FIT_SAMPLES, replace=False))
        c, normals, ao = c[pick], np.asarray(normals)[pick], np.asarray(ao)[pick]
    a = np.maximum(np.asarray(ao, np.float32), 0.05)
    design = sh_basis(normals) * a[:, None]  # (q, 9)
    weights = np.ones(len(c), np.float32)
    coeffs = np.zeros((9, c.shape[1]), np.float32)
    ridge = 1e-3 * np.eye(9, dtype=np.float64)
    for _ in range(max(1, rounds)):
        wd = design * weights[:, None]
        gram = wd.T.astype(np.float64) @ design.astype(np.float64) / max(float(weights.sum()), 1.0)
        rhs = wd.T.astype(np.float64) @ c.astype(np.float64) / max(float(weights.sum()), 1.0)
        coeffs = np.linalg.solve(gram + ridge * np.trace(gram) / 9.0, rhs).astype(np.float32)
        fitted = np.maximum(design @ coeffs, 1e-4)
        ratio = (c / fitted).mean(axis=1)
        weights = np.where(ratio > _HIGHLIGHT, 0.1, 1.0).astype(np.float32)
        weights *= np.where(ratio < 1.0 / _HIGHLIGHT**2, 0.3, 1.0).astype(np.float32)
    mean = np.maximum(design @ coeffs, MIN_SHADING).mean(axis=0)
    return ShadingFit((coeffs / np.maximum(mean, 1e-6)).astype(np.float32))


__all__ = ["FIT_SAMPLES", "MIN_SHADING", "ShadingFit", "fit_shading", "sh_basis"]

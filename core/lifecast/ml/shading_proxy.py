"""A smooth shading proxy of a texture, fitted to how much the texture actually shows that shading.

A photogrammetry texture is lit: the underside of the chin and the inside of an ear are darker because light
reaches them less, so a hole there filled from brighter surroundings is too bright. Filling the texture divided
by a shading proxy and multiplying the proxy back carries that darkening into the hole. But a texture that was
delit, or painted by an artist (enclosed surfaces in a flat skin tone), does not show the occlusion, and dividing
by it would paint the holes dark.

So the proxy's strength is measured on the known texels: a low-order lighting of the normal
(:func:`lifecast.ml.sh.fit_shading`, without occlusion) and the ambient occlusion are fitted to the log luminance,
``log L = c + g_ao log(ao) + g_sh log(sh(n))``, and each exponent, clipped to ``[0, 1]``, says how much of that
factor the texture shows. A procedural skin lit with occlusion measured ``g_ao`` 0.7-1.1; the Lee Perry-Smith
scan's texture 0.01 (it shows the normal's lighting, ``g_sh`` 1.1, but not the occlusion).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from lifecast.ml.sh import FIT_SAMPLES, ShadingFit, fit_shading

#: Rec. 709 luminance weights of linear RGB.
LUMA = np.array([0.2126, 0.7152, 0.0722], np.float32)
#: Occlusion below this is read as this (fully enclosed surfaces would divide by zero).
MIN_AO = 0.05


@dataclass(frozen=True)
class ShadingProxy:
    """``shading(n, ao) = ao ** ao_power * sh(n) ** sh_power`` (grey, mean about 1 over the fitted texels).

    Attributes
    ----------
    fit
        The normal-only lighting (luminance).
    ao_power, sh_power
        The exponents measured on the texture, in ``[0, 1]``.
    """

    fit: ShadingFit
    ao_power: float
    sh_power: float

    def shading(self, normals: NDArray[np.floating], ao: NDArray[np.floating]) -> NDArray[np.float32]:
        """``(q, 1) float32`` the proxy at ``normals (q, 3)`` with occlusion ``ao (q,)``."""
        a = np.maximum(np.asarray(ao, np.float32), MIN_AO)[:, None] ** np.float32(self.ao_power)
        if self.sh_power == 0.0:
            return a.astype(np.float32)
        sh = self.fit.shading(normals, np.ones(len(a), np.float32))[:, :1]
        return (a * sh ** np.float32(self.sh_power)).astype(np.float32)


def fit_proxy(
    colors: NDArray[np.floating],
    normals: NDArray[np.floating],
    ao: NDArray[np.floating],
    *,
    lighting: bool = False,
    seed: int = 0,
) -> ShadingProxy:
    """Fit :class:`ShadingProxy` to known texels.

    Parameters
    ----------
    colors
        ``(q, 3)`` linear colour of the known texels.
    normals
        ``(q, 3)`` their unit normals.
    ao
        ``(q,)`` their ambient occlusion (all ones when none was measured: the exponent then does not matter).
    lighting
        Also divide by the normal's fitted lighting (``sh_power`` measured; else 0). Off by default: in a hole
        the fit is extrapolated to normals the known texels rarely have (the underside of the chin), and it cost
        0.8 to 2 dB inside holes where it missed (see :mod:`lifecast.ml.inpaint`).
    seed
        Picks the texels read when there are more than :data:`lifecast.ml.sh.FIT_SAMPLES`.
    """
    c = np.asarray(colors, np.float32)
    n = np.asarray(normals, np.float32)
    a = np.asarray(ao, np.float32)
    if len(c) > FIT_SAMPLES:
        pick = np.sort(np.random.default_rng(seed).choice(len(c), FIT_SAMPLES, replace=False))
        c, n, a = c[pick], n[pick], a[pick]
    lum = c @ LUMA
    ones = np.ones(len(a), np.float32)
    fit = fit_shading(lum, n, ones, seed=seed)
    sh = fit.shading(n, ones)[:, 0]
    y = np.log(np.maximum(lum, 1e-4)).astype(np.float64)
    design = np.stack([ones, np.log(np.maximum(a, MIN_AO)), np.log(sh)], axis=1).astype(np.float64)
    # A constant column (no occlusion measured, or one normal everywhere) has no exponent to find: it stays 0.
    varying = np.ptp(design, axis=0) > 1e-6
    varying[0] = True
    coef = np.zeros(3)
    coef[varying] = np.linalg.lstsq(design[:, varying], y, rcond=None)[0]
    sh_power = float(np.clip(coef[2], 0.0, 1.0)) if lighting else 0.0
    return ShadingProxy(fit, float(np.clip(coef[1], 0.0, 1.0)), sh_power)


__all__ = ["LUMA", "MIN_AO", "ShadingProxy", "fit_proxy"]

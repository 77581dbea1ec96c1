"""What the delight model reads per texel, the same in training and in use.

The model never sees positions or object-space normals directly: frames differ between scans (Y up, Z up, any
units), so what it reads is rotation- and scale-free. The global light is summarised by a fit
(:func:`lifecast.ml.sh.fit_shading`, over the whole surface: every UDIM tile at once), and the model predicts a
per-channel correction of that fit in log space: what the fit cannot see (cast shadows, highlights, the colour of
light in the terminator).

=====  =====================================================================================================
ch     feature
=====  =====================================================================================================
0-2    ``log(lit + eps) - log(mean lit)`` per channel (the texture, white-balanced and exposed to mean 1)
3-5    ``log`` of the per-channel fitted shading (mean 1)
6      ``n · d``: the normal against the fitted light's dominant direction (where a key light falls)
7      ambient occlusion
8      cavity
9      coverage (1 on the surface; every feature is 0 off it)
=====  =====================================================================================================
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from lifecast.ml.sh import ShadingFit

#: Input channels of the delight model.
FEATURES = 10
#: Added to linear colour before the log (an 8-bit sRGB code of 1 is 3e-4 linear).
LOG_EPS = 1e-3


@dataclass(frozen=True)
class FitSummary:
    """The whole texture's lighting fit and mean colour: the global part of the features.

    Attributes
    ----------
    fit
        Per-channel SH fit (mean-1 shading).
    mean_rgb
        ``(3,)`` mean linear colour over the fitted texels.
    """

    fit: ShadingFit
    mean_rgb: NDArray[np.float32]


def texel_features(
    lit: NDArray[np.float32],
    normal: NDArray[np.float32],
    ao: NDArray[np.float32],
    cavity: NDArray[np.float32],
    summary: FitSummary,
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Features of covered texels.

    Parameters
    ----------
    lit
        ``(q, 3)`` linear colour.
    normal
        ``(q, 3)`` unit normals.
    ao, cavity
        ``(q,)``.
    summary
        The texture's fit.

    Returns
    -------
    features
        ``(q, FEATURES) float32``.
    log_fit
        ``(q, 3) float32`` the log fitted shading (what the model's output corrects).
    """
    log_fit = np.log(summary.fit.shading(normal, ao))
    out = np.empty((len(lit), FEATURES), np.float32)
    out[:, 0:3] = np.log(lit + LOG_EPS) - np.log(summary.mean_rgb + LOG_EPS)[None, :]
    out[:, 3:6] = log_fit
    out[:, 6] = normal @ summary.fit.dominant_direction()
    out[:, 7] = ao
    out[:, 8] = cavity
    out[:, 9] = 1.0
    return out, log_fit.astype(np.float32)


__all__ = ["FEATURES", "LOG_EPS", "FitSummary", "texel_features"]

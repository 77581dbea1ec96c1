"""The wrap's residual heatmap: each vertex's distance to the scan, coloured on the mesh, with a scale in mm."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from lifecast.mesh import METERS_PER_UNIT
from lifecast.preview.zbuffer import look_rotation, render_mesh
from lifecast.report.views import View

__all__ = [
    "NO_DISTANCE_COLOR",
    "RESIDUAL_COLORS",
    "ResidualScale",
    "colorize",
    "heatmap_views",
    "nice_ceiling",
    "residual_scale",
    "to_mm",
]

#: Anchors of the colour ramp, low to high distance (sRGB, a "turbo"-like blue -> green -> yellow -> red).
RESIDUAL_COLORS = np.array(
    [
        [0.19, 0.07, 0.23],
        [0.27, 0.53, 0.98],
        [0.10, 0.89, 0.71],
        [0.64, 0.99, 0.24],
        [0.98, 0.73, 0.22],
        [0.89, 0.27, 0.04],
        [0.48, 0.02, 0.01],
    ]
)
#: sRGB colour of vertices with no distance (excluded from the fit: NaN).
NO_DISTANCE_COLOR = (0.55, 0.55, 0.57)
#: The least top of a heatmap's scale, mm: residuals below it are scanner noise.
MIN_SCALE_MM = 1.0
#: (label, yaw, pitch) of the heatmap's views.
HEATMAP_VIEWS = (("front", 0.0, 0.0), ("profile", 90.0, 0.0), ("back", 180.0, 0.0))


def to_mm(values: NDArray[np.floating] | float, units: str) -> NDArray[np.float64]:
    """Lengths in ``units`` (``mm``, ``cm``, ``m``...) as millimetres."""
    return np.asarray(values, np.float64) * METERS_PER_UNIT[units] * 1000.0


@dataclass(frozen=True)
class ResidualScale:
    """The colour scale of a heatmap: distances from 0 to ``top_mm`` span the ramp; farther ones are clamped.

    ``ticks_mm`` are the labelled values (0 to ``top_mm``); ``p95_mm`` is the wrap's 95th-percentile
    distance the top was chosen from (:func:`residual_scale`).
    """

    top_mm: float
    ticks_mm: tuple[float, ...]
    p95_mm: float

    def colors(self) -> NDArray[np.float64]:
        """``(len(ticks_mm), 3)`` sRGB colour of each tick."""
        return colorize(np.asarray(self.ticks_mm), self.top_mm)


def residual_scale(
    report: dict[str, object], distance_mm: NDArray[np.floating], units: str, ticks: int = 5
) -> ResidualScale:
    """The scale for a wrap: 0 to the report's 95th-percentile distance rounded up to 1, 2, 2.5 or 5 x 10^k mm.

    The top is never below :data:`MIN_SCALE_MM` (residuals under it are scanner noise, shown all cool);
    without a ``p95_distance`` in the report (in ``units``) the 95th percentile of ``distance_mm`` is used.
    """
    p95 = report.get("p95_distance")
    if isinstance(p95, int | float) and np.isfinite(p95):
        p95_mm = float(to_mm(float(p95), units))
    else:
        finite = np.asarray(distance_mm, np.float64)
        finite = finite[np.isfinite(finite)]
        p95_mm = float(np.percentile(finite, 95)) if finite.size else 0.0
    top = max(nice_ceiling(p95_mm), MIN_SCALE_MM)
    return ResidualScale(top, tuple(float(t) for t in np.linspace(0.0, top, ticks)), p95_mm)


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 x 10^k at or above ``value`` (0 for a value <= 0)."""
    if not np.isfinite(value) or value <= 0:
        return 0.0
    power = 10.0 ** np.floor(np.log10(value))
    for step in (1.0, 2.0, 2.5, 5.0, 10.0):
        if step * power >= value * (1 - 1e-12):
            return float(step * power)
    return float(10.0 * power)


def colorize(distance_mm: NDArray[np.floating], top_mm: float) -> NDArray[np.float64]:
    """``(n, 3)`` sRGB colour of each distance on :data:`RESIDUAL_COLORS` from 0 to ``top_mm`` (clamped).

    NaN distances get :data:`NO_DISTANCE_COLOR`.
    """
    d = np.asarray(distance_mm, np.float64).reshape(-1)
    t = np.clip(np.nan_to_num(d, nan=0.0) / max(top_mm, 1e-12), 0.0, 1.0) * (len(RESIDUAL_COLORS) - 1)
    lo = np.minimum(np.floor(t).astype(np.int64), len(RESIDUAL_COLORS) - 2)
    frac = (t - lo)[:, None]
    out = RESIDUAL_COLORS[lo] * (1.0 - frac) + RESIDUAL_COLORS[lo + 1] * frac
    out[~np.isfinite(d)] = NO_DISTANCE_COLOR
    return out


def heatmap_views(
    vertices: NDArray[np.floating],
    triangles: NDArray[np.integer],
    distance_mm: NDArray[np.floating],
    scale: ResidualScale,
    size: int = 320,
) -> list[View]:
    """The mesh coloured by ``(n,)`` per-vertex distance (mm) from the front, the side and the back.

    Lit from the viewer (a head light), so a surface facing the camera shows its colour exactly.
    """
    colors = colorize(distance_mm, scale.top_mm)
    return [
        View(
            label,
            render_mesh(
                vertices, triangles, colors=colors, size=size, rotation=look_rotation(yaw, pitch), light=(0.0, 0.0, 1.0)
            ),
        )
        for label, yaw, pitch in HEATMAP_VIEWS
    ]

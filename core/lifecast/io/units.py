"""Units and up axis of a scan: parse what a file declares, guess what it does not.

Scans of people arrive in whatever units the capture software chose. When a
file does not declare its units, lifecast guesses them from the size of the
bounding box, assuming the scan is a human head or body (0.2 m to 2.5 m across),
and says so in the scan's notes.
"""

from __future__ import annotations

from typing import cast

import numpy as np
from numpy.typing import NDArray

from lifecast.mesh import METERS_PER_UNIT, Units, UpAxis

#: A scan larger than this (in metres, along its largest extent) is refused.
MAX_EXTENT_M = 1000.0
#: A scan smaller than this (in metres, along its largest extent) is refused.
MIN_EXTENT_M = 1e-6

# Largest bounding-box extent thresholds for guessing: a head or body is 0.2 to
# 2.5 m across, i.e. 200-2500 in mm, 20-250 in cm and 0.2-2.5 in m.
_MM_ABOVE = 100.0
_M_BELOW = 3.0

_UNIT_ALIASES: dict[str, Units] = {
    "mm": "mm",
    "millimeter": "mm",
    "millimeters": "mm",
    "millimetre": "mm",
    "millimetres": "mm",
    "cm": "cm",
    "centimeter": "cm",
    "centimeters": "cm",
    "centimetre": "cm",
    "centimetres": "cm",
    "m": "m",
    "meter": "m",
    "meters": "m",
    "metre": "m",
    "metres": "m",
}


def parse_units(text: str) -> Units | None:
    """The units a word names (``"mm"``, ``"millimetres"``, ``"m"``, ...), or None."""
    return _UNIT_ALIASES.get(text.strip().lower())


def parse_up_axis(text: str) -> UpAxis | None:
    """The up axis a word names (``"y"``, ``"+Z"``, ``"z_up"``, ...), or None."""
    word = text.strip().lower().lstrip("+").removesuffix("_up").removesuffix("-up").removesuffix("up").strip()
    if word in ("y", "z"):
        return cast(UpAxis, word)
    return None


def bounding_box_extent(vertices: NDArray[np.floating]) -> float:
    """Largest side of the axis-aligned bounding box of the finite points.

    Parameters
    ----------
    vertices
        ``(n, 3)`` positions; rows with a NaN or inf coordinate are ignored.

    Returns
    -------
    float
        The largest extent, 0.0 when there are no finite points.
    """
    v = np.asarray(vertices, dtype=np.float64)
    finite = v[np.isfinite(v).all(axis=1)]
    if len(finite) == 0:
        return 0.0
    return float((finite.max(axis=0) - finite.min(axis=0)).max())


def guess_units(extent: float) -> Units:
    """Guess the units of a human scan from its largest bounding-box extent.

    Parameters
    ----------
    extent
        Largest side of the bounding box, in the file's (unknown) units.

    Returns
    -------
    Units
        ``"mm"`` above 100, ``"m"`` below 3, ``"cm"`` in between.
    """
    if extent > _MM_ABOVE:
        return "mm"
    if extent < _M_BELOW:
        return "m"
    return "cm"


def extent_in_meters(extent: float, units: Units) -> float:
    """``extent`` converted from ``units`` to metres."""
    return extent * METERS_PER_UNIT[units]


def size_problem(extent: float, units: Units) -> str | None:
    """Why a scan of this size cannot be a person, or None when the size is usable.

    Parameters
    ----------
    extent
        Largest side of the bounding box, in ``units``.
    units
        The units the scan is declared or assumed to be in.
    """
    meters = extent_in_meters(extent, units)
    if meters > MAX_EXTENT_M:
        return f"the scan is {meters:.4g} m across (read in {units}), larger than {MAX_EXTENT_M:g} m"
    if meters < MIN_EXTENT_M:
        return f"the scan is {meters:.4g} m across (read in {units}), smaller than {MIN_EXTENT_M:g} m"
    return None


def plausibility_note(extent: float, units: Units) -> str | None:
    """A warning when a scan's size in ``units`` is far from a person's (5 cm to 3 m), else None."""
    meters = extent_in_meters(extent, units)
    if 0.05 <= meters <= 3.0:
        return None
    return (
        f"the scan is {meters:.4g} m across (read in {units}), which is not the size of a person: "
        "check the units (pass units= or declare them in the file)"
    )

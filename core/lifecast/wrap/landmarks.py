"""Scan landmarks: named 3D points clicked on a scan, ``{"nose_tip": [x, y, z]}``.

The names are the template's vocabulary (:attr:`lifecast.wrap.template.Template.landmarks`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from lifecast.errors import InputError
from lifecast.wrap.correspond import ScanSurface
from lifecast.wrap.template import Template, read_json_object

#: A landmark farther from the scan than this fraction of the scan's bounding-box diagonal is refused.
OFF_SURFACE_FRACTION = 0.03
MIN_LANDMARKS = 3


def read_scan_landmarks(path: Path) -> dict[str, NDArray[np.float64]]:
    """Read ``{"name": [x, y, z]}`` from a JSON file.

    Raises
    ------
    InputError
        When the file is not such an object.
    """
    data = read_json_object(path, "landmarks")
    out: dict[str, NDArray[np.float64]] = {}
    for name, value in data.items():
        point = np.asarray(value, dtype=np.float64) if isinstance(value, list) else np.zeros(0)
        if point.shape != (3,) or not np.all(np.isfinite(point)):
            raise InputError(f"landmark {name!r} must be [x, y, z], got {value!r}", path)
        out[str(name)] = point
    return out


def check_scan_landmarks(
    landmarks: dict[str, NDArray[np.float64]],
    template: Template,
    surface: ScanSurface,
    *,
    source: Path | None = None,
) -> list[str]:
    """Validate scan landmarks against a template and the scan; returns the usable names, sorted.

    Raises
    ------
    InputError
        Unknown names, fewer than three landmarks, or landmarks off the scan surface.
    """
    unknown = sorted(set(landmarks) - set(template.landmarks))
    if unknown:
        vocab = sorted(template.landmarks)
        shown = ", ".join(vocab[:12]) + (", ..." if len(vocab) > 12 else "")
        raise InputError(
            f"unknown landmark name(s) {', '.join(unknown)} for template {template.name!r} (it knows: {shown})",
            source,
        )
    names = sorted(landmarks)
    if len(names) < MIN_LANDMARKS:
        raise InputError(f"at least {MIN_LANDMARKS} landmarks are needed for a wrap, got {len(names)}", source)
    points = np.stack([landmarks[n] for n in names])
    matches = surface.closest(points)
    extent = surface.vertices.max(0) - surface.vertices.min(0)
    limit = OFF_SURFACE_FRACTION * float(np.linalg.norm(extent))
    off = [f"{n} ({d:.3g} away)" for n, d in zip(names, matches.distances, strict=True) if d > limit]
    if off:
        raise InputError(
            f"landmark(s) off the scan surface (more than {limit:.3g} scan units): {', '.join(off)}; "
            "are they in the scan's units and frame?",
            source,
        )
    return names

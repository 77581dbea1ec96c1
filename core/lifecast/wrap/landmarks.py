"""Scan landmarks: named points clicked on a scan.

A landmark file is one JSON object, landmark name -> one of::

    [x, y, z]                                   a point in the scan file's coordinates and units
    {"vertex": 1234}                            a vertex of the scan file as read (0-based)
    {"vertex": 1234, "position": [x, y, z]}     what the DCC panels write: the vertex wins,
                                                the position is informational

A vertex index is exact whatever units or axes a DCC imported the scan with.
The names are the template's vocabulary (:attr:`lifecast.wrap.template.Template.landmarks`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from lifecast.errors import InputError
from lifecast.wrap.correspond import ScanSurface
from lifecast.wrap.template import Template, read_json_object

#: A landmark farther from the scan than this fraction of the scan's bounding-box diagonal is refused.
OFF_SURFACE_FRACTION = 0.03
MIN_LANDMARKS = 3


@dataclass(frozen=True)
class LandmarkSpec:
    """One landmark as written in the file.

    Attributes
    ----------
    point
        ``(3,) float64`` position in the scan file's coordinates, or ``None``.
    vertex
        Vertex index into the scan file as read, or ``None``; wins over ``point``.
    """

    point: NDArray[np.float64] | None = None
    vertex: int | None = None


def read_landmark_file(path: Path) -> dict[str, LandmarkSpec]:
    """Parse a landmark file into specs, in file order (see the module docstring for the forms).

    Raises
    ------
    InputError
        Not a JSON object, or an entry in none of the three forms.
    """
    data = read_json_object(path, "landmarks")
    out: dict[str, LandmarkSpec] = {}
    for name, value in data.items():
        if isinstance(value, dict):
            vertex = value.get("vertex")
            if isinstance(vertex, bool) or not isinstance(vertex, int):
                raise InputError(f'landmark {name!r} must be [x, y, z] or {{"vertex": index}}, got {value!r:.80}', path)
            if vertex < 0:
                raise InputError(f"landmark {name!r}: vertex index {vertex} is negative", path)
            position = _point(value["position"]) if "position" in value else None
            out[str(name)] = LandmarkSpec(point=position, vertex=vertex)
            continue
        point = _point(value)
        if point is None:
            raise InputError(f'landmark {name!r} must be [x, y, z] or {{"vertex": index}}, got {value!r:.80}', path)
        out[str(name)] = LandmarkSpec(point=point)
    return out


def _point(value: object) -> NDArray[np.float64] | None:
    if not isinstance(value, list) or not all(isinstance(x, int | float) and not isinstance(x, bool) for x in value):
        return None
    try:
        point = np.asarray(value, dtype=np.float64)
    except OverflowError:  # an integer beyond float64, e.g. 10**400
        return None
    return point if point.shape == (3,) and bool(np.all(np.isfinite(point))) else None


def needs_vertices(specs: dict[str, LandmarkSpec]) -> bool:
    """Whether any landmark is given as a vertex index."""
    return any(s.vertex is not None for s in specs.values())


def resolve_landmarks(
    specs: dict[str, LandmarkSpec],
    vertices: NDArray[np.floating] | None,
    *,
    source: Path | None = None,
) -> dict[str, NDArray[np.float64]]:
    """Positions of the landmarks: vertex indices looked up in ``vertices`` (``(n, 3)``, the scan file as read).

    Raises
    ------
    InputError
        A vertex index outside the scan (naming each), or vertex landmarks without ``vertices``.
    """
    out: dict[str, NDArray[np.float64]] = {}
    bad: list[str] = []
    for name, spec in specs.items():
        if spec.vertex is None:
            assert spec.point is not None
            out[name] = spec.point
        elif vertices is None:
            raise InputError(f"landmark {name!r} is a vertex index: the scan's vertices are needed", source)
        elif spec.vertex >= len(vertices):
            bad.append(f"{name} (vertex {spec.vertex})")
        else:
            out[name] = np.asarray(vertices[spec.vertex], np.float64)
    if bad:
        n = 0 if vertices is None else len(vertices)
        raise InputError(
            f"landmark vertex index(es) out of range for a scan of {n:,} vertices: {', '.join(bad)}", source
        )
    return out


def read_scan_landmarks(path: Path, vertices: NDArray[np.floating] | None = None) -> dict[str, NDArray[np.float64]]:
    """Read a landmark file into positions in the scan file's frame.

    ``vertices`` (``(n, 3)``, the scan as read) resolves ``{"vertex": i}`` entries.

    Raises
    ------
    InputError
        When the file is not such an object, or a vertex index cannot be resolved.
    """
    return resolve_landmarks(read_landmark_file(path), vertices, source=path)


def check_landmark_names(names: list[str] | set[str], template: Template, source: Path | None = None) -> None:
    """:class:`InputError` naming every landmark name the template does not know."""
    unknown = sorted(set(names) - set(template.landmarks))
    if unknown:
        vocab = list(template.landmarks)
        shown = ", ".join(vocab[:14]) + (", ..." if len(vocab) > 14 else "")
        raise InputError(
            f"unknown landmark name(s) {', '.join(unknown)} for template {template.name!r} (it knows: {shown})",
            source,
        )


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
    check_landmark_names(set(landmarks), template, source)
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

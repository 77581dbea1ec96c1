"""A JSON-able quality report of a triangle mesh: what a scan artist checks before cleaning."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from lifecast.errors import InputError
from lifecast.geometry.holes import find_holes
from lifecast.geometry.topology import (
    edge_table,
    face_areas,
    face_components,
    non_manifold_vertices,
    unique_rows,
)
from lifecast.mesh import METERS_PER_UNIT, TriMesh

#: How many of the largest components the report lists.
TOP_COMPONENTS = 5


def check_units(units: str) -> None:
    """Raise :class:`~lifecast.errors.InputError` unless ``units`` is one lifecast accepts."""
    if units not in METERS_PER_UNIT:
        raise InputError(f"unknown units {units!r}: use one of {', '.join(METERS_PER_UNIT)}")


def degenerate_face_mask(
    vertices: NDArray[np.floating], faces: NDArray[np.integer], *, relative_area: float = 1e-14
) -> NDArray[np.bool_]:
    """``(m,) bool``: faces with a repeated corner or an area below ``relative_area * diagonal**2``.

    The diagonal is that of the bounding box of the finite vertices; faces that
    touch a non-finite vertex count as degenerate too.
    """
    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    if len(f) == 0:
        return np.zeros(0, bool)
    repeated = (f[:, 0] == f[:, 1]) | (f[:, 1] == f[:, 2]) | (f[:, 2] == f[:, 0])
    finite: NDArray[np.bool_] = np.all(np.isfinite(v), axis=1)
    diagonal = float(np.linalg.norm(np.ptp(v[finite], axis=0))) if finite.any() else 0.0
    with np.errstate(invalid="ignore"):
        tiny = ~(face_areas(v, f) > relative_area * diagonal**2)
    return repeated | tiny | ~finite[f].all(axis=1)


def duplicate_face_mask(faces: NDArray[np.integer]) -> NDArray[np.bool_]:
    """``(m,) bool``: faces whose vertex set equals that of an earlier face (either winding)."""
    f = np.sort(np.asarray(faces, dtype=np.int64), axis=1)
    if len(f) == 0:
        return np.zeros(0, bool)
    first, _ = unique_rows(f)
    dup = np.ones(len(f), bool)
    dup[first] = False
    return dup


def qa_report(mesh: TriMesh, units: str) -> dict[str, Any]:
    """Measure a mesh's defects and size.

    Parameters
    ----------
    mesh
        The mesh to inspect (not modified).
    units
        The units of ``mesh.vertices`` (``"mm"``, ``"cm"`` or ``"m"``); lengths
        and areas in the report are in these units.

    Returns
    -------
    dict
        JSON-able: ``units``, ``vertices``, ``faces``, ``components``
        (``count`` and ``largest``: up to five ``{faces, area}``), ``holes``
        (``count`` and ``list`` of ``{edges, perimeter, diameter}``, largest
        first), ``boundary_edges``, ``non_manifold_edges``,
        ``non_manifold_vertices``, ``degenerate_faces``, ``duplicate_faces``,
        ``unreferenced_vertices``, ``non_finite_vertices``, ``bbox``
        (``min``, ``max``, ``size``), ``surface_area`` and ``watertight``.
    """
    check_units(units)
    v = np.asarray(mesh.vertices, dtype=np.float64)
    f = np.asarray(mesh.faces, dtype=np.int64)
    n = len(v)
    finite: NDArray[np.bool_] = np.all(np.isfinite(v), axis=1)
    good_faces = f[finite[f].all(axis=1)] if len(f) else f
    areas = face_areas(v, good_faces)

    referenced = np.zeros(n, bool)
    referenced[f.ravel()] = True
    table = edge_table(f)
    holes = find_holes(v, good_faces)
    count, labels = face_components(good_faces, n)
    comp_faces = np.bincount(labels, minlength=count)
    comp_area = np.bincount(labels, weights=areas, minlength=count)
    top = np.argsort(-comp_area, kind="stable")[:TOP_COMPONENTS]
    if finite.any():
        lo, hi = v[finite].min(axis=0), v[finite].max(axis=0)
    else:
        lo = hi = np.zeros(3)
    boundary_edges = int((table.counts == 1).sum())
    nm_edges = int((table.counts > 2).sum())
    return {
        "units": units,
        "vertices": n,
        "faces": len(f),
        "components": {
            "count": count,
            "largest": [{"faces": int(comp_faces[i]), "area": float(comp_area[i])} for i in top],
        },
        "holes": {"count": holes.count, "list": holes.summary()},
        "boundary_edges": boundary_edges,
        "non_manifold_edges": nm_edges,
        "non_manifold_vertices": len(non_manifold_vertices(f, n)),
        "degenerate_faces": int(degenerate_face_mask(v, f).sum()),
        "duplicate_faces": int(duplicate_face_mask(f).sum()),
        "unreferenced_vertices": int((~referenced).sum()),
        "non_finite_vertices": int((~finite).sum()),
        "bbox": {"min": lo.tolist(), "max": hi.tolist(), "size": (hi - lo).tolist()},
        "surface_area": float(areas.sum()),
        "watertight": bool(len(f) > 0 and boundary_edges == 0 and nm_edges == 0),
    }

"""A JSON-able quality report of a triangle mesh: what a scan artist checks before cleaning."""

from __future__ import annotations

from functools import cached_property
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lifecast.errors import InputError
from lifecast.geometry.holes import Holes, find_holes
from lifecast.geometry.measure import face_areas
from lifecast.geometry.topology import (
    EdgeTable,
    edge_table,
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
    vertices: NDArray[np.floating],
    faces: NDArray[np.integer],
    *,
    relative_area: float = 1e-14,
    areas: NDArray[np.float64] | None = None,
) -> NDArray[np.bool_]:
    """``(m,) bool``: faces with a repeated corner or an area below ``relative_area * diagonal**2``.

    The diagonal is that of the bounding box of the finite vertices; faces that
    touch a non-finite vertex count as degenerate too. ``areas`` is
    ``face_areas(vertices, faces)``, when the caller already has it.
    """
    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    if len(f) == 0:
        return np.zeros(0, bool)
    repeated = (f[:, 0] == f[:, 1]) | (f[:, 1] == f[:, 2]) | (f[:, 2] == f[:, 0])
    finite: NDArray[np.bool_] = np.all(np.isfinite(v), axis=1)
    diagonal = float(np.linalg.norm(np.ptp(v[finite], axis=0))) if finite.any() else 0.0
    areas = face_areas(v, f) if areas is None else areas
    with np.errstate(invalid="ignore"):
        tiny = ~(areas > relative_area * diagonal**2)
    return repeated | tiny | ~finite[f].all(axis=1)


def duplicate_face_mask(faces: NDArray[np.integer]) -> NDArray[np.bool_]:
    """``(m,) bool``: faces whose vertex set equals that of an earlier face (either winding)."""
    f = np.sort(np.asarray(faces, dtype=np.int64), axis=1)
    if len(f) == 0:
        return np.zeros(0, bool)
    # Pack the two smallest corners into one key (< 2**62 for int32 indices): a two-key sort, not three.
    n = int(f[:, 2].max()) + 1
    first, _ = unique_rows(np.stack([f[:, 0] * n + f[:, 1], f[:, 2]], axis=1))
    dup = np.ones(len(f), bool)
    dup[first] = False
    return dup


class MeshMeasures:
    """What :func:`qa_report` and the clean steps measure on one mesh, each computed once, on first use.

    The cleaning steps and both QA reports of :func:`~lifecast.geometry.clean.clean_mesh`
    ask for the same edge table, areas and components many times; one of these
    per mesh state computes each once. The arrays must not be modified while
    the object is in use.

    Parameters
    ----------
    vertices
        ``(n, 3)`` float positions.
    faces
        ``(m, 3)`` integer corner indices.
    """

    def __init__(self, vertices: NDArray[np.floating], faces: NDArray[np.integer]) -> None:
        self.vertices = vertices
        self.faces = faces

    def for_arrays(self, vertices: NDArray[np.floating], faces: NDArray[np.integer]) -> MeshMeasures:
        """``self`` when it measures these very arrays (the same objects), else a new :class:`MeshMeasures`."""
        if vertices is self.vertices and faces is self.faces:
            return self
        return MeshMeasures(vertices, faces)

    @cached_property
    def finite_vertices(self) -> NDArray[np.bool_]:
        """``(n,) bool``: vertices with finite coordinates."""
        finite: NDArray[np.bool_] = np.all(np.isfinite(self.vertices), axis=1)
        return finite

    @cached_property
    def finite_part(self) -> MeshMeasures:
        """Measures of the faces whose corners are all finite (``self`` when that is every face)."""
        f = np.asarray(self.faces)
        finite_faces = self.finite_vertices[f].all(axis=1) if len(f) else np.zeros(0, bool)
        return self if finite_faces.all() else MeshMeasures(self.vertices, f[finite_faces])

    @cached_property
    def table(self) -> EdgeTable:
        """:func:`~lifecast.geometry.topology.edge_table` of the faces."""
        return edge_table(self.faces)

    @cached_property
    def areas(self) -> NDArray[np.float64]:
        """``(m,) float64`` face areas."""
        return face_areas(self.vertices, self.faces)

    @cached_property
    def components(self) -> tuple[int, NDArray[np.int64]]:
        """:func:`~lifecast.geometry.topology.face_components` of the faces: count and ``(m,)`` labels."""
        return face_components(self.faces, len(self.vertices), self.table)

    @cached_property
    def holes(self) -> Holes:
        """:func:`~lifecast.geometry.holes.find_holes` of the mesh."""
        return find_holes(self.vertices, self.faces, self.table)

    @cached_property
    def non_manifold_vertices(self) -> NDArray[np.int64]:
        """``(k,) int64`` :func:`~lifecast.geometry.topology.non_manifold_vertices`."""
        return non_manifold_vertices(self.faces, len(self.vertices), self.table)

    @cached_property
    def degenerate_faces(self) -> NDArray[np.bool_]:
        """``(m,) bool`` :func:`degenerate_face_mask` (default tolerance)."""
        return degenerate_face_mask(self.vertices, self.faces, areas=self.areas)

    @cached_property
    def duplicate_faces(self) -> NDArray[np.bool_]:
        """``(m,) bool`` :func:`duplicate_face_mask`."""
        return duplicate_face_mask(self.faces)


def qa_report(mesh: TriMesh, units: str, *, measures: MeshMeasures | None = None) -> dict[str, Any]:
    """Measure a mesh's defects and size.

    Parameters
    ----------
    mesh
        The mesh to inspect (not modified).
    units
        The units of ``mesh.vertices`` (``"mm"``, ``"cm"`` or ``"m"``); lengths
        and areas in the report are in these units.
    measures
        A :class:`MeshMeasures` of ``mesh``'s arrays whose results can be reused;
        by default everything is measured afresh.

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
    if measures is None:
        measures = MeshMeasures(mesh.vertices, mesh.faces)
    measures = measures.for_arrays(mesh.vertices, mesh.faces)
    f = np.asarray(mesh.faces)
    n = len(mesh.vertices)
    finite = measures.finite_vertices
    # Sizes (areas, holes, components) are measured on the faces with finite corners only.
    sized = measures.finite_part
    areas = sized.areas
    count, labels = sized.components
    comp_faces = np.bincount(labels, minlength=count)
    comp_area = np.bincount(labels, weights=areas, minlength=count)
    top = np.argsort(-comp_area, kind="stable")[:TOP_COMPONENTS]

    referenced = np.zeros(n, bool)
    referenced[f.ravel()] = True
    if finite.any():
        v = np.asarray(mesh.vertices, dtype=np.float64)
        lo, hi = v[finite].min(axis=0), v[finite].max(axis=0)
    else:
        lo = hi = np.zeros(3)
    counts = measures.table.counts
    boundary_edges = int((counts == 1).sum())
    nm_edges = int((counts > 2).sum())
    return {
        "units": units,
        "vertices": n,
        "faces": len(f),
        "components": {
            "count": count,
            "largest": [{"faces": int(comp_faces[i]), "area": float(comp_area[i])} for i in top],
        },
        "holes": {"count": sized.holes.count, "list": sized.holes.summary()},
        "boundary_edges": boundary_edges,
        "non_manifold_edges": nm_edges,
        "non_manifold_vertices": len(measures.non_manifold_vertices),
        "degenerate_faces": int(measures.degenerate_faces.sum()),
        "duplicate_faces": int(measures.duplicate_faces.sum()),
        "unreferenced_vertices": int((~referenced).sum()),
        "non_finite_vertices": int((~finite).sum()),
        "bbox": {"min": lo.tolist(), "max": hi.tolist(), "size": (hi - lo).tolist()},
        "surface_area": float(areas.sum()),
        "watertight": bool(len(f) > 0 and boundary_edges == 0 and nm_edges == 0),
    }

"""Clean a raw scan: the repairs every photogrammetry mesh needs before it is wrapped or textured.

:func:`clean_mesh` runs these steps in order, each counted in its report:

1. ``non_finite_vertices``: drop NaN/inf vertices and every face that uses one.
2. ``merge_duplicate_vertices``: weld vertices at the same position (within
   ``1e-7`` of the bounding-box diagonal); scanners duplicate them at UV seams
   and tile borders. Colours and normals are averaged; UVs are indexed per
   corner, so seams survive the weld.
3. ``degenerate_faces``: drop faces with a repeated corner or ~zero area
   (this also catches faces that step 2 collapsed).
4. ``duplicate_faces``: drop faces with the same vertex set as an earlier one.
5. ``unreferenced_vertices``: drop vertices no face uses.
6. ``floaters``: drop connected pieces whose area is below
   ``min_component_fraction`` of the largest piece.
7. ``ground_plane`` (opt-in): drop a turntable disc or floor patch, see
   :mod:`lifecast.geometry.plane`; floaters it leaves behind go too.
8. ``non_manifold_edges``: where more than two faces share an edge, keep the
   two largest and drop the rest.
9. ``unreferenced_vertices``: again, for vertices steps 6-8 orphaned.
10. ``fill_holes``: close holes up to ``fill_holes_max_diameter`` across and
    report the larger ones (and open boundary chains, which cannot be closed),
    with their sizes, without touching them.

Steps 2-4 run welding first so that a cleaned mesh is a fixed point:
cleaning it again changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lifecast.geometry.attributes import compact_uvs, keep_faces, keep_vertices, merge_vertices
from lifecast.geometry.holes import fill_holes
from lifecast.geometry.plane import find_ground_plane
from lifecast.geometry.qa import MeshMeasures, check_units, qa_report
from lifecast.geometry.topology import unique_rows
from lifecast.mesh import METERS_PER_UNIT, TriMesh
from lifecast.pipeline.stage import ProgressFn, no_progress

#: Holes up to this diameter (in millimetres) are filled unless told otherwise.
DEFAULT_FILL_HOLES_MM = 15.0

#: Vertices closer than this fraction of the bounding-box diagonal are welded.
MERGE_TOLERANCE = 1e-7

Step = dict[str, Any]


def _measures(mesh: TriMesh, measures: MeshMeasures | None) -> MeshMeasures:
    """``measures`` when it measures ``mesh``'s arrays, else a fresh :class:`MeshMeasures` of them."""
    if measures is None:
        return MeshMeasures(mesh.vertices, mesh.faces)
    return measures.for_arrays(mesh.vertices, mesh.faces)


def drop_non_finite_vertices(mesh: TriMesh) -> tuple[TriMesh, Step]:
    """Drop vertices with a NaN or infinite coordinate and the faces that use them."""
    finite: NDArray[np.bool_] = np.all(np.isfinite(mesh.vertices), axis=1)
    faces_before = len(mesh.faces)
    out = keep_vertices(mesh, finite)
    return out, {
        "name": "non_finite_vertices",
        "removed": int((~finite).sum()),
        "faces_removed": faces_before - len(out.faces),
    }


def merge_duplicate_vertices(mesh: TriMesh, *, tolerance: float = MERGE_TOLERANCE) -> tuple[TriMesh, Step]:
    """Weld vertices whose positions agree to ``tolerance`` times the bounding-box diagonal.

    Positions are snapped to a grid of that spacing and vertices in the same
    cell are merged, so exact duplicates are always found.
    """
    v = np.asarray(mesh.vertices, dtype=np.float64)
    if len(v) == 0:
        return mesh, {"name": "merge_duplicate_vertices", "merged": 0}
    lo = v.min(axis=0)
    step = max(tolerance * float(np.linalg.norm(np.ptp(v, axis=0))), np.finfo(np.float64).tiny)
    cells = np.round((v - lo) / step).astype(np.int64)
    first, groups = unique_rows(cells)  # groups numbered in order of first occurrence
    count = len(first)
    if count == len(v):
        return mesh, {"name": "merge_duplicate_vertices", "merged": 0}
    out = merge_vertices(mesh, groups, count)
    return out, {"name": "merge_duplicate_vertices", "merged": len(v) - count}


def drop_degenerate_faces(mesh: TriMesh, measures: MeshMeasures | None = None) -> tuple[TriMesh, Step]:
    """Drop faces with a repeated corner or (near) zero area.

    ``measures`` (of ``mesh``'s arrays) lets this reuse what was already measured.
    """
    bad = _measures(mesh, measures).degenerate_faces
    return keep_faces(mesh, ~bad), {"name": "degenerate_faces", "removed": int(bad.sum())}


def drop_duplicate_faces(mesh: TriMesh, measures: MeshMeasures | None = None) -> tuple[TriMesh, Step]:
    """Drop faces whose vertex set repeats an earlier face's (in either winding)."""
    dup = _measures(mesh, measures).duplicate_faces
    return keep_faces(mesh, ~dup), {"name": "duplicate_faces", "removed": int(dup.sum())}


def drop_unreferenced_vertices(mesh: TriMesh) -> tuple[TriMesh, Step]:
    """Drop vertices (and UV coordinates) that no face uses."""
    used = np.zeros(len(mesh.vertices), bool)
    used[mesh.faces.ravel()] = True
    out, uvs_removed = compact_uvs(keep_vertices(mesh, used))
    return out, {"name": "unreferenced_vertices", "removed": int((~used).sum()), "uvs_removed": uvs_removed}


def drop_floaters(
    mesh: TriMesh, *, min_component_fraction: float, measures: MeshMeasures | None = None
) -> tuple[TriMesh, Step]:
    """Drop connected pieces with less than ``min_component_fraction`` of the largest piece's area."""
    measured = _measures(mesh, measures)
    count, labels = measured.components
    if count <= 1:
        return mesh, {"name": "floaters", "removed": 0, "faces_removed": 0}
    areas = np.bincount(labels, weights=measured.areas, minlength=count)
    small = areas < min_component_fraction * areas.max()
    keep = ~small[labels]
    return keep_faces(mesh, keep), {
        "name": "floaters",
        "removed": int(small.sum()),
        "faces_removed": int((~keep).sum()),
        "detail": f"pieces under {min_component_fraction:g} of the largest piece's area",
    }


def drop_ground_plane(mesh: TriMesh, *, enabled: bool) -> tuple[TriMesh, Step, dict[str, Any] | None]:
    """Drop the faces of a detected ground plane or turntable disc, when ``enabled``."""
    if not enabled:
        return mesh, {"name": "ground_plane", "removed": 0, "detail": "disabled"}, None
    plane = find_ground_plane(mesh.vertices, mesh.faces)
    if plane is None:
        return mesh, {"name": "ground_plane", "removed": 0, "detail": "no ground plane found"}, {"found": False}
    keep = np.ones(len(mesh.faces), bool)
    keep[plane.faces] = False
    summary = {"found": True, **plane.summary()}
    return keep_faces(mesh, keep), {"name": "ground_plane", "removed": len(plane.faces)}, summary


def repair_non_manifold_edges(mesh: TriMesh, measures: MeshMeasures | None = None) -> tuple[TriMesh, Step]:
    """Where more than two faces share an edge, keep two of them and drop the rest.

    The faces kept are those best attached to the surface: fewest open
    (boundary) sides first, so a dangling fin goes before a face of the
    sheet it sticks out of, then the largest area.
    """
    m = len(mesh.faces)
    measured = _measures(mesh, measures)
    table = measured.table
    bad_edges = np.flatnonzero(table.counts > 2)
    if len(bad_edges) == 0:
        return mesh, {"name": "non_manifold_edges", "edges": 0, "faces_removed": 0}
    sides = np.flatnonzero(np.isin(table.side_to_edge, bad_edges))
    side_edge = table.side_to_edge[sides]
    side_area = measured.areas[sides % m]
    open_sides = (table.counts[table.side_to_edge] == 1).reshape(3, m).sum(axis=0)[sides % m]
    # Group sides by edge, best attached and largest face first; rank within each group.
    order = np.lexsort((-side_area, open_sides, side_edge))
    sorted_edge = side_edge[order]
    group_start = np.searchsorted(sorted_edge, sorted_edge, side="left")
    rank = np.arange(len(order)) - group_start
    drop = np.zeros(m, bool)
    drop[sides[order][rank >= 2] % m] = True
    return keep_faces(mesh, ~drop), {
        "name": "non_manifold_edges",
        "edges": len(bad_edges),
        "faces_removed": int(drop.sum()),
    }


def close_small_holes(
    mesh: TriMesh, *, max_diameter: float, measures: MeshMeasures | None = None
) -> tuple[TriMesh, Step, list[Any], list[Any]]:
    """Fill holes up to ``max_diameter`` across; report filled and left holes, largest first.

    New centroid vertices take the mean colour and normal of their loop; with
    UVs, each new vertex gets one new UV at the mean of the loop's corner UVs.
    """
    holes = _measures(mesh, measures).holes
    fill = (holes.diameter <= max_diameter) & holes.closed
    by_size = np.argsort(-holes.diameter, kind="stable")
    filled = holes.summary(by_size[fill[by_size]])
    left = holes.summary(by_size[~fill[by_size]])
    step = {"name": "fill_holes", "filled": int(fill.sum()), "left": int((~fill).sum())}
    if not fill.any():
        return mesh, {**step, "faces_added": 0}, filled, left
    result = fill_holes(mesh.vertices, mesh.faces, holes, fill)
    h = len(result.new_vertex_loops)
    start_vertex = holes.sides[:, 0]

    def loop_mean(values: NDArray[np.floating]) -> NDArray[np.float64]:
        """Mean of ``values`` (one row per boundary edge) over each new vertex's cycle."""
        side_mask = fill[holes.labels]
        target = result.new_face_hole
        cols = [np.bincount(target, weights=values[side_mask, j], minlength=h) for j in range(values.shape[1])]
        counts = np.bincount(target, minlength=h).astype(np.float64)
        return np.stack(cols, axis=1) / counts[:, None]

    changes: dict[str, Any] = {"vertices": result.vertices, "faces": result.faces}
    if mesh.vertex_colors is not None:
        new_colors = loop_mean(mesh.vertex_colors[start_vertex].astype(np.float64)).astype(np.float32)
        changes["vertex_colors"] = np.concatenate([mesh.vertex_colors, new_colors])
    if mesh.vertex_normals is not None:
        summed = loop_mean(mesh.vertex_normals[start_vertex].astype(np.float64))
        norm = np.linalg.norm(summed, axis=1, keepdims=True)
        unit = np.divide(summed, norm, out=np.zeros_like(summed), where=norm > 0).astype(np.float32)
        changes["vertex_normals"] = np.concatenate([mesh.vertex_normals, unit])
    if mesh.uvs is not None and mesh.face_uvs is not None:
        corner_uv = mesh.face_uvs[holes.side_faces, holes.side_corners]
        new_uvs = loop_mean(mesh.uvs[corner_uv].astype(np.float64)).astype(np.float32)
        src, k = result.new_face_sources, result.new_face_side_corners
        fan_uvs = np.stack(
            [mesh.face_uvs[src, (k + 1) % 3], mesh.face_uvs[src, k], len(mesh.uvs) + result.new_face_hole], axis=1
        ).astype(np.int32)
        changes["uvs"] = np.concatenate([mesh.uvs, new_uvs])
        changes["face_uvs"] = np.concatenate([mesh.face_uvs, fan_uvs])
    out = mesh.with_(**changes)
    return out, {**step, "faces_added": len(result.faces) - len(mesh.faces)}, filled, left


def default_fill_diameter(units: str) -> float:
    """:data:`DEFAULT_FILL_HOLES_MM` expressed in ``units``."""
    check_units(units)
    return DEFAULT_FILL_HOLES_MM * 1e-3 / METERS_PER_UNIT[units]


def clean_mesh(
    mesh: TriMesh,
    *,
    units: str,
    min_component_fraction: float = 0.01,
    remove_ground_plane: bool = False,
    fill_holes_max_diameter: float | None = None,
    progress: ProgressFn = no_progress,
) -> tuple[TriMesh, dict[str, Any]]:
    """Repair a scanned mesh and report what was done.

    Parameters
    ----------
    mesh
        The scan, in ``units``. Vertex colours, normals and indexed UVs are kept
        aligned through every step.
    units
        ``"mm"``, ``"cm"`` or ``"m"``: the units of ``mesh.vertices`` and of
        every length in the report.
    min_component_fraction
        Pieces with less area than this fraction of the largest piece are dropped.
    remove_ground_plane
        Detect and drop a turntable disc or floor patch under the subject.
    fill_holes_max_diameter
        Holes up to this diameter (in ``units``) are filled; ``None`` means
        :data:`DEFAULT_FILL_HOLES_MM` (15 mm) converted to ``units``; ``0``
        fills nothing and ``math.inf`` fills every hole.
    progress
        Called with a fraction in [0, 1] and the step's name.

    Returns
    -------
    mesh
        The cleaned mesh.
    report
        JSON-able: ``before`` and ``after`` (:func:`~lifecast.geometry.qa.qa_report`),
        ``steps`` (one dict per step, in order, with ``name`` and counts),
        ``holes_filled`` and ``holes_left`` (``{edges, perimeter, diameter}``,
        largest first), ``fill_holes_max_diameter`` and ``ground_plane``
        (``None`` when not requested).
    """
    check_units(units)
    max_diameter = default_fill_diameter(units) if fill_holes_max_diameter is None else fill_holes_max_diameter
    progress(0.0, "measuring input")
    # One MeshMeasures per mesh state: a step that changes nothing returns the
    # same arrays, so what the report and earlier steps measured is reused.
    measures = MeshMeasures(mesh.vertices, mesh.faces)
    before = qa_report(mesh, units, measures=measures)
    ground: dict[str, Any] | None = None
    steps: list[Step] = []
    simple: list[Callable[[TriMesh, MeshMeasures], tuple[TriMesh, Step]]] = [
        lambda m, _: drop_non_finite_vertices(m),
        lambda m, _: merge_duplicate_vertices(m),
        drop_degenerate_faces,
        drop_duplicate_faces,
        lambda m, _: drop_unreferenced_vertices(m),
        lambda m, k: drop_floaters(m, min_component_fraction=min_component_fraction, measures=k),
    ]
    total = len(simple) + 5
    for i, fn in enumerate(simple):
        mesh, step = fn(mesh, measures)
        measures = measures.for_arrays(mesh.vertices, mesh.faces)
        steps.append(step)
        progress((i + 1) / total, step["name"])

    mesh, step, ground = drop_ground_plane(mesh, enabled=remove_ground_plane)
    steps.append(step)
    if step["removed"]:
        mesh, step = drop_floaters(mesh, min_component_fraction=min_component_fraction)
        steps.append({**step, "name": "floaters_after_ground_plane"})
    measures = measures.for_arrays(mesh.vertices, mesh.faces)
    progress((len(simple) + 1) / total, "ground_plane")

    for i, fn2 in enumerate([repair_non_manifold_edges, lambda m, _: drop_unreferenced_vertices(m)]):
        mesh, step = fn2(mesh, measures)
        measures = measures.for_arrays(mesh.vertices, mesh.faces)
        steps.append(step)
        progress((len(simple) + 2 + i) / total, step["name"])

    mesh, step, holes_filled, holes_left = close_small_holes(mesh, max_diameter=max_diameter, measures=measures)
    steps.append(step)
    progress((total - 1) / total, "measuring result")
    after = qa_report(mesh, units, measures=measures)
    progress(1.0, "done")
    return mesh, {
        "before": before,
        "after": after,
        "steps": steps,
        "fill_holes_max_diameter": float(max_diameter),
        "holes_filled": holes_filled,
        "holes_left": holes_left,
        "ground_plane": ground,
    }

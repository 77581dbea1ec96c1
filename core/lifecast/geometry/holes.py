"""Holes: find the boundary loops of a mesh, measure them, and close the small ones.

A *hole* here is a connected set of boundary edges (edges used by a single
face). Loops that touch at a vertex form one hole. Small holes are closed
with a fan of triangles around a new vertex at the loop's centroid: robust
for the roughly convex, slightly curved holes a scan leaves (missed pores,
occluded pockets), and it needs no ordering of the loop, so it is vectorised
over all holes at once. Large openings (a neck cut, the bottom of a bust) are
measured and left open for an artist to decide.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import sparse
from scipy.sparse import csgraph
from scipy.spatial.distance import pdist

from lifecast.geometry.topology import EdgeTable, boundary_side_ids, edge_components, edge_table, sides_of

#: Loops with more vertices than this have their diameter estimated from a
#: subsample of this many vertices (exact for smaller loops).
_DIAMETER_SAMPLE = 2048


@dataclass(frozen=True)
class Holes:
    """The boundary of a mesh, grouped into holes.

    Attributes
    ----------
    sides
        ``(b, 2) int64`` directed boundary edges, oriented as in their face.
    side_faces
        ``(b,) int64`` the face each boundary edge belongs to.
    side_corners
        ``(b,) int64`` which corner (0, 1, 2) of that face the edge starts at.
    labels
        ``(b,) int64`` hole of each boundary edge, ``0 .. count - 1``.
    edges
        ``(count,) int64`` number of edges in each hole.
    perimeter
        ``(count,) float64`` summed edge length of each hole.
    diameter
        ``(count,) float64`` largest distance between two vertices of each hole; for a hole of more than
        2048 boundary vertices, the largest among a fixed random sample of 2048 of them (an underestimate).
    closed
        ``(count,) bool`` whether each hole's edges form closed cycles; an open
        chain (left where a non-manifold repair cut faces away) cannot be filled.
    """

    sides: NDArray[np.int64]
    side_faces: NDArray[np.int64]
    side_corners: NDArray[np.int64]
    labels: NDArray[np.int64]
    edges: NDArray[np.int64]
    perimeter: NDArray[np.float64]
    diameter: NDArray[np.float64]
    closed: NDArray[np.bool_]

    @property
    def count(self) -> int:
        return len(self.edges)

    def summary(self, order: NDArray[np.int64] | None = None) -> list[dict[str, float | int]]:
        """JSON-able ``{edges, perimeter, diameter, closed}`` per hole, largest diameter first."""
        if order is None:
            order = np.argsort(-self.diameter, kind="stable")
        return [
            {
                "edges": int(self.edges[i]),
                "perimeter": float(self.perimeter[i]),
                "diameter": float(self.diameter[i]),
                "closed": bool(self.closed[i]),
            }
            for i in order
        ]


def find_holes(vertices: NDArray[np.floating], faces: NDArray[np.integer], table: EdgeTable | None = None) -> Holes:
    """Find and measure the holes of a triangle mesh.

    Parameters
    ----------
    vertices
        ``(n, 3)`` float positions.
    faces
        ``(m, 3)`` integer corner indices.
    table
        ``edge_table(faces)``, when the caller already has it.

    Returns
    -------
    Holes
        The boundary edges grouped into holes, with sizes in the mesh's units.
    """
    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    m = len(f)
    table = edge_table(f) if table is None else table
    side_ids = boundary_side_ids(table) if m else np.zeros(0, np.int64)
    sides = sides_of(f, side_ids)
    labels = edge_components(sides, len(v))
    count = int(labels.max()) + 1 if len(labels) else 0
    lengths = np.linalg.norm(v[sides[:, 0]] - v[sides[:, 1]], axis=1)
    perimeter = np.bincount(labels, weights=lengths, minlength=count).astype(np.float64)
    n_edges = np.bincount(labels, minlength=count).astype(np.int64)
    diameter = _loop_diameters(v, np.concatenate([sides[:, 0], sides[:, 1]]), np.tile(labels, 2), count)
    closed = _closed_loops(sides, labels, count, len(v))
    return Holes(
        sides=sides,
        side_faces=side_ids % max(m, 1),
        side_corners=side_ids // max(m, 1),
        labels=labels,
        edges=n_edges,
        perimeter=perimeter,
        diameter=diameter,
        closed=closed,
    )


def _closed_loops(
    sides: NDArray[np.int64], labels: NDArray[np.int64], count: int, n_vertices: int
) -> NDArray[np.bool_]:
    """Holes whose every vertex starts as many boundary edges as it ends (closed cycles)."""
    if count == 0:
        return np.zeros(0, bool)
    balance = np.bincount(sides[:, 0], minlength=n_vertices) - np.bincount(sides[:, 1], minlength=n_vertices)
    unbalanced = balance[sides].any(axis=1)
    return np.bincount(labels, weights=unbalanced, minlength=count) == 0


def _loop_diameters(
    v: NDArray[np.float64], loop_vertices: NDArray[np.int64], labels: NDArray[np.int64], count: int
) -> NDArray[np.float64]:
    """Largest pairwise vertex distance per hole (``loop_vertices``: both ends of each boundary edge).

    Exact up to :data:`_DIAMETER_SAMPLE` vertices; a larger hole is measured on that many of its vertices,
    drawn with a fixed seed: an estimate that can only fall short of the true diameter.
    """
    diameter = np.zeros(count, np.float64)
    if count == 0:
        return diameter
    order = np.argsort(labels, kind="stable")
    starts = np.searchsorted(labels[order], np.arange(count + 1))
    rng = np.random.default_rng(0)
    # One pdist per hole; scans have tens to thousands of holes, not millions.
    for h in range(count):
        idx = loop_vertices[order[starts[h] : starts[h + 1]]]
        if len(idx) > _DIAMETER_SAMPLE:
            idx = rng.choice(idx, _DIAMETER_SAMPLE, replace=False)
        if len(idx) > 1:
            diameter[h] = float(np.sqrt(pdist(v[idx], "sqeuclidean").max()))
    return diameter


@dataclass(frozen=True)
class FilledHoles:
    """The result of :func:`fill_holes`.

    Attributes
    ----------
    vertices
        ``(n + c, 3) float32``: the input vertices, then one centroid per simple cycle of the filled holes
        (one per hole, except where a hole's border passes a vertex twice: see :func:`simple_cycles`).
    faces
        ``(m + b', 3) int32``: the input faces, then the fan triangles.
    new_face_sources
        ``(b',) int64`` for each new face, the input face whose boundary edge it closes
        (to carry per-corner attributes such as UVs).
    new_face_side_corners
        ``(b',) int64`` the corner (0, 1, 2) of that input face where the closed edge starts.
    new_face_hole
        ``(b',) int64`` for each new face, its centroid vertex's index minus ``n`` (its cycle); the new
        faces follow the filled holes' sides in ``holes.sides`` order.
    new_vertex_loops
        ``(c,) int64`` the hole (index into the measured :class:`Holes`) of each new vertex.
    """

    vertices: NDArray[np.float32]
    faces: NDArray[np.int32]
    new_face_sources: NDArray[np.int64]
    new_face_side_corners: NDArray[np.int64]
    new_face_hole: NDArray[np.int64]
    new_vertex_loops: NDArray[np.int64]


def fill_holes(
    vertices: NDArray[np.floating], faces: NDArray[np.integer], holes: Holes, fill: NDArray[np.bool_]
) -> FilledHoles:
    """Close the chosen holes with a fan of triangles around each hole's centroid (each simple cycle's).

    The new triangles are oriented to agree with their neighbours: the boundary
    edge ``(a, b)`` of a face becomes the edge ``(b, a)`` of the new triangle
    ``(b, a, centroid)``.

    Parameters
    ----------
    vertices
        ``(n, 3)`` float positions.
    faces
        ``(m, 3)`` integer corner indices.
    holes
        The mesh's holes, from :func:`find_holes` on the same arrays.
    fill
        ``(holes.count,) bool``, which holes to close; only closed ones (``holes.closed``) can be.

    Returns
    -------
    FilledHoles
    """
    v = np.asarray(vertices, dtype=np.float32)
    f = np.asarray(faces, dtype=np.int32)
    n = len(v)
    if np.any(fill & ~holes.closed):
        raise ValueError("only closed boundary loops can be filled")
    side_mask = fill[holes.labels] if holes.count else np.zeros(0, bool)
    sides = holes.sides[side_mask]
    # One fan per simple cycle: a hole whose border passes a vertex twice (two openings meeting at a
    # corner) would give that vertex's spoke to the centroid four faces, a non-manifold edge.
    cycle = simple_cycles(sides)
    cycles = int(cycle.max()) + 1 if len(cycle) else 0
    # Centroid of each cycle: mean of its edges' start vertices (each vertex starts one edge of a simple cycle).
    start = v[sides[:, 0]].astype(np.float64)
    sums = np.stack([np.bincount(cycle, weights=start[:, j], minlength=cycles) for j in range(3)], 1)
    centroids = sums / np.maximum(np.bincount(cycle, minlength=cycles), 1)[:, None]
    first_side = np.full(cycles, len(cycle), np.int64)
    np.minimum.at(first_side, cycle, np.arange(len(cycle)))
    fan = np.stack([sides[:, 1], sides[:, 0], n + cycle], axis=1).astype(np.int32)
    return FilledHoles(
        vertices=np.concatenate([v, centroids.astype(np.float32)]),
        faces=np.concatenate([f, fan]),
        new_face_sources=holes.side_faces[side_mask],
        new_face_side_corners=holes.side_corners[side_mask],
        new_face_hole=cycle,
        new_vertex_loops=holes.labels[side_mask][first_side].astype(np.int64),
    )


def simple_cycles(sides: NDArray[np.integer]) -> NDArray[np.int64]:
    """Split closed boundary loops into simple cycles: ``(b,) int64`` cycle of each of the ``(b, 2)`` directed sides.

    Every vertex must start as many sides as it ends (closed loops). Each side is followed by one that starts
    where it ends; where a loop passes a vertex twice, the two sides arriving there swap what follows them,
    which splits that cycle in two, until no cycle passes any vertex twice. Cycles are numbered by their
    first side.
    """
    s = np.asarray(sides, np.int64)
    b = len(s)
    if b == 0:
        return np.zeros(0, np.int64)
    follows = np.empty(b, np.int64)
    follows[np.argsort(s[:, 1], kind="stable")] = np.argsort(s[:, 0], kind="stable")
    if not np.array_equal(s[follows, 0], s[:, 1]):
        raise ValueError("boundary sides do not form closed loops")
    n = int(s.max()) + 1
    while True:
        graph = sparse.coo_matrix((np.ones(b), (np.arange(b), follows)), shape=(b, b))
        _, cycle = csgraph.connected_components(graph, directed=False)
        key = cycle.astype(np.int64) * n + s[:, 0]
        order = np.argsort(key, kind="stable")
        repeat = np.flatnonzero(key[order][1:] == key[order][:-1])
        if len(repeat) == 0:
            _, first, dense = np.unique(cycle, return_index=True, return_inverse=True)
            return np.argsort(np.argsort(first))[dense].astype(np.int64)
        # One split per cycle per pass: two splits of one cycle at once could join its halves again.
        a, c = order[repeat], order[repeat + 1]
        _, one = np.unique(cycle[a], return_index=True)
        a, c = a[one], c[one]
        arrives = np.empty(b, np.int64)
        arrives[follows] = np.arange(b)
        follows[arrives[a]], follows[arrives[c]] = c, a

"""Mesh topology from face arrays: edges, boundaries, components, non-manifold elements.

Every function here is vectorised over faces (numpy sorting and ``scipy.sparse``
graphs); none loops over faces in Python, so they stay fast on million-triangle
scans.

Conventions
-----------
- ``vertices``: ``(n, 3)`` float positions.
- ``faces``: ``(m, 3)`` integer corner indices.
- A *directed edge* ``(a, b)`` of face ``[a, b, c]`` is one of ``(a, b)``,
  ``(b, c)``, ``(c, a)``; the directed edges of face ``f`` are rows ``f``,
  ``m + f`` and ``2m + f`` of :func:`directed_edges`.
- An *undirected edge* is a directed edge with its two indices sorted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy import sparse
from scipy.sparse import csgraph


def directed_edges(faces: NDArray[np.integer]) -> NDArray[np.int64]:
    """The three directed edges of every face.

    Parameters
    ----------
    faces
        ``(m, 3)`` integer corner indices.

    Returns
    -------
    ``(3m, 2) int64``: row ``k * m + f`` is edge ``k`` (0: ab, 1: bc, 2: ca) of face ``f``.
    """
    f = np.asarray(faces, dtype=np.int64)
    return np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]], axis=0)


def index_dtype(count: int) -> type[np.signedinteger]:
    """``np.int32`` when indices below ``count`` fit in it, else ``np.int64``: half the memory on a dense scan."""
    return np.int32 if count < 2**31 else np.int64


@dataclass(frozen=True)
class EdgeTable:
    """Undirected edges of a mesh and how many faces use each.

    Index arrays are ``int32`` while the mesh has fewer than 2**31 face sides
    and vertices (:func:`index_dtype`), else ``int64``: on a 30M-triangle scan
    the table is 1.3 GB instead of 2.5 GB.

    Attributes
    ----------
    edges
        ``(e, 2)`` unique undirected edges, each row sorted ascending;
        the rows are in lexicographic order.
    counts
        ``(e,)`` number of face sides on each edge (1: boundary, 2: manifold
        interior, >2: non-manifold).
    side_to_edge
        ``(3m,)`` index into ``edges`` of every directed face side, in the
        order of :func:`directed_edges`.
    side_order
        ``(3m,)`` the face sides grouped by edge: the sides of edge ``i``
        are ``side_order[first_side[i] : first_side[i] + counts[i]]``, in
        ascending order.
    """

    edges: NDArray[np.signedinteger]
    counts: NDArray[np.signedinteger]
    side_to_edge: NDArray[np.signedinteger]
    side_order: NDArray[np.signedinteger]

    @property
    def first_side(self) -> NDArray[np.signedinteger]:
        """``(e,)`` position in ``side_order`` of each edge's first side."""
        return np.cumsum(self.counts, dtype=self.counts.dtype) - self.counts


def edge_table(faces: NDArray[np.integer]) -> EdgeTable:
    """Group the face sides of ``faces`` (``(m, 3)``) into unique undirected edges.

    One stable sort of an integer key per side; the cost of every other
    topology query is linear once this table exists, so pass it along.
    """
    f = np.asarray(faces)
    m = len(f)
    if m == 0:
        empty = np.zeros(0, np.int32)
        return EdgeTable(np.zeros((0, 2), np.int32), empty, empty, empty)
    n = int(f.max()) + 1
    dtype = index_dtype(max(3 * m, n))
    f = f.astype(dtype, copy=False)
    start = f.T.ravel()  # side k * m + i starts at corner k of face i ...
    end = f[:, [1, 2, 0]].T.ravel()  # ... and ends at corner k + 1
    lo = np.minimum(start, end)
    np.maximum(start, end, out=end)
    hi = end
    del start
    keys = lo.astype(np.int64) * n + hi
    side_order = np.argsort(keys, kind="stable").astype(dtype)
    sorted_keys = keys[side_order]
    del keys
    starts_edge = np.empty(len(sorted_keys), bool)
    starts_edge[0] = True
    np.not_equal(sorted_keys[1:], sorted_keys[:-1], out=starts_edge[1:])
    del sorted_keys
    first_side = np.flatnonzero(starts_edge)
    counts = np.diff(first_side, append=3 * m).astype(dtype)
    side_to_edge = np.empty(3 * m, dtype)
    side_to_edge[side_order] = np.cumsum(starts_edge, dtype=dtype) - 1
    first = side_order[first_side]
    return EdgeTable(np.stack([lo[first], hi[first]], axis=1), counts, side_to_edge, side_order)


def boundary_sides(faces: NDArray[np.integer], table: EdgeTable | None = None) -> NDArray[np.int64]:
    """Directed face sides that no other face shares: the mesh boundary.

    Parameters
    ----------
    faces
        ``(m, 3)`` integer corner indices.
    table
        ``edge_table(faces)``, when the caller already has it.

    Returns
    -------
    ``(b, 2) int64`` directed edges, oriented as in their face (so a boundary
    loop runs consistently around its hole).
    """
    table = edge_table(faces) if table is None else table
    return sides_of(faces, boundary_side_ids(table))


def sides_of(faces: NDArray[np.integer], side_ids: NDArray[np.integer]) -> NDArray[np.int64]:
    """``(k, 2) int64`` rows ``side_ids`` of :func:`directed_edges` of ``faces``, without building all ``3m`` rows."""
    f = np.asarray(faces)
    ids = np.asarray(side_ids, np.int64)
    face, corner = ids % max(len(f), 1), ids // max(len(f), 1)
    return np.stack([f[face, corner], f[face, (corner + 1) % 3]], axis=1).astype(np.int64)


def boundary_side_ids(table: EdgeTable) -> NDArray[np.int64]:
    """``(b,) int64`` ascending rows of :func:`directed_edges` that no other face side shares (``table``'s faces).

    Row ``k * m + f`` is side ``k`` of face ``f`` (see :func:`directed_edges`).
    """
    return np.flatnonzero(table.counts[table.side_to_edge] == 1)


def boundary_edges(faces: NDArray[np.integer], table: EdgeTable | None = None) -> NDArray[np.int64]:
    """Undirected edges that only one face side uses, ``(b, 2) int64``, rows sorted, in lexicographic order.

    ``table`` is ``edge_table(faces)``, when the caller already has it.
    """
    table = edge_table(faces) if table is None else table
    return table.edges[table.counts == 1].astype(np.int64)


def boundary_vertices(faces: NDArray[np.integer], table: EdgeTable | None = None) -> NDArray[np.int64]:
    """Vertices on an open boundary edge (see :func:`boundary_edges`), ``(k,) int64`` sorted.

    ``table`` is ``edge_table(faces)``, when the caller already has it.
    """
    return np.unique(boundary_edges(faces, table))


def non_manifold_edges(faces: NDArray[np.integer], table: EdgeTable | None = None) -> NDArray[np.int64]:
    """Undirected edges used by more than two faces, ``(k, 2) int64``.

    ``table`` is ``edge_table(faces)``, when the caller already has it.
    """
    table = edge_table(faces) if table is None else table
    return table.edges[table.counts > 2].astype(np.int64)


def non_manifold_vertices(
    faces: NDArray[np.integer], n_vertices: int, table: EdgeTable | None = None
) -> NDArray[np.int64]:
    """Vertices whose faces do not form a single fan (e.g. two cones touching at a tip).

    Each face corner is a graph node; two corners at the same vertex are joined
    when their faces share a manifold edge (one with exactly two sides) through
    that vertex. A vertex is non-manifold when its corners fall into more than
    one group (fan). Every group lies at one vertex, so the fans of a vertex
    are counted without sorting.

    Parameters
    ----------
    faces
        ``(m, 3)`` integer corner indices.
    n_vertices
        Number of vertices ``n``.
    table
        ``edge_table(faces)``, when the caller already has it.

    Returns
    -------
    ``(k,) int64`` sorted vertex indices.
    """
    f = np.asarray(faces)
    m = len(f)
    if m == 0:
        return np.zeros(0, np.int64)
    table = edge_table(f) if table is None else table
    dtype = index_dtype(3 * m)
    # Corner k of face fi is node k * m + fi, the start of side k * m + fi; that
    # side ends at corner ((k + 1) % 3) * m + fi, and the side ending at corner
    # k * m + fi is side ((k + 2) % 3) * m + fi.
    side_ids = np.arange(3 * m, dtype=dtype)
    end_corner = np.concatenate([side_ids[m:], side_ids[:m]])
    side_ending_at = np.concatenate([side_ids[2 * m :], side_ids[: 2 * m]])
    start_vertex = f.T.ravel().astype(dtype, copy=False)
    # The other side of every manifold interior edge; a side without one is its own partner.
    paired = table.first_side[table.counts == 2]
    first, second = table.side_order[paired], table.side_order[paired + 1]
    partner = side_ids.copy()
    partner[first], partner[second] = second, first
    del paired, first, second
    # The partner face's corners at this side's start and end vertex (they swap
    # when the two faces run along the edge in opposite directions).
    same_direction = start_vertex[partner] == start_vertex
    end_of_partner = end_corner[partner]
    at_start = np.where(same_direction, partner, end_of_partner)
    at_end = np.where(same_direction, end_of_partner, partner)
    del same_direction, end_of_partner, partner, end_corner
    # Each corner is joined through the side leaving it and the side entering
    # it: two neighbours per node (itself where a side has no partner).
    entering = at_end[side_ending_at]
    del at_end, side_ending_at
    fan = _min_label_components(side_ids, at_start, entering)
    del at_start, entering
    # A fan's root is its smallest corner; count the roots at each vertex.
    fans_per_vertex = np.bincount(start_vertex[fan == side_ids], minlength=n_vertices)
    return np.flatnonzero(fans_per_vertex > 1).astype(np.int64)


def _min_label_components(
    ids: NDArray[np.signedinteger], first: NDArray[np.signedinteger], second: NDArray[np.signedinteger]
) -> NDArray[np.signedinteger]:
    """Connected components of the graph joining node ``i`` to ``first[i]`` and ``second[i]``.

    The links must be symmetric (``j`` is one of ``i``'s when ``i`` is one of ``j``'s),
    as a mesh's fans are. Returns each node's smallest connected node (``ids`` is
    ``arange(k)``): minimum labels spread along the links with pointer jumping until
    nothing changes (then neighbours hold equal labels: a component's minimum). The
    fans this is used for are small (a vertex's corners), so it converges in a few
    passes, in ``int32`` and with a handful of ``(k,)`` arrays where a sparse graph
    takes ten times the memory on a dense scan.
    """
    label = ids.copy()
    while True:
        new = np.minimum(label, label[first])
        np.minimum(new, label[second], out=new)
        new = new[new]
        if np.array_equal(new, label):
            return label
        label = new


def face_components(
    faces: NDArray[np.integer], n_vertices: int, table: EdgeTable | None = None
) -> tuple[int, NDArray[np.int64]]:
    """Connected components of faces that share a vertex.

    Parameters
    ----------
    faces
        ``(m, 3)`` integer corner indices.
    n_vertices
        Number of vertices ``n``.
    table
        ``edge_table(faces)``, when the caller already has it: its unique edges
        make a smaller graph than the faces' sides.

    Returns
    -------
    count
        Number of components that hold at least one face.
    labels
        ``(m,) int64`` component of each face, numbered ``0 .. count - 1``.
    """
    f = np.asarray(faces, dtype=np.int64)
    if len(f) == 0:
        return 0, np.zeros(0, np.int64)
    if table is None:
        vertex_labels = _vertex_components(f[:, 0:2].ravel(), f[:, 1:3].ravel(), n_vertices)
    else:
        vertex_labels = _vertex_components(table.edges[:, 0], table.edges[:, 1], n_vertices)
    labels = _renumber_densely(vertex_labels[f[:, 0]])
    return int(labels.max()) + 1, labels


def edge_components(edges: NDArray[np.integer], n_vertices: int) -> NDArray[np.int64]:
    """Component label of every edge in the graph made of ``edges`` (``(e, 2)``).

    Returns ``(e,) int64`` labels numbered densely from 0.
    """
    e = np.asarray(edges, dtype=np.int64)
    if len(e) == 0:
        return np.zeros(0, np.int64)
    vertex_labels = _vertex_components(e[:, 0], e[:, 1], n_vertices)
    return _renumber_densely(vertex_labels[e[:, 0]])


def _vertex_components(rows: NDArray[np.int64], cols: NDArray[np.int64], n_vertices: int) -> NDArray[np.int32]:
    """``(n,) int32`` connected-component label of each vertex of the graph with edges ``rows[i]-cols[i]``."""
    # float64 weights: the dtype csgraph works in, so it does not convert a copy.
    graph = sparse.coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n_vertices, n_vertices))
    _, labels = csgraph.connected_components(graph, directed=False)
    return labels


def _renumber_densely(labels: NDArray[np.integer]) -> NDArray[np.int64]:
    """Renumber ``labels`` to ``0 .. k - 1`` keeping their order (``np.unique``'s inverse, without sorting)."""
    present = np.zeros(int(labels.max()) + 1, bool)
    present[labels] = True
    return (np.cumsum(present) - 1)[labels]


def unique_rows(rows: NDArray[np.integer]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Group equal rows of an integer array (a fast ``np.unique(..., axis=0)``).

    Parameters
    ----------
    rows
        ``(k, c)`` integers.

    Returns
    -------
    first
        ``(u,) int64`` index of the first occurrence of each distinct row, ascending.
    inverse
        ``(k,) int64`` which distinct row (numbered in order of first occurrence) each row is.
    """
    a = np.asarray(rows, dtype=np.int64)
    if len(a) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    order = np.lexsort(a.T[::-1])
    sorted_rows = a[order]
    starts = np.ones(len(a), bool)
    starts[1:] = np.any(sorted_rows[1:] != sorted_rows[:-1], axis=1)
    group = np.empty(len(a), np.int64)
    group[order] = np.cumsum(starts) - 1
    # lexsort is stable, so the first row of each sorted group is its first occurrence.
    first_of_group = order[starts]
    is_first = np.zeros(len(a), bool)
    is_first[first_of_group] = True
    # Number the groups by first occurrence: a group's rank is how many first occurrences precede its own.
    rank = (np.cumsum(is_first) - 1)[first_of_group]
    return np.flatnonzero(is_first), rank[group]

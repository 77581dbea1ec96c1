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


@dataclass(frozen=True)
class EdgeTable:
    """Undirected edges of a mesh and how many faces use each.

    Attributes
    ----------
    edges
        ``(e, 2) int64`` unique undirected edges, each row sorted ascending.
    counts
        ``(e,) int64`` number of face sides on each edge (1: boundary, 2: manifold
        interior, >2: non-manifold).
    side_to_edge
        ``(3m,) int64`` index into ``edges`` of every directed face side, in the
        order of :func:`directed_edges`.
    """

    edges: NDArray[np.int64]
    counts: NDArray[np.int64]
    side_to_edge: NDArray[np.int64]


def edge_table(faces: NDArray[np.integer]) -> EdgeTable:
    """Group the face sides of ``faces`` (``(m, 3)``) into unique undirected edges."""
    sides = np.sort(directed_edges(faces), axis=1)
    if len(sides) == 0:
        empty = np.zeros((0, 2), np.int64)
        return EdgeTable(empty, np.zeros(0, np.int64), np.zeros(0, np.int64))
    n = int(sides.max()) + 1
    keys = sides[:, 0] * n + sides[:, 1]
    uniq, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
    edges = np.stack([uniq // n, uniq % n], axis=1)
    return EdgeTable(edges, counts.astype(np.int64), inverse.astype(np.int64))


def boundary_sides(faces: NDArray[np.integer]) -> NDArray[np.int64]:
    """Directed face sides that no other face shares: the mesh boundary.

    Returns
    -------
    ``(b, 2) int64`` directed edges, oriented as in their face (so a boundary
    loop runs consistently around its hole).
    """
    table = edge_table(faces)
    on_boundary = table.counts[table.side_to_edge] == 1
    return directed_edges(faces)[on_boundary]


def non_manifold_edges(faces: NDArray[np.integer]) -> NDArray[np.int64]:
    """Undirected edges used by more than two faces, ``(k, 2) int64``."""
    table = edge_table(faces)
    return table.edges[table.counts > 2]


def non_manifold_vertices(faces: NDArray[np.integer], n_vertices: int) -> NDArray[np.int64]:
    """Vertices whose faces do not form a single fan (e.g. two cones touching at a tip).

    Each face corner is a graph node; two corners at the same vertex are joined
    when their faces share an edge through that vertex. A vertex is
    non-manifold when its corners fall into more than one group.

    Parameters
    ----------
    faces
        ``(m, 3)`` integer corner indices.
    n_vertices
        Number of vertices ``n``.

    Returns
    -------
    ``(k,) int64`` sorted vertex indices.
    """
    f = np.asarray(faces, dtype=np.int64)
    m = len(f)
    if m == 0:
        return np.zeros(0, np.int64)
    table = edge_table(f)
    # Corner ids: corner k of face fi is node k * m + fi. Side k of face fi runs
    # from corner k to corner (k + 1) % 3.
    side_ids = np.arange(3 * m)
    side_face = side_ids % m
    side_k = side_ids // m
    start_corner = side_k * m + side_face
    end_corner = ((side_k + 1) % 3) * m + side_face
    start_vertex = f[side_face, side_k]
    # Pair up the sides of manifold interior edges (exactly two sides).
    interior = table.counts[table.side_to_edge] == 2
    order = np.argsort(table.side_to_edge[interior], kind="stable")
    ids = side_ids[interior][order]
    first, second = ids[0::2], ids[1::2]
    # Match corners by vertex: the start of one side sits at the same vertex as
    # either the start or the end of the other side (depending on orientation).
    same_start = start_vertex[first] == start_vertex[second]
    a1 = start_corner[first]
    a2 = np.where(same_start, start_corner[second], end_corner[second])
    b1 = end_corner[first]
    b2 = np.where(same_start, end_corner[second], start_corner[second])
    rows = np.concatenate([a1, b1])
    cols = np.concatenate([a2, b2])
    graph = sparse.coo_matrix((np.ones(len(rows), np.int8), (rows, cols)), shape=(3 * m, 3 * m))
    _, labels = csgraph.connected_components(graph, directed=False)
    corner_vertex = f.T.ravel()  # corner k * m + fi -> f[fi, k]
    first, _ = unique_rows(np.stack([corner_vertex, labels], axis=1))
    fans = np.bincount(corner_vertex[first], minlength=n_vertices)
    return np.flatnonzero(fans > 1).astype(np.int64)


def face_areas(vertices: NDArray[np.floating], faces: NDArray[np.integer]) -> NDArray[np.float64]:
    """Triangle areas, ``(m,) float64`` (computed in float64)."""
    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    if len(f) == 0:
        return np.zeros(0, np.float64)
    cross = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
    return 0.5 * np.linalg.norm(cross, axis=1)


def face_normals(vertices: NDArray[np.floating], faces: NDArray[np.integer]) -> NDArray[np.float64]:
    """Unit face normals, ``(m, 3) float64``; zero rows for degenerate faces."""
    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    cross = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
    norm = np.linalg.norm(cross, axis=1, keepdims=True)
    return np.divide(cross, norm, out=np.zeros_like(cross), where=norm > 0)


def face_components(faces: NDArray[np.integer], n_vertices: int) -> tuple[int, NDArray[np.int64]]:
    """Connected components of faces that share a vertex.

    Parameters
    ----------
    faces
        ``(m, 3)`` integer corner indices.
    n_vertices
        Number of vertices ``n``.

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
    rows = np.concatenate([f[:, 0], f[:, 1]])
    cols = np.concatenate([f[:, 1], f[:, 2]])
    graph = sparse.coo_matrix((np.ones(len(rows), np.int8), (rows, cols)), shape=(n_vertices, n_vertices))
    _, vertex_labels = csgraph.connected_components(graph, directed=False)
    _, labels = np.unique(vertex_labels[f[:, 0]], return_inverse=True)
    return int(labels.max()) + 1, labels.astype(np.int64)


def edge_components(edges: NDArray[np.integer], n_vertices: int) -> NDArray[np.int64]:
    """Component label of every edge in the graph made of ``edges`` (``(e, 2)``).

    Returns ``(e,) int64`` labels numbered densely from 0.
    """
    e = np.asarray(edges, dtype=np.int64)
    if len(e) == 0:
        return np.zeros(0, np.int64)
    graph = sparse.coo_matrix((np.ones(len(e), np.int8), (e[:, 0], e[:, 1])), shape=(n_vertices, n_vertices))
    _, vertex_labels = csgraph.connected_components(graph, directed=False)
    _, labels = np.unique(vertex_labels[e[:, 0]], return_inverse=True)
    return labels.astype(np.int64)


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
    group_sorted = np.cumsum(starts) - 1
    group = np.empty(len(a), np.int64)
    group[order] = group_sorted
    # lexsort is stable, so the first row of each sorted group is its first occurrence.
    first_of_group = order[starts]
    rank = np.empty(len(first_of_group), np.int64)
    rank[np.argsort(first_of_group, kind="stable")] = np.arange(len(first_of_group))
    return np.sort(first_of_group), rank[group]

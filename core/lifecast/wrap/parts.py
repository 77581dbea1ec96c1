"""Parts of a template that move as rigid bodies.

Excluded parts (eyeballs, teeth, mouth interior) are not pulled onto the scan:
each connected part follows its nearest fitted neighbours with the rigid
transform that best maps their rest positions to their fitted ones. Rigid
parts are fitted with everything else, then replaced by the best rigid
transform of their own rest positions.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from lifecast.wrap.similarity import umeyama

NEIGHBOURS = 8


def connected_parts(faces: NDArray[np.integer], mask: NDArray[np.bool_]) -> list[NDArray[np.int64]]:
    """Vertex index arrays of the connected parts of ``mask`` over the mesh edges of ``faces``."""
    f = np.asarray(faces, np.int64)
    n = len(mask)
    e = np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]])
    e = e[mask[e[:, 0]] & mask[e[:, 1]]]
    graph = coo_matrix((np.ones(len(e)), (e[:, 0], e[:, 1])), shape=(n, n))
    _, labels = connected_components(graph, directed=False)
    idx = np.flatnonzero(mask)
    order = np.argsort(labels[idx], kind="stable")
    groups = np.split(idx[order], np.flatnonzero(np.diff(labels[idx][order])) + 1)
    return [g for g in groups if len(g)]


def follow_neighbours(
    rest: NDArray[np.floating],
    fitted: NDArray[np.floating],
    faces: NDArray[np.integer],
    excluded: NDArray[np.bool_],
    anchors: NDArray[np.bool_],
) -> NDArray[np.float64]:
    """Move each connected excluded part rigidly with its nearest anchor vertices.

    Parameters
    ----------
    rest
        ``(n, 3)`` positions before the non-rigid fit (aligned template).
    fitted
        ``(n, 3)`` positions after it; rows of excluded vertices are ignored.
    faces
        ``(m, 3)`` template triangles.
    excluded
        ``(n,) bool`` vertices to place rigidly.
    anchors
        ``(n,) bool`` fitted vertices they may follow.

    Returns
    -------
    ``(n, 3) float64``: ``fitted`` with the excluded parts placed.
    """
    out = np.asarray(fitted, np.float64).copy()
    rest = np.asarray(rest, np.float64)
    anchor_idx = np.flatnonzero(anchors)
    if len(anchor_idx) < 3 or not excluded.any():
        return out
    tree = cKDTree(rest[anchor_idx])
    for part in connected_parts(faces, excluded):
        k = min(NEIGHBOURS, len(anchor_idx))
        _, nn = tree.query(rest[part], k=k)
        near = anchor_idx[np.unique(np.asarray(nn).ravel())]
        if len(near) < 3:
            out[part] = rest[part] + (out[near] - rest[near]).mean(0)
            continue
        motion = umeyama(rest[near], out[near], with_scale=False)
        out[part] = motion.apply(rest[part])
    return out


def make_rigid(
    rest: NDArray[np.floating], fitted: NDArray[np.floating], faces: NDArray[np.integer], rigid: NDArray[np.bool_]
) -> NDArray[np.float64]:
    """Replace each connected rigid part of ``fitted`` by the best rigid motion of its rest shape."""
    out = np.asarray(fitted, np.float64).copy()
    rest = np.asarray(rest, np.float64)
    for part in connected_parts(faces, rigid):
        if len(part) >= 3:
            out[part] = umeyama(rest[part], out[part], with_scale=False).apply(rest[part])
    return out

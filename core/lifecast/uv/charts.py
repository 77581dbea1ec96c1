"""UV charts (islands): faces connected through shared UV indices."""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def uv_charts(face_uvs: NDArray[np.integer], n_uvs: int) -> NDArray[np.int32]:
    """Label each face with its UV chart.

    Two faces are in the same chart when they share a UV index (a corner in
    UV space), so charts are the connected components of the UV layout.

    Parameters
    ----------
    face_uvs
        ``(m, 3)`` int indices into a ``(n_uvs, 2)`` UV array.
    n_uvs
        Number of UVs.

    Returns
    -------
    NDArray[np.int32]
        ``(m,)`` chart label of each face, ``0 .. n_charts - 1``.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    face_uvs = np.asarray(face_uvs, dtype=np.int64)
    rows = face_uvs[:, [0, 1, 2]].ravel()
    cols = face_uvs[:, [1, 2, 0]].ravel()
    graph = coo_matrix((np.ones(len(rows), dtype=np.int8), (rows, cols)), shape=(n_uvs, n_uvs))
    _, labels = connected_components(graph, directed=False)
    # Relabel so only charts that have faces count, numbered in order of first face.
    _, first, chart = np.unique(labels[face_uvs[:, 0]], return_index=True, return_inverse=True)
    order = np.argsort(np.argsort(first))
    return order[chart.ravel()].astype(np.int32)

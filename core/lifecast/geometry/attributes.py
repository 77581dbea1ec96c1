"""Keep a TriMesh's attributes aligned while vertices and faces are dropped, merged or added.

Each helper returns a new :class:`~lifecast.mesh.TriMesh` whose per-vertex
arrays (``vertex_colors``, ``vertex_normals``) follow the vertices and whose
per-corner UV indices (``face_uvs``) follow the faces.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from lifecast.mesh import TriMesh


def keep_faces(mesh: TriMesh, keep: NDArray[np.bool_]) -> TriMesh:
    """The mesh with only the faces where ``keep`` (``(m,) bool``) is true; vertices untouched.

    Returns ``mesh`` itself when every face is kept.
    """
    if keep.all():
        return mesh
    face_uvs = None if mesh.face_uvs is None else np.ascontiguousarray(mesh.face_uvs[keep])
    return mesh.with_(faces=np.ascontiguousarray(mesh.faces[keep]), face_uvs=face_uvs)


def keep_vertices(mesh: TriMesh, keep: NDArray[np.bool_]) -> TriMesh:
    """Drop the vertices where ``keep`` is false, with every face that uses one, and renumber.

    Parameters
    ----------
    mesh
        The input mesh.
    keep
        ``(n,) bool`` vertices to keep.

    Returns
    -------
    TriMesh
        ``mesh`` itself when every vertex is kept and the faces are already ``int32``.
    """
    if keep.all() and np.asarray(mesh.faces).dtype == np.int32:
        return mesh
    faces_ok: NDArray[np.bool_] = np.all(keep[mesh.faces], axis=1) if len(mesh.faces) else np.zeros(0, bool)
    mesh = keep_faces(mesh, faces_ok)
    new_index = np.cumsum(keep, dtype=np.int64) - 1
    return mesh.with_(
        vertices=np.ascontiguousarray(mesh.vertices[keep]),
        faces=new_index[mesh.faces].astype(np.int32).reshape(-1, 3),
        vertex_colors=None if mesh.vertex_colors is None else np.ascontiguousarray(mesh.vertex_colors[keep]),
        vertex_normals=None if mesh.vertex_normals is None else np.ascontiguousarray(mesh.vertex_normals[keep]),
    )


def merge_vertices(mesh: TriMesh, groups: NDArray[np.int64], count: int) -> TriMesh:
    """Merge vertices that share a group: positions, colours and normals are averaged.

    Parameters
    ----------
    mesh
        The input mesh.
    groups
        ``(n,) int64`` new index of every vertex, ``0 .. count - 1``.
    count
        Number of vertices after merging.
    """
    sizes = np.bincount(groups, minlength=count).astype(np.float64)[:, None]

    def mean(a: NDArray[np.floating]) -> NDArray[np.float32]:
        cols = [np.bincount(groups, weights=a[:, j].astype(np.float64), minlength=count) for j in range(a.shape[1])]
        return (np.stack(cols, axis=1) / sizes).astype(np.float32)

    normals = None
    if mesh.vertex_normals is not None:
        summed = mean(mesh.vertex_normals)
        norm = np.linalg.norm(summed, axis=1, keepdims=True)
        normals = np.divide(summed, norm, out=np.zeros_like(summed), where=norm > 0)
    return mesh.with_(
        vertices=mean(mesh.vertices),
        faces=groups[mesh.faces].astype(np.int32).reshape(-1, 3),
        vertex_colors=None if mesh.vertex_colors is None else mean(mesh.vertex_colors),
        vertex_normals=normals,
    )


def compact_uvs(mesh: TriMesh) -> tuple[TriMesh, int]:
    """Drop UV coordinates that no face corner uses; returns the mesh and how many went."""
    if mesh.uvs is None or mesh.face_uvs is None:
        return mesh, 0
    used = np.zeros(len(mesh.uvs), bool)
    used[mesh.face_uvs.ravel()] = True
    if used.all():
        return mesh, 0
    new_index = np.cumsum(used, dtype=np.int64) - 1
    return (
        mesh.with_(
            uvs=np.ascontiguousarray(mesh.uvs[used]),
            face_uvs=new_index[mesh.face_uvs].astype(np.int32).reshape(-1, 3),
        ),
        int((~used).sum()),
    )

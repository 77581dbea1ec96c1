"""Checks every scan passes after reading: non-empty, finite, indices in range."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lifecast.errors import InputError
from lifecast.mesh import TriMesh


def check_mesh(mesh: TriMesh, path: Path) -> list[str]:
    """Refuse a mesh nothing can be made of; describe what later stages will fix.

    Non-finite vertices are reported, not dropped (the clean stage drops them);
    only a mesh with no finite vertex at all is refused.

    Parameters
    ----------
    mesh
        The mesh as read.
    path
        The file it came from, for messages.

    Returns
    -------
    list[str]
        Notes about tolerable problems.

    Raises
    ------
    InputError
        No vertices, no finite vertex, or face indices out of range.
    """
    n = len(mesh.vertices)
    if n == 0:
        raise InputError("the file contains no vertices", path)
    finite = np.isfinite(mesh.vertices).all(axis=1)
    bad = int(n - finite.sum())
    if bad == n:
        raise InputError(f"all {n} vertices have NaN or infinite coordinates", path)
    faces = mesh.faces
    if len(faces) and (faces.min() < 0 or faces.max() >= n):
        count = int(((faces < 0) | (faces >= n)).any(axis=1).sum())
        raise InputError(f"{count} of {len(faces)} faces refer to vertices that do not exist (the mesh has {n})", path)
    if mesh.face_uvs is not None and mesh.uvs is not None and len(mesh.face_uvs):
        k = len(mesh.uvs)
        if mesh.face_uvs.min() < 0 or mesh.face_uvs.max() >= k:
            raise InputError(f"faces refer to texture coordinates that do not exist (the mesh has {k})", path)
    notes = []
    if bad:
        notes.append(f"{bad} of {n} vertices have NaN or infinite coordinates; the clean stage removes them")
    return notes

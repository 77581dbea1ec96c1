"""The mesh a texture command reads: OBJ, PLY, glTF/GLB (:func:`lifecast.io.scan.read_scan`) or USD (its first
mesh, fan-triangulated), with UVs."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lifecast.errors import InputError
from lifecast.mesh import TriMesh, fan_triangle_corners
from lifecast.ml.geometry_maps import check_has_uvs

USD_SUFFIXES = (".usd", ".usda", ".usdc", ".usdz")


def read_uv_mesh(path: Path) -> TriMesh:
    """A triangle mesh with UVs from ``path``; :class:`InputError` without UVs or faces."""
    if not path.is_file():
        raise InputError(f"mesh not found: {path}", path)
    if path.suffix.lower() in USD_SUFFIXES:
        mesh = _read_usd(path)
    else:
        from lifecast.io.scan import read_scan

        mesh = read_scan(path).mesh
    check_has_uvs(mesh, f"the mesh {path.name}")
    return mesh


def _read_usd(path: Path) -> TriMesh:
    from lifecast.wrap.template import read_polygon_usd

    poly = read_polygon_usd(path)
    sizes = np.diff(poly.polygon_starts)
    corners = fan_triangle_corners(sizes)
    faces = poly.corner_vertices[corners].astype(np.int32)
    if len(poly.uvs) == 0 or (poly.corner_uvs < 0).any():
        return TriMesh(np.asarray(poly.vertices, np.float32), faces)
    face_uvs = poly.corner_uvs[corners].astype(np.int32)
    return TriMesh(
        np.asarray(poly.vertices, np.float32), faces, uvs=np.asarray(poly.uvs, np.float32), face_uvs=face_uvs
    )


__all__ = ["USD_SUFFIXES", "read_uv_mesh"]

"""What a preview renders: the triangles of a scan file or of a USD asset, as arrays."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from lifecast.color import linear_to_srgb
from lifecast.errors import InputError
from lifecast.mesh import fan_triangle_corners

__all__ = ["USD_SUFFIXES", "PreviewMesh", "load_preview_mesh"]

USD_SUFFIXES = (".usd", ".usda", ".usdc", ".usdz")


@dataclass(frozen=True)
class PreviewMesh:
    """Triangles to render.

    ``vertices (n, 3) float32`` Y up, ``faces (m, 3) int32``, optional sRGB ``colors (n, 3) float32``.
    """

    vertices: NDArray[np.float32]
    faces: NDArray[np.int32]
    colors: NDArray[np.float32] | None


def load_preview_mesh(path: Path) -> PreviewMesh:
    """Read a scan (``.ply``, ``.obj``, ``.glb``...) or a USD asset (its default variants) for a preview.

    Raises :class:`~lifecast.errors.InputError` when the file is missing or holds no triangles.
    """
    if not path.is_file():
        raise InputError("file to preview not found", path)
    mesh = _load_usd(path) if path.suffix.lower() in USD_SUFFIXES else _load_scan(path)
    if len(mesh.faces) == 0:
        raise InputError("nothing to preview: no triangles (a point cloud is meshed by `lifecast process`)", path)
    return mesh


def _load_scan(path: Path) -> PreviewMesh:
    from lifecast.io import read_scan

    scan = read_scan(path)
    m = scan.mesh
    v = np.asarray(m.vertices, np.float32)
    if scan.up == "z":
        v = np.stack([v[:, 0], v[:, 2], -v[:, 1]], axis=1)
    colors = np.asarray(m.vertex_colors, np.float32) if m.vertex_colors is not None else None
    return PreviewMesh(v, np.asarray(m.faces, np.int32), colors)


def _load_usd(path: Path) -> PreviewMesh:
    from pxr import Usd, UsdGeom

    from lifecast.usd.render_meshes import render_meshes

    stage = Usd.Stage.Open(str(path))
    if stage is None:
        raise InputError("not a readable USD layer", path)
    up_is_z = UsdGeom.GetStageUpAxis(stage) == UsdGeom.Tokens.z
    parts_v: list[NDArray[np.float32]] = []
    parts_f: list[NDArray[np.int64]] = []
    parts_c: list[NDArray[np.float32] | None] = []
    offset = 0
    for part in render_meshes(stage):
        parts_v.append(part.points.astype(np.float32))
        parts_f.append(part.corners[fan_triangle_corners(part.counts)] + offset)
        parts_c.append(_display_color(part.mesh, len(part.points)))
        offset += len(part.points)
    if not parts_v:
        return PreviewMesh(np.zeros((0, 3), np.float32), np.zeros((0, 3), np.int32), None)
    v = np.concatenate(parts_v)
    if up_is_z:
        v = np.stack([v[:, 0], v[:, 2], -v[:, 1]], axis=1)
    colors = None
    if all(c is not None for c in parts_c):
        colors = np.concatenate([c for c in parts_c if c is not None])
    return PreviewMesh(v, np.concatenate(parts_f).astype(np.int32), colors)


def _display_color(mesh: object, n_points: int) -> NDArray[np.float32] | None:
    """Per-vertex sRGB colours from ``primvars:displayColor`` (stored linear), when it is per vertex."""
    from pxr import UsdGeom

    primvar = UsdGeom.PrimvarsAPI(mesh).GetPrimvar("displayColor")
    if not primvar or primvar.GetInterpolation() not in (UsdGeom.Tokens.vertex, UsdGeom.Tokens.varying):
        return None
    values = primvar.ComputeFlattened()
    if values is None or len(values) != n_points:
        return None
    return linear_to_srgb(np.asarray(values, np.float64))

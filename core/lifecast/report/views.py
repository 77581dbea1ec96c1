"""Shaded views of an asset's LOD0 with its albedo, and of the holes left open, from the preview renderer."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from lifecast.preview.zbuffer import look_rotation, render_mesh
from lifecast.report.asset_files import AssetMesh

__all__ = [
    "HOLE_COLOR",
    "VIEWS",
    "HoleView",
    "View",
    "corner_colors",
    "hole_views",
    "rotation_facing",
    "shaded_views",
    "unshared_corners",
    "vertex_colors",
]

#: (label, yaw, pitch) of the views of the asset: the model turned about +Y, then tilted about +X.
VIEWS = (("front", 0.0, 0.0), ("three-quarter", 40.0, 5.0), ("profile", 90.0, 0.0))
#: sRGB colour the rim of an open hole is painted.
HOLE_COLOR = (0.92, 0.16, 0.12)
_GREY = (0.72, 0.72, 0.74)


@dataclass(frozen=True)
class View:
    """A labelled ``(size, size, 3) uint8`` picture."""

    label: str
    image: NDArray[np.uint8]


def unshared_corners(triangles: NDArray[np.integer]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """``(3m,)`` the vertex of every triangle corner and ``(m, 3)`` triangles over those corners.

    Rendering corners unshared lets each corner carry its own colour (UV seams, UDIM tiles).
    """
    corner_vertex = np.asarray(triangles, np.int64).reshape(-1)
    return corner_vertex, np.arange(len(corner_vertex), dtype=np.int64).reshape(-1, 3)


def corner_colors(corner_uvs: NDArray[np.floating], albedo: Mapping[int, NDArray[np.floating]]) -> NDArray[np.float32]:
    """The albedo at every triangle corner (bilinear).

    Parameters
    ----------
    corner_uvs
        ``(m, 3, 2)`` UVs; tile ``1001 + floor(u) + 10 floor(v)`` is read in ``albedo``.
    albedo
        ``{udim: (h, w, 3) float sRGB in [0, 1]}``, row 0 at the top (v = 1).

    Returns
    -------
    ``(3m, 3) float32`` sRGB colours; corners on a tile that is not in ``albedo`` are neutral grey.
    """
    uv = np.asarray(corner_uvs, np.float64).reshape(-1, 2)
    out = np.empty((len(uv), 3), np.float32)
    out[:] = _GREY
    tile_u = np.floor(uv[:, 0]).clip(0, 9)
    tile_v = np.floor(uv[:, 1]).clip(0, 99)
    udim = (1001 + tile_u + 10 * tile_v).astype(np.int64)
    for tile, image in albedo.items():
        at = np.flatnonzero(udim == tile)
        if len(at):
            x = uv[at, 0] - tile_u[at]
            y = 1.0 - (uv[at, 1] - tile_v[at])
            out[at] = _bilinear(np.asarray(image, np.float32), x, y)
    return out


def _bilinear(image: NDArray[np.float32], x: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.float32]:
    """``image (h, w, c)`` sampled bilinearly at ``(k,)`` positions in [0, 1] (``y`` down), edges clamped."""
    h, w = image.shape[:2]
    px = np.clip(x * w - 0.5, 0.0, w - 1.0)
    py = np.clip(y * h - 0.5, 0.0, h - 1.0)
    x0 = np.minimum(px.astype(np.int64), w - 2) if w > 1 else np.zeros(len(px), np.int64)
    y0 = np.minimum(py.astype(np.int64), h - 2) if h > 1 else np.zeros(len(py), np.int64)
    x1, y1 = np.minimum(x0 + 1, w - 1), np.minimum(y0 + 1, h - 1)
    fx, fy = (px - x0)[:, None], (py - y0)[:, None]
    top = image[y0, x0] * (1 - fx) + image[y0, x1] * fx
    bottom = image[y1, x0] * (1 - fx) + image[y1, x1] * fx
    return np.asarray(top * (1 - fy) + bottom * fy, np.float32)


def shaded_views(mesh: AssetMesh, albedo: Mapping[int, NDArray[np.floating]] | None, size: int = 352) -> list[View]:
    """The asset from the front, three-quarter and profile (:data:`VIEWS`), textured with ``albedo`` when given.

    ``albedo`` is ``{udim: (h, w, 3) float sRGB}`` (see :func:`corner_colors`); each vertex takes the mean
    of its corners' colours (corners differ only across UV seams, where the bake's padding continues the
    colour), which resolves the texture as finely as the mesh does. Without albedo or UVs the mesh is
    neutral grey.
    """
    colors = vertex_colors(mesh, albedo) if albedo and mesh.corner_uvs is not None else None
    return [
        View(
            label,
            render_mesh(mesh.vertices, mesh.triangles, colors=colors, size=size, rotation=look_rotation(yaw, pitch)),
        )
        for label, yaw, pitch in VIEWS
    ]


def vertex_colors(mesh: AssetMesh, albedo: Mapping[int, NDArray[np.floating]]) -> NDArray[np.float32]:
    """``(n, 3) float32`` the mean albedo over each vertex's triangle corners (grey for a vertex in none)."""
    assert mesh.corner_uvs is not None
    corners = corner_colors(mesh.corner_uvs, albedo)
    index = np.asarray(mesh.triangles, np.int64).reshape(-1)
    n = len(mesh.vertices)
    count = np.bincount(index, minlength=n).astype(np.float64)
    out = np.empty((n, 3), np.float32)
    for c in range(3):
        out[:, c] = np.bincount(index, weights=corners[:, c], minlength=n) / np.maximum(count, 1.0)
    out[count == 0] = _GREY
    return out


def rotation_facing(direction: NDArray[np.floating]) -> NDArray[np.float64]:
    """A ``(3, 3)`` rotation taking ``direction`` to +Z (towards the viewer), keeping +Y up where it can."""
    d = np.asarray(direction, np.float64)
    d = d / (np.linalg.norm(d) or 1.0)
    up = np.array([0.0, 1.0, 0.0]) if abs(d[1]) < 0.9 else np.array([0.0, 0.0, -np.sign(d[1])])
    right = np.cross(up, d)
    right /= np.linalg.norm(right)
    return np.stack([right, np.cross(d, right), d])


@dataclass(frozen=True)
class HoleView(View):
    """A view looking into one open hole: its ``diameter`` (mesh units) and boundary ``edges``."""

    diameter: float
    edges: int


def hole_views(mesh: AssetMesh, count: int, size: int = 256, rings: int = 0) -> list[HoleView]:
    """The ``count`` largest holes of ``mesh``, each seen from outside along its axis, its rim painted red.

    The faces within ``rings`` rings of the hole's boundary are painted :data:`HOLE_COLOR` so a hole
    stays visible at thumbnail size.
    """
    from lifecast.geometry.holes import find_holes

    if count <= 0:
        return []
    v = mesh.vertices.astype(np.float64)
    f = mesh.triangles.astype(np.int64)
    holes = find_holes(v, f)
    order = np.argsort(-holes.diameter, kind="stable")[:count]
    centre = v.mean(axis=0)
    corner_vertex, faces = unshared_corners(f)
    views: list[HoleView] = []
    for hole in order:
        rim = np.unique(holes.sides[holes.labels == hole])
        painted = np.zeros(len(v), bool)
        painted[rim] = True
        for _ in range(rings):
            painted[f[painted[f].any(axis=1)].reshape(-1)] = True
        face_painted = painted[f].any(axis=1)
        colors = np.empty((len(f), 3, 3), np.float32)
        colors[:] = _GREY
        colors[face_painted] = HOLE_COLOR
        rim_points = v[rim]
        rim_centre = rim_points.mean(axis=0)
        axis = _plane_normal(rim_points)
        if np.dot(axis, rim_centre - centre) < 0:
            axis = -axis
        image = render_mesh(
            v[corner_vertex],
            faces,
            colors=colors.reshape(-1, 3),
            size=size,
            rotation=rotation_facing(axis),
        )
        label = f"hole {len(views) + 1}"
        views.append(HoleView(label, image, float(holes.diameter[hole]), int(holes.edges[hole])))
    return views


def _plane_normal(points: NDArray[np.float64]) -> NDArray[np.float64]:
    """The normal of the least-squares plane through ``(k, 3)`` points."""
    if len(points) < 3:
        return np.array([0.0, 0.0, 1.0])
    _, _, vt = np.linalg.svd(points - points.mean(axis=0), full_matrices=False)
    return np.asarray(vt[-1], np.float64)

"""A small z-buffer rasterizer in numpy: shaded preview images of a mesh, no GL needed.

The DCC panels show what a step produced as a picture the worker renders, so
the panel never has to load geometry itself. Orthographic projection, one
directional light, Lambert shading of the interpolated vertex colour (or a
neutral grey), rendered in triangle chunks so memory stays bounded.
"""

from __future__ import annotations

import itertools

import numpy as np
from numpy.typing import NDArray

from lifecast.geometry.measure import face_normals
from lifecast.pipeline.stage import ProgressFn, no_progress

__all__ = ["look_rotation", "render_mesh"]

#: Colour of a mesh without vertex colours (sRGB).
DEFAULT_ALBEDO = (0.72, 0.72, 0.74)
#: Background (sRGB), a dark neutral like a DCC viewport.
DEFAULT_BACKGROUND = (0.16, 0.16, 0.17)
_CHUNK_CANDIDATES = 2_000_000


def look_rotation(yaw_degrees: float, pitch_degrees: float) -> NDArray[np.float64]:
    """A ``(3, 3)`` rotation turning the model by ``yaw`` about +Y, then tilting it by ``pitch`` about +X."""
    y, p = np.radians(yaw_degrees), np.radians(pitch_degrees)
    ry = np.array([[np.cos(y), 0, np.sin(y)], [0, 1, 0], [-np.sin(y), 0, np.cos(y)]])
    rx = np.array([[1, 0, 0], [0, np.cos(p), -np.sin(p)], [0, np.sin(p), np.cos(p)]])
    return rx @ ry


def render_mesh(
    vertices: NDArray[np.floating],
    faces: NDArray[np.integer],
    *,
    colors: NDArray[np.floating] | None = None,
    size: int = 512,
    rotation: NDArray[np.floating] | None = None,
    light: tuple[float, float, float] = (0.35, 0.45, 1.0),
    background: tuple[float, float, float] = DEFAULT_BACKGROUND,
    progress: ProgressFn = no_progress,
) -> NDArray[np.uint8]:
    """Render a triangle mesh, Y up, seen along -Z after ``rotation``, framed to fit.

    Parameters
    ----------
    vertices
        ``(n, 3)`` float positions (any units: the view is framed to the bounding box).
    faces
        ``(m, 3)`` int triangle corner indices.
    colors
        ``(n, 3)`` float sRGB vertex colours in [0, 1], or ``None`` for a neutral grey.
    size
        Width and height of the square image in pixels.
    rotation
        ``(3, 3)`` rotation applied to the model before projecting (see :func:`look_rotation`).
    light
        Direction towards the light in view space (+Z points at the viewer).
    background
        sRGB colour of pixels no triangle covers.
    progress
        Called with a fraction in [0, 1] while the triangles are rasterized.

    Returns
    -------
    ``(size, size, 3) uint8`` sRGB image, row 0 at the top. Both faces of a
    triangle are lit (scans are not always consistently wound).
    """
    v = np.asarray(vertices, np.float64)
    f = np.asarray(faces, np.int64)
    image = np.empty((size, size, 3), np.float64)
    image[:] = background
    if len(f) == 0 or len(v) == 0:
        return _to_uint8(image)
    if rotation is not None:
        v = v @ np.asarray(rotation, np.float64).T
    xy, depth = _frame(v, size)
    albedo = np.asarray(colors, np.float64) if colors is not None else None
    light_dir = np.asarray(light, np.float64) / np.linalg.norm(light)
    shade = 0.18 + 0.82 * np.abs(face_normals(v, f) @ light_dir)  # (m,)

    zbuf = np.full(size * size, np.inf)
    face_at = np.full(size * size, -1, np.int64)
    bary_at = np.zeros((size * size, 3))
    for start, stop in _chunks(xy, f):
        pix, face, bary, z = _covered_pixels(xy, depth, f, start, stop, size)
        closer = z < zbuf[pix]
        pix, face, bary, z = pix[closer], face[closer], bary[closer], z[closer]
        order = np.lexsort((z, pix))  # per pixel, nearest first
        pix, face, bary, z = pix[order], face[order], bary[order], z[order]
        first = np.ones(len(pix), bool)
        first[1:] = pix[1:] != pix[:-1]
        pix, face, bary, z = pix[first], face[first], bary[first], z[first]
        zbuf[pix], face_at[pix], bary_at[pix] = z, face, bary
        progress(stop / len(f), "rasterizing")

    hit = np.flatnonzero(face_at >= 0)
    hit_faces = face_at[hit]
    if albedo is None:
        base = np.broadcast_to(np.asarray(DEFAULT_ALBEDO), (len(hit), 3))
    else:
        corners = albedo[f[hit_faces]]  # (k, 3 corners, 3 channels)
        base = np.einsum("kc,kcd->kd", bary_at[hit], corners)
    flat = image.reshape(-1, 3)
    flat[hit] = np.clip(base * shade[hit_faces, None], 0.0, 1.0)
    return _to_uint8(image)


def _frame(v: NDArray[np.float64], size: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Pixel coordinates ``(n, 2)`` (x right, y down) and depth ``(n,)`` (smaller is nearer)."""
    lo, hi = v[:, :2].min(axis=0), v[:, :2].max(axis=0)
    centre = (lo + hi) / 2
    extent = float(max(hi - lo)) or 1.0
    scale = size * 0.9 / extent
    x = (v[:, 0] - centre[0]) * scale + size / 2
    y = size / 2 - (v[:, 1] - centre[1]) * scale
    return np.stack([x, y], axis=1), -v[:, 2]


def _chunks(xy: NDArray[np.float64], f: NDArray[np.int64]) -> list[tuple[int, int]]:
    """Triangle ranges whose bounding boxes hold about ``_CHUNK_CANDIDATES`` pixels each."""
    tri = xy[f]
    span = np.ceil(tri.max(axis=1)) - np.floor(tri.min(axis=1)) + 1
    cost = np.cumsum(span[:, 0] * span[:, 1])
    bounds = [0]
    while bounds[-1] < len(f):
        budget = (cost[bounds[-1] - 1] if bounds[-1] else 0.0) + _CHUNK_CANDIDATES
        bounds.append(max(bounds[-1] + 1, int(np.searchsorted(cost, budget, side="right"))))
    return list(itertools.pairwise(bounds))


def _covered_pixels(
    xy: NDArray[np.float64], depth: NDArray[np.float64], f: NDArray[np.int64], start: int, stop: int, size: int
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float64], NDArray[np.float64]]:
    """Every (pixel, triangle) pair whose pixel centre lies inside a triangle of ``f[start:stop]``.

    Returns flat pixel indices ``(k,)``, triangle indices ``(k,)``, barycentric
    weights ``(k, 3)`` and depths ``(k,)``.
    """
    ids = np.arange(start, stop)
    tri = xy[f[ids]]  # (t, 3, 2)
    x0 = np.clip(np.floor(tri[:, :, 0].min(axis=1)), 0, size - 1).astype(np.int64)
    x1 = np.clip(np.ceil(tri[:, :, 0].max(axis=1)), 0, size - 1).astype(np.int64)
    y0 = np.clip(np.floor(tri[:, :, 1].min(axis=1)), 0, size - 1).astype(np.int64)
    y1 = np.clip(np.ceil(tri[:, :, 1].max(axis=1)), 0, size - 1).astype(np.int64)
    w, h = x1 - x0 + 1, y1 - y0 + 1
    counts = w * h
    owner = np.repeat(np.arange(len(ids)), counts)
    offset = np.arange(len(owner)) - np.repeat(np.cumsum(counts) - counts, counts)
    px = x0[owner] + offset % w[owner]
    py = y0[owner] + offset // w[owner]
    a, b, c = tri[owner, 0], tri[owner, 1], tri[owner, 2]
    p = np.stack([px + 0.5, py + 0.5], axis=1)
    area = _cross2(b - a, c - a)
    safe = np.where(np.abs(area) > 1e-12, area, 1.0)
    l1 = _cross2(c - b, p - b) / safe
    l2 = _cross2(a - c, p - c) / safe
    l3 = 1.0 - l1 - l2
    inside = (np.abs(area) > 1e-12) & (l1 >= 0) & (l2 >= 0) & (l3 >= 0)
    bary = np.stack([l1, l2, l3], axis=1)[inside]
    face = ids[owner[inside]]
    z = np.einsum("kc,kc->k", bary, depth[f[face]])
    return (py * size + px)[inside], face, bary, z


def _cross2(u: NDArray[np.float64], v: NDArray[np.float64]) -> NDArray[np.float64]:
    return u[:, 0] * v[:, 1] - u[:, 1] * v[:, 0]


def _to_uint8(image: NDArray[np.float64]) -> NDArray[np.uint8]:
    return np.round(np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8)

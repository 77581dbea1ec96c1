"""Colour lookups on a source surface: closest points, vertex colours, bilinear texture samples."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from numpy.typing import NDArray

from lifecast.errors import InputError
from lifecast.mesh import TriMesh

#: Closest-point queries are issued in chunks of this many points (bounds memory, drives progress).
QUERY_CHUNK = 1 << 20


class SurfaceLocator:
    """Closest points on a triangle mesh (open3d's BVH), as triangle ids and barycentrics, with progress.

    A thin wrapper over :class:`lifecast.bake.correspond.Open3DRays` that issues
    the queries in chunks so long transfers can report progress.

    Parameters
    ----------
    vertices
        ``(n, 3)`` float positions of the source surface.
    faces
        ``(m, 3)`` int triangles.
    """

    def __init__(self, vertices: NDArray[np.floating], faces: NDArray[np.integer]) -> None:
        from lifecast.bake.correspond import Open3DRays

        self._rays = Open3DRays(vertices, faces)

    def closest(
        self,
        points: NDArray[np.floating],
        *,
        on_chunk: Callable[[int, int], None] | None = None,
    ) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        """The closest surface point to each query point.

        Parameters
        ----------
        points
            ``(q, 3)`` float query points.
        on_chunk
            Called as ``on_chunk(done, total)`` after each chunk of queries.

        Returns
        -------
        face
            ``(q,) int64`` source triangle holding each closest point.
        bary
            ``(q, 3) float32`` barycentric weights of the closest point on that triangle.
        """
        points = np.ascontiguousarray(points, np.float32)
        face = np.empty(len(points), np.int64)
        bary = np.empty((len(points), 3), np.float32)
        for start in range(0, len(points), QUERY_CHUNK):
            stop = min(start + QUERY_CHUNK, len(points))
            face[start:stop], bary[start:stop] = self._rays.closest(points[start:stop])
            if on_chunk is not None:
                on_chunk(stop, len(points))
        return face, bary


def interpolate_corners(
    values: NDArray[np.floating],
    corners: NDArray[np.integer],
    face: NDArray[np.integer],
    bary: NDArray[np.floating],
) -> NDArray[np.float32]:
    """Barycentric interpolation of per-vertex values.

    Parameters
    ----------
    values
        ``(n, c)`` values per vertex (or per UV).
    corners
        ``(m, 3)`` indices into ``values`` for each triangle corner.
    face
        ``(q,)`` triangle of each sample.
    bary
        ``(q, 3)`` barycentric weights of each sample.

    Returns
    -------
    NDArray[np.float32]
        ``(q, c)`` interpolated values.
    """
    values = np.asarray(values, np.float32)
    idx = np.take(np.asarray(corners), np.asarray(face, np.intp), axis=0).T.astype(np.intp)  # (3, q)
    bary = np.asarray(bary, np.float32)
    out = np.take(values, idx[0], axis=0) * bary[:, 0:1]
    out += np.take(values, idx[1], axis=0) * bary[:, 1:2]
    out += np.take(values, idx[2], axis=0) * bary[:, 2:3]
    return out


def sample_bilinear(texture: NDArray[np.uint8], uv: NDArray[np.floating]) -> NDArray[np.float32]:
    """Sample an image bilinearly at UVs, clamping at the image border.

    Parameters
    ----------
    texture
        ``(h, w, c)`` image; row 0 is ``v = 1``.
    uv
        ``(q, 2)`` UVs; values outside ``[0, 1]`` are clamped to the edge texels.

    Returns
    -------
    NDArray[np.float32]
        ``(q, c)`` samples in the texture's value range (0-255 for uint8).
    """
    h, w = texture.shape[:2]
    x = np.clip(np.asarray(uv[:, 0], np.float32) * w - 0.5, 0.0, w - 1)
    y = np.clip((1.0 - np.asarray(uv[:, 1], np.float32)) * h - 0.5, 0.0, h - 1)
    x0 = np.minimum(x.astype(np.int64), w - 2) if w > 1 else np.zeros(len(x), np.int64)
    y0 = np.minimum(y.astype(np.int64), h - 2) if h > 1 else np.zeros(len(y), np.int64)
    x1, y1 = np.minimum(x0 + 1, w - 1), np.minimum(y0 + 1, h - 1)
    fx, fy = (x - x0)[:, None], (y - y0)[:, None]
    img = texture.reshape(h, w, -1)
    top = img[y0, x0] * (1.0 - fx) + img[y0, x1] * fx
    bottom = img[y1, x0] * (1.0 - fx) + img[y1, x1] * fx
    return (top * (1.0 - fy) + bottom * fy).astype(np.float32)


def surface_rgb(source: TriMesh, face: NDArray[np.integer], bary: NDArray[np.floating]) -> NDArray[np.float32]:
    """sRGB-encoded colour in ``[0, 1]`` of the source surface at points given as triangle + barycentrics.

    Interpolates ``vertex_colors`` when the source has them, otherwise samples
    its ``texture`` bilinearly through ``uvs`` / ``face_uvs``. Both are
    interpolated as stored (sRGB-encoded), as a renderer's texture unit would
    without sRGB decoding. Not quantised, so 16-bit and float outputs keep the precision.

    Parameters
    ----------
    source
        The mesh the colours come from.
    face
        ``(q,)`` source triangle of each point.
    bary
        ``(q, 3)`` barycentrics of each point.

    Returns
    -------
    NDArray[np.float32]
        ``(q, 3)`` sRGB values in ``[0, 1]``.
    """
    if source.vertex_colors is not None:
        rgb = interpolate_corners(source.vertex_colors, source.faces, face, bary)
    elif source.texture is not None and source.uvs is not None and source.face_uvs is not None:
        uv = interpolate_corners(source.uvs, source.face_uvs, face, bary)
        rgb = sample_bilinear(source.texture, uv)[:, :3]
        rgb *= np.float32(1.0 / 255.0)
    else:
        raise InputError("the source mesh has neither vertex colours nor a UV-mapped texture to transfer")
    return np.clip(rgb, 0.0, 1.0, out=rgb)


def surface_colors(source: TriMesh, face: NDArray[np.integer], bary: NDArray[np.floating]) -> NDArray[np.uint8]:
    """``(q, 3) uint8`` sRGB colour of the source surface (:func:`surface_rgb`, rounded to 8 bits)."""
    return np.rint(surface_rgb(source, face, bary) * 255.0).astype(np.uint8)

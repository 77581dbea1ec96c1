"""Geometry maps of a mesh in its own UV tiles: what the texture models see beside the colour.

For every UDIM tile the mesh's UVs use, each texel centre is located on the mesh
(:func:`lifecast.bake.rasterize.rasterize_uv`) and the surface there is measured:

============  ===================  ===============================================================
map           array                content
============  ===================  ===============================================================
``covered``   ``(s, s) bool``      a face covers the texel (the chart interiors)
``face``      ``(s, s) int32``     the face covering the texel, -1 where none does
``position``  ``(s, s, 3) f32``    the surface point, in the mesh's units and frame
``normal``    ``(s, s, 3) f32``    the unit shading normal (angle-weighted vertex normals, interpolated)
``ao``        ``(s, s) f32``       ambient occlusion, 1 = open (cosine-weighted rays, :mod:`lifecast.bake.occlusion`)
``cavity``    ``(s, s) f32``       pores and creases, 1 = flat or raised (:mod:`lifecast.bake.cavity`)
============  ===================  ===============================================================

Uncovered texels hold zeros (``ao`` and ``cavity``: 1). The maps are computed from the mesh itself, so a command
can delight any mesh with UVs and its texture, outside the pipeline.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from lifecast.bake.cage import bounding_diagonal
from lifecast.bake.cavity import cavity_values, default_cavity_depth, vertex_heights
from lifecast.bake.correspond import RayEngine, make_ray_engine
from lifecast.bake.occlusion import ambient_occlusion
from lifecast.bake.rasterize import rasterize_uv
from lifecast.bake.tile_baker import shading_normals
from lifecast.bake.validation import select_tiles
from lifecast.errors import InputError
from lifecast.mesh import TriMesh
from lifecast.pipeline.stage import ProgressFn, no_progress
from lifecast.uv.udim import tile_origin

#: Texels per ambient-occlusion ray batch (bounds the ray engine's working memory).
_AO_CHUNK = 1 << 18


@dataclass(frozen=True)
class GeometryTile:
    """The geometry maps of one UDIM tile (see the module docstring for each array)."""

    udim: int
    covered: NDArray[np.bool_]
    face: NDArray[np.int32]
    position: NDArray[np.float32]
    normal: NDArray[np.float32]
    ao: NDArray[np.float32]
    cavity: NDArray[np.float32]

    @property
    def size(self) -> int:
        return int(self.covered.shape[0])


def check_has_uvs(mesh: TriMesh, what: str = "the mesh") -> None:
    """:class:`InputError` unless ``mesh`` has UVs and faces."""
    if mesh.is_point_cloud:
        raise InputError(f"{what} has no faces (a point cloud): the texture models need a mesh with UVs")
    if not mesh.has_uvs:
        raise InputError(f"{what} has no UVs: unwrap it first (lifecast process, or a DCC)")


def mesh_tiles(mesh: TriMesh, udims: Sequence[int] | Literal["auto"] | None = "auto") -> list[int]:
    """The UDIM tiles ``mesh``'s UVs use (``"auto"``), or ``udims`` checked against them."""
    check_has_uvs(mesh)
    tiles, _ = select_tiles(mesh, udims)
    return tiles


def geometry_maps(
    mesh: TriMesh,
    size: int,
    *,
    udims: Sequence[int] | Literal["auto"] | None = "auto",
    ao_samples: int = 16,
    ao_reach: float | None = None,
    cavity: bool = True,
    device: str = "cpu",
    progress: ProgressFn = no_progress,
) -> list[GeometryTile]:
    """The geometry maps of every tile of ``mesh``'s UVs at ``size`` texels a side.

    Parameters
    ----------
    mesh
        A triangle mesh with ``uvs`` / ``face_uvs``.
    size
        Texels along each side of a tile.
    udims
        ``"auto"``: every tile the UVs use; ``None``: 1001 only; a list: those tiles.
    ao_samples
        Rays per texel for ``ao`` (0: no occlusion, ``ao`` is all ones).
    ao_reach
        Occluders farther than this do not count; default 10 % of the bounding-box diagonal (as the baker).
    cavity
        Measure ``cavity`` (else all ones).
    device
        The ray engine's device.
    progress
        Called with a fraction in ``[0, 1]``.

    Returns
    -------
    list of GeometryTile
        One per tile, in tile order.
    """
    check_has_uvs(mesh)
    if size < 8:
        raise InputError(f"map size must be at least 8 texels, got {size}")
    assert mesh.uvs is not None and mesh.face_uvs is not None
    tiles, face_tile = select_tiles(mesh, udims)
    vertices = np.asarray(mesh.vertices, np.float32)
    faces = np.asarray(mesh.faces, np.int64)
    normals = shading_normals(mesh)
    heights = None
    depth = 1.0
    if cavity:
        heights = vertex_heights(mesh.vertices, mesh.faces, None, normals=normals)
        depth = default_cavity_depth(heights)
    engine = make_ray_engine(vertices, faces, device=device) if ao_samples > 0 else None
    reach = float(ao_reach) if ao_reach is not None else 0.1 * bounding_diagonal(vertices)
    uv_corners = np.asarray(mesh.uvs, np.float64)[np.asarray(mesh.face_uvs)]
    out: list[GeometryTile] = []
    for i, udim in enumerate(tiles):
        ids = np.flatnonzero(face_tile == udim)
        u0, v0 = tile_origin(udim)
        local = uv_corners[ids] - np.array([u0, v0], np.float64)
        face_local, bary = rasterize_uv(local, size, margin_px=0.0)
        covered = face_local >= 0
        face = np.full((size, size), -1, np.int32)
        face[covered] = ids[face_local[covered]].astype(np.int32)
        f = faces[face[covered]]
        b = bary[covered]
        position = np.zeros((size, size, 3), np.float32)
        position[covered] = np.einsum("qk,qkc->qc", b, vertices[f])
        normal = np.zeros((size, size, 3), np.float32)
        n = np.einsum("qk,qkc->qc", b, normals[f])
        n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
        normal[covered] = n
        ao = np.ones((size, size), np.float32)
        if engine is not None:
            ao[covered] = _occlusion(engine, position[covered], n, ao_samples, reach, seed=udim)
        cav = np.ones((size, size), np.float32)
        if heights is not None:
            h = np.einsum("qk,qk->q", b, heights[f]).astype(np.float32)
            cav[covered] = cavity_values(h, depth)
        out.append(GeometryTile(udim, covered, face, position, normal, ao, cav))
        progress((i + 1) / len(tiles), f"geometry maps: tile {udim}")
    return out


def _occlusion(
    engine: RayEngine, points: NDArray[np.float32], normals: NDArray[np.float32], samples: int, reach: float, seed: int
) -> NDArray[np.float32]:
    """``(q,)`` ambient occlusion in chunks of :data:`_AO_CHUNK` texels."""
    out = np.empty(len(points), np.float32)
    for start in range(0, len(points), _AO_CHUNK):
        stop = min(start + _AO_CHUNK, len(points))
        out[start:stop] = ambient_occlusion(
            engine, points[start:stop], normals[start:stop], samples, reach, seed=seed + start
        )
    return out


__all__ = ["GeometryTile", "check_has_uvs", "geometry_maps", "mesh_tiles"]

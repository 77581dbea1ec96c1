"""The surface points behind every texel of the UDIM tiles being textured.

Each tile is rasterized with :func:`lifecast.bake.rasterize.rasterize_texels` (conservative at chart
edges, so seams have no cracks); the covered texels of all tiles are concatenated into one flat list,
tile after tile, so one pass over a photo serves every tile.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
from numpy.typing import NDArray

from lifecast.bake.rasterize import DEFAULT_MARGIN_PX, rasterize_texels
from lifecast.geometry.measure import face_areas, face_areas_uv, face_normals, vertex_normals_area_weighted
from lifecast.mesh import TriMesh
from lifecast.uv.udim import tile_origin

_T = TypeVar("_T", bound=np.generic)


@dataclass(frozen=True)
class TileTexels:
    """The covered texels of one tile, as a slice of :class:`TexelSet`'s arrays.

    Attributes
    ----------
    udim
        The tile's UDIM number.
    size
        Texels per side.
    texel
        ``(q,) int64`` flat index ``row * size + col`` of each covered texel, ascending.
    start
        Position of the tile's first texel in the set's arrays.
    """

    udim: int
    size: int
    texel: NDArray[np.int64]
    start: int

    @property
    def stop(self) -> int:
        """One past the tile's last texel in the set's arrays."""
        return self.start + len(self.texel)

    def image(self, values: NDArray[_T], fill: float = 0.0) -> NDArray[_T]:
        """Per-texel ``values`` of this tile (``(q, ...)``) scattered into a ``(size, size, ...)`` image."""
        out = np.full((self.size * self.size, *values.shape[1:]), fill, dtype=values.dtype)
        out[self.texel] = values
        return out.reshape(self.size, self.size, *values.shape[1:])


@dataclass(frozen=True)
class TexelSet:
    """Every covered texel of the tiles, flattened.

    Attributes
    ----------
    tiles
        One :class:`TileTexels` per tile, in order; their slices partition the arrays below.
    face
        ``(q,) int32`` mesh face under each texel.
    point
        ``(q, 3) float32`` surface point at the texel centre.
    normal
        ``(q, 3) float32`` unit interpolated (smooth) normal there.
    footprint
        ``(q,) float32`` side of one texel on the surface, in mesh units
        (``sqrt(3D area / UV area in texels)`` of its face).
    face_normal
        ``(m, 3) float32`` unit normals of every mesh face (for back-face tests).
    """

    tiles: tuple[TileTexels, ...]
    face: NDArray[np.int32]
    point: NDArray[np.float32]
    normal: NDArray[np.float32]
    footprint: NDArray[np.float32]
    face_normal: NDArray[np.float32]

    def __len__(self) -> int:
        return len(self.face)


def texel_set(
    mesh: TriMesh,
    tiles: Sequence[int],
    face_tile: NDArray[np.integer],
    size: int,
    *,
    margin_px: float = DEFAULT_MARGIN_PX,
) -> TexelSet:
    """Rasterize every tile and interpolate the surface point and normal of each covered texel.

    Parameters
    ----------
    mesh
        A mesh with ``uvs`` / ``face_uvs``; its ``vertex_normals`` are used when present.
    tiles
        UDIM numbers to rasterize.
    face_tile
        ``(m,)`` UDIM number of each face (:func:`lifecast.uv.udim.face_udims`).
    size
        Texels per tile side.
    margin_px
        Conservative margin of the rasterizer, in texels (:func:`lifecast.bake.rasterize.rasterize_texels`).

    Returns
    -------
    TexelSet
    """
    assert mesh.uvs is not None and mesh.face_uvs is not None
    vertices = np.asarray(mesh.vertices, np.float32)
    faces = np.asarray(mesh.faces, np.int64)
    if mesh.vertex_normals is not None:
        vnormals = np.asarray(mesh.vertex_normals, np.float32)
    else:
        vnormals = vertex_normals_area_weighted(vertices, faces).astype(np.float32)
    uv_corners = np.asarray(mesh.uvs, np.float64)[np.asarray(mesh.face_uvs)]
    uv_area = face_areas_uv(mesh.uvs, mesh.face_uvs) * float(size) ** 2
    side = np.sqrt(face_areas(vertices, faces) / np.maximum(uv_area, 1e-12)).astype(np.float32)

    records: list[TileTexels] = []
    face_parts: list[NDArray[np.int32]] = []
    bary_parts: list[NDArray[np.float32]] = []
    start = 0
    for udim in tiles:
        members = np.flatnonzero(np.asarray(face_tile) == udim)
        origin = np.array(tile_origin(int(udim)), np.float64)
        raster = rasterize_texels(uv_corners[members] - origin, size, margin_px=margin_px)
        records.append(TileTexels(int(udim), size, raster.texel, start))
        face_parts.append(members[raster.face].astype(np.int32))
        bary_parts.append(raster.bary)
        start += len(raster.texel)
    face = np.concatenate(face_parts) if face_parts else np.zeros(0, np.int32)
    bary = np.concatenate(bary_parts) if bary_parts else np.zeros((0, 3), np.float32)
    del face_parts, bary_parts
    point = np.zeros((len(face), 3), np.float32)
    normal = np.zeros((len(face), 3), np.float32)
    corners = np.asarray(faces, np.int32)
    for k in range(3):
        corner = corners[face, k]  # one corner at a time: no (q, 3) int64 array of them all
        weight = bary[:, k : k + 1]
        point += weight * vertices[corner]
        normal += weight * vnormals[corner]
    del corner, weight, bary
    normal /= np.maximum(np.sqrt(np.einsum("ij,ij->i", normal, normal)), np.float32(1e-20))[:, None]
    return TexelSet(
        tiles=tuple(records),
        face=face,
        point=point,
        normal=normal,
        footprint=side[face],
        face_normal=face_normals(vertices, faces).astype(np.float32),
    )

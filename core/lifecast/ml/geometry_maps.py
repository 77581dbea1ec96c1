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

A full-size map set is 40 bytes a texel (2.5 GiB for an 8K tile), so the inpainting reads its geometry in bands of
rows instead (:class:`BandedGeometry`): :func:`geometry_bands` rasterizes only the band asked for
(:class:`lifecast.bake.rasterize.TileRasterizer`), the same values as :func:`geometry_maps` row for row, and
:func:`tile_bands` serves bands of maps already made.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

import cv2
import numpy as np
from numpy.typing import NDArray

from lifecast.bake.cage import bounding_diagonal
from lifecast.bake.cavity import cavity_values, default_cavity_depth, vertex_heights
from lifecast.bake.correspond import RayEngine, make_ray_engine
from lifecast.bake.occlusion import ambient_occlusion
from lifecast.bake.rasterize import TileRasterizer, rasterize_uv
from lifecast.bake.tile_baker import shading_normals
from lifecast.bake.validation import select_tiles
from lifecast.errors import InputError
from lifecast.mesh import TriMesh
from lifecast.ml.surface_fill import spacing_step
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
        p, n = _surface(b, f, vertices, normals)
        position = np.zeros((size, size, 3), np.float32)
        position[covered] = p
        normal = np.zeros((size, size, 3), np.float32)
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


def _surface(
    bary: NDArray[np.float32], corners: NDArray[np.int64], vertices: NDArray[np.float32], normals: NDArray[np.float32]
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """``(q, 3)`` surface points and unit shading normals at barycentrics ``bary (q, 3)`` of triangles with vertex
    indices ``corners (q, 3)``."""
    position = np.einsum("qk,qkc->qc", bary, vertices[corners])
    n = np.einsum("qk,qkc->qc", bary, normals[corners])
    n /= np.maximum(np.linalg.norm(n, axis=1, keepdims=True), 1e-12)
    return position, n


@dataclass(frozen=True)
class GeometryBand:
    """Rows ``[row0, row0 + h)`` of one tile's maps, as :class:`GeometryTile` holds them (uncovered: zeros, ``ao``
    1): ``covered (h, s) bool``, ``position`` and ``normal (h, s, 3) float32``, ``ao (h, s) float32``."""

    row0: int
    covered: NDArray[np.bool_]
    position: NDArray[np.float32]
    normal: NDArray[np.float32]
    ao: NDArray[np.float32]


class BandedGeometry(Protocol):
    """One tile's geometry served in bands of rows (:func:`tile_bands`, :func:`geometry_bands`).

    Attributes
    ----------
    udim
        The tile.
    covered
        ``(s, s) bool`` the whole tile's coverage (1 byte a texel: the one full-size map kept).
    """

    @property
    def udim(self) -> int: ...

    @property
    def covered(self) -> NDArray[np.bool_]: ...

    @property
    def size(self) -> int: ...

    def band(self, row0: int, row1: int) -> GeometryBand:
        """Rows ``[row0, row1)``."""
        ...

    def sampled_positions(self, step: int) -> NDArray[np.float32]:
        """``position[::step, ::step]``: the surface points of every ``step``-th row and column."""
        ...


@dataclass(frozen=True)
class _TileBands:
    """Bands of a :class:`GeometryTile` (views of its maps)."""

    tile: GeometryTile

    @property
    def udim(self) -> int:
        return self.tile.udim

    @property
    def covered(self) -> NDArray[np.bool_]:
        return self.tile.covered

    @property
    def size(self) -> int:
        return self.tile.size

    def band(self, row0: int, row1: int) -> GeometryBand:
        t = self.tile
        return GeometryBand(row0, t.covered[row0:row1], t.position[row0:row1], t.normal[row0:row1], t.ao[row0:row1])

    def sampled_positions(self, step: int) -> NDArray[np.float32]:
        return self.tile.position[::step, ::step]


def tile_bands(tile: GeometryTile) -> BandedGeometry:
    """``tile``'s maps served as bands (no copy)."""
    return _TileBands(tile)


class _MeshBands:
    """Bands of one tile rasterized from the mesh on demand (see :func:`geometry_bands`)."""

    def __init__(
        self,
        udim: int,
        raster: TileRasterizer,
        ids: NDArray[np.int64],
        faces: NDArray[np.int64],
        vertices: NDArray[np.float32],
        normals: NDArray[np.float32],
        ao: NDArray[np.float32] | None,
        band_texels: int,
        sample_step: int,
    ) -> None:
        self.udim = udim
        self._raster, self._ids, self._faces = raster, ids, faces
        self._vertices, self._normals, self._ao = vertices, normals, ao
        size = raster.size
        covered = np.zeros(size * size, bool)
        # One pass over the tile for the coverage, which also keeps the surface points of every sample_step-th row
        # and column (what the texel spacing is measured on).
        self._step = sample_step
        sampled = np.zeros((len(range(0, size, sample_step)) * size, 3), np.float32)
        for part in raster.bands(band_texels, count_overlaps=False):
            covered[part.texel] = True
            row, col = np.divmod(part.texel, size)
            take = np.flatnonzero(row % sample_step == 0)
            p, _ = _surface(part.bary[take], faces[ids[part.face[take]]], vertices, normals)
            sampled[(row[take] // sample_step) * size + col[take]] = p
        self.covered = covered.reshape(size, size)
        self._sampled = sampled.reshape(-1, size, 3)[:, ::sample_step]

    @property
    def size(self) -> int:
        return int(self._raster.size)

    def sampled_positions(self, step: int) -> NDArray[np.float32]:
        if step == self._step:
            return self._sampled
        return np.concatenate([self.band(y, y + 1).position[:, ::step] for y in range(0, self.size, step)])

    def band(self, row0: int, row1: int) -> GeometryBand:
        size = self.size
        part = self._raster.band(row0, row1, count_overlaps=False)
        local = part.texel - row0 * size
        rows = row1 - row0
        position = np.zeros((rows * size, 3), np.float32)
        normal = np.zeros((rows * size, 3), np.float32)
        p, n = _surface(part.bary, self._faces[self._ids[part.face]], self._vertices, self._normals)
        position[local] = p
        normal[local] = n
        covered = self.covered[row0:row1]
        if self._ao is None:
            ao = np.ones((rows, size), np.float32)
        else:
            up = upsample_rows(self._ao[..., None], size, row0, row1)[..., 0]
            ao = np.where(covered, np.clip(up, 0.0, 1.0), 1.0).astype(np.float32)
        return GeometryBand(row0, covered, position.reshape(rows, size, 3), normal.reshape(rows, size, 3), ao)


def geometry_bands(
    mesh: TriMesh,
    size: int,
    *,
    udims: Sequence[int] | Literal["auto"] | None = "auto",
    ao: Sequence[NDArray[np.float32]] | None = None,
    band_texels: int = 1 << 20,
) -> list[BandedGeometry]:
    """Every tile's geometry at ``size`` texels a side, rasterized band by band when a band is asked for.

    Positions, normals and coverage are those of :func:`geometry_maps` (``ao_samples=0``) row for row; ``ao[i]``
    ``(a, a) float32`` (edge-padded into its gutters), when given, is tile ``i``'s occlusion at a coarser size,
    bilinearly upsampled to ``size`` per band and clipped to ``[0, 1]`` (1 off the surface). Building the list
    rasterizes every tile once for ``covered``; memory is that mask plus one band.
    """
    check_has_uvs(mesh)
    if size < 8:
        raise InputError(f"map size must be at least 8 texels, got {size}")
    assert mesh.uvs is not None and mesh.face_uvs is not None
    tiles, face_tile = select_tiles(mesh, udims)
    if ao is not None and len(ao) != len(tiles):
        raise ValueError(f"one occlusion map per tile: {len(ao)} for {len(tiles)} tiles")
    vertices = np.asarray(mesh.vertices, np.float32)
    faces = np.asarray(mesh.faces, np.int64)
    normals = shading_normals(mesh)
    uv_corners = np.asarray(mesh.uvs, np.float64)[np.asarray(mesh.face_uvs)]
    out: list[BandedGeometry] = []
    for i, udim in enumerate(tiles):
        ids = np.flatnonzero(face_tile == udim)
        u0, v0 = tile_origin(udim)
        raster = TileRasterizer(uv_corners[ids] - np.array([u0, v0], np.float64), size, margin_px=0.0)
        tile_ao = None if ao is None else np.asarray(ao[i], np.float32)
        out.append(_MeshBands(udim, raster, ids, faces, vertices, normals, tile_ao, band_texels, spacing_step(size)))
    return out


def upsample_rows(small: NDArray[np.float32], size: int, row0: int, row1: int) -> NDArray[np.float32]:
    """Rows ``[row0, row1)`` ``(rows, size, c)`` of ``small (s, s, c)`` bilinearly upsampled to ``size`` (texel
    centres aligned): the same values as those rows of one ``cv2.resize`` of the whole, up to float rounding."""
    s = small.shape[0]
    scale = s / size
    ys = (np.arange(row0, row1) + 0.5) * scale - 0.5
    r0 = np.clip(np.floor(ys).astype(np.int64), 0, s - 1)
    r1 = np.clip(r0 + 1, 0, s - 1)
    fy = np.clip(ys - np.floor(ys), 0.0, 1.0).astype(np.float32)
    fy = np.where(ys < 0, 0.0, fy).astype(np.float32)
    rows = small[r0] * (1 - fy)[:, None, None] + small[r1] * fy[:, None, None]
    wide = cv2.resize(rows, (size, row1 - row0), interpolation=cv2.INTER_LINEAR)
    if wide.ndim == 2:
        wide = wide[..., None]
    return np.asarray(wide, np.float32)


def band_rows(size: int, texels: int) -> int:
    """An even number of rows (at least 2) holding about ``texels`` texels of a ``size``-wide tile."""
    return max(2, (texels // max(size, 1)) & ~1)


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


__all__ = [
    "BandedGeometry",
    "GeometryBand",
    "GeometryTile",
    "band_rows",
    "check_has_uvs",
    "geometry_bands",
    "geometry_maps",
    "mesh_tiles",
    "tile_bands",
    "upsample_rows",
]

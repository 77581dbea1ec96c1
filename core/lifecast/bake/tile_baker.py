"""One tile baked band by band: each covered texel's point, normal and tangent frame on the low surface, one ray
onto the high surface, and every map's value there, stored in its final encoding.

Per-texel vectors are kept as rows, ``(3, q)`` (x, y and z each contiguous), so every dot product and
normalisation is a few passes over contiguous arrays.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lifecast.bake.cavity import cavity_values, default_cavity_depth, vertex_heights
from lifecast.bake.correspond import RayEngine, correspond
from lifecast.bake.encoding import MapEncoding
from lifecast.bake.occlusion import ambient_occlusion
from lifecast.bake.raster_feed import RasterFeed
from lifecast.bake.sampling import interpolate_corners, surface_rgb
from lifecast.bake.tangents import corner_tangents, tangent_space
from lifecast.bake.validation import check_uv_overlaps
from lifecast.bake.vectors import unit_rows
from lifecast.geometry.measure import vertex_normals_angle_weighted
from lifecast.mesh import TriMesh
from lifecast.pipeline.stage import ProgressFn


@dataclass(frozen=True)
class LowCorners:
    """The low mesh's corner attributes packed per face, for one barycentric interpolation per texel.

    Attributes
    ----------
    table
        ``(m, 3, 9) float32`` (face, corner, position xyz | vertex normal xyz | tangent xyz).
    sign
        ``(m,)`` handedness of each face's UV map (+1, or -1 where mirrored).
    """

    table: NDArray[np.float32]
    sign: NDArray[np.float32]

    @classmethod
    def of(cls, low: TriMesh) -> LowCorners:
        """The low mesh's positions, shading normals (its own, or angle-weighted) and tangent frames."""
        assert low.uvs is not None and low.face_uvs is not None
        normals = shading_normals(low)
        tangent, sign = corner_tangents(low.vertices, low.faces, normals, low.uvs, low.face_uvs)
        faces = np.asarray(low.faces)
        table = np.concatenate([np.asarray(low.vertices, np.float32)[faces], normals[faces], tangent], axis=2)
        return cls(np.ascontiguousarray(table, np.float32), np.ascontiguousarray(sign[:, 0]))


@dataclass(frozen=True)
class CavityHeights:
    """The high mesh's vertex heights per face corner and the pit depth the ``cavity`` map shows as black.

    Attributes
    ----------
    heights
        ``(m, 3, 1) float32`` height of each corner above its neighbourhood
        (:func:`lifecast.bake.cavity.vertex_heights`).
    depth
        Pit depth shown as black, in mesh units.
    """

    heights: NDArray[np.float32]
    depth: float

    @classmethod
    def of(
        cls, high: TriMesh, radius: float | None, depth: float | None, normals: NDArray[np.float32] | None
    ) -> CavityHeights:
        """Heights over ``radius`` (default: the cavity module's) and ``depth`` (default: from the scan's pits)."""
        heights = vertex_heights(high.vertices, high.faces, radius, normals=normals)
        black = float(depth) if depth is not None else default_cavity_depth(heights)
        return cls(corner_table(heights[:, None], high.faces), black)


def shading_normals(mesh: TriMesh) -> NDArray[np.float32]:
    """``(n, 3) float32`` the vertex normals a mesh is shaded with: its own when it has them, else angle-weighted
    (:func:`lifecast.geometry.measure.vertex_normals_angle_weighted`, Blender's smooth shading)."""
    if mesh.vertex_normals is not None:
        return np.asarray(mesh.vertex_normals, np.float32)
    return vertex_normals_angle_weighted(mesh.vertices, mesh.faces)


def corner_table(values: NDArray[np.floating], faces: NDArray[np.integer]) -> NDArray[np.float32]:
    """``(m, 3, c)`` per-vertex ``values (n, c)`` laid out per face corner."""
    return np.take(np.asarray(values, np.float32), np.asarray(faces), axis=0)


def interpolate_rows(
    table: NDArray[np.float32], face: NDArray[np.intp], bary: NDArray[np.float32]
) -> NDArray[np.float32]:
    """``(c, q)`` barycentric mix of per-face corner values ``table (m, 3, c)``, one row per component."""
    # einsum is fastest writing (q, c); one transposing copy then makes the rows contiguous.
    return np.ascontiguousarray(np.einsum("qk,qkc->qc", bary, np.take(table, face, axis=0)).T)


@dataclass
class BakedTile:
    """One baked tile, before padding.

    Attributes
    ----------
    images
        ``{channel: (size, size[, 3])}`` in each channel's stored dtype (:class:`lifecast.bake.encoding.MapEncoding`).
    mask
        ``(size, size) bool`` coverage.
    covered
        Covered texels.
    overlap
        Texels inside two or more low triangles.
    misses
        Covered texels whose ray found no high surface within the cage.
    """

    images: dict[str, NDArray[Any]]
    mask: NDArray[np.bool_]
    covered: int
    overlap: int
    misses: int


@dataclass
class TileBaker:
    """Bakes the tiles of one low mesh, band by band of texels.

    Attributes
    ----------
    high
        The detailed surface the maps are read from.
    high_normals
        ``(m, 3, 3)`` its smooth normals per face corner, when a map reads them.
    corners
        The low mesh's corner attributes.
    engine
        Ray engine over the high mesh.
    cage
        Ray search distance above and below the low surface.
    ao_samples, ao_reach
        Hemisphere rays per texel and occluder distance for ``ao``.
    cavity
        The high mesh's heights, for ``cavity``.
    seconds
        Time per step, added to as the bands bake.
    """

    high: TriMesh
    high_normals: NDArray[np.float32] | None
    corners: LowCorners
    engine: RayEngine
    cage: float
    ao_samples: int
    ao_reach: float
    cavity: CavityHeights | None
    seconds: dict[str, float]

    def _time(self, step: str, start: float) -> None:
        self.seconds[step] = self.seconds.get(step, 0.0) + time.perf_counter() - start

    def bake_tile(
        self,
        feed: RasterFeed,
        udim: int,
        size: int,
        channels: Sequence[str],
        encoding: MapEncoding,
        allow_overlaps: bool,
        progress: ProgressFn,
    ) -> BakedTile:
        """Bake one tile band by band as ``feed`` rasterizes it; overlapping UVs are refused first, before any
        baking."""
        t = time.perf_counter()
        progress(0.0, f"rasterizing UDIM {udim} at {size}px")
        head = feed.next_tile()
        self._time("raster_wait", t)
        assert head.udim == udim, (head.udim, udim)
        if not allow_overlaps:
            check_uv_overlaps(udim, head.overlap, head.interior)
        tile = BakedTile(encoding.images(size, channels), np.zeros((size, size), bool), 0, head.overlap, 0)
        covered = tile.mask.reshape(-1)
        while True:
            t = time.perf_counter()
            band = feed.next_band()
            self._time("raster_wait", t)
            if band is None:
                return tile
            progress(0.05 + 0.85 * band.texel[0] / (size * size), f"baking UDIM {udim}: {tile.covered:,} texels")
            covered[band.texel] = True
            tile.covered += len(band.texel)
            seed = udim * 7919 + tile.covered
            face = head.tile_faces[band.face]
            tile.misses += self.bake_band(face, band.bary, band.texel, tile.images, encoding, seed)

    def bake_band(
        self,
        face: NDArray[np.integer],
        bary: NDArray[np.float32],
        texel: NDArray[np.int64],
        images: dict[str, NDArray[Any]],
        encoding: MapEncoding,
        seed: int,
    ) -> int:
        """Bake one band of covered texels into ``images``; returns its cage misses.

        Parameters
        ----------
        face
            ``(q,)`` low face under each texel.
        bary
            ``(q, 3)`` barycentrics of the texel centre on it.
        texel
            ``(q,)`` flat texel indices into the images.
        images
            The tile's images, written in place.
        encoding
            How each channel is stored.
        seed
            Seed of the band's ambient-occlusion rays.
        """
        high = self.high
        t = time.perf_counter()
        index: NDArray[np.intp] = np.asarray(face, np.intp)
        low = interpolate_rows(self.corners.table, index, bary)  # (9, q): position, normal, tangent rows
        normals = unit_rows(low[3:6])
        hit = correspond(self.engine, low[0:3].T, normals.T, self.cage)
        hit_face: NDArray[np.intp] = np.asarray(hit.face, np.intp)
        high_n = None
        if self.high_normals is not None:
            high_n = unit_rows(interpolate_rows(self.high_normals, hit_face, hit.bary))
        self._time("correspond", t)

        def store(channel: str, values: NDArray[np.float32], rows: bool = False) -> None:
            """``values``: ``(q,)``, ``(q, c)``, or with ``rows`` ``(c, q)``."""
            image = images[channel]
            encoded = encoding.encode(channel, values)
            image.reshape(-1, *image.shape[2:])[texel] = encoded.T if rows else encoded

        if "albedo" in images:
            t = time.perf_counter()
            store("albedo", surface_rgb(high, hit.face, hit.bary))
            self._time("albedo", t)
        if "normal" in images:
            t = time.perf_counter()
            assert high_n is not None
            store("normal", tangent_space(high_n, normals, low[6:9], self.corners.sign[index]), rows=True)
            self._time("normal", t)
        if "object_normal" in images:
            t = time.perf_counter()
            assert high_n is not None
            store("object_normal", high_n, rows=True)
            self._time("object_normal", t)
        if "displacement" in images:
            t = time.perf_counter()
            store("displacement", hit.distance)
            self._time("displacement", t)
        if "ao" in images:
            t = time.perf_counter()
            assert high_n is not None
            hit_points = interpolate_corners(high.vertices, high.faces, hit_face, hit.bary)
            high_n_q3 = np.ascontiguousarray(high_n.T)
            store("ao", ambient_occlusion(self.engine, hit_points, high_n_q3, self.ao_samples, self.ao_reach, seed))
            self._time("ao", t)
        if "holes" in images:
            store("holes", hit.missed.astype(np.float32))
        if "cavity" in images:
            t = time.perf_counter()
            assert self.cavity is not None
            heights = interpolate_rows(self.cavity.heights, hit_face, hit.bary)[0]
            store("cavity", cavity_values(heights, self.cavity.depth))
            self._time("cavity", t)
        return int(np.count_nonzero(hit.missed))

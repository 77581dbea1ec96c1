"""The baking engine: albedo, tangent / object-space normal, displacement, AO and coverage maps per UDIM tile.

For every UDIM tile the low mesh's UVs use, the tile is rasterized (which low
triangle and barycentrics cover each texel, :func:`lifecast.bake.rasterize.rasterize_texels`
on the CPU), each covered texel's point, normal and tangent frame on the low
surface are interpolated, one ray per texel is cast from the cage inwards onto
the high mesh (:mod:`lifecast.bake.correspond`), and each map is read off the
high surface there and stored in its final encoding. Uncovered texels are then
edge-padded (push-pull) so mip-maps never pull in background, and the files are
written by a small thread pool while the next work runs (OpenCV, OpenEXR, zlib /
ISA-L and numpy's large-array loops release the GIL; open3d's BVH build and ray
casts do not, and use every core themselves). Each tile is rasterized in bands of
:data:`TEXEL_CHUNK` texels on a thread of its own, running ahead of the baker
(while the normals are computed and between ray casts), and baked band by band;
its maps are kept in their final encoding, so an 8K tile bakes in bounded memory.

Files are named ``<name>_<channel>.<UDIM>.<ext>``:

=================  =====================================================  ==========================
channel            content                                                file
=================  =====================================================  ==========================
``albedo``         the high mesh's colour (vertex colours or its texture)  sRGB PNG, 8 or 16 bit, or
                                                                          ACEScg half-float EXR
``normal``         tangent-space normal, MikkTSpace-style, OpenGL (+Y)     raw 16-bit PNG
``object_normal``  object-space normal of the high surface                 raw 16-bit PNG
``displacement``   signed distance along the low normal (0 = on low)       float32 EXR, one channel Y
``ao``             ambient occlusion of the high surface (1 = open)        raw 8-bit PNG
``cavity``         pores and creases of the high surface (1 = flat or      raw 8-bit PNG
                   raised, :mod:`lifecast.bake.cavity`)
``mask``           coverage: 255 where a low triangle covers the texel     8-bit PNG, always written
=================  =====================================================  ==========================
"""

from __future__ import annotations

import contextlib
import queue
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
from numpy.typing import NDArray

from lifecast.bake.cavity import cavity_values, default_cavity_depth, vertex_heights
from lifecast.bake.color import (
    ACESCG_INTEROP_ID,
    ALBEDO_COLORSPACES,
    AP1_CHROMATICITIES,
    COLOR_SPACES,
    AlbedoColorspace,
    check_colorspace_support,
    srgb_to_acescg,
)
from lifecast.bake.correspond import RayBackend, RayEngine, correspond, make_ray_engine
from lifecast.bake.images import write_exr, write_png
from lifecast.bake.padding import FillTransform, pad_edges
from lifecast.bake.rasterize import TexelRaster, TileRasterizer
from lifecast.bake.sampling import interpolate_corners, surface_rgb
from lifecast.bake.tangents import corner_tangents, dot_rows, vertex_normals
from lifecast.errors import InputError
from lifecast.mesh import TriMesh
from lifecast.pipeline.stage import ProgressFn, no_progress
from lifecast.uv.udim import face_udims, tile_origin

#: Every map :func:`bake_maps` can write (``mask`` is always written).
MAP_CHANNELS = ("albedo", "normal", "object_normal", "displacement", "ao", "cavity")

#: Texels per band of a tile rasterized and baked at once (small enough that its arrays stay in cache).
TEXEL_CHUNK = 1 << 18

#: Threads that pad, encode and write finished maps while the baker goes on.
WRITER_THREADS = 2

#: Fraction of a tile's covered texels allowed to miss the cage before the bake is refused.
MAX_MISS_FRACTION = 0.5

#: Fraction of a tile's covered texels that may lie inside two low triangles before the bake is
#: refused. xatlas leaves a few such texels where a chart folds over itself (a few dozen at 2K on a
#: 20k-triangle head); stacked or mirrored-on-top charts overlap far more.
MAX_OVERLAP_FRACTION = 1e-3


@dataclass(frozen=True)
class BakeResult:
    """What :func:`bake_maps` wrote and measured.

    Attributes
    ----------
    paths
        ``{channel: {udim: path}}`` for every map written (``mask`` included).
    coverage
        ``{udim: fraction}`` of each tile's texels covered by a low triangle.
    covered_texels
        Covered texels over all tiles.
    cage
        The cage distance used (given, or derived from the two meshes).
    cage_misses
        Covered texels whose ray found no high surface within the cage
        (they took the closest point instead).
    overlap_texels
        Covered texels inside two or more low triangles (below the refusal
        threshold, or with ``allow_overlapping_uvs``).
    cavity_depth
        The pit depth that the ``cavity`` map shows as black (given, or derived
        from the scan), in mesh units; ``None`` without a cavity map.
    seconds
        Time per step: ``setup`` (normals, tangent frames), ``correspond``
        (ray-tracer build, auto cage, interpolation, rays), one entry per map
        (its values, padding, encoding and file; the files are written on
        worker threads, so these overlap), ``write_wait`` (the time spent
        waiting for the last files after the baking ended), ``rasterize`` (on
        the rasterizer's own thread, overlapping the rest) and ``raster_wait``
        (the time the baker waited for it).
    color_spaces
        ``{channel: space}`` for every map written: ``"srgb"`` (sRGB-encoded
        Rec.709 texture), ``"acescg"`` (linear AP1, EXR) or ``"raw"`` (data:
        normals, displacement, AO, mask), for the material that reads them.
    """

    paths: dict[str, dict[int, Path]]
    coverage: dict[int, float]
    covered_texels: int
    cage: float
    cage_misses: int
    overlap_texels: int = 0
    seconds: dict[str, float] = field(default_factory=dict)
    color_spaces: dict[str, str] = field(default_factory=dict)
    cavity_depth: float | None = None


def bake_maps(
    high: TriMesh,
    low: TriMesh,
    *,
    maps: Sequence[str] = ("albedo", "normal", "displacement", "ao"),
    size: int = 4096,
    out_dir: Path,
    name: str = "bake",
    cage: float | None = None,
    udims: Sequence[int] | Literal["auto"] | None = None,
    device: str = "cpu",
    backend: RayBackend = "auto",
    ao_samples: int = 16,
    ao_distance: float | None = None,
    cavity_radius: float | None = None,
    cavity_depth: float | None = None,
    albedo_bits: int = 8,
    albedo_colorspace: AlbedoColorspace = "srgb",
    allow_overlapping_uvs: bool = False,
    progress: ProgressFn = no_progress,
) -> BakeResult:
    """Bake maps from the high (scan) mesh into the low (production) mesh's UV tiles.

    Parameters
    ----------
    high
        The detailed surface; needs ``vertex_colors`` or a UV-mapped ``texture`` for ``albedo``.
    low
        The production mesh with ``uvs`` / ``face_uvs``; ``vertex_normals`` are
        used when present (the shading normals), otherwise computed.
    maps
        Channels from :data:`MAP_CHANNELS`.
    size
        Texels along each side of every tile.
    out_dir
        Folder for ``<name>_<channel>.<UDIM>.<ext>``.
    name
        File name prefix.
    cage
        How far above and below the low surface the high one is searched, along
        the low normal, in mesh units; ``None`` derives it from the distance
        between the meshes. Each texel's ray starts this far out and runs inwards
        (:func:`lifecast.bake.correspond.correspond`).
    udims
        ``None``: the UVs must lie in 0-1 (tile 1001). ``"auto"``: every tile
        the UVs use. A list: exactly these tiles (UVs elsewhere are an error).
    device
        ``"cpu"`` or ``"cuda"`` (rasterizer and ray engine).
    backend
        Ray engine, see :func:`lifecast.bake.correspond.make_ray_engine`.
    ao_samples
        Cosine-weighted hemisphere rays per texel for ``ao``.
    ao_distance
        Occluders farther than this do not count; default 10 % of the high mesh's bounding-box diagonal.
    cavity_radius
        Neighbourhood a vertex of the high mesh is compared with for ``cavity``, in mesh units
        (default three mean edge lengths of the high mesh).
    cavity_depth
        Pit depth shown as black in ``cavity``, in mesh units (default: the 99th percentile of the
        scan's pit depths; give one to compare maps across scans).
    albedo_bits
        8 or 16: the sRGB PNG's bit depth (``albedo_colorspace="srgb"``).
    albedo_colorspace
        ``"srgb"``: an sRGB-encoded PNG (``<name>_albedo.<UDIM>.png``).
        ``"acescg"``: linear ACEScg in a half-float EXR (``.exr``), converted
        through OpenColorIO (the ``color`` extra), its header carrying the AP1
        ``chromaticities`` and ``colorInteropID = "lin_ap1_scene"``.
    allow_overlapping_uvs
        Bake even where low triangles overlap in UV (stacked / mirrored
        charts); one of the triangles wins. Off: overlaps on more than
        :data:`MAX_OVERLAP_FRACTION` of a tile's covered texels are an error.
    progress
        Called with a fraction in ``[0, 1]``.

    Returns
    -------
    BakeResult

    Raises
    ------
    InputError
        No UVs on the low mesh, UVs outside the allowed tiles, overlapping UVs,
        meshes that do not overlap, a cage that misses most texels, a missing
        colour source for ``albedo``, an unknown map or colour space.
    """
    channels = _check_maps(maps, high)
    if size < 1:
        raise InputError(f"map size must be positive, got {size}")
    if albedo_bits not in (8, 16):
        raise InputError(f"albedo bit depth must be 8 or 16, got {albedo_bits}")
    if albedo_colorspace not in ALBEDO_COLORSPACES:
        choices = ", ".join(ALBEDO_COLORSPACES)
        raise InputError(f"albedo colour space must be one of {choices}, got {albedo_colorspace!r}")
    if "albedo" in channels:
        check_colorspace_support(albedo_colorspace)
    if low.uvs is None or low.face_uvs is None:
        raise InputError("the low mesh has no UVs to bake into: unwrap it first (lifecast.uv.unwrap)")
    if high.is_point_cloud or len(low.faces) == 0:
        raise InputError("both meshes need triangles to bake")
    tiles, face_tile = _select_tiles(low, udims)
    if cage is not None and cage <= 0:
        raise InputError(f"the cage distance must be positive, got {cage}")
    for label, value in (("radius", cavity_radius), ("depth", cavity_depth)):
        if value is not None and not value > 0:
            raise InputError(f"the cavity {label} must be positive, got {value}")

    seconds: dict[str, float] = {}
    encoding = _Encoding(albedo_bits, albedo_colorspace)
    paths: dict[str, dict[int, Path]] = {ch: {} for ch in (*channels, "mask")}
    coverage: dict[int, float] = {}
    covered_total = 0
    misses_total = 0
    overlap_total = 0
    # The tiles are rasterized on a thread of their own from here on, while the normals and the ray tracer are
    # prepared and the bands baked (see _RasterFeed).
    feed = _RasterFeed(low, tiles, face_tile, size, device)
    writer = _Writer(Path(out_dir), name, encoding, paths)
    try:
        t0 = time.perf_counter()
        corners = _LowCorners.of(low)
        reads_normals = bool({"normal", "object_normal", "ao"} & set(channels))
        high_vertex_normals = _high_vertex_normals(high) if reads_normals or "cavity" in channels else None
        high_normals = None
        if reads_normals and high_vertex_normals is not None:
            high_normals = _corner_table(high_vertex_normals, high.faces)
        seconds["setup"] = time.perf_counter() - t0
        cavity = None
        if "cavity" in channels:
            t0 = time.perf_counter()
            heights = vertex_heights(high.vertices, high.faces, cavity_radius, normals=high_vertex_normals)
            depth = float(cavity_depth) if cavity_depth is not None else default_cavity_depth(heights)
            cavity = _Cavity(_corner_table(heights[:, None], high.faces), depth)
            seconds["cavity"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        engine = make_ray_engine(high.vertices, high.faces, device=device, backend=backend)
        cage_used = float(cage) if cage is not None else auto_cage(high, low, engine)
        if cage_used <= 0:
            raise InputError(f"the cage distance must be positive, got {cage_used}")
        seconds["correspond"] = time.perf_counter() - t0

        ao_reach = 0.0
        if "ao" in channels:
            ao_reach = float(ao_distance) if ao_distance is not None else 0.1 * _diagonal(high.vertices)
        baker = _Baker(
            high=high,
            high_normals=high_normals,
            corners=corners,
            engine=engine,
            cage=cage_used,
            ao_samples=ao_samples,
            ao_reach=ao_reach,
            cavity=cavity,
            seconds=seconds,
        )
        for i, udim in enumerate(tiles):

            def tile_progress(fraction: float, message: str, i: int = i) -> None:
                progress((i + fraction) / len(tiles), message)

            tile = baker.bake_tile(feed, udim, size, channels, encoding, allow_overlapping_uvs, tile_progress)
            overlap_total += tile.overlap
            coverage[udim] = tile.covered / float(size * size)
            covered_total += tile.covered
            if tile.covered == 0:
                raise InputError(
                    f"no texel of UDIM {udim} is covered at {size}px: the low mesh's UVs there are degenerate"
                )
            if tile.misses > MAX_MISS_FRACTION * tile.covered:
                raise InputError(
                    f"the cage misses the high mesh: {tile.misses:,} of {tile.covered:,} covered texels of UDIM "
                    f"{udim} found no surface within {cage_used:.4g} along their normal; raise the cage distance or "
                    f"check that the meshes are aligned"
                )
            misses_total += tile.misses
            tile_progress(0.9, f"padding and writing UDIM {udim}")
            writer.submit_tile(udim, tile.images, tile.mask)
            del tile
        t = time.perf_counter()
        writer.finish()
        seconds["write_wait"] = time.perf_counter() - t
    finally:
        feed.close()
        writer.close()
    seconds["rasterize"] = feed.seconds
    for step, value in writer.seconds.items():
        seconds[step] = seconds.get(step, 0.0) + value
    progress(1.0, f"baked {len(channels)} map(s) over {len(tiles)} tile(s) at {size}px")
    spaces = {ch: encoding.color_space(ch) for ch in paths}
    return BakeResult(
        paths,
        coverage,
        covered_total,
        cage_used,
        misses_total,
        overlap_total,
        seconds,
        spaces,
        cavity.depth if cavity is not None else None,
    )


@dataclass(frozen=True)
class _LowCorners:
    """The low mesh's corner attributes packed per face, for one barycentric interpolation per texel.

    ``table``: ``(m, 3, 9) float32`` (face, corner, position xyz | vertex normal xyz | tangent xyz);
    ``sign``: ``(m,)`` handedness of each face's UV map (+1, or -1 where mirrored).
    """

    table: NDArray[np.float32]
    sign: NDArray[np.float32]

    @classmethod
    def of(cls, low: TriMesh) -> _LowCorners:
        assert low.uvs is not None and low.face_uvs is not None
        normals = (
            np.asarray(low.vertex_normals, np.float32)
            if low.vertex_normals is not None
            else vertex_normals(low.vertices, low.faces)
        )
        tangent, sign = corner_tangents(low.vertices, low.faces, normals, low.uvs, low.face_uvs)
        faces = np.asarray(low.faces)
        table = np.concatenate([np.asarray(low.vertices, np.float32)[faces], normals[faces], tangent], axis=2)
        return cls(np.ascontiguousarray(table, np.float32), np.ascontiguousarray(sign[:, 0]))


def _interpolate_rows(
    table: NDArray[np.float32], face: NDArray[np.intp], bary: NDArray[np.float32]
) -> NDArray[np.float32]:
    """``(c, q)`` barycentric mix of per-face corner values ``table (m, 3, c)``, one row per component."""
    # einsum is fastest writing (q, c); one transposing copy then makes the rows contiguous.
    return np.ascontiguousarray(np.einsum("qk,qkc->qc", bary, np.take(table, face, axis=0)).T)


def _corner_table(values: NDArray[np.floating], faces: NDArray[np.integer]) -> NDArray[np.float32]:
    """``(m, 3, c)`` per-vertex ``values (n, c)`` laid out per face corner."""
    return np.take(np.asarray(values, np.float32), np.asarray(faces), axis=0)


def _high_vertex_normals(high: TriMesh) -> NDArray[np.float32]:
    """``(n, 3)`` the high mesh's smooth vertex normals (its own, or angle-weighted)."""
    if high.vertex_normals is not None:
        return np.asarray(high.vertex_normals, np.float32)
    return vertex_normals(high.vertices, high.faces)


@dataclass(frozen=True)
class _Cavity:
    """The high mesh's vertex heights per face corner, ``(m, 3, 1)``, and the depth shown as black."""

    heights: NDArray[np.float32]
    depth: float


@dataclass(frozen=True)
class _Encoding:
    """How each channel is stored: dtype and depth of its image, value encoding, file type, colour space."""

    albedo_bits: int
    albedo_colorspace: AlbedoColorspace

    def images(self, size: int, channels: Sequence[str]) -> dict[str, NDArray[Any]]:
        """Zeroed full-size images of one tile, in each channel's stored dtype."""
        return {ch: np.zeros((size, size, *self._shape(ch)), self._dtype(ch)) for ch in channels}

    def _shape(self, channel: str) -> tuple[int, ...]:
        return () if channel in ("displacement", "ao", "cavity") else (3,)

    def _dtype(self, channel: str) -> type[np.generic]:
        if channel == "albedo":
            if self.albedo_colorspace == "acescg":
                return np.float16
            return np.uint16 if self.albedo_bits == 16 else np.uint8
        if channel in ("normal", "object_normal"):
            return np.uint16
        return np.float32 if channel == "displacement" else np.uint8

    def encode(self, channel: str, values: NDArray[np.float32]) -> NDArray[Any]:
        """Values as computed (colours in [0, 1], unit vectors, distances, open fraction) to the stored dtype."""
        if channel == "albedo":
            if self.albedo_colorspace == "acescg":
                return srgb_to_acescg(values).astype(np.float16)
            return _quantize(values, 65535.0 if self.albedo_bits == 16 else 255.0, self._dtype(channel))
        if channel in ("normal", "object_normal"):
            return _quantize(values * 0.5 + 0.5, 65535.0, np.uint16)
        if channel in ("ao", "cavity"):
            return _quantize(values, 255.0, np.uint8)
        return values.astype(np.float32, copy=False)

    def fill_transform(self, channel: str) -> FillTransform | None:
        """For vectors: renormalise the padding (averages of unit vectors are shorter)."""
        return _renormalize_encoded if channel in ("normal", "object_normal") else None

    def suffix(self, channel: str) -> str:
        if channel == "displacement" or (channel == "albedo" and self.albedo_colorspace == "acescg"):
            return ".exr"
        return ".png"

    def color_space(self, channel: str) -> str:
        return self.albedo_colorspace if channel == "albedo" else COLOR_SPACES[channel]

    def write(self, path: Path, channel: str, image: NDArray[Any]) -> None:
        if channel == "displacement":
            write_exr(path, image)
        elif path.suffix == ".exr":
            attributes = {"chromaticities": AP1_CHROMATICITIES, "colorInteropID": ACESCG_INTEROP_ID}
            write_exr(path, image, half=True, attributes=attributes)
        else:
            write_png(path, image)


def _quantize(values: NDArray[np.float32], scale: float, dtype: type[np.generic]) -> NDArray[Any]:
    scaled = values * np.float32(scale)
    np.clip(scaled, 0.0, scale, out=scaled)
    return np.rint(scaled, out=scaled).astype(dtype)


def _renormalize_encoded(encoded: NDArray[np.float32]) -> NDArray[np.float32]:
    """``(h, w, 3)`` vectors encoded as ``(v * 0.5 + 0.5) * 65535`` -> the same encoding of unit vectors."""
    v = encoded * np.float32(2.0 / 65535.0)
    v -= 1.0
    length = np.sqrt(np.einsum("...c,...c->...", v, v))  # several times np.linalg.norm's speed over a last axis of 3
    np.maximum(length, np.float32(1e-12), out=length)
    v /= length[..., None]
    v += 1.0
    v *= np.float32(65535.0 / 2.0)
    return v


class _Writer:
    """Pads, encodes and writes finished tiles on worker threads; collects paths, times and the first error."""

    def __init__(self, out_dir: Path, name: str, encoding: _Encoding, paths: dict[str, dict[int, Path]]) -> None:
        self._out_dir = out_dir
        self._name = name
        self._encoding = encoding
        self._paths = paths
        #: Seconds spent per channel on the worker threads (read after :meth:`finish`).
        self.seconds: dict[str, float] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=WRITER_THREADS, thread_name_prefix="lifecast-bake-writer")
        self._pending: list[Future[None]] = []

    def submit_tile(self, udim: int, images: dict[str, NDArray[Any]], mask: NDArray[np.bool_]) -> None:
        """Pad and write every map of one tile (``images`` is emptied) and its coverage ``mask``."""
        for channel in list(images):
            self._submit(self._write_map, udim, channel, images.pop(channel), mask)
        self._submit(self._write_file, udim, "mask", mask.astype(np.uint8) * np.uint8(255))

    def finish(self) -> None:
        """Wait for every file; re-raise the first error."""
        for future in self._pending:
            future.result()
        self._pending.clear()

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _submit(self, fn: Callable[..., None], *args: Any) -> None:
        self._pending.append(self._pool.submit(fn, *args))

    def _write_map(self, udim: int, channel: str, image: NDArray[Any], mask: NDArray[np.bool_]) -> None:
        t = time.perf_counter()
        padded = pad_edges(image, mask, fill_transform=self._encoding.fill_transform(channel))
        del image
        self._write_file(udim, channel, padded)
        self._add_seconds(channel, time.perf_counter() - t)

    def _write_file(self, udim: int, channel: str, image: NDArray[Any]) -> None:
        suffix = self._encoding.suffix(channel)
        path = self._out_dir / f"{self._name}_{channel}.{udim}{suffix}"
        self._encoding.write(path, channel, image)
        with self._lock:
            self._paths[channel][udim] = path

    def _add_seconds(self, step: str, value: float) -> None:
        with self._lock:
            self.seconds[step] = self.seconds.get(step, 0.0) + value


@dataclass
class _Tile:
    """One baked tile, before padding: its images (stored dtypes), coverage and counts."""

    images: dict[str, NDArray[Any]]
    mask: NDArray[np.bool_]
    covered: int
    overlap: int
    misses: int


@dataclass
class _Baker:
    """Bakes the tiles of one low mesh, band by band of texels."""

    high: TriMesh
    high_normals: NDArray[np.float32] | None
    corners: _LowCorners
    engine: RayEngine
    cage: float
    ao_samples: int
    ao_reach: float
    cavity: _Cavity | None
    seconds: dict[str, float]

    def _time(self, step: str, start: float) -> None:
        self.seconds[step] = self.seconds.get(step, 0.0) + time.perf_counter() - start

    def bake_tile(
        self,
        feed: _RasterFeed,
        udim: int,
        size: int,
        channels: Sequence[str],
        encoding: _Encoding,
        allow_overlaps: bool,
        progress: ProgressFn,
    ) -> _Tile:
        """Bake one tile band by band as ``feed`` rasterizes it; overlapping UVs are refused first, before any
        baking."""
        t = time.perf_counter()
        progress(0.0, f"rasterizing UDIM {udim} at {size}px")
        head = feed.next_tile()
        self._time("raster_wait", t)
        assert head.udim == udim, (head.udim, udim)
        if head.overlap > MAX_OVERLAP_FRACTION * max(head.interior, 1) and not allow_overlaps:
            raise InputError(
                f"overlapping UVs: {head.overlap:,} texels of UDIM {udim} lie inside two or more low triangles "
                f"(stacked or mirrored charts); re-unwrap the low mesh or allow overlaps"
            )
        tile = _Tile(encoding.images(size, channels), np.zeros((size, size), bool), 0, head.overlap, 0)
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
            tile.misses += self.bake_chunk(face, band.bary, band.texel, tile.images, encoding, seed)

    def bake_chunk(
        self,
        face: NDArray[np.integer],
        bary: NDArray[np.float32],
        texel: NDArray[np.int64],
        images: dict[str, NDArray[Any]],
        encoding: _Encoding,
        seed: int,
    ) -> int:
        """Bake one chunk of covered texels into ``images``; returns its cage misses.

        Per-texel vectors are kept as rows, ``(3, q)`` (x, y and z each contiguous), so every dot product
        and normalisation is a few passes over contiguous arrays.
        """
        high = self.high
        t = time.perf_counter()
        index: NDArray[np.intp] = np.asarray(face, np.intp)
        low = _interpolate_rows(self.corners.table, index, bary)  # (9, q): position, normal, tangent rows
        normals = _unit_rows(low[3:6])
        hit = correspond(self.engine, high.vertices, high.faces, low[0:3].T, normals.T, self.cage)
        hit_face: NDArray[np.intp] = np.asarray(hit.face, np.intp)
        high_n = None
        if self.high_normals is not None:
            high_n = _unit_rows(_interpolate_rows(self.high_normals, hit_face, hit.bary))
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
        if "cavity" in images:
            t = time.perf_counter()
            assert self.cavity is not None
            heights = _interpolate_rows(self.cavity.heights, hit_face, hit.bary)[0]
            store("cavity", cavity_values(heights, self.cavity.depth))
            self._time("cavity", t)
        return int(np.count_nonzero(hit.missed))


def _check_maps(maps: Sequence[str], high: TriMesh) -> tuple[str, ...]:
    unknown = [m for m in maps if m not in MAP_CHANNELS and m != "mask"]
    if unknown:
        raise InputError(f"unknown map(s) {', '.join(unknown)}; choose from {', '.join(MAP_CHANNELS)}")
    channels = tuple(m for m in MAP_CHANNELS if m in maps)
    has_texture = high.texture is not None and high.uvs is not None
    if "albedo" in channels and high.vertex_colors is None and not has_texture:
        raise InputError("albedo needs a high mesh with vertex colours or a UV-mapped texture")
    return channels


def _select_tiles(low: TriMesh, udims: Sequence[int] | Literal["auto"] | None) -> tuple[list[int], NDArray[np.int64]]:
    """The tiles to bake and the UDIM of each low face; errors for faces outside them."""
    assert low.uvs is not None and low.face_uvs is not None
    face_tile = face_udims(low.uvs, low.face_uvs)
    used, counts = np.unique(face_tile, return_counts=True)
    if udims == "auto":
        return [int(u) for u in used], face_tile
    allowed = [1001] if udims is None else sorted({int(u) for u in udims})
    outside = {int(u): int(c) for u, c in zip(used, counts, strict=True) if int(u) not in allowed}
    if outside:
        where = ", ".join(f"{c:,} in {u}" for u, c in sorted(outside.items()))
        if udims is None:
            raise InputError(
                f"UVs outside 0-1 without UDIMs: {sum(outside.values()):,} low faces ({where}); pass udims"
            )
        raise InputError(f"low faces lie in UDIM tiles not asked for: {where}")
    return [u for u in allowed if u in set(int(x) for x in used)] or allowed, face_tile


def auto_cage(high: TriMesh, low: TriMesh, engine: RayEngine, samples: int = 20_000) -> float:
    """A cage distance from how far the low surface lies from the high one.

    Twice the 99th percentile of the distance from low vertices (up to
    ``samples`` of them) to the high surface, plus 0.1 % of the low mesh's
    bounding-box diagonal.

    Raises
    ------
    InputError
        When the meshes do not overlap (their bounding boxes are disjoint, or
        the median distance exceeds a quarter of the low mesh's size).
    """
    lo_min, lo_max = low.vertices.min(axis=0), low.vertices.max(axis=0)
    hi_min, hi_max = high.vertices.min(axis=0), high.vertices.max(axis=0)
    diagonal = _diagonal(low.vertices)
    if np.any(lo_max < hi_min) or np.any(hi_max < lo_min):
        raise InputError(
            f"the high and low meshes do not overlap: bounding boxes {np.round(hi_min, 3).tolist()}-"
            f"{np.round(hi_max, 3).tolist()} and {np.round(lo_min, 3).tolist()}-{np.round(lo_max, 3).tolist()}"
        )
    rng = np.random.default_rng(0)
    pick = rng.choice(len(low.vertices), size=min(samples, len(low.vertices)), replace=False)
    points = np.ascontiguousarray(low.vertices[pick], np.float32)
    face, bary = engine.closest(points)
    nearest = np.einsum("qk,qkc->qc", bary, high.vertices[high.faces[face]])
    distance = np.linalg.norm(nearest - points, axis=1)
    if np.median(distance) > 0.25 * diagonal:
        raise InputError(
            f"the high and low meshes do not overlap: the low surface is {np.median(distance):.4g} from the high "
            f"one (median), {np.median(distance) / diagonal:.0%} of its size; align them first"
        )
    return float(2.0 * np.percentile(distance, 99) + 1e-3 * diagonal)


def _diagonal(vertices: NDArray[np.floating]) -> float:
    return float(np.linalg.norm(np.ptp(np.asarray(vertices, np.float64), axis=0)))


class _TileRaster(Protocol):
    """What the engine needs from a tile rasterizer (:class:`lifecast.bake.rasterize.TileRasterizer`)."""

    def overlap_count(self) -> int: ...

    def interior_texels(self) -> int: ...

    def bands(self, texels_per_band: int, *, count_overlaps: bool = True) -> Iterator[TexelRaster]: ...


def _tile_rasterizer(low: TriMesh, tile_faces: NDArray[np.int64], udim: int, size: int, device: str) -> _TileRaster:
    """The rasterizer of one tile's faces: the numpy row-run one on the CPU (measured faster there, and streamed
    in bands), the torch one on other devices; both give the same triangles (tests/unit/test_bake_raster_torch.py).
    """
    assert low.uvs is not None and low.face_uvs is not None
    origin = np.array(tile_origin(udim), np.float32)
    corners = (low.uvs[low.face_uvs[tile_faces]] - origin).astype(np.float64)
    if device == "cpu":
        return TileRasterizer(corners, size)
    return _TorchTileRaster(corners, size, device)


#: Bands the rasterizer thread may run ahead of the baker (a 2K tile is 16 bands; about 100 MB at most at 8K).
RASTER_AHEAD = 16


@dataclass(frozen=True)
class _TileHead:
    """What the rasterizer thread knows of a tile before its first band: its faces and UV overlaps."""

    udim: int
    tile_faces: NDArray[np.int64]
    overlap: int
    interior: int


@dataclass(frozen=True)
class _FeedError:
    error: BaseException


_END_OF_TILE = object()


class _RasterFeed:
    """Rasterizes the tiles, in order, on a thread of its own: a head per tile, then its non-empty bands.

    numpy releases the GIL in its large loops, so the rasterization runs beside the baker's own numpy work
    (the normals, the tangent frames, the band maths) on the second core; while open3d builds its BVH or
    casts rays it holds the GIL, and the thread waits. Up to :data:`RASTER_AHEAD` bands wait in the queue.
    Errors are raised again in the baker's thread.
    """

    def __init__(
        self, low: TriMesh, tiles: Sequence[int], face_tile: NDArray[np.int64], size: int, device: str
    ) -> None:
        #: Seconds the thread spent rasterizing (read after :meth:`close`).
        self.seconds = 0.0
        self._queue: queue.Queue[object] = queue.Queue(maxsize=RASTER_AHEAD)
        self._stop = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(low, list(tiles), face_tile, size, device), name="lifecast-bake-raster"
        )
        self._thread.start()

    def next_tile(self) -> _TileHead:
        item = self._get()
        assert isinstance(item, _TileHead)
        return item

    def next_band(self) -> TexelRaster | None:
        """The next band of the current tile, ``None`` after its last."""
        item = self._get()
        if item is _END_OF_TILE:
            return None
        assert isinstance(item, TexelRaster)
        return item

    def close(self) -> None:
        """Stop the thread (if it is still running) and wait for it."""
        self._stop.set()
        while self._thread.is_alive():
            with contextlib.suppress(queue.Empty):
                self._queue.get(timeout=0.05)
        self._thread.join()

    def _get(self) -> object:
        item = self._queue.get()
        if isinstance(item, _FeedError):
            raise item.error
        return item

    def _put(self, item: object) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def _run(self, low: TriMesh, tiles: list[int], face_tile: NDArray[np.int64], size: int, device: str) -> None:
        try:
            for udim in tiles:
                t = time.perf_counter()
                tile_faces = np.flatnonzero(face_tile == udim)
                rasterizer = _tile_rasterizer(low, tile_faces, udim, size, device)
                head = _TileHead(udim, tile_faces, rasterizer.overlap_count(), rasterizer.interior_texels())
                self.seconds += time.perf_counter() - t
                if not self._put(head):
                    return
                bands = rasterizer.bands(TEXEL_CHUNK, count_overlaps=False)
                while True:
                    t = time.perf_counter()
                    band = next(bands, None)
                    self.seconds += time.perf_counter() - t
                    if band is not None and len(band.texel) == 0:
                        continue
                    if not self._put(_END_OF_TILE if band is None else band):
                        return
                    if band is None:
                        break
        except BaseException as error:  # raised again in the baker's thread
            self._put(_FeedError(error))


class _TorchTileRaster:
    """The torch rasterizer's whole-tile result, served in bands like :class:`TileRasterizer`."""

    def __init__(self, corners: NDArray[np.float64], size: int, device: str) -> None:
        from lifecast.bake.raster_torch import rasterize_uv_torch

        result = rasterize_uv_torch(corners, size, device=device)
        flat_face = result.face.flatten().cpu().numpy()
        self._texel = np.flatnonzero(flat_face >= 0)
        self._face = flat_face[self._texel].astype(np.int32)
        self._bary = result.bary.reshape(-1, 3).cpu().numpy()[self._texel]
        self._overlap = int(result.overlap.sum().item())
        self._size = size

    def overlap_count(self) -> int:
        return self._overlap

    def interior_texels(self) -> int:
        return len(self._texel)

    def bands(self, texels_per_band: int, *, count_overlaps: bool = True) -> Iterator[TexelRaster]:
        for start in range(0, len(self._texel), texels_per_band):
            part = slice(start, start + texels_per_band)
            yield TexelRaster(self._size, self._texel[part], self._face[part], self._bary[part], 0)


def tangent_space(
    high_normals: NDArray[np.float32],
    low_normals: NDArray[np.float32],
    tangents: NDArray[np.float32],
    sign: NDArray[np.float32],
) -> NDArray[np.float32]:
    """``(3, q)`` high normals in the low surface's tangent frame ``(T, B, N)``, OpenGL (+Y = +V), as rows.

    Every vector argument is given as rows ``(3, q)`` (x, y, z).

    Parameters
    ----------
    high_normals
        ``(3, q)`` unit normals of the high surface.
    low_normals
        ``(3, q)`` unit interpolated low normals ``N``.
    tangents
        ``(3, q)`` barycentric mix of the corner tangents; Gram-Schmidt
        orthogonalised against ``N`` here to give ``T``.
    sign
        ``(q,)`` handedness; ``B = sign * N x T``.
    """
    # With t' = T - N (T.N) and T = t' / |t'|:  H.T = (H.T - (H.N)(T.N)) / |t'|,  H.B = sign H.(N x T) / |t'|
    # (N x N = 0), so neither the orthogonalised tangent nor the bitangent is ever formed.
    h, n, t = high_normals, low_normals, tangents
    h_n = dot_rows(h, n)
    t_n = dot_rows(t, n)
    inv_length = dot_rows(t, t)
    inv_length -= t_n * t_n
    np.maximum(inv_length, np.float32(1e-24), out=inv_length)
    np.sqrt(inv_length, out=inv_length)
    np.reciprocal(inv_length, out=inv_length)
    out = np.empty((3, len(h_n)), np.float32)
    x = dot_rows(h, t)
    x -= h_n * t_n
    np.multiply(x, inv_length, out=out[0])
    # H.(N x T), the triple product, expanded over the rows.
    y = h[0] * (n[1] * t[2] - n[2] * t[1])
    y += h[1] * (n[2] * t[0] - n[0] * t[2])
    y += h[2] * (n[0] * t[1] - n[1] * t[0])
    y *= sign
    np.multiply(y, inv_length, out=out[1])
    out[2] = h_n
    return out


def ambient_occlusion(
    engine: RayEngine,
    points: NDArray[np.float32],
    normals: NDArray[np.float32],
    samples: int,
    reach: float,
    seed: int = 0,
) -> NDArray[np.float32]:
    """``(q,)`` unoccluded fraction of cosine-weighted hemisphere rays about each normal (1 = fully open).

    Each point gets its own random rotation of the sample pattern, so the
    noise is uncorrelated between texels rather than banded.
    """
    rng = np.random.default_rng(seed)
    q = len(points)
    tangent = _unit(np.cross(normals, np.where(np.abs(normals[:, 0:1]) < 0.9, [[1.0, 0, 0]], [[0, 1.0, 0]])))
    bitangent = np.cross(normals, tangent)
    origins = (points + normals * np.float32(1e-4 * reach)).astype(np.float32)
    open_count = np.zeros(q, np.float32)
    for _ in range(samples):
        r1, r2 = rng.random(q, np.float32), rng.random(q, np.float32)
        radius, phi = np.sqrt(r1)[:, None], (np.float32(2 * np.pi) * r2)[:, None]
        direction = tangent * (radius * np.cos(phi)) + bitangent * (radius * np.sin(phi))
        direction += normals * np.sqrt(1 - r1)[:, None]
        open_count += ~engine.occluded(origins, _unit(direction), reach)
    return open_count / np.float32(max(samples, 1))


def _unit_rows(rows: NDArray[np.float32]) -> NDArray[np.float32]:
    """Vectors given as rows ``(3, q)`` float32 scaled to unit length in place (zero vectors stay zero)."""
    length = dot_rows(rows, rows)
    np.sqrt(length, out=length)
    np.maximum(length, np.float32(1e-12), out=length)
    np.reciprocal(length, out=length)
    rows *= length
    return rows


def _unit(a: NDArray[np.floating]) -> NDArray[np.float32]:
    """Rows of ``(q, 3)`` scaled to unit length (zero rows stay zero)."""
    a = np.asarray(a, np.float32)
    length = np.sqrt(np.einsum("qc,qc->q", a, a))
    np.maximum(length, np.float32(1e-12), out=length)
    return a / length[:, None]

"""The baking engine: albedo, tangent / object-space normal, displacement, AO and coverage maps per UDIM tile.

For every UDIM tile the low mesh's UVs use, the tile is rasterized (which low
triangle and barycentrics cover each texel) in bands of texels on a thread of
its own, running ahead of the baker (:mod:`lifecast.bake.raster_feed`); for
each band, each covered texel's point, normal and tangent frame on the low
surface are interpolated, one ray per texel is cast from the cage
(:mod:`lifecast.bake.cage`) inwards onto the high mesh
(:mod:`lifecast.bake.correspond`), and each map is read off the high surface
there and stored in its final encoding (:mod:`lifecast.bake.tile_baker`,
:mod:`lifecast.bake.encoding`), so an 8K tile bakes in bounded memory.
Uncovered texels are then edge-padded (push-pull) so mip-maps never pull in
background, and the files are written by a small thread pool while the next
work runs (:mod:`lifecast.bake.map_writer`: OpenCV, OpenEXR, zlib / ISA-L and
numpy's large-array loops release the GIL; open3d's BVH build and ray casts do
not, and use every core themselves). The request is checked before anything
runs (:mod:`lifecast.bake.validation`).

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
``holes``          255 where the texel's ray found no scan within the      raw 8-bit PNG
                   cage (it took the closest point: a hole for the
                   inpainting, :mod:`lifecast.ml.inpaint`)
``mask``           coverage: 255 where a low triangle covers the texel     8-bit PNG, always written
=================  =====================================================  ==========================
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import numpy as np
from numpy.typing import NDArray

from lifecast.bake.cage import auto_cage, bounding_diagonal
from lifecast.bake.correspond import RayBackend, make_ray_engine
from lifecast.bake.encoding import MapEncoding
from lifecast.bake.map_writer import MapWriter
from lifecast.bake.raster_feed import RasterFeed
from lifecast.bake.tile_baker import CavityHeights, LowCorners, TileBaker, corner_table, shading_normals
from lifecast.bake.validation import (
    check_distances,
    check_maps,
    check_meshes,
    check_settings,
    check_tile_coverage,
    select_tiles,
)
from lifecast.color import AlbedoColorspace
from lifecast.errors import InputError
from lifecast.mesh import TriMesh
from lifecast.pipeline.stage import ProgressFn, no_progress

#: Every map :func:`bake_maps` can write (``mask`` is always written).
MAP_CHANNELS = ("albedo", "normal", "object_normal", "displacement", "ao", "cavity", "holes")

#: The maps that read the high surface's normals.
_READS_NORMALS = frozenset({"normal", "object_normal", "ao"})


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
    on_scan: NDArray[np.bool_] | None = None,
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
        :data:`lifecast.bake.validation.MAX_OVERLAP_FRACTION` of a tile's covered texels are an error.
    on_scan
        ``(n,) bool`` the low vertices that lie on the scan (a wrapped template's fitted vertices); the
        automatic cage is measured on them only (:func:`lifecast.bake.cage.auto_cage`). ``None``: all.
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
    channels = check_maps(maps, MAP_CHANNELS, high)
    check_settings(size, albedo_bits, albedo_colorspace, albedo="albedo" in channels)
    check_meshes(high, low)
    tiles, face_tile = select_tiles(low, udims)
    check_distances(cage=cage, cavity_radius=cavity_radius, cavity_depth=cavity_depth)

    seconds: dict[str, float] = {}
    encoding = MapEncoding(albedo_bits, albedo_colorspace)
    # The tiles are rasterized on a thread of their own from here on, while the normals and the ray tracer are
    # prepared and the bands baked (see RasterFeed).
    feed = RasterFeed(low, tiles, face_tile, size, device)
    writer = MapWriter(Path(out_dir), name, encoding, channels)
    try:
        baker = _prepare_baker(
            high,
            low,
            channels,
            cage=cage,
            on_scan=on_scan,
            device=device,
            backend=backend,
            ao_samples=ao_samples,
            ao_distance=ao_distance,
            cavity_radius=cavity_radius,
            cavity_depth=cavity_depth,
            seconds=seconds,
        )
        tally = _bake_tiles(baker, feed, writer, tiles, size, channels, encoding, allow_overlapping_uvs, progress)
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
    return BakeResult(
        writer.paths,
        tally.coverage,
        tally.covered,
        baker.cage,
        tally.misses,
        tally.overlap,
        seconds,
        {ch: encoding.color_space(ch) for ch in writer.paths},
        baker.cavity.depth if baker.cavity is not None else None,
    )


def _prepare_baker(
    high: TriMesh,
    low: TriMesh,
    channels: Sequence[str],
    *,
    cage: float | None,
    on_scan: NDArray[np.bool_] | None,
    device: str,
    backend: RayBackend,
    ao_samples: int,
    ao_distance: float | None,
    cavity_radius: float | None,
    cavity_depth: float | None,
    seconds: dict[str, float],
) -> TileBaker:
    """What every tile's bands read: the low corner table and tangent frames, the high normals and heights, the
    ray tracer and the cage; each step timed into ``seconds`` (``setup``, ``cavity``, ``correspond``)."""
    t = time.perf_counter()
    corners = LowCorners.of(low)
    reads_normals = bool(_READS_NORMALS & set(channels))
    high_vertex_normals = shading_normals(high) if reads_normals or "cavity" in channels else None
    high_normals = None
    if reads_normals and high_vertex_normals is not None:
        high_normals = corner_table(high_vertex_normals, high.faces)
    seconds["setup"] = time.perf_counter() - t
    cavity = None
    if "cavity" in channels:
        t = time.perf_counter()
        cavity = CavityHeights.of(high, cavity_radius, cavity_depth, high_vertex_normals)
        seconds["cavity"] = time.perf_counter() - t

    t = time.perf_counter()
    engine = make_ray_engine(high.vertices, high.faces, device=device, backend=backend)
    cage_used = float(cage) if cage is not None else auto_cage(high, low, engine, on_scan=on_scan)
    if cage_used <= 0:
        raise InputError(f"the cage distance must be positive, got {cage_used}")
    seconds["correspond"] = time.perf_counter() - t

    ao_reach = 0.0
    if "ao" in channels:
        ao_reach = float(ao_distance) if ao_distance is not None else 0.1 * bounding_diagonal(high.vertices)
    return TileBaker(
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


@dataclass
class _Tally:
    """Coverage and counts summed over the baked tiles (see :class:`BakeResult`)."""

    coverage: dict[int, float] = field(default_factory=dict)
    covered: int = 0
    misses: int = 0
    overlap: int = 0


def _bake_tiles(
    baker: TileBaker,
    feed: RasterFeed,
    writer: MapWriter,
    tiles: Sequence[int],
    size: int,
    channels: Sequence[str],
    encoding: MapEncoding,
    allow_overlaps: bool,
    progress: ProgressFn,
) -> _Tally:
    """Bake the tiles in order, each checked (coverage, cage misses) and handed to ``writer`` once baked."""
    tally = _Tally()
    for i, udim in enumerate(tiles):

        def tile_progress(fraction: float, message: str, i: int = i) -> None:
            progress((i + fraction) / len(tiles), message)

        tile = baker.bake_tile(feed, udim, size, channels, encoding, allow_overlaps, tile_progress)
        tally.overlap += tile.overlap
        tally.coverage[udim] = tile.covered / float(size * size)
        tally.covered += tile.covered
        check_tile_coverage(udim, size, tile.covered, tile.misses, baker.cage)
        tally.misses += tile.misses
        tile_progress(0.9, f"padding and writing UDIM {udim}")
        writer.submit_tile(udim, tile.images, tile.mask)
        del tile
    return tally

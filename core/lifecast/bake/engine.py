"""The baking engine: albedo, tangent / object-space normal, displacement, AO and coverage maps per UDIM tile.

For every UDIM tile the low mesh's UVs use, the tile is rasterized (which low
triangle and barycentrics cover each texel), each covered texel's point,
normal and tangent frame on the low surface are interpolated, the point is
projected onto the high mesh along the normal within the cage
(:mod:`lifecast.bake.correspond`), and each map is read off the high surface
there. Uncovered texels are edge-padded (push-pull) so mip-maps never pull in
background. Texels are processed in chunks, so an 8K tile bakes in bounded
memory.

Files are named ``<name>_<channel>.<UDIM>.<ext>``:

=================  =====================================================  ==========================
channel            content                                                file
=================  =====================================================  ==========================
``albedo``         the high mesh's colour (vertex colours or its texture)  sRGB PNG, 8 or 16 bit
``normal``         tangent-space normal, MikkTSpace-style, OpenGL (+Y)     raw 16-bit PNG
``object_normal``  object-space normal of the high surface                 raw 16-bit PNG
``displacement``   signed distance along the low normal (0 = on low)       float32 EXR, one channel Y
``ao``             ambient occlusion of the high surface (1 = open)        raw 8-bit PNG
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

from lifecast.bake.correspond import RayBackend, RayEngine, correspond, make_ray_engine
from lifecast.bake.images import write_exr, write_png
from lifecast.bake.padding import pad_edges
from lifecast.bake.sampling import interpolate_corners, surface_colors
from lifecast.bake.tangents import corner_tangents, vertex_normals
from lifecast.errors import InputError
from lifecast.mesh import TriMesh
from lifecast.pipeline.stage import ProgressFn, no_progress
from lifecast.uv.udim import face_udims, tile_origin

#: Every map :func:`bake_maps` can write (``mask`` is always written).
MAP_CHANNELS = ("albedo", "normal", "object_normal", "displacement", "ao")

#: Covered texels processed at once (bounds memory: about 200 bytes per texel in flight).
TEXEL_CHUNK = 1 << 21

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
        Covered texels whose rays both missed the high mesh within the cage
        (they took the closest point instead).
    overlap_texels
        Covered texels inside two or more low triangles (below the refusal
        threshold, or with ``allow_overlapping_uvs``).
    seconds
        Wall time per step: ``rasterize``, ``correspond`` and one entry per map.
    """

    paths: dict[str, dict[int, Path]]
    coverage: dict[int, float]
    covered_texels: int
    cage: float
    cage_misses: int
    overlap_texels: int = 0
    seconds: dict[str, float] = field(default_factory=dict)


@dataclass
class _TileMaps:
    """Full-size float buffers of one tile, filled chunk by chunk."""

    size: int
    channels: Sequence[str]
    data: dict[str, NDArray[np.float32]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        depth = {"albedo": 3, "normal": 3, "object_normal": 3, "displacement": 1, "ao": 1}
        for ch in self.channels:
            self.data[ch] = np.zeros((self.size * self.size, depth[ch]), np.float32)


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
    albedo_bits: int = 8,
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
        Largest distance searched along each low normal, in mesh units;
        ``None`` derives it from the distance between the meshes.
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
    albedo_bits
        8 or 16 (sRGB PNG).
    allow_overlapping_uvs
        Bake even where low triangles overlap in UV (stacked / mirrored
        charts); the nearest / highest-index triangle wins. Off: overlaps on
        more than :data:`MAX_OVERLAP_FRACTION` of a tile's covered texels are an error.
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
        colour source for ``albedo``, an unknown map.
    """
    channels = _check_maps(maps, high)
    if size < 1:
        raise InputError(f"map size must be positive, got {size}")
    if albedo_bits not in (8, 16):
        raise InputError(f"albedo bit depth must be 8 or 16, got {albedo_bits}")
    if low.uvs is None or low.face_uvs is None:
        raise InputError("the low mesh has no UVs to bake into: unwrap it first (lifecast.uv.unwrap)")
    if high.is_point_cloud or len(low.faces) == 0:
        raise InputError("both meshes need triangles to bake")
    tiles, face_tile = _select_tiles(low, udims)

    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    engine = make_ray_engine(high.vertices, high.faces, device=device, backend=backend)
    cage_used = float(cage) if cage is not None else auto_cage(high, low, engine)
    if cage_used <= 0:
        raise InputError(f"the cage distance must be positive, got {cage_used}")
    seconds["correspond"] = time.perf_counter() - t0

    low_normals = (
        np.asarray(low.vertex_normals, np.float32)
        if low.vertex_normals is not None
        else vertex_normals(low.vertices, low.faces)
    )
    tangent, sign = corner_tangents(low.vertices, low.faces, low_normals, low.uvs, low.face_uvs)
    high_normals = (
        np.asarray(high.vertex_normals, np.float32)
        if high.vertex_normals is not None
        else vertex_normals(high.vertices, high.faces)
    )
    frames = _LowFrames(low, low_normals, tangent, sign)
    ao_reach = float(ao_distance) if ao_distance is not None else 0.1 * _diagonal(high.vertices)

    paths: dict[str, dict[int, Path]] = {ch: {} for ch in (*channels, "mask")}
    coverage: dict[int, float] = {}
    covered_total = 0
    misses_total = 0
    overlap_total = 0
    for i, udim in enumerate(tiles):
        tile_faces = np.flatnonzero(face_tile == udim)

        def tile_progress(fraction: float, message: str, i: int = i) -> None:
            progress((i + fraction) / len(tiles), message)

        t = time.perf_counter()
        tile_progress(0.0, f"rasterizing UDIM {udim} at {size}px")
        texel, face, bary, overlap = _rasterize_tile(low, tile_faces, udim, size, device)
        if overlap > MAX_OVERLAP_FRACTION * max(len(texel), 1) and not allow_overlapping_uvs:
            raise InputError(
                f"overlapping UVs: {overlap:,} texels of UDIM {udim} lie inside two or more low triangles "
                f"(stacked or mirrored charts); re-unwrap the low mesh or allow overlaps"
            )
        seconds["rasterize"] = seconds.get("rasterize", 0.0) + time.perf_counter() - t
        overlap_total += overlap
        coverage[udim] = len(texel) / float(size * size)
        covered_total += len(texel)
        if len(texel) == 0:
            raise InputError(f"no texel of UDIM {udim} is covered at {size}px: the low mesh's UVs there are degenerate")

        buffers = _TileMaps(size, channels)
        misses = 0
        for start in range(0, len(texel), TEXEL_CHUNK):
            stop = min(start + TEXEL_CHUNK, len(texel))
            tile_progress(0.05 + 0.8 * start / len(texel), f"baking UDIM {udim}: texels {start:,}-{stop:,}")
            misses += _bake_chunk(
                high, high_normals, frames, engine, face[start:stop], bary[start:stop],
                texel[start:stop], buffers, cage_used, ao_samples, ao_reach, seconds, seed=udim * 7919 + start,
            )  # fmt: skip
        if misses > MAX_MISS_FRACTION * len(texel):
            raise InputError(
                f"the cage misses the high mesh: {misses:,} of {len(texel):,} covered texels of UDIM {udim} found "
                f"no surface within {cage_used:.4g} along their normal; raise the cage distance or check that "
                f"the meshes are aligned"
            )
        misses_total += misses
        tile_progress(0.9, f"padding and writing UDIM {udim}")
        _write_tile(buffers, texel, out_dir, name, udim, albedo_bits, paths, seconds)
    progress(1.0, f"baked {len(channels)} map(s) over {len(tiles)} tile(s) at {size}px")
    return BakeResult(paths, coverage, covered_total, cage_used, misses_total, overlap_total, seconds)


@dataclass(frozen=True)
class _LowFrames:
    """The low mesh's per-vertex normals and per-corner tangents, for interpolation at texels."""

    mesh: TriMesh
    normals: NDArray[np.float32]
    tangent: NDArray[np.float32]  # (m, 3, 3)
    sign: NDArray[np.float32]  # (m, 3)


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


def _rasterize_tile(
    low: TriMesh, tile_faces: NDArray[np.int64], udim: int, size: int, device: str
) -> tuple[NDArray[np.int64], NDArray[np.int64], NDArray[np.float32], int]:
    """Covered texels of one tile: flat index, low face, barycentrics ``(q, 3)``, overlapping-texel count.

    The numpy rasterizer runs on the CPU (measured faster there), the torch one on other devices;
    both give the same triangles (tests/unit/test_bake_raster_torch.py).
    """
    assert low.uvs is not None and low.face_uvs is not None
    origin = np.array(tile_origin(udim), np.float32)
    corners = (low.uvs[low.face_uvs[tile_faces]] - origin).astype(np.float64)
    if device == "cpu":
        from lifecast.bake.rasterize import OVERLAP_DEPTH_PX, iter_candidates, rasterize_uv

        local, bary_img = rasterize_uv(corners, size)
        inside = [flat[outside < -OVERLAP_DEPTH_PX] for _, flat, _, outside in iter_candidates(corners, size)]
        inside_flat = np.concatenate(inside) if inside else np.zeros(0, np.int64)
        overlap = int(np.count_nonzero(np.bincount(inside_flat) > 1))
        flat_face = local.ravel()
        bary_flat = bary_img.reshape(-1, 3)
    else:
        from lifecast.bake.raster_torch import rasterize_uv_torch

        raster = rasterize_uv_torch(corners, size, device=device)
        flat_face = raster.face.flatten().cpu().numpy()
        bary_flat = raster.bary.reshape(-1, 3).cpu().numpy()
        overlap = int(raster.overlap.sum().item())
    texel = np.flatnonzero(flat_face >= 0)
    return texel, tile_faces[flat_face[texel]], bary_flat[texel], overlap


def _bake_chunk(
    high: TriMesh,
    high_normals: NDArray[np.float32],
    frames: _LowFrames,
    engine: RayEngine,
    face: NDArray[np.int64],
    bary: NDArray[np.float32],
    texel: NDArray[np.int64],
    buffers: _TileMaps,
    cage: float,
    ao_samples: int,
    ao_reach: float,
    seconds: dict[str, float],
    seed: int,
) -> int:
    """Bake one chunk of covered texels into ``buffers``; returns its cage misses."""
    low = frames.mesh
    t = time.perf_counter()
    points = interpolate_corners(low.vertices, low.faces, face, bary)
    normals = _unit(interpolate_corners(frames.normals, low.faces, face, bary))
    hit = correspond(engine, high.vertices, high.faces, points, normals, cage)
    high_n = _unit(interpolate_corners(high_normals, high.faces, hit.face, hit.bary))
    seconds["correspond"] = seconds.get("correspond", 0.0) + time.perf_counter() - t

    def store(channel: str, values: NDArray[np.floating]) -> None:
        buffers.data[channel][texel] = values.reshape(len(texel), -1)

    if "albedo" in buffers.data:
        t = time.perf_counter()
        store("albedo", surface_colors(high, hit.face, hit.bary).astype(np.float32))
        seconds["albedo"] = seconds.get("albedo", 0.0) + time.perf_counter() - t
    if "normal" in buffers.data:
        t = time.perf_counter()
        store("normal", tangent_space(high_n, normals, frames, face, bary))
        seconds["normal"] = seconds.get("normal", 0.0) + time.perf_counter() - t
    if "object_normal" in buffers.data:
        store("object_normal", high_n)
    if "displacement" in buffers.data:
        store("displacement", hit.distance)
    if "ao" in buffers.data:
        t = time.perf_counter()
        hit_points = interpolate_corners(high.vertices, high.faces, hit.face, hit.bary)
        store("ao", ambient_occlusion(engine, hit_points, high_n, ao_samples, ao_reach, seed))
        seconds["ao"] = seconds.get("ao", 0.0) + time.perf_counter() - t
    return int(np.count_nonzero(hit.missed))


def tangent_space(
    high_normals: NDArray[np.float32],
    low_normals: NDArray[np.float32],
    frames: _LowFrames,
    face: NDArray[np.int64],
    bary: NDArray[np.float32],
) -> NDArray[np.float32]:
    """``(q, 3)`` high normals in the low surface's tangent frame ``(T, B, N)``, OpenGL (+Y = +V).

    ``T`` is the barycentric mix of the corner tangents, Gram-Schmidt
    orthogonalised against the interpolated unit normal ``N``; ``B = sign * N x T``.
    """
    corner_t = frames.tangent[face]  # (q, 3, 3)
    t = np.einsum("qk,qkc->qc", bary, corner_t)
    t = _unit(t - low_normals * np.einsum("qc,qc->q", t, low_normals)[:, None])
    b = frames.sign[face, 0:1] * np.cross(low_normals, t)
    return np.stack(
        [
            np.einsum("qc,qc->q", high_normals, t),
            np.einsum("qc,qc->q", high_normals, b),
            np.einsum("qc,qc->q", high_normals, low_normals),
        ],
        axis=1,
    ).astype(np.float32)


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
    origins = (points + normals * (1e-4 * reach)).astype(np.float32)
    open_count = np.zeros(q, np.float32)
    for _ in range(samples):
        r1, r2 = rng.random(q, np.float32), rng.random(q, np.float32)
        radius, phi = np.sqrt(r1)[:, None], (2 * np.pi * r2)[:, None]
        direction = (
            tangent * (radius * np.cos(phi)) + bitangent * (radius * np.sin(phi)) + normals * np.sqrt(1 - r1)[:, None]
        )
        open_count += ~engine.occluded(origins, _unit(direction).astype(np.float32), reach)
    return (open_count / max(samples, 1)).astype(np.float32)


def _write_tile(
    buffers: _TileMaps,
    texel: NDArray[np.int64],
    out_dir: Path,
    name: str,
    udim: int,
    albedo_bits: int,
    paths: dict[str, dict[int, Path]],
    seconds: dict[str, float],
) -> None:
    """Pad every map of one tile and write it under ``<name>_<channel>.<udim>.<ext>``."""
    size = buffers.size
    covered = np.zeros(size * size, bool)
    covered[texel] = True
    mask = covered.reshape(size, size)
    out_dir = Path(out_dir)
    for channel in list(buffers.data):
        flat = buffers.data.pop(channel)  # free each buffer once written: bounds the 8K peak
        t = time.perf_counter()
        image = np.asarray(pad_edges(flat.reshape(size, size, -1), mask), np.float32)
        if channel == "displacement":
            path = out_dir / f"{name}_{channel}.{udim}.exr"
            write_exr(path, image[..., 0])
        else:
            path = out_dir / f"{name}_{channel}.{udim}.png"
            write_png(path, _encode(channel, image, albedo_bits))
        paths[channel][udim] = path
        seconds[channel] = seconds.get(channel, 0.0) + time.perf_counter() - t
    path = out_dir / f"{name}_mask.{udim}.png"
    write_png(path, mask.astype(np.uint8) * 255)
    paths["mask"][udim] = path


def _encode(channel: str, image: NDArray[np.float32], albedo_bits: int) -> NDArray[np.uint8] | NDArray[np.uint16]:
    """Quantise a padded float map for PNG."""
    if channel == "albedo":
        if albedo_bits == 16:
            return np.clip(np.rint(image * 257.0), 0, 65535).astype(np.uint16)
        return np.clip(np.rint(image), 0, 255).astype(np.uint8)
    if channel in ("normal", "object_normal"):
        unit = image / np.maximum(np.linalg.norm(image, axis=2, keepdims=True), 1e-12)
        return np.clip(np.rint((unit * 0.5 + 0.5) * 65535.0), 0, 65535).astype(np.uint16)
    return np.clip(np.rint(image[..., 0] * 255.0), 0, 255).astype(np.uint8)


def _unit(a: NDArray[np.floating]) -> NDArray[np.float32]:
    return (a / np.maximum(np.linalg.norm(a, axis=-1, keepdims=True), 1e-12)).astype(np.float32)

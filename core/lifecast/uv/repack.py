"""Re-pack existing UV charts into the 0-1 tile: same shapes, one common scale, quarter turns, a gutter.

Unlike :mod:`lifecast.uv.unwrap`, nothing is cut or flattened again: each chart
(faces connected through shared UV indices, :func:`lifecast.uv.charts.uv_charts`)
is moved by a similarity whose scale is the same for every chart, so the
relative texel density between charts is kept, and whose rotation is a multiple
of 90 degrees (no mirroring: tangent frames stay as they were).

The packer is small and deterministic by construction (numpy and scipy only, no
random placement, no threads), so a cached build gives byte-identical UVs every
time and on every machine, independent of the xatlas version installed:

1. Charts are taken largest (UV area) first.
2. For a candidate scale, each chart is rasterised on a ``resolution``² grid
   (conservatively: PIL's fill of every triangle, grown by one texel), grown by
   ``padding_px`` more, and put at the position where the grown mask overlaps no
   chart placed before (one FFT correlation per quarter turn) and whose top edge
   is lowest, then leftmost ("bottom-left fill"); ties go to the turn earlier in ``turn_order``.
3. The scale starts at the largest one any chart allows (its longest side
   fitting the tile, and the total area at most the tile's), shrinks by
   :data:`SHRINK` until every chart fits, then is refined by bisection.

Charts end up at least ``padding_px`` texels of the ``resolution`` grid apart
(Chebyshev distance between texels they touch, so at least that Euclidean
distance) and at least ``margin_px`` from the tile's edges.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from lifecast.geometry.measure import face_areas_uv
from lifecast.uv.charts import uv_charts

#: Factor the scale shrinks by while some chart does not fit.
SHRINK = 0.98
#: Bisection steps between the last scale that failed and the first that fitted.
REFINE_STEPS = 6


@dataclass(frozen=True)
class RepackResult:
    """Charts moved into the 0-1 tile.

    Attributes
    ----------
    uvs
        ``(k, 2) float64`` new texture coordinates, indexed as the input ones.
    face_charts
        ``(m,) int32`` chart of each face.
    scale
        The common linear scale (new UV length / old UV length): the texel-density gain.
    quarter_turns
        ``(c,) int64`` counter-clockwise quarter turns of each chart.
    offsets
        ``(c, 2) int64`` texel position (column, row) of each chart's raster on the grid.
    resolution, padding_px, margin_px
        The grid the charts were packed on and the gutters, in its texels.
    """

    uvs: NDArray[np.float64]
    face_charts: NDArray[np.int32]
    scale: float
    quarter_turns: NDArray[np.int64]
    offsets: NDArray[np.int64]
    resolution: int
    padding_px: int
    margin_px: int


def rasterize_triangles(points: NDArray[np.float64], width: int, height: int) -> NDArray[np.bool_]:
    """``(height, width) bool``: texels touched by ``(m, 3, 2)`` triangles given in texel units (x = column).

    Conservative: PIL's fill and outline of each triangle, grown by one texel.
    """
    from PIL import Image, ImageDraw
    from scipy.ndimage import binary_dilation

    image = Image.new("1", (width, height), 0)
    draw = ImageDraw.Draw(image)
    for tri in points.tolist():
        draw.polygon([(tri[0][0], tri[0][1]), (tri[1][0], tri[1][1]), (tri[2][0], tri[2][1])], fill=1, outline=1)
    mask = np.asarray(image, dtype=bool)
    return np.asarray(binary_dilation(mask, np.ones((3, 3), bool)), dtype=bool)


def _turn_points(q: NDArray[np.float64], height: int) -> NDArray[np.float64]:
    """A counter-clockwise quarter turn of points in a raster ``height`` texels tall: ``(x, y) -> (height - y, x)``."""
    return np.stack([height - q[..., 1], q[..., 0]], axis=-1)


def _turn_mask(mask: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """The raster of :func:`_turn_points`: texel (row r, column c) goes to (row c, column height - 1 - r)."""
    return np.ascontiguousarray(mask.T[:, ::-1])


@dataclass(frozen=True)
class _Chart:
    index: int
    points: NDArray[np.float64]  # (t, 3, 2) triangles, UV, chart minimum at the origin
    size: NDArray[np.float64]  # (2,) UV extent


def _place_all(
    charts: list[_Chart], scale: float, resolution: int, padding: int, margin: int, turn_order: tuple[int, ...]
) -> list[tuple[int, int, int, NDArray[np.float64]]] | None:
    """Place every chart at ``scale`` or return None: per chart ``(turns, column, row, texel points)``."""
    from scipy import fft
    from scipy.ndimage import binary_dilation

    size = resolution + 2 * padding
    shape = (fft.next_fast_len(size, real=True), fft.next_fast_len(size, real=True))
    grown = np.ones((2 * padding + 1, 2 * padding + 1), bool)
    occupied = np.zeros((size, size), bool)  # the tile, with `padding` empty texels around it
    placed: list[tuple[int, int, int, NDArray[np.float64]]] = []
    for chart in charts:
        q = chart.points * (scale * resolution) + 1.0  # a one-texel border for the conservative raster
        width, height = (int(np.ceil(e)) + 2 for e in chart.size * (scale * resolution))
        if max(width, height) > resolution - 2 * margin:
            return None
        mask = rasterize_triangles(q, width, height)
        spectrum = fft.rfft2(occupied.astype(np.float64), s=shape)
        best: tuple[tuple[int, int], int, int, int, NDArray[np.bool_], NDArray[np.float64]] | None = None
        for turns in range(4):
            h, w = mask.shape
            if turns not in turn_order:
                mask, q = _turn_mask(mask), _turn_points(q, h)
                continue
            free_rows, free_cols = resolution - margin - h, resolution - margin - w
            if free_rows >= margin and free_cols >= margin:
                pattern = binary_dilation(np.pad(mask, padding), grown)
                overlap = fft.irfft2(spectrum * np.conj(fft.rfft2(pattern.astype(np.float64), s=shape)), s=shape)
                # overlap[r, c]: texels of the grown chart, its raster at (row r, column c) of the tile, on taken ones.
                window = overlap[margin : free_rows + 1, margin : free_cols + 1]
                rows, cols = np.nonzero(window < 0.5)
                if len(rows):
                    key = (rows + h) * (resolution + 1) + cols  # lowest top edge, then leftmost
                    i = int(np.argmin(key))
                    candidate = (int(key[i]), turn_order.index(turns))
                    if best is None or candidate < best[0]:
                        best = (candidate, turns, int(rows[i]) + margin, int(cols[i]) + margin, mask, q)
            mask = _turn_mask(mask)
            q = _turn_points(q, h)
        if best is None:
            return None
        _, turns, row, col, chart_mask, chart_q = best
        h, w = chart_mask.shape
        occupied[padding + row : padding + row + h, padding + col : padding + col + w] |= chart_mask
        placed.append((turns, col, row, chart_q))
    return placed


def repack_charts(
    uvs: NDArray[np.floating],
    face_uvs: NDArray[np.integer],
    *,
    resolution: int = 1024,
    padding_px: int = 8,
    margin_px: int | None = None,
    turn_order: tuple[int, ...] = (0, 1, 2, 3),
) -> RepackResult:
    """Move the UV charts of a mesh into the 0-1 tile at one common scale, as large as the packer finds.

    Parameters
    ----------
    uvs
        ``(k, 2)`` texture coordinates; every one must be used by some face.
    face_uvs
        ``(m, 3)`` triangles indexing ``uvs`` (fan-triangulate polygons first).
    resolution
        Texels a side of the packing grid.
    padding_px
        Least gutter between charts, in texels of that grid.
    margin_px
        Least gap to the tile's edges; ``None``: half the padding.
    turn_order
        The counter-clockwise quarter turns allowed, preferred first where two fit equally well
        (``(0,)``: no turns; ``(0, 3, 1, 2)`` puts a sideways face upright when either way fits).

    Returns
    -------
    RepackResult
        ``uvs[i]`` is the image of the old ``uvs[i]``, by its chart's similarity.

    Raises
    ------
    ValueError
        No charts, UVs no face uses, or charts that do not fit at any scale.
    """
    uvs = np.asarray(uvs, dtype=np.float64)
    face_uvs = np.asarray(face_uvs, dtype=np.int64)
    if len(face_uvs) == 0 or len(uvs) == 0:
        raise ValueError("no UV charts to pack")
    if not np.isin(np.arange(len(uvs)), face_uvs).all():
        raise ValueError("every UV must be used by a face to be re-packed")
    margin = padding_px // 2 if margin_px is None else int(margin_px)
    if not turn_order or not set(turn_order) <= {0, 1, 2, 3}:
        raise ValueError(f"turn_order lists quarter turns 0-3, got {turn_order}")
    face_charts = uv_charts(face_uvs, len(uvs))
    count = int(face_charts.max()) + 1
    areas = np.bincount(face_charts, weights=face_areas_uv(uvs, face_uvs), minlength=count)
    charts = []
    for c in sorted(range(count), key=lambda c: (-areas[c], c)):
        tri = uvs[face_uvs[face_charts == c]]
        low = tri.reshape(-1, 2).min(0)
        charts.append(_Chart(c, tri - low, tri.reshape(-1, 2).max(0) - low))
    usable = resolution - 2 * margin - 4  # the conservative raster's border
    scale = min(usable / (resolution * max(float(ch.size.max()), 1e-12)) for ch in charts)
    scale = min(scale, 1.0 / float(np.sqrt(areas.sum())))
    failed = None
    layout = _place_all(charts, scale, resolution, padding_px, margin, turn_order)
    while layout is None:
        failed = scale
        scale *= SHRINK
        if scale * max(float(ch.size.max()) for ch in charts) * resolution < 1:
            raise ValueError("the UV charts do not fit the tile at any scale")
        layout = _place_all(charts, scale, resolution, padding_px, margin, turn_order)
    if failed is not None:
        low, high = scale, failed
        for _ in range(REFINE_STEPS):
            middle = 0.5 * (low + high)
            trial = _place_all(charts, middle, resolution, padding_px, margin, turn_order)
            if trial is None:
                high = middle
            else:
                low, layout = middle, trial
        scale = low

    new_uvs = np.empty_like(uvs)
    turns = np.zeros(count, np.int64)
    offsets = np.zeros((count, 2), np.int64)
    for chart, (t, col, row, q) in zip(charts, layout, strict=True):
        corners = face_uvs[face_charts == chart.index].ravel()
        new_uvs[corners] = ((q + np.array([col, row], np.float64)) / resolution).reshape(-1, 2)
        turns[chart.index] = t
        offsets[chart.index] = (col, row)
    return RepackResult(new_uvs, face_charts, float(scale), turns, offsets, resolution, padding_px, margin)

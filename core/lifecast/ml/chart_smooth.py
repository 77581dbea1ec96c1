"""Laplace smoothing of filled texels on the texel grid, within charts and across seams, the known texels fixed.

A fill that is right on average still shows where it meets the known texture; sweeps of the surface Laplacian
over the filled texels near the known ones, with the known ones as the fixed boundary, make the fill meet it
without an edge (a harmonic blend). The sweeps are red-black Gauss-Seidel with over-relaxation (twice as far per
sweep as Jacobi's); a texel whose seam partner has its own colour takes a damped Jacobi step instead, and the values
stay within the range they start from.

The graph is the surface's, not the image's. Two covered texels side by side in UV are neighbours only when their
surface points are about as far apart as the texels around them (:func:`chart_links`: charts packed against each
other are not linked); a texel on a chart's border is linked to the texel across the seam, found by its surface
point, in whichever chart or UDIM tile that is (:func:`seam_links`). All tiles are swept together.

Texels deeper than the band keep the fill they had. Work and memory are proportional to the texels in the band
(plus their neighbours and the charts' border texels), not to the tiles: the maps read (surface points, normals,
values) may be whole tiles or :class:`SparseTexels`, the values of just the texels the sweeps read
(:func:`texels_read`).
"""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
from numpy.typing import NDArray

#: Two covered texels next to each other in UV are the same chart's when their surface points are at most this
#: many times the spacing of the texels around them apart.
LINK_RATIO = 4.0
#: Over-relaxation factor of the sweeps (1: Gauss-Seidel; below 2 converges).
OVER_RELAX = 1.5
#: The step of a texel linked across a seam to a texel of its own colour (updated in the same half-sweep: a damped
#: Jacobi step, which converges on any graph).
JACOBI_RELAX = 0.5

#: A chart-border texel's partner across a seam is at most this many texel spacings away.
SEAM_REACH = 2.0
#: The 4-neighbourhood.
_CROSS = np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]], bool)

#: Offsets (row, column) of the four grid neighbours; step ``i ^ 1`` is the opposite of step ``i``.
_STEPS = ((0, 1), (0, -1), (1, 0), (-1, 0))


class SparseTexels:
    """Values of some texels of one tile: ``ids (q,) int64`` sorted flat indices ``row * s + col`` and ``values
    (q, c) float32`` (a map of which only those texels are ever read or written)."""

    def __init__(self, ids: NDArray[np.int64], values: NDArray[np.float32]) -> None:
        self.ids = ids
        self.values = values

    @property
    def channels(self) -> int:
        return int(self.values.shape[-1])

    def rows(self, ids: NDArray[np.int64]) -> NDArray[np.int64]:
        """Row of ``values`` holding each of ``ids`` (all must be held)."""
        rows = np.searchsorted(self.ids, ids)
        if len(ids) and (rows.max() >= len(self.ids) or not np.array_equal(self.ids[rows], ids)):
            raise KeyError("a texel the sweeps read is not held")
        return rows


#: A per-tile map: the whole ``(s, s, c)`` array, or the texels of it that are read.
TexelMap = NDArray[np.float32] | SparseTexels


def _take(a: TexelMap, ids: NDArray[np.int64]) -> NDArray[np.float32]:
    """``(q, c)`` values of a map at flat texel indices."""
    if isinstance(a, SparseTexels):
        return a.values[a.rows(ids)]
    return a.reshape(-1, a.shape[-1])[ids]


def _put(a: TexelMap, ids: NDArray[np.int64], values: NDArray[np.float32]) -> None:
    """Write ``(q, c)`` values at flat texel indices."""
    if isinstance(a, SparseTexels):
        a.values[a.rows(ids)] = values
    else:
        a.reshape(-1, a.shape[-1])[ids] = values


def _channels(a: TexelMap) -> int:
    return a.channels if isinstance(a, SparseTexels) else int(a.shape[-1])


def chart_links(
    position: TexelMap, covered: NDArray[np.bool_], texels: NDArray[np.int64], spacing: float
) -> NDArray[np.int64]:
    """The same-chart grid neighbours of some texels.

    A link needs both texels covered and their 3D distance at most :data:`LINK_RATIO` times the larger of the
    two texels' nearest *other* neighbour distances (``spacing``, the median texel spacing, where neither texel
    has another covered neighbour).

    Parameters
    ----------
    position, covered
        The tile's ``(s, s, 3)`` surface points (or :class:`SparseTexels` holding those of the texels within two
        steps of ``texels``) and ``(s, s) bool`` covered texels.
    texels
        ``(q,)`` flat indices of the texels asked about.
    spacing
        The median texel spacing.

    Returns
    -------
    ``(q, 4) int64``: the flat index of the neighbour in each of :data:`_STEPS`, -1 where not linked.
    """
    h, w = covered.shape
    cov = covered.reshape(-1)
    # The texels asked about and their neighbours, each with its four squared neighbour distances.
    nbr = _neighbours(texels, h, w, cov)
    ring = np.unique(nbr[nbr >= 0])
    table = np.unique(np.concatenate([texels, ring]))
    d2 = _squared_distances(position, _neighbours(table, h, w, cov), table)
    row_of_texel = np.searchsorted(table, texels)
    own = d2[row_of_texel]
    out = np.full((len(texels), 4), -1, np.int64)
    for i in range(4):
        ok = nbr[:, i] >= 0
        if not ok.any():
            continue
        others = [j for j in range(4) if j != i]
        ref_a = own[ok][:, others].min(axis=1)
        row_b = np.searchsorted(table, nbr[ok, i])
        ref_b = d2[row_b][:, [j for j in range(4) if j != i ^ 1]].min(axis=1)
        ref = np.maximum(np.where(np.isfinite(ref_a), ref_a, 0.0), np.where(np.isfinite(ref_b), ref_b, 0.0))
        ref = np.where(ref > 0, ref, np.float32(spacing * spacing))
        linked = own[ok, i] <= np.float32(LINK_RATIO * LINK_RATIO) * ref
        out[np.flatnonzero(ok)[linked], i] = nbr[ok, i][linked]
    return out


def _neighbours(texels: NDArray[np.int64], h: int, w: int, covered: NDArray[np.bool_]) -> NDArray[np.int64]:
    """``(q, 4)`` flat index of each texel's covered neighbour in each of :data:`_STEPS`, -1 where none."""
    y, x = np.divmod(texels, w)
    out = np.full((len(texels), 4), -1, np.int64)
    for i, (dy, dx) in enumerate(_STEPS):
        ny, nx = y + dy, x + dx
        inside = (ny >= 0) & (ny < h) & (nx >= 0) & (nx < w)
        idx = np.where(inside, ny * w + nx, 0)
        out[:, i] = np.where(inside & covered[idx], idx, -1)
    return out


def _squared_distances(pos: TexelMap, nbr: NDArray[np.int64], texels: NDArray[np.int64]) -> NDArray[np.float32]:
    """``(q, 4) float32`` squared 3D distance to each neighbour, ``inf`` where there is none."""
    out = np.full(nbr.shape, np.inf, np.float32)
    p = _take(pos, texels)
    for i in range(4):
        ok = nbr[:, i] >= 0
        d = _take(pos, nbr[ok, i]) - p[ok]
        out[ok, i] = np.einsum("qc,qc->q", d, d)
    return out


def seam_links(
    positions: Sequence[TexelMap],
    normals: Sequence[TexelMap],
    covered: Sequence[NDArray[np.bool_]],
    texels: NDArray[np.int64],
    spacing: float,
) -> NDArray[np.int64]:
    """The texel across a UV seam (or a UDIM tile boundary) from each of some chart-border texels.

    Texels on a chart's border (a grid neighbour uncovered) are matched by their surface points: the nearest
    other border texel within :data:`SEAM_REACH` texel spacings that is not a UV neighbour of the same tile
    (within two texels) and faces the same way (normals less than 90 degrees apart) is the neighbour the seam cut
    off. On an open boundary of the surface there is none.

    Parameters
    ----------
    positions, normals, covered
        Per tile ``(s, s, 3)`` surface points, unit normals (or :class:`SparseTexels` holding at least the chart
        border texels') and ``(s, s) bool`` covered texels.
    texels
        ``(q,)`` global texel ids (:func:`texel_offsets`) asked about.
    spacing
        The median texel spacing.

    Returns
    -------
    ``(q,) int64`` the global id of the texel across the seam, -1 where none.
    """
    from scipy.spatial import cKDTree

    offsets = texel_offsets(covered)
    border = np.concatenate(
        [offsets[t] + np.flatnonzero(chart_border(cov).reshape(-1)) for t, cov in enumerate(covered)]
    )
    out = np.full(len(texels), -1, np.int64)
    asked = np.isin(texels, border)
    if len(border) < 2 or not asked.any():
        return out
    border_pos, border_nrm = _lookup(positions, offsets, border), _lookup(normals, offsets, border)
    tree = cKDTree(border_pos)
    query = texels[asked]
    k = min(8, len(border))
    dist, idx = tree.query(_lookup(positions, offsets, query), k=k, distance_upper_bound=SEAM_REACH * spacing)
    dist, idx = dist.reshape(len(query), k), idx.reshape(len(query), k)
    found = np.isfinite(dist)
    candidate = np.where(found, border[np.minimum(idx, len(border) - 1)], -1)
    tile_q, (yq, xq) = _tile_yx(query, covered, offsets)
    tile_c, (yc, xc) = _tile_yx(np.maximum(candidate, 0), covered, offsets)
    local = (tile_c == tile_q[:, None]) & (np.abs(yc - yq[:, None]) <= 2) & (np.abs(xc - xq[:, None]) <= 2)
    facing = np.einsum("qc,qkc->qk", _lookup(normals, offsets, query), border_nrm[np.minimum(idx, len(border) - 1)])
    ok = found & ~local & (facing > 0)
    first = np.argmax(ok, axis=1)
    has = ok[np.arange(len(query)), first]
    picked = np.where(has, candidate[np.arange(len(query)), first], -1)
    out[asked] = picked
    return out


def chart_border(covered: NDArray[np.bool_]) -> NDArray[np.bool_]:
    """``(s, s) bool`` covered texels with an uncovered (or off-tile) grid neighbour."""
    h = covered.shape[0]
    cross = _CROSS.astype(np.uint8)
    out = np.zeros(covered.shape, bool)
    for y0 in range(0, h, _MASK_ROWS):  # in bands of rows: a few bytes per texel of a band, not of the tile
        y1 = min(y0 + _MASK_ROWS, h)
        a, b = max(0, y0 - 1), min(h, y1 + 1)
        inner = cv2.erode(covered[a:b].view(np.uint8), cross, borderType=cv2.BORDER_CONSTANT, borderValue=0)
        out[y0:y1] = covered[y0:y1] & ~inner[y0 - a : y0 - a + (y1 - y0)].view(bool)
    return out


def texel_offsets(covered: Sequence[NDArray[np.bool_]]) -> NDArray[np.int64]:
    """``(tiles,)`` the global id of each tile's first texel: tile ``t``'s texel ``(y, x)`` is
    ``offsets[t] + y * w + x``."""
    sizes = np.array([c.size for c in covered], np.int64)
    return np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)


def _lookup(arrays: Sequence[TexelMap], offsets: NDArray[np.int64], ids: NDArray[np.int64]) -> NDArray[np.float32]:
    """``(q, c)`` values of per-tile maps at global ids."""
    tile = np.searchsorted(offsets, ids, side="right") - 1
    out = np.empty((len(ids), _channels(arrays[0])), np.float32)
    for t, a in enumerate(arrays):
        mine = tile == t
        if mine.any():
            out[mine] = _take(a, ids[mine] - offsets[t])
    return out


def _tile_yx(
    ids: NDArray[np.int64], covered: Sequence[NDArray[np.bool_]], offsets: NDArray[np.int64]
) -> tuple[NDArray[np.int64], tuple[NDArray[np.int64], NDArray[np.int64]]]:
    """The tile and ``(y, x)`` of global ids (any shape)."""
    tile = np.searchsorted(offsets, ids, side="right") - 1
    widths = np.array([c.shape[1] for c in covered], np.int64)
    return tile, np.divmod(ids - offsets[tile], widths[tile])


def smooth_across_charts(
    images: Sequence[NDArray[np.float32]],
    free: Sequence[NDArray[np.bool_]],
    positions: Sequence[NDArray[np.float32]],
    normals: Sequence[NDArray[np.float32]],
    covered: Sequence[NDArray[np.bool_]],
    spacing: float,
    *,
    iterations: int = 40,
    band: int = 24,
) -> None:
    """Over-relaxed red-black sweeps of the surface Laplacian over ``free`` texels near the fixed ones.

    A texel's neighbours are its same-chart grid neighbours (:func:`chart_links`) and, on a chart's border, the
    texel across the seam (:func:`seam_links`, possibly in another tile): the sweeps treat all tiles as the one
    surface they are.

    Parameters
    ----------
    images
        Per tile ``(s, s, c) float32`` values, updated in place (only swept texels change).
    free
        Per tile ``(s, s) bool`` texels the sweeps may change (the filled ones, all covered).
    positions, normals, covered
        Per tile ``(s, s, 3)`` surface points, unit normals and ``(s, s) bool`` covered texels.
    spacing
        The median texel spacing (:func:`lifecast.ml.surface_fill.texel_spacing`).
    iterations
        Sweeps (each updates every swept texel once).
    band
        Only free texels within this many texels (chessboard distance) of a covered, non-free one are swept;
        deeper ones are held as they are.
    """
    if not all(im.flags.c_contiguous for im in images):
        raise ValueError("smooth_across_charts updates the images in place: pass C-contiguous arrays")
    if iterations <= 0:
        return
    moves = moving_texels(free, covered, band)
    smooth_texels(images, moves, positions, normals, covered, spacing, iterations=iterations)


def moving_texels(
    free: Sequence[NDArray[np.bool_]], covered: Sequence[NDArray[np.bool_]], band: int = 24
) -> list[NDArray[np.int64]]:
    """Per tile the ``(q,) int64`` flat indices of the ``free`` texels within ``band`` texels (chessboard distance)
    of a covered, non-free one: the texels :func:`smooth_across_charts` sweeps (none in a tile with no free or no
    fixed texel).

    ``band`` dilations by a 3x3 square are one dilation by a ``2 band + 1`` square, taken here in bands of rows
    (OpenCV's separable dilation): the same texels as ``band`` iterations of ``ndimage.binary_dilation``, in a
    few bytes per texel of a band instead of several full-size temporaries.
    """
    out = []
    for f, cov in zip(free, covered, strict=True):
        fixed = cov & ~f
        if not f.any() or not fixed.any():
            out.append(np.zeros(0, np.int64))
            continue
        near_fixed = _dilate_rows(fixed, np.ones((2 * band + 1, 2 * band + 1), np.uint8), band, keep=f)
        out.append(np.flatnonzero(near_fixed.reshape(-1)).astype(np.int64))
    return out


#: Rows of a mask dilated at once (:func:`_dilate_rows`).
_MASK_ROWS = 256


def _dilate_rows(
    mask: NDArray[np.bool_], kernel: NDArray[np.uint8], reach: int, keep: NDArray[np.bool_] | None = None
) -> NDArray[np.bool_]:
    """``(h, w) bool``: ``mask`` dilated by ``kernel`` (reaching ``reach`` rows each way; outside the image counts
    as unset), band by band, ``& keep`` when given."""
    h = mask.shape[0]
    out = np.zeros(mask.shape, bool)
    for y0 in range(0, h, _MASK_ROWS):
        y1 = min(y0 + _MASK_ROWS, h)
        a, b = max(0, y0 - reach), min(h, y1 + reach)
        grown = cv2.dilate(mask[a:b].view(np.uint8), kernel, borderType=cv2.BORDER_CONSTANT, borderValue=0)
        rows = grown[y0 - a : y0 - a + (y1 - y0)].view(bool)
        out[y0:y1] = rows & keep[y0:y1] if keep is not None else rows
    return out


def texels_read(moves: Sequence[NDArray[np.int64]], covered: Sequence[NDArray[np.bool_]]) -> list[NDArray[np.bool_]]:
    """Per tile ``(s, s) bool``: the texels whose surface points, normals and values :func:`smooth_texels` reads
    for these ``moves``: the moving texels' covered texels within two grid steps (the links and the neighbour
    distances they are judged by) and every chart border texel (the seams)."""
    diamond = (np.add.outer(np.abs(np.arange(-2, 3)), np.abs(np.arange(-2, 3))) <= 2).astype(np.uint8)
    out = []
    for move, cov in zip(moves, covered, strict=True):
        near = np.zeros(cov.size, bool)
        near[move] = True
        near = _dilate_rows(near.reshape(cov.shape), diamond, 2, keep=cov)
        near |= chart_border(cov)
        out.append(near)
    return out


def smooth_texels(
    images: Sequence[TexelMap],
    moves: Sequence[NDArray[np.int64]],
    positions: Sequence[TexelMap],
    normals: Sequence[TexelMap],
    covered: Sequence[NDArray[np.bool_]],
    spacing: float,
    *,
    iterations: int = 40,
) -> None:
    """The sweeps of :func:`smooth_across_charts` over the texels ``moves[i]`` (flat indices, :func:`moving_texels`).

    ``images``, ``positions`` and ``normals`` may be whole ``(s, s, c)`` maps or :class:`SparseTexels` holding at
    least the texels :func:`texels_read` marks; ``images`` are updated in place.
    """
    offsets = texel_offsets(covered)
    if iterations <= 0:
        return
    all_moves, links = [], []
    for t, move in enumerate(moves):
        if len(move) == 0:
            continue
        grid = chart_links(positions[t], covered[t], move, spacing)
        all_moves.append(move + offsets[t])
        links.append(np.where(grid >= 0, grid + offsets[t], -1))
    if not all_moves:
        return
    move = np.concatenate(all_moves)
    nbr = np.concatenate([np.concatenate(links), seam_links(positions, normals, covered, move, spacing)[:, None]], 1)
    count = (nbr >= 0).sum(axis=1)
    keep = count > 0
    move, nbr, count = move[keep], nbr[keep], count[keep].astype(np.float32)
    # The values the sweeps read and write: the moving texels, then their fixed neighbours, then a zero row that
    # the missing links read.
    outside = np.setdiff1d(np.unique(nbr[nbr >= 0]), move)
    order = np.concatenate([move, outside])
    sort = np.argsort(order)
    values = np.zeros((len(order) + 1, _channels(images[0])), np.float32)
    values[:-1] = _lookup(images, offsets, order)
    safe = np.where(nbr >= 0, sort[np.searchsorted(order[sort], np.maximum(nbr, 0))], len(order))
    inverse_count = (np.float32(1.0) / count)[:, None]
    _, (y, x) = _tile_yx(move, covered, offsets)
    colour = (y + x) % 2
    # A grid link always joins the two colours; a seam link may join two moving texels of one colour, which a
    # colour's sweep then updates together (a Jacobi step): over-relaxed, such a pair's difference doubles every
    # sweep (seen on an atlas of tiny charts: values of 1e4 after 40 sweeps). Those rows take a damped step.
    seam = safe[:, -1]
    same = (seam < len(move)) & (colour[np.minimum(seam, len(move) - 1)] == colour)
    relax = np.where(same, np.float32(JACOBI_RELAX), np.float32(OVER_RELAX)).astype(np.float32)[:, None]
    # A harmonic blend stays within the values it starts from (the maximum principle): the sweeps are held there.
    lo, hi = values[:-1].min(axis=0), values[:-1].max(axis=0)
    # Per colour: the rows it updates, their neighbours' rows, 1 / (number of links) and the step.
    colours = []
    for parity in (0, 1):
        rows = np.flatnonzero(colour == parity)
        columns = [np.ascontiguousarray(safe[rows, i]) for i in range(nbr.shape[1])]
        colours.append((rows, columns, inverse_count[rows], relax[rows]))
    for _ in range(iterations):
        for rows, columns, inv, step in colours:
            mean = values[columns[0]]
            for column in columns[1:]:
                mean += values[column]
            mean *= inv
            mean -= values[rows]
            mean *= step
            mean += values[rows]
            np.clip(mean, lo, hi, out=mean)
            values[rows] = mean
    tile = np.searchsorted(offsets, move, side="right") - 1
    for t, image in enumerate(images):
        mine = tile == t
        if mine.any():
            _put(image, move[mine] - offsets[t], values[: len(move)][mine])


__all__ = [
    "JACOBI_RELAX",
    "LINK_RATIO",
    "OVER_RELAX",
    "SEAM_REACH",
    "SparseTexels",
    "TexelMap",
    "chart_border",
    "chart_links",
    "moving_texels",
    "seam_links",
    "smooth_across_charts",
    "smooth_texels",
    "texel_offsets",
    "texels_read",
]

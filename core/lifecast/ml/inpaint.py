"""Chart-aware inpainting of UV textures: holes filled from their neighbours on the surface, not in UV.

A scan's texture has holes where no camera saw the surface (under the chin, behind the ears, in the nostrils)
or where an artist masked something out, and gutters no chart covers. :func:`inpaint_tiles` fills both:

1. the holes on the surface, in 3D (:mod:`lifecast.ml.surface_fill`): every UDIM tile's known texels are one
   point set keyed by their surface positions and normals, so a hole takes colour from across a seam or from
   another tile, never from a chart that merely lies close in UV;
2. the fill is blended into the known texture by Laplace sweeps on the texel grid, within charts and across
   seams (:mod:`lifecast.ml.chart_smooth`), so it meets the known texture without an edge;
3. the gutters are edge-padded from the finished charts (:func:`lifecast.bake.padding.pad_edges`).

Known texels keep their values bit for bit. :func:`telea` and :func:`push_pull` are the baselines the evaluation
compares with: what a user of OpenCV would do, and the project's own padding applied to holes.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

import cv2
import numpy as np
from numpy.typing import NDArray

from lifecast.bake.padding import _downsample, _fill_from_parent, pad_edges  # the push-pull's own steps
from lifecast.color import linear_to_srgb, srgb_to_linear
from lifecast.errors import InputError
from lifecast.ml.chart_smooth import SparseTexels, moving_texels, smooth_texels, texels_read
from lifecast.ml.geometry_maps import BandedGeometry, GeometryBand, GeometryTile, band_rows, tile_bands
from lifecast.ml.sh import FIT_SAMPLES
from lifecast.ml.shading_proxy import ShadingProxy, fit_proxy
from lifecast.ml.surface_fill import (
    PyramidBuilder,
    block_layout,
    block_samples,
    pull,
    sampled_spacing,
    spacing_step,
)
from lifecast.pipeline.stage import ProgressFn, no_progress, scaled_progress

#: How the fill follows the shading of the texture (see :func:`inpaint_tiles`).
Shading = Literal["none", "occlusion", "lighting"]

#: Texels per band of rows the geometry is read in (about 1 million: 128 rows of an 8K tile).
BAND_TEXELS = 1 << 20


def inpaint_tiles(
    textures: Sequence[NDArray[np.float32]],
    fill: Sequence[NDArray[np.bool_]],
    geometry: Sequence[GeometryTile] | Sequence[BandedGeometry],
    *,
    smooth_iterations: int = 40,
    shading: Shading = "occlusion",
    band_texels: int = BAND_TEXELS,
    in_place: bool = False,
    progress: ProgressFn = no_progress,
) -> list[NDArray[np.float32]]:
    """Fill holes and gutters of a set of UDIM tiles, the holes from their surroundings on the surface.

    Parameters
    ----------
    textures
        Per tile ``(s, s, 3) float32`` linear colour, ``s`` the tile's :attr:`GeometryTile.size`.
    fill
        Per tile ``(s, s) bool``: texels to fill (holes, a user's mask). Gutter texels (not
        :attr:`GeometryTile.covered`) are filled too, whatever ``fill`` says there.
    geometry
        Per tile the :class:`GeometryTile` of the same tile (``covered``, ``position``, ``normal``, ``ao``), or its
        :class:`lifecast.ml.geometry_maps.BandedGeometry` (:func:`lifecast.ml.geometry_maps.geometry_bands`: the
        full-size maps are never made).
    smooth_iterations
        Sweeps that blend the fill into the known texture and across seams (0: none).
    shading
        What the fill carries into a hole besides its surroundings' colour (:mod:`lifecast.ml.shading_proxy`):
        ``"occlusion"`` darkens it by the ambient occlusion, as much as the known texels show it (none where the
        texture was delit or painted); ``"lighting"`` also by the normal's fitted lighting (extrapolated into the
        hole's normals: it won on procedural skin, lost on the Lee Perry-Smith scan); ``"none"``.
    band_texels
        The geometry is read in bands of rows of about this many texels (an even number of rows; the result does
        not depend on it beyond float rounding).
    in_place
        Fill ``textures`` themselves (C-contiguous ``float32``) and return them: no second copy of every tile.
    progress
        Called with a fraction in ``[0, 1]`` and a message.

    Returns
    -------
    list of ``(s, s, 3) float32``
        New textures (``textures`` themselves with ``in_place``): known texels (covered and not in ``fill``)
        unchanged, the rest filled.

    Raises
    ------
    InputError
        When the lists' lengths or a tile's shapes disagree, or no covered texel is known.

    Notes
    -----
    Memory beyond the textures in and out is a few bytes per texel of masks, one band of geometry, and the
    holes' surroundings: the hole texels' geometry, the texels the blending reads, and the voxels of the fill's
    finest levels around the holes (:class:`lifecast.ml.surface_fill.PyramidBuilder`).
    """
    bands = [g if not isinstance(g, GeometryTile) else tile_bands(g) for g in geometry]
    _check(textures, fill, bands)
    known = [g.covered & ~np.asarray(f, bool) for f, g in zip(fill, bands, strict=True)]
    if not any(k.any() for k in known):
        raise InputError(
            "nothing to inpaint from: every covered texel of every tile is marked to fill (an all-True fill mask?)"
        )
    holes = [g.covered & np.asarray(f, bool) for f, g in zip(fill, bands, strict=True)]
    if in_place:
        if not all(isinstance(t, np.ndarray) and t.dtype == np.float32 and t.flags.c_contiguous for t in textures):
            raise ValueError("inpaint_tiles(in_place=True) fills the textures themselves: pass C-contiguous float32")
        out = list(textures)
    else:
        out = [np.array(t, np.float32, copy=True) for t in textures]
    if any(h.any() for h in holes):
        _fill_holes(out, known, holes, bands, smooth_iterations, shading, band_texels, progress)
    del known, holes
    for i, g in enumerate(bands):
        pad_gutters(out[i], g.covered, band_texels=band_texels)
        progress(0.8 + 0.2 * (i + 1) / len(out), f"inpaint: padded tile {g.udim}")
    return out


def _bands(g: BandedGeometry, band_texels: int) -> list[tuple[int, int]]:
    rows = band_rows(g.size, band_texels)
    return [(y0, min(y0 + rows, g.size)) for y0 in range(0, g.size, rows)]


def _gather(band: GeometryBand, size: int, ids: NDArray[np.int64], start: int) -> tuple[int, int, NDArray[np.int64]]:
    """Which of the sorted flat ``ids`` (from ``start`` on) lie in ``band``: ``(start, stop, local flat index)``."""
    rows = len(band.covered)
    stop = int(np.searchsorted(ids, (band.row0 + rows) * size, side="left"))
    return start, stop, ids[start:stop] - band.row0 * size


class _Texels:
    """Surface point, normal and occlusion of some texels of one tile (sorted flat ``ids``), gathered band by band."""

    def __init__(self, ids: NDArray[np.int64]) -> None:
        self.ids = ids
        self.position = np.zeros((len(ids), 3), np.float32)
        self.normal = np.zeros((len(ids), 3), np.float32)
        self.ao = np.ones(len(ids), np.float32)
        self._next = 0

    def take(self, band: GeometryBand, size: int) -> None:
        start, stop, local = _gather(band, size, self.ids, self._next)
        self._next = stop
        if stop > start:
            self.position[start:stop] = band.position.reshape(-1, 3)[local]
            self.normal[start:stop] = band.normal.reshape(-1, 3)[local]
            self.ao[start:stop] = band.ao.reshape(-1)[local]


def _proxy_picks(known: Sequence[NDArray[np.bool_]]) -> list[NDArray[np.int64]] | None:
    """The known texels :func:`_fit_proxy` reads: up to :data:`lifecast.ml.sh.FIT_SAMPLES` of all tiles (a
    deterministic subset: the same as ``rng.choice`` of the flat indices), or None when there are too few."""
    counts = np.array([int(k.sum()) for k in known])
    if counts.sum() < 64:
        return None  # too few texels to measure any shading on
    rng = np.random.default_rng(0)
    picks = []
    for k, n in zip(known, counts, strict=True):
        take = min(n, int(np.ceil(FIT_SAMPLES * n / max(counts.sum(), 1))))
        if take < n:
            # rng.choice(flat, take) picks flat[rng.choice(n, take)]: the positions in the known texels' row-major
            # order, mapped to flat indices row by row (no list of every known texel).
            order = np.sort(rng.choice(n, take, replace=False))
            picks.append(_nth_true(k, order))
        else:
            picks.append(np.flatnonzero(k.reshape(-1)).astype(np.int64))
    return picks


def _nth_true(mask: NDArray[np.bool_], order: NDArray[np.int64]) -> NDArray[np.int64]:
    """Flat indices of the ``order[j]``-th True texels of ``mask`` (row-major, ``order`` ascending)."""
    per_row = mask.sum(axis=1)
    ends = np.cumsum(per_row)
    row = np.searchsorted(ends, order, side="right")
    out = np.empty(len(order), np.int64)
    for r in np.unique(row):
        mine = row == r
        before = int(ends[r] - per_row[r])
        out[mine] = r * mask.shape[1] + np.flatnonzero(mask[r])[order[mine] - before]
    return out


def _fill_holes(
    out: list[NDArray[np.float32]],
    known: Sequence[NDArray[np.bool_]],
    holes: Sequence[NDArray[np.bool_]],
    geometry: Sequence[BandedGeometry],
    smooth_iterations: int,
    shading: Shading,
    band_texels: int,
    progress: ProgressFn,
) -> None:
    """Fill the hole texels of ``out`` in place (the gutters are left to :func:`pad_gutters`)."""
    covered = [g.covered for g in geometry]
    # The texel spacing, from every few rows and columns.
    steps = [spacing_step(g.size) for g in geometry]
    sampled = [g.sampled_positions(step) for g, step in zip(geometry, steps, strict=True)]
    spacing = sampled_spacing(sampled, [c[::st, ::st] for c, st in zip(covered, steps, strict=True)], steps)
    del sampled
    # What the later steps read: the proxy's texels, the holes, and what the blending reads, gathered in one pass.
    picks = _proxy_picks(known) if shading != "none" else None
    none = [np.zeros(0, np.int64) for _ in geometry]
    moves = moving_texels(holes, covered) if smooth_iterations > 0 else none
    read = none
    if smooth_iterations > 0:
        read = [np.flatnonzero(r.reshape(-1)).astype(np.int64) for r in texels_read(moves, covered)]
    hole_ids = [np.flatnonzero(h.reshape(-1)).astype(np.int64) for h in holes]
    at_picks = [_Texels(p) for p in picks] if picks is not None else None
    at_holes = [_Texels(h) for h in hole_ids]
    at_read = [_Texels(r) for r in read]
    lo = np.full(3, np.inf, np.float32)
    hi = np.full(3, -np.inf, np.float32)
    for t, (g, k) in enumerate(zip(geometry, known, strict=True)):
        for y0, y1 in _bands(g, band_texels):
            band = g.band(y0, y1)
            for gathered in (at_picks[t] if at_picks is not None else None, at_holes[t], at_read[t]):
                if gathered is not None:
                    gathered.take(band, g.size)
            _, mean_p, single = block_layout(band.position, k[y0:y1], spacing)
            for points in (mean_p, band.position[single]):
                if len(points):
                    lo = np.minimum(lo, points.min(axis=0))
                    hi = np.maximum(hi, points.max(axis=0))
        progress(0.1 * (t + 1) / len(geometry), f"inpaint: geometry read for tile {g.udim}")
    proxy = None
    if at_picks is not None:
        proxy = _fit_proxy(
            np.concatenate([o.reshape(-1, 3)[a.ids] for o, a in zip(out, at_picks, strict=True)]),
            np.concatenate([a.normal for a in at_picks]),
            np.concatenate([a.ao for a in at_picks]),
            lighting=shading == "lighting",
        )
    del at_picks
    # The fill's pyramid: every known texel splatted, band by band; its finest levels only around the holes.
    builder = PyramidBuilder(lo, hi, spacing, queries=np.concatenate([a.position for a in at_holes]))
    splat_progress = scaled_progress(progress, 0.1, 0.4, "inpaint: ")
    for t, (g, k, image) in enumerate(zip(geometry, known, out, strict=True)):
        for y0, y1 in _bands(g, band_texels):
            band = g.band(y0, y1)
            shade = _shade_band(proxy, band)
            ratio = image[y0:y1] if shade is None else image[y0:y1] / shade[..., None]
            builder.add(*block_samples(band.position, band.normal, ratio, k[y0:y1], spacing))
            splat_progress((t + y1 / g.size) / len(geometry), f"splatting tile {g.udim}")
    pyramid = builder.finish()
    del builder
    fill_progress = scaled_progress(progress, 0.4, 0.7, "inpaint: ")
    filled, shades = [], []
    for i, a in enumerate(at_holes):
        shades.append(_shade(proxy, a.normal, a.ao))
        filled.append(pull(pyramid, a.position, a.normal) if len(a.ids) else np.zeros((0, 3), np.float32))
        a.position = a.normal = np.zeros((0, 3), np.float32)  # the hole geometry is no longer needed
        fill_progress((i + 1) / len(out), f"tile {geometry[i].udim}")
    del pyramid
    if smooth_iterations > 0:
        progress(0.7, "inpaint: blending the fill into the texture")
        values = []
        for o, r, a, f in zip(out, at_read, at_holes, filled, strict=True):
            shade = _shade(proxy, r.normal, r.ao)
            ratio = o.reshape(-1, 3)[r.ids] if shade is None else o.reshape(-1, 3)[r.ids] / shade[:, None]
            in_hole = np.isin(r.ids, a.ids, assume_unique=True)
            ratio[in_hole] = f[np.searchsorted(a.ids, r.ids[in_hole])]
            values.append(SparseTexels(r.ids, ratio))
        smooth_texels(
            values,
            moves,
            [SparseTexels(r.ids, r.position) for r in at_read],
            [SparseTexels(r.ids, r.normal) for r in at_read],
            covered,
            spacing,
            iterations=smooth_iterations,
        )
        for v, a, f in zip(values, at_holes, filled, strict=True):
            in_hole = np.isin(v.ids, a.ids, assume_unique=True)
            f[np.searchsorted(a.ids, v.ids[in_hole])] = v.values[in_hole]
    for o, a, f, shade in zip(out, at_holes, filled, shades, strict=True):
        o.reshape(-1, 3)[a.ids] = f if shade is None else f * shade[:, None]


def _fit_proxy(
    colors: NDArray[np.float32], normals: NDArray[np.float32], ao: NDArray[np.float32], *, lighting: bool
) -> ShadingProxy | None:
    """The shading proxy fitted to the known texels :func:`_proxy_picks` chose, or None where it would change
    nothing (no occlusion shows in the texture)."""
    proxy = fit_proxy(colors, normals, ao, lighting=lighting)
    return None if proxy.ao_power == 0.0 and proxy.sh_power == 0.0 else proxy


def _shade(
    proxy: ShadingProxy | None, normals: NDArray[np.float32], ao: NDArray[np.float32]
) -> NDArray[np.float32] | None:
    """``(q,) float32`` the proxy at covered texels, None without a proxy."""
    if proxy is None:
        return None
    return proxy.shading(normals, ao)[:, 0]


def _shade_band(proxy: ShadingProxy | None, band: GeometryBand) -> NDArray[np.float32] | None:
    """``(rows, s) float32`` the proxy on a band's covered texels (1 elsewhere), None without a proxy."""
    if proxy is None:
        return None
    out = np.ones(band.covered.shape, np.float32)
    cov = band.covered
    out[cov] = proxy.shading(band.normal[cov], band.ao[cov])[:, 0]
    return out


def pad_gutters(image: NDArray[np.float32], covered: NDArray[np.bool_], *, band_texels: int = BAND_TEXELS) -> None:
    """:func:`lifecast.bake.padding.pad_edges` of ``image (s, s, c) float32`` with ``covered`` known, in place.

    The same push-pull, with its finest level made and read in bands of rows: memory is the half-size pyramid
    (a sixth of the image), not two more copies of the image. Odd sizes take :func:`pad_edges` itself.
    """
    h, w = covered.shape
    if not covered.any():
        return
    if h % 2 or w % 2 or image.ndim != 3 or image.dtype != np.float32:
        image[...] = pad_edges(image, covered)
        return
    rows = band_rows(w, band_texels)
    c = image.shape[2]
    colour = np.empty((h // 2, w // 2, c), np.float32)
    for y0 in range(0, h, rows):
        y1 = min(y0 + rows, h)
        masked = np.zeros((y1 - y0, w, c), np.float32)
        cv2.copyTo(image[y0:y1], covered[y0:y1].view(np.uint8), masked)
        colour[y0 // 2 : y1 // 2] = _downsample(masked).reshape(-1, w // 2, c)
    cover = _downsample(covered)
    pyramid = [(colour, cover)]
    level_colour, level_cover = colour, cover
    while max(level_cover.shape) > 1:
        level_colour, level_cover = _downsample(level_colour), _downsample(level_cover)
        pyramid.append((level_colour, level_cover))
    filled = level_colour / np.maximum(level_cover, 1e-12)[..., None]
    for level_colour, level_cover in reversed(pyramid[1:-1]):
        filled = _fill_from_parent(level_colour / np.maximum(level_cover, 1e-12)[..., None], level_cover > 0, filled)
    del level_colour, level_cover
    # The finest pyramid level is divided in place (its sums are not read again) and filled from its parent.
    colour /= np.maximum(cover, 1e-12)[..., None]
    if len(pyramid) > 1:
        half = colour.shape[0]
        for y0 in range(0, half, rows):
            y1 = min(y0 + rows, half)
            _from_parent(colour[y0:y1], cover[y0:y1] > 0, filled[y0 // 2 : (y1 + 1) // 2])
    del pyramid, filled, cover
    # The image's uncovered texels take their half-size parent texel, band by band.
    for y0 in range(0, h, rows):
        y1 = min(y0 + rows, h)
        _from_parent(image[y0:y1], covered[y0:y1], colour[y0 // 2 : (y1 + 1) // 2])


def _from_parent(level: NDArray[np.float32], known: NDArray[np.bool_], parent: NDArray[np.float32]) -> None:
    """Rows of a pyramid level (starting on an even row) whose texels where ``known`` is False take their parent
    texel (``y // 2, x // 2``) from the rows of the level above, in place."""
    h, w = known.shape
    up = np.repeat(np.repeat(parent, 2, axis=0), 2, axis=1)[:h, :w]
    np.copyto(level, up, where=~known[..., None])


def _check(
    textures: Sequence[NDArray[np.float32]], fill: Sequence[NDArray[np.bool_]], geometry: Sequence[BandedGeometry]
) -> None:
    if not (len(textures) == len(fill) == len(geometry)):
        raise InputError(
            f"inpainting needs one texture, fill mask and geometry tile per tile: got {len(textures)}, {len(fill)} "
            f"and {len(geometry)}"
        )
    if len(textures) == 0:
        raise InputError("inpainting needs at least one tile")
    for t, f, g in zip(textures, fill, geometry, strict=True):
        s = g.size
        if np.shape(t) != (s, s, 3) or np.shape(f) != (s, s):
            raise InputError(
                f"tile {g.udim}: texture {np.shape(t)} and fill mask {np.shape(f)} must be ({s}, {s}, 3) and "
                f"({s}, {s}), the size of its geometry maps"
            )


def telea(texture: NDArray[np.float32], fill: NDArray[np.bool_], covered: NDArray[np.bool_]) -> NDArray[np.float32]:
    """The OpenCV baseline: ``cv2.inpaint`` (Telea's fast marching, radius 3) of the 8-bit sRGB texture.

    Parameters
    ----------
    texture
        ``(s, s, 3) float32`` linear colour.
    fill, covered
        ``(s, s) bool``: texels to fill, and texels on the surface; the mask given to OpenCV is
        ``fill | ~covered`` (holes and gutters, as one image).

    Returns
    -------
    ``(s, s, 3) float32`` linear colour, texels outside the mask unchanged.
    """
    mask = np.asarray(fill, bool) | ~np.asarray(covered, bool)
    srgb = np.empty(np.shape(texture), np.uint8)
    rows = band_rows(mask.shape[1], BAND_TEXELS)
    for y0 in range(0, len(srgb), rows):  # encoded in bands: no float64 copy of the whole texture
        srgb[y0 : y0 + rows] = np.rint(linear_to_srgb(texture[y0 : y0 + rows]) * 255.0).astype(np.uint8)
    painted = cv2.inpaint(srgb, mask.astype(np.uint8), 3, cv2.INPAINT_TELEA)
    out = np.array(texture, np.float32, copy=True)
    out[mask] = srgb_to_linear(painted[mask].astype(np.float32) / 255.0)
    return out


def push_pull(texture: NDArray[np.float32], fill: NDArray[np.bool_], covered: NDArray[np.bool_]) -> NDArray[np.float32]:
    """The padding baseline: :func:`lifecast.bake.padding.pad_edges` (push-pull in UV) with ``covered & ~fill``
    known; ``(s, s, 3) float32`` in, the same out."""
    known = np.asarray(covered, bool) & ~np.asarray(fill, bool)
    out = np.array(texture, np.float32, copy=True)
    pad_gutters(out, known)  # pad_edges, in bands
    return out


__all__ = ["BAND_TEXELS", "Shading", "inpaint_tiles", "pad_gutters", "push_pull", "telea"]

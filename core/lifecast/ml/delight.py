"""Delighting: the albedo and the shading removed from a lit texture, given the geometry of the same UVs.

The shading is predicted at a working resolution (``work_size`` texels per tile side; lighting varies slowly
over skin, and a 4K texture's pores are not shading): the whole surface's lighting is fitted
(:func:`lifecast.ml.sh.fit_shading`, every UDIM tile at once, so a set of tiles is one surface), the model
corrects the fit tile by tile (:func:`lifecast.ml.tiling.run_tiled`), the log shading is edge-padded into the
gutters and upsampled to the texture's resolution in bands of rows, and the texture is divided by it there.
The texture may stay encoded (8-bit sRGB codes, ``decode``): it is averaged down to the working size and divided
band by band, so memory is the encoded input, the albedo and shading out, and one band.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np
import torch
from numpy.typing import NDArray

from lifecast.bake.padding import pad_edges
from lifecast.ml.deep_shadow import blend, fill_from_trusted, shadow_trust
from lifecast.ml.features import FEATURES, FitSummary, texel_features
from lifecast.ml.geometry_maps import GeometryTile, upsample_rows
from lifecast.ml.sh import fit_shading
from lifecast.ml.tiling import run_tiled
from lifecast.pipeline.stage import ProgressFn, no_progress

#: Turns rows of an encoded texture (e.g. 8-bit sRGB codes) into linear float32.
Decode = Callable[[NDArray[Any]], NDArray[np.float32]]

#: Texels per tile side the shading is predicted at, by default.
WORK_SIZE = 1024
#: Rows per band of :func:`upsample_bands`, by default.
_BAND = 512
#: Texels per band of the full-resolution work, by default: about a million (256 rows at 4K, 128 at 8K; 12 MiB per
#: float32 band array, a handful of which are alive at once, and float64 ones in the sRGB decode).
_BAND_TEXELS = 1 << 20


def default_band(size: int) -> int:
    """Rows per band of a ``size``-wide texture: about :data:`_BAND_TEXELS` texels."""
    return max(8, _BAND_TEXELS // max(size, 1))


#: The shading removed stays within these factors of the surface's mean (an albedo is never brightened more than
#: 1 / SHADING_RANGE[0] times where the geometry says the surface is enclosed). The lower bound is the default; a
#: model's own (``UNet.min_shading``, recorded in its weights: 0.1 since ``delight_base_v2``) replaces it.
SHADING_RANGE = (0.2, 4.0)
#: The most the removed shading's colour may differ from grey, in log units per channel (light is near white;
#: a larger tint would be the model mistaking the skin's colour for the light's).
MAX_SHADING_TINT = 0.15


@dataclass(frozen=True)
class DelitTile:
    """One UDIM tile delit.

    Attributes
    ----------
    udim
        The tile.
    albedo
        ``(h, w, 3) float32`` linear albedo (the texture divided by the shading), in ``[0, 1]``.
    shading
        ``(h, w, 3) float16`` the shading removed (texture = albedo * shading, up to clipping), mean 1 over the
        surface.
    shadow_filled
        The share of the tile's covered working-size texels whose albedo was (partly) taken from the surface
        around them, in shadow too deep to divide (:mod:`lifecast.ml.deep_shadow`); 0 without the fill.
    """

    udim: int
    albedo: NDArray[np.float32]
    shading: NDArray[np.float16]
    shadow_filled: float = 0.0


def downsample_covered(
    image: NDArray[np.generic],
    covered: NDArray[np.bool_],
    size: int,
    *,
    decode: Decode | None = None,
    band: int | None = None,
) -> NDArray[np.float32]:
    """``(size, size, c)`` area average of ``image (h, w, c)`` over texels ``covered (h, w)`` only (gutter colour
    never mixes into a chart's edge); uncovered texels of the result are 0.

    ``decode`` turns rows of ``image`` into linear float (``None``: ``image`` is). When ``h`` is a multiple of
    ``size`` the average is taken ``band`` rows at a time (rounded to whole output rows: the same values as one
    pass), so a large texture is never held as float whole.
    """
    h = image.shape[0]
    if h == size:
        linear = decode(image) if decode is not None else np.asarray(image, np.float32)
        return np.where(covered[..., None], linear, 0.0).astype(np.float32)
    if h % size:  # not a whole-block reduction (or an upsampling): one pass over the whole image
        return _downsample_rows(image, covered, size, size, decode)
    factor = h // size
    step = max(1, (band or default_band(h)) // factor) * factor
    out = [
        _downsample_rows(
            image[y0 : y0 + step], covered[y0 : y0 + step], size, (min(y0 + step, h) - y0) // factor, decode
        )
        for y0 in range(0, h, step)
    ]
    return np.concatenate(out).astype(np.float32, copy=False)


def _downsample_rows(
    image: NDArray[np.generic], covered: NDArray[np.bool_], width: int, rows: int, decode: Decode | None
) -> NDArray[np.float32]:
    """``(rows, width, c)`` the covered-weighted area average of a block of rows (:func:`downsample_covered`)."""
    img = decode(image) if decode is not None else np.asarray(image, np.float32)
    w = covered.astype(np.float32)
    num = cv2.resize(img * w[..., None], (width, rows), interpolation=cv2.INTER_AREA)
    den = cv2.resize(w, (width, rows), interpolation=cv2.INTER_AREA)
    if num.ndim == 2:
        num = num[..., None]
    return (num / np.maximum(den, 1e-6)[..., None]).astype(np.float32)


def fit_surface(lit: Sequence[NDArray[np.float32]], geometry: Sequence[GeometryTile], seed: int = 0) -> FitSummary:
    """The lighting fit and mean colour over every tile's covered texels (``lit[i]`` at ``geometry[i]``'s size)."""
    colors = np.concatenate([lt[g.covered] for lt, g in zip(lit, geometry, strict=True)])
    normals = np.concatenate([g.normal[g.covered] for g in geometry])
    ao = np.concatenate([g.ao[g.covered] for g in geometry])
    return FitSummary(fit_shading(colors, normals, ao, seed=seed), colors.mean(axis=0).astype(np.float32))


def tile_features(
    lit: NDArray[np.float32], geometry: GeometryTile, summary: FitSummary
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """``(FEATURES, s, s)`` features and ``(3, s, s)`` log fitted shading of one tile (0 off the surface)."""
    s = geometry.size
    cov = geometry.covered
    feats, log_fit = texel_features(lit[cov], geometry.normal[cov], geometry.ao[cov], geometry.cavity[cov], summary)
    f = np.zeros((s, s, FEATURES), np.float32)
    f[cov] = feats
    lf = np.zeros((s, s, 3), np.float32)
    lf[cov] = log_fit
    return np.ascontiguousarray(f.transpose(2, 0, 1)), np.ascontiguousarray(lf.transpose(2, 0, 1))


def predict_log_shading(
    model: torch.nn.Module | None,
    lit: Sequence[NDArray[np.float32]],
    geometry: Sequence[GeometryTile],
    *,
    device: str = "cpu",
    progress: ProgressFn = no_progress,
) -> list[NDArray[np.float32]]:
    """``(s, s, 3)`` log shading per tile at the geometry's size, edge-padded into the gutters.

    ``lit[i]`` is tile ``i``'s texture at that size (:func:`downsample_covered`); ``model=None`` gives the fit
    alone (the SH baseline, per channel).
    """
    summary = fit_surface(lit, geometry)
    out = []
    for i, (lt, g) in enumerate(zip(lit, geometry, strict=True)):
        feats, log_fit = tile_features(lt, g, summary)
        log_s = log_fit if model is None else log_fit + run_tiled(model, feats, device=device)
        log_s = limit_shading(np.ascontiguousarray(log_s.transpose(1, 2, 0)), model_min_shading(model))
        log_s[~g.covered] = 0.0
        out.append(pad_edges(log_s, g.covered).astype(np.float32))
        progress((i + 1) / len(geometry), f"shading predicted for tile {g.udim}")
    return out


def model_min_shading(model: torch.nn.Module | None) -> float:
    """The least shading ``model`` may remove (its ``min_shading``; :data:`SHADING_RANGE` for the fit alone or a
    model that does not say)."""
    return float(vars(model).get("min_shading", SHADING_RANGE[0])) if model is not None else SHADING_RANGE[0]


def limit_shading(log_s: NDArray[np.float32], min_shading: float = SHADING_RANGE[0]) -> NDArray[np.float32]:
    """``(..., 3)`` log shading held within ``[min_shading, SHADING_RANGE[1]]`` and :data:`MAX_SHADING_TINT`
    of grey."""
    grey = log_s.mean(axis=-1, keepdims=True)
    tint = np.clip(log_s - grey, -MAX_SHADING_TINT, MAX_SHADING_TINT)
    lo, hi = np.log(min_shading), np.log(SHADING_RANGE[1])
    return np.clip(np.clip(grey, lo, hi) + tint, lo, hi).astype(np.float32)


def upsample_bands(
    small: NDArray[np.float32], size: int, band: int = _BAND
) -> Iterator[tuple[int, NDArray[np.float32]]]:
    """``(row0, (rows, size, c))`` bands of ``small (s, s, c)`` bilinearly upsampled to ``size``, the same values
    as one ``cv2.resize`` of the whole (texel centres aligned), one band at a time."""
    for y0 in range(0, size, band):
        yield y0, upsample_rows(small, size, y0, min(y0 + band, size))


def apply_shading(
    lit: NDArray[np.generic],
    log_shading: NDArray[np.float32],
    *,
    decode: Decode | None = None,
    band: int | None = None,
    fill: NDArray[np.float32] | None = None,
    trust: NDArray[np.float32] | None = None,
) -> tuple[NDArray[np.float32], NDArray[np.float16]]:
    """Divide a full-resolution texture by the upsampled shading, band by band.

    Parameters
    ----------
    lit
        ``(h, h, 3)`` the texture (linear float, or encoded values ``decode`` turns into linear float).
    log_shading
        ``(s, s, 3)`` padded log shading at the working size.
    decode
        Turns a band of ``lit`` into linear float (e.g. 8-bit sRGB codes); ``None``: ``lit`` is linear.
    band
        Rows per band (default :func:`default_band`).
    fill, trust
        ``(s, s, 3)`` an albedo for the deep shadows and ``(s, s)`` how far the division is trusted, both at the
        working size and padded (:mod:`lifecast.ml.deep_shadow`): upsampled like the shading, the albedo is
        ``trust * division + (1 - trust) * fill``, and the shading returned is what that removed (the texture
        over the albedo), so albedo x shading is still the texture. ``None``: the division alone.

    Returns
    -------
    albedo
        ``(h, h, 3) float32`` in ``[0, 1]``.
    shading
        ``(h, h, 3) float16``.
    """
    if (fill is None) != (trust is None):
        raise ValueError("apply_shading: pass both fill and trust, or neither")
    size = lit.shape[0]
    albedo = np.empty((size, size, 3), np.float32)
    shading = np.empty((size, size, 3), np.float16)
    for y0, rows_log in upsample_bands(log_shading, size, band or default_band(size)):
        y1 = y0 + len(rows_log)
        s = np.exp(rows_log)
        rows = lit[y0:y1]
        linear = decode(rows) if decode is not None else np.asarray(rows, np.float32)
        divided = np.clip(linear / s, 0.0, 1.0)
        if fill is not None and trust is not None:
            w = upsample_rows(trust[..., None], size, y0, y1)[..., 0]
            divided = blend(divided, np.clip(upsample_rows(fill, size, y0, y1), 0.0, 1.0), w)
            s = np.where((w < 1.0)[..., None], np.maximum(linear, 0.0) / np.maximum(divided, 1e-4), s)
        albedo[y0:y1] = divided
        shading[y0:y1] = s.astype(np.float16)
    return albedo, shading


def delight_arrays(
    model: torch.nn.Module | None,
    lit: Sequence[NDArray[np.generic]],
    geometry: Sequence[GeometryTile],
    covered_full: Sequence[NDArray[np.bool_]] | None = None,
    *,
    decode: Decode | None = None,
    band: int | None = None,
    device: str = "cpu",
    fill_shadows: bool = True,
    progress: ProgressFn = no_progress,
) -> list[DelitTile]:
    """Delight textures ``lit[i] (h, h, 3)`` with geometry maps at the working size.

    ``covered_full[i]`` (``(h, h) bool``) says which texels of the full-size texture lie on the surface, for the
    working-size average; ``None`` when the texture is already at the geometry's size. ``decode`` turns rows of
    ``lit`` into linear float32 (e.g. 8-bit sRGB codes, so the input is never held as float whole); ``None``:
    ``lit`` is linear float. The full-size work goes ``band`` rows at a time. ``fill_shadows``: the texels in
    shadow too deep to divide take their albedo from the lit surface around them
    (:mod:`lifecast.ml.deep_shadow`); ``False``: the plain division everywhere.
    """
    small = []
    for i, (lt, g) in enumerate(zip(lit, geometry, strict=True)):
        cov = covered_full[i] if covered_full is not None else g.covered
        small.append(downsample_covered(lt, cov, g.size, decode=decode, band=band))
    log_s = predict_log_shading(model, small, geometry, device=device, progress=progress)
    trust: list[NDArray[np.float32]] | None = None
    fills: list[NDArray[np.float32]] | None = None
    if fill_shadows:
        trust = [shadow_trust(ls, g.covered, model_min_shading(model)) for ls, g in zip(log_s, geometry, strict=True)]
        divided = [np.clip(sm / np.exp(ls), 0.0, 1.0) for sm, ls in zip(small, log_s, strict=True)]
        fills = fill_from_trusted(divided, trust, geometry)
        del divided
    del small
    out = []
    for i, (lt, g, ls) in enumerate(zip(lit, geometry, log_s, strict=True)):
        if fills is not None and trust is not None:
            albedo, shading = apply_shading(lt, ls, decode=decode, band=band, fill=fills[i], trust=trust[i])
            share = float((trust[i][g.covered] < 1.0).mean()) if g.covered.any() else 0.0
            out.append(DelitTile(g.udim, albedo, shading, share))
        else:
            albedo, shading = apply_shading(lt, ls, decode=decode, band=band)
            out.append(DelitTile(g.udim, albedo, shading))
    return out


def shading_percentiles(
    shading: Sequence[NDArray[np.float16]],
    covered: Sequence[NDArray[np.bool_]],
    qs: Sequence[float],
    band: int = _BAND,
) -> list[float | None]:
    """``np.percentile`` (linear) of every channel of ``shading[i] (h, h, 3) float16`` over ``covered[i]``, from a
    histogram of the 65,536 half-float codes taken ``band`` rows at a time (no float32 copy of the whole)."""
    counts = np.zeros(1 << 16, np.int64)
    for sh, cov in zip(shading, covered, strict=True):
        for y0 in range(0, sh.shape[0], band):
            codes = np.ascontiguousarray(sh[y0 : y0 + band][cov[y0 : y0 + band]]).view(np.uint16)
            counts += np.bincount(codes.reshape(-1), minlength=1 << 16)
    total = int(counts.sum())
    if total == 0:
        return [None for _ in qs]
    values = np.arange(1 << 16, dtype=np.uint16).view(np.float16).astype(np.float64)
    present = np.flatnonzero(counts)
    order = present[np.argsort(values[present], kind="stable")]
    ends = np.cumsum(counts[order])
    out: list[float | None] = []
    for q in qs:
        virtual = (total - 1) * float(q) / 100.0
        lo = int(np.floor(virtual))
        hi = min(lo + 1, total - 1)
        a = values[order[np.searchsorted(ends, lo, side="right")]]
        b = values[order[np.searchsorted(ends, hi, side="right")]]
        out.append(float(a + (b - a) * (virtual - lo)))
    return out


__all__ = [
    "MAX_SHADING_TINT",
    "SHADING_RANGE",
    "WORK_SIZE",
    "Decode",
    "DelitTile",
    "apply_shading",
    "default_band",
    "delight_arrays",
    "downsample_covered",
    "fit_surface",
    "limit_shading",
    "model_min_shading",
    "predict_log_shading",
    "shading_percentiles",
    "tile_features",
    "upsample_bands",
    "upsample_rows",
]

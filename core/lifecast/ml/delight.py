"""Delighting: the albedo and the shading removed from a lit texture, given the geometry of the same UVs.

The shading is predicted at a working resolution (``work_size`` texels per tile side; lighting varies slowly
over skin, and a 4K texture's pores are not shading): the whole surface's lighting is fitted
(:func:`lifecast.ml.sh.fit_shading`, every UDIM tile at once, so a set of tiles is one surface), the model
corrects the fit tile by tile (:func:`lifecast.ml.tiling.run_tiled`), the log shading is edge-padded into the
gutters and upsampled to the texture's resolution in bands of rows, and the texture is divided by it there.
Memory is the texture's own plus one band: constant in the map size beyond the texture itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import torch
from numpy.typing import NDArray

from lifecast.bake.padding import pad_edges
from lifecast.ml.features import FEATURES, FitSummary, texel_features
from lifecast.ml.geometry_maps import GeometryTile
from lifecast.ml.sh import fit_shading
from lifecast.ml.tiling import run_tiled
from lifecast.pipeline.stage import ProgressFn, no_progress

#: Texels per tile side the shading is predicted at, by default.
WORK_SIZE = 1024
#: Rows of the full-resolution texture divided per band.
_BAND = 512
#: The shading removed stays within these factors of the surface's mean (an albedo is never brightened more than
#: 1 / SHADING_RANGE[0] times where the geometry says the surface is enclosed).
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
    """

    udim: int
    albedo: NDArray[np.float32]
    shading: NDArray[np.float16]


def downsample_covered(image: NDArray[np.floating], covered: NDArray[np.bool_], size: int) -> NDArray[np.float32]:
    """``(size, size, c)`` area average of ``image (h, w, c)`` over texels ``covered (h, w)`` only (gutter colour
    never mixes into a chart's edge); uncovered texels of the result are 0."""
    img = np.asarray(image, np.float32)
    if img.shape[0] == size:
        return np.where(covered[..., None], img, 0.0).astype(np.float32)
    w = covered.astype(np.float32)
    num = cv2.resize(img * w[..., None], (size, size), interpolation=cv2.INTER_AREA)
    den = cv2.resize(w, (size, size), interpolation=cv2.INTER_AREA)
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
        log_s = limit_shading(np.ascontiguousarray(log_s.transpose(1, 2, 0)))
        log_s[~g.covered] = 0.0
        out.append(pad_edges(log_s, g.covered).astype(np.float32))
        progress((i + 1) / len(geometry), f"shading predicted for tile {g.udim}")
    return out


def limit_shading(log_s: NDArray[np.float32]) -> NDArray[np.float32]:
    """``(..., 3)`` log shading held within :data:`SHADING_RANGE` and :data:`MAX_SHADING_TINT` of grey."""
    grey = log_s.mean(axis=-1, keepdims=True)
    tint = np.clip(log_s - grey, -MAX_SHADING_TINT, MAX_SHADING_TINT)
    lo, hi = np.log(SHADING_RANGE[0]), np.log(SHADING_RANGE[1])
    return np.clip(np.clip(grey, lo, hi) + tint, lo, hi).astype(np.float32)


def upsample_bands(
    small: NDArray[np.float32], size: int, band: int = _BAND
) -> Iterator[tuple[int, NDArray[np.float32]]]:
    """``(row0, (rows, size, c))`` bands of ``small (s, s, c)`` bilinearly upsampled to ``size``, the same values
    as one ``cv2.resize`` of the whole (texel centres aligned), one band at a time."""
    s = small.shape[0]
    scale = s / size
    for y0 in range(0, size, band):
        y1 = min(y0 + band, size)
        ys = (np.arange(y0, y1) + 0.5) * scale - 0.5
        r0 = np.clip(np.floor(ys).astype(np.int64), 0, s - 1)
        r1 = np.clip(r0 + 1, 0, s - 1)
        fy = np.clip(ys - np.floor(ys), 0.0, 1.0).astype(np.float32)
        fy = np.where(ys < 0, 0.0, fy).astype(np.float32)
        rows = small[r0] * (1 - fy)[:, None, None] + small[r1] * fy[:, None, None]
        wide = cv2.resize(rows, (size, y1 - y0), interpolation=cv2.INTER_LINEAR)
        if wide.ndim == 2:
            wide = wide[..., None]
        yield y0, wide.astype(np.float32)


def apply_shading(
    lit: NDArray[np.floating],
    log_shading: NDArray[np.float32],
    *,
    decode: Callable[[NDArray[np.floating]], NDArray[np.float32]] | None = None,
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

    Returns
    -------
    albedo
        ``(h, h, 3) float32`` in ``[0, 1]``.
    shading
        ``(h, h, 3) float16``.
    """
    size = lit.shape[0]
    albedo = np.empty((size, size, 3), np.float32)
    shading = np.empty((size, size, 3), np.float16)
    for y0, band in upsample_bands(log_shading, size):
        y1 = y0 + len(band)
        s = np.exp(band)
        rows = lit[y0:y1]
        linear = decode(rows) if decode is not None else np.asarray(rows, np.float32)
        albedo[y0:y1] = np.clip(linear / s, 0.0, 1.0)
        shading[y0:y1] = s.astype(np.float16)
    return albedo, shading


def delight_arrays(
    model: torch.nn.Module | None,
    lit: Sequence[NDArray[np.float32]],
    geometry: Sequence[GeometryTile],
    covered_full: Sequence[NDArray[np.bool_]] | None = None,
    *,
    device: str = "cpu",
    progress: ProgressFn = no_progress,
) -> list[DelitTile]:
    """Delight linear textures ``lit[i] (h, h, 3)`` with geometry maps at the working size.

    ``covered_full[i]`` (``(h, h) bool``) says which texels of the full-size texture lie on the surface, for the
    working-size average; ``None`` when the texture is already at the geometry's size.
    """
    small = []
    for i, (lt, g) in enumerate(zip(lit, geometry, strict=True)):
        cov = covered_full[i] if covered_full is not None else g.covered
        small.append(downsample_covered(lt, cov, g.size))
    log_s = predict_log_shading(model, small, geometry, device=device, progress=progress)
    out = []
    for lt, g, ls in zip(lit, geometry, log_s, strict=True):
        albedo, shading = apply_shading(lt, ls)
        out.append(DelitTile(g.udim, albedo, shading))
    return out


__all__ = [
    "MAX_SHADING_TINT",
    "SHADING_RANGE",
    "WORK_SIZE",
    "DelitTile",
    "apply_shading",
    "delight_arrays",
    "downsample_covered",
    "fit_surface",
    "limit_shading",
    "predict_log_shading",
    "tile_features",
    "upsample_bands",
]

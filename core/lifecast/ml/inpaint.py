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

from lifecast.bake.padding import pad_edges
from lifecast.color import linear_to_srgb, srgb_to_linear
from lifecast.errors import InputError
from lifecast.ml.chart_smooth import smooth_across_charts
from lifecast.ml.geometry_maps import GeometryTile
from lifecast.ml.sh import FIT_SAMPLES
from lifecast.ml.shading_proxy import ShadingProxy, fit_proxy
from lifecast.ml.surface_fill import block_samples, build_pyramid, pull, texel_spacing
from lifecast.pipeline.stage import ProgressFn, no_progress, scaled_progress

#: How the fill follows the shading of the texture (see :func:`inpaint_tiles`).
Shading = Literal["none", "occlusion", "lighting"]


def inpaint_tiles(
    textures: Sequence[NDArray[np.float32]],
    fill: Sequence[NDArray[np.bool_]],
    geometry: Sequence[GeometryTile],
    *,
    smooth_iterations: int = 40,
    shading: Shading = "occlusion",
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
        Per tile the :class:`GeometryTile` of the same tile (``covered``, ``position``, ``normal``).
    smooth_iterations
        Sweeps that blend the fill into the known texture and across seams (0: none).
    shading
        What the fill carries into a hole besides its surroundings' colour (:mod:`lifecast.ml.shading_proxy`):
        ``"occlusion"`` darkens it by the ambient occlusion, as much as the known texels show it (none where the
        texture was delit or painted); ``"lighting"`` also by the normal's fitted lighting (extrapolated into the
        hole's normals: it won on procedural skin, lost on the Lee Perry-Smith scan); ``"none"``.
    progress
        Called with a fraction in ``[0, 1]`` and a message.

    Returns
    -------
    list of ``(s, s, 3) float32``
        New textures: known texels (covered and not in ``fill``) unchanged, the rest filled.

    Raises
    ------
    InputError
        When the lists' lengths or a tile's shapes disagree, or no covered texel is known.
    """
    _check(textures, fill, geometry)
    known = [g.covered & ~np.asarray(f, bool) for f, g in zip(fill, geometry, strict=True)]
    holes = [g.covered & np.asarray(f, bool) for f, g in zip(fill, geometry, strict=True)]
    if not any(k.any() for k in known):
        raise InputError(
            "nothing to inpaint from: every covered texel of every tile is marked to fill (an all-True fill mask?)"
        )
    out = [np.array(t, np.float32, copy=True) for t in textures]
    if any(h.any() for h in holes):
        proxy = _fit_proxy(out, known, geometry, lighting=shading == "lighting") if shading != "none" else None
        spacing = texel_spacing([g.position for g in geometry], [g.covered for g in geometry])
        samples = []
        for t, g, k in zip(out, geometry, known, strict=True):
            shade = _shading_map(proxy, g)
            ratio = t if shade is None else t / shade[..., None]
            samples.append(block_samples(g.position, g.normal, ratio, k, spacing))
        points, normals, values, weights = (np.concatenate(a) for a in zip(*samples, strict=True))
        del samples
        pyramid = build_pyramid(
            points, normals, values, spacing, weights=weights, progress=scaled_progress(progress, 0.0, 0.4, "inpaint: ")
        )
        del points, normals, values, weights
        fill_progress = scaled_progress(progress, 0.4, 0.7, "inpaint: ")
        ratios, shades = [], []
        for i, (t, g, h) in enumerate(zip(out, geometry, holes, strict=True)):
            shade = _shading_map(proxy, g)
            ratio = t if shade is None else t / shade[..., None]  # without a proxy the fill goes straight in
            if h.any():
                ratio[h] = pull(pyramid, g.position[h], g.normal[h])
            ratios.append(ratio)
            shades.append(shade)
            fill_progress((i + 1) / len(out), f"tile {g.udim}")
        if smooth_iterations > 0:
            progress(0.7, "inpaint: blending the fill into the texture")
            smooth_across_charts(
                ratios,
                holes,
                [g.position for g in geometry],
                [g.normal for g in geometry],
                [g.covered for g in geometry],
                spacing,
                iterations=smooth_iterations,
            )
        for t, ratio, shade, h in zip(out, ratios, shades, holes, strict=True):
            t[h] = ratio[h] if shade is None else ratio[h] * shade[h][:, None]
        del ratios, shades
    for i, g in enumerate(geometry):
        out[i] = np.asarray(pad_edges(out[i], g.covered), np.float32)  # the unpadded copy is freed tile by tile
        progress(0.8 + 0.2 * (i + 1) / len(out), f"inpaint: padded tile {g.udim}")
    return out


def _fit_proxy(
    textures: Sequence[NDArray[np.float32]],
    known: Sequence[NDArray[np.bool_]],
    geometry: Sequence[GeometryTile],
    *,
    lighting: bool,
) -> ShadingProxy | None:
    """The shading proxy fitted to up to :data:`lifecast.ml.sh.FIT_SAMPLES` known texels of all tiles (a
    deterministic subset), or None where it would change nothing (no occlusion shows in the texture)."""
    counts = np.array([int(k.sum()) for k in known])
    if counts.sum() < 64:
        return None  # too few texels to measure any shading on
    rng = np.random.default_rng(0)
    colors, normals, ao = [], [], []
    for t, k, g, n in zip(textures, known, geometry, counts, strict=True):
        flat = np.flatnonzero(k.reshape(-1))
        take = min(n, int(np.ceil(FIT_SAMPLES * n / max(counts.sum(), 1))))
        pick = np.sort(rng.choice(flat, take, replace=False)) if take < n else flat
        colors.append(t.reshape(-1, 3)[pick])
        normals.append(g.normal.reshape(-1, 3)[pick])
        ao.append(g.ao.reshape(-1)[pick])
    proxy = fit_proxy(np.concatenate(colors), np.concatenate(normals), np.concatenate(ao), lighting=lighting)
    return None if proxy.ao_power == 0.0 and proxy.sh_power == 0.0 else proxy


def _shading_map(proxy: ShadingProxy | None, geometry: GeometryTile) -> NDArray[np.float32] | None:
    """``(s, s) float32`` the proxy on the tile's covered texels (1 elsewhere), None without a proxy."""
    if proxy is None:
        return None
    out = np.ones(geometry.covered.shape, np.float32)
    cov = geometry.covered
    out[cov] = proxy.shading(geometry.normal[cov], geometry.ao[cov])[:, 0]
    return out


def _check(
    textures: Sequence[NDArray[np.float32]], fill: Sequence[NDArray[np.bool_]], geometry: Sequence[GeometryTile]
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
    srgb = np.rint(linear_to_srgb(texture) * 255.0).astype(np.uint8)
    painted = cv2.inpaint(srgb, mask.astype(np.uint8), 3, cv2.INPAINT_TELEA)
    out = np.array(texture, np.float32, copy=True)
    out[mask] = srgb_to_linear(painted[mask].astype(np.float32) / 255.0)
    return out


def push_pull(texture: NDArray[np.float32], fill: NDArray[np.bool_], covered: NDArray[np.bool_]) -> NDArray[np.float32]:
    """The padding baseline: :func:`lifecast.bake.padding.pad_edges` (push-pull in UV) with ``covered & ~fill``
    known; ``(s, s, 3) float32`` in, the same out."""
    known = np.asarray(covered, bool) & ~np.asarray(fill, bool)
    return np.asarray(pad_edges(np.asarray(texture, np.float32), known), np.float32)


__all__ = ["Shading", "inpaint_tiles", "push_pull", "telea"]

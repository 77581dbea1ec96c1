"""Inpainting a texture set of a mesh, for the ``inpaint`` command and the pipeline's ``inpaint`` stage."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from lifecast.bake.padding import pad_edges
from lifecast.errors import InputError
from lifecast.mesh import TriMesh
from lifecast.ml.geometry_maps import BandedGeometry, GeometryTile, geometry_bands, geometry_maps, mesh_tiles
from lifecast.ml.inpaint import inpaint_tiles
from lifecast.ml.texture_files import (
    check_pattern,
    encode_for,
    read_mask,
    read_texture_set,
    staged_outputs,
    tile_path,
    write_image,
)
from lifecast.pipeline.stage import ProgressFn, no_progress, scaled_progress

#: Rays per texel for the occlusion the fill's shading proxy reads.
AO_SAMPLES = 8
#: Texels per tile side the occlusion is measured at (it is smooth; upsampled to the texture's size). At 4K, full-size
#: occlusion took 14 of the fill's 33 s.
AO_SIZE = 1024


def coarse_occlusion(
    mesh: TriMesh, tiles: Sequence[int], full: int, *, size: int = AO_SIZE
) -> list[NDArray[np.float32]]:
    """Per tile ``(a, a) float32`` ambient occlusion measured at ``a = min(size, full)`` texels, edge-padded into its
    gutters (so a chart's border texels never average in 0s when it is upsampled)."""
    coarse = geometry_maps(mesh, min(size, full), udims=list(tiles), ao_samples=AO_SAMPLES, cavity=False)
    return [
        np.asarray(pad_edges(np.where(c.covered, c.ao, 0.0).astype(np.float32), c.covered), np.float32) for c in coarse
    ]


def with_coarse_occlusion(
    mesh: TriMesh, geometry: Sequence[GeometryTile], tiles: Sequence[int], *, size: int = AO_SIZE
) -> list[GeometryTile]:
    """``geometry`` with ambient occlusion measured at ``size`` (when smaller than the tiles) and upsampled
    (:func:`coarse_occlusion`)."""
    full = geometry[0].size
    out = []
    for g, ao in zip(geometry, coarse_occlusion(mesh, tiles, full, size=size), strict=True):
        if ao.shape[0] != full:
            ao = np.asarray(cv2.resize(ao, (full, full), interpolation=cv2.INTER_LINEAR), np.float32)
        out.append(replace(g, ao=np.where(g.covered, np.clip(ao, 0.0, 1.0), 1.0).astype(np.float32)))
    return out


def fill_texture_set(
    mesh: TriMesh,
    textures: Sequence[NDArray[np.float32]],
    tiles: Sequence[int],
    holes: Sequence[NDArray[np.bool_]],
    *,
    in_place: bool = False,
    progress: ProgressFn = no_progress,
) -> tuple[list[NDArray[np.float32]], list[BandedGeometry]]:
    """Fill ``holes[i] (s, s)`` (and the gutters) of linear ``textures[i] (s, s, 3)`` of ``tiles``.

    The full-size geometry (positions, normals, occlusion upsampled from :func:`coarse_occlusion`) is rasterized
    band by band as the fill reads it (:func:`lifecast.ml.geometry_maps.geometry_bands`), never whole: an 8K
    tile needs about as much memory as a 4K one beyond the textures themselves. ``in_place``: fill ``textures``
    themselves (C-contiguous float32; no copy of every tile). Returns the filled textures and each tile's
    :class:`~lifecast.ml.geometry_maps.BandedGeometry` (``covered``: the texels on the surface).
    """
    size = textures[0].shape[0]
    ao = coarse_occlusion(mesh, tiles, size)
    progress(0.1, "occlusion measured")
    geometry = geometry_bands(mesh, size, udims=list(tiles), ao=ao)
    progress(0.2, "charts rasterized")
    filled = inpaint_tiles(textures, holes, geometry, in_place=in_place, progress=scaled_progress(progress, 0.2, 1.0))
    return filled, geometry


def inpaint_texture_set(
    mesh: TriMesh, texture: Path, out: Path, mask: Path | None, *, progress: ProgressFn = no_progress
) -> tuple[list[Path], dict[str, Any]]:
    """``lifecast inpaint``: read, fill, write every tile (all or nothing). Without ``mask``, only the texels no
    face covers are filled. Returns the files written and a summary."""
    tiles = mesh_tiles(mesh)
    check_pattern(out, tiles, "output")
    textures = [np.ascontiguousarray(t, np.float32) for t in read_texture_set(texture, tiles)]  # filled in place
    size = textures[0].shape[0]
    if mask is not None:
        check_pattern(mask, tiles, "mask")
        holes = [read_mask(tile_path(mask, u), size) for u in tiles]
        if not any(h.any() for h in holes):
            raise InputError(f"the mask {mask.name} marks nothing to fill (no white texels)", mask)
    else:
        holes = [np.zeros((size, size), bool) for _ in tiles]
    filled, geometry = fill_texture_set(mesh, textures, tiles, holes, in_place=True, progress=progress)
    paths = [tile_path(out, u) for u in tiles]
    with staged_outputs(paths) as temps:
        for tmp, image in zip(temps, filled, strict=True):
            write_image(tmp, encode_for(tmp, image))
    count = int(sum(int((h & g.covered).sum() + (~g.covered).sum()) for h, g in zip(holes, geometry, strict=True)))
    summary = {
        "filled_texels": count,
        "hole_texels": int(sum(int((h & g.covered).sum()) for h, g in zip(holes, geometry, strict=True))),
        "tiles": list(tiles),
    }
    return paths, summary


__all__ = [
    "AO_SAMPLES",
    "AO_SIZE",
    "coarse_occlusion",
    "fill_texture_set",
    "inpaint_texture_set",
    "with_coarse_occlusion",
]

"""Delighting a texture set of a mesh, for the ``delight`` command and the pipeline's ``delight`` stage."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch
from numpy.typing import NDArray

from lifecast.ml.delight import Decode, DelitTile, delight_arrays, shading_percentiles
from lifecast.ml.geometry_maps import GeometryTile
from lifecast.ml.texture_files import encode_for, read_mask, staged_outputs, tile_path, write_image
from lifecast.pipeline.stage import ProgressFn, no_progress


def shading_pattern(out: Path) -> Path:
    """``head_albedo.<UDIM>.png`` -> ``head_albedo_shading.<UDIM>.exr`` (the shading written beside an albedo)."""
    stem, _, rest = out.name.partition(".")
    middle = rest.rsplit(".", 1)[0] + "." if "." in rest else ""
    return out.with_name(f"{stem}_shading.{middle}exr")


def output_paths(out: Path, tiles: Sequence[int]) -> list[tuple[Path, Path]]:
    """``(albedo, shading)`` file of every tile for the output pattern ``out``."""
    shading = shading_pattern(out)
    return [(tile_path(out, u), tile_path(shading, u)) for u in tiles]


@dataclass(frozen=True)
class DelitSet:
    """A texture set delit: each tile's albedo and shading, and numbers for the summary."""

    tiles: list[DelitTile]
    summary: dict[str, Any]

    def write(self, paths: Sequence[tuple[Path, Path]]) -> list[Path]:
        """Write every tile's albedo and shading (all or nothing); returns the files written."""
        flat = [p for pair in paths for p in pair]
        with staged_outputs(flat) as temps:
            for tile, (tmp_albedo, tmp_shading) in zip(
                self.tiles, zip(temps[::2], temps[1::2], strict=True), strict=True
            ):
                write_image(tmp_albedo, encode_for(tmp_albedo, tile.albedo))
                write_image(tmp_shading, tile.shading.astype(np.float32))
        return flat


def _excluding(geometry: GeometryTile, mask: NDArray[np.bool_] | None) -> GeometryTile:
    if mask is None:
        return geometry
    small = cv2.resize(mask.astype(np.uint8), (geometry.size, geometry.size), interpolation=cv2.INTER_NEAREST) > 0
    return replace(geometry, covered=geometry.covered & ~small)


def delight_texture_set(
    model: torch.nn.Module | None,
    textures: Sequence[NDArray[np.generic]],
    geometry: Sequence[GeometryTile],
    *,
    mask: Path | Sequence[NDArray[np.bool_] | None] | None = None,
    decode: Decode | None = None,
    device: str = "cpu",
    fill_shadows: bool = True,
    progress: ProgressFn = no_progress,
) -> DelitSet:
    """Delight linear ``textures[i] (h, h, 3)`` of the tiles ``geometry[i]`` (at the working size).

    ``mask``: texels the fit and the model ignore (their albedo is divided by the shading around them): a
    ``<UDIM>`` pattern of mask images (white = ignore), arrays per tile, or ``None``. ``decode``: the textures are
    encoded (e.g. 8-bit sRGB codes) and this turns rows of them into linear float32, band by band (an 8K texture
    is never held as float whole). ``model=None``: the SH fit alone (the baseline). ``fill_shadows``: texels in
    shadow too deep to divide take their albedo from the lit surface around them (:mod:`lifecast.ml.deep_shadow`).
    """
    size = textures[0].shape[0]
    if isinstance(mask, Path):
        masks: list[NDArray[np.bool_] | None] = [read_mask(tile_path(mask, g.udim), size) for g in geometry]
    else:
        masks = list(mask) if mask is not None else [None] * len(geometry)
    used = [_excluding(g, m) for g, m in zip(geometry, masks, strict=True)]
    covered_full = [
        cv2.resize(g.covered.astype(np.uint8), (size, size), interpolation=cv2.INTER_NEAREST) > 0 for g in used
    ]
    tiles = delight_arrays(
        model,
        textures,
        used,
        covered_full,
        decode=decode,
        device=device,
        fill_shadows=fill_shadows,
        progress=progress,
    )
    p5, p95 = shading_percentiles([t.shading for t in tiles], covered_full, (5, 95))
    counts = [int(g.covered.sum()) for g in used]
    filled = sum(t.shadow_filled * n for t, n in zip(tiles, counts, strict=True)) / max(sum(counts), 1)
    summary = {
        "shading_p5": round(p5, 4) if p5 is not None else None,
        "shading_p95": round(p95, 4) if p95 is not None else None,
        "shadow_filled": round(filled, 4),
    }
    return DelitSet(tiles, summary)


__all__ = ["DelitSet", "delight_texture_set", "output_paths", "shading_pattern"]

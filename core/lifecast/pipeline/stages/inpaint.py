"""The ``inpaint`` stage: fill the albedo where the scan was not reached, from its neighbours on the surface.

The texture stage bakes a ``holes`` map (texels whose ray found no scan within the cage and took the closest
point); this stage fills those texels of every LOD's albedo (the delit one when ``delight`` ran) chart- and
seam-aware (:mod:`lifecast.ml.inpaint`), and re-pads the gutters from the filled charts. A LOD without holes is
left as it was. Its files overlay the earlier stages' in the asset: ``<name>_lod<i>_albedo.<UDIM>.png``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from lifecast.mesh import TriMesh
from lifecast.pipeline.stage import StageContext, scaled_progress
from lifecast.pipeline.stages.delight import albedo_files, sibling_map
from lifecast.pipeline.store import StageFile

#: version 2: the blending sweeps no longer diverge on a seam pair of tiny charts (lifecast.ml.chart_smooth).
VERSION = "2"


def _holes(maps_dir: Path, albedo: Path, tiles: list[int], size: int) -> list[Any] | None:
    """The ``holes`` tiles beside an albedo pattern (``None`` when the bake wrote none)."""
    from lifecast.ml.texture_files import read_mask, tile_path

    pattern = maps_dir / sibling_map(albedo.name, "holes", ".png")
    if not all(tile_path(pattern, u).is_file() for u in tiles):
        return None
    return [read_mask(tile_path(pattern, u), size) for u in tiles]


def run(ctx: StageContext) -> dict[str, Any]:
    """Outputs ``textures`` (unchanged names), ``maps`` (the filled albedo files) and ``summary``."""
    from lifecast.ml.run_inpaint import fill_texture_set
    from lifecast.ml.texture_files import encode_for, read_texture_set, tile_path, write_image

    base = "photos" if "photos" in ctx.inputs else "texture"  # where the albedo and its holes map were made
    source = "delight" if "delight" in ctx.inputs else base
    textures: list[dict[str, str]] = [dict(t) for t in ctx.input(source, "textures")]
    albedo_maps: StageFile | None = ctx.input(source, "maps")
    baked: StageFile | None = ctx.input(base, "maps")
    lods: list[TriMesh] = ctx.input("uv", "lods")
    out = ctx.files_dir / "maps"
    out.mkdir(parents=True, exist_ok=True)
    summary: dict[str, Any] = {"filled_lods": 0, "hole_texels": {}}
    todo = [i for i, t in enumerate(textures) if t.get("albedo") and not t["albedo"].endswith(".exr")]
    if albedo_maps is None or baked is None:
        todo = []
    for k, i in enumerate(todo):
        assert albedo_maps is not None and baked is not None
        relative = textures[i]["albedo"]
        pattern, tiles = albedo_files(albedo_maps.path, relative)
        if not all(tile_path(pattern, u).is_file() for u in tiles):  # delight skipped this LOD: the bake's file
            pattern, tiles = albedo_files(baked.path, relative)
        lit = read_texture_set(pattern, tiles, "albedo")
        holes = _holes(baked.path, pattern, tiles, lit[0].shape[0])
        count = 0 if holes is None else int(sum(int(h.sum()) for h in holes))
        summary["hole_texels"][f"lod{i}"] = count
        if holes is None or count == 0:
            continue
        step = scaled_progress(ctx.progress, k / len(todo), (k + 1) / len(todo), f"LOD{i}: ")
        lit = [np.ascontiguousarray(t, np.float32) for t in lit]  # no copy when already so: filled in place
        filled, _ = fill_texture_set(lods[i], lit, tiles, holes, in_place=True, progress=step)
        for udim, image in zip(tiles, filled, strict=True):
            target = out / tile_path(pattern, udim).name
            tmp = target.with_name(".tmp_" + target.name)
            write_image(tmp, encode_for(tmp, image))
            tmp.replace(target)
        summary["filled_lods"] += 1
    ctx.progress(1.0)
    return {"textures": textures, "maps": StageFile("maps", ctx.files_dir), "summary": summary}


__all__ = ["VERSION", "run"]

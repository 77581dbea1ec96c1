"""The ``delight`` stage: remove the capture's lighting from every LOD's baked albedo (:mod:`lifecast.ml.delight`).

For each LOD with an albedo, writes into its ``maps`` folder:

- ``<name>_lod<i>_albedo.<UDIM>.png``: the delit albedo (what the material reads from here on);
- ``<name>_lod<i>_albedo_raw.<UDIM>.png``: the bake as it was, for artists to compare;
- ``<name>_lod<i>_shading.<UDIM>.exr``: the shading removed (linear, mean 1; albedo x shading = the bake).

Texels in shadow too deep to divide take their albedo from the lit surface around them (``shadow_fill``,
:mod:`lifecast.ml.deep_shadow`); the share is in the summary (``shadow_filled``).

The geometry maps come from the LOD itself at the working size. The weights' hash is part of the key, so new
weights rerun the stage.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from lifecast.mesh import TriMesh
from lifecast.pipeline.stage import StageContext, scaled_progress
from lifecast.pipeline.store import StageFile

#: version 2: the subject's adapter (``adapter_sha256``), when one is usable.
#: version 3: LOD *i* predicts its shading at ``work_size / 2**i`` (as its texture is halved), never below 256.
#: version 4: deep shadows take their albedo from the lit surface around them (``shadow_fill``, on by default).
VERSION = "4"
#: The smallest working size a LOD's shading is predicted at.
MIN_WORK_SIZE = 256


def lod_work_size(work_size: int, lod: int, texture_size: int) -> int:
    """Texels per tile side LOD ``lod``'s shading is predicted at: ``work_size`` halved per LOD like its texture,
    at least :data:`MIN_WORK_SIZE`, at most the texture's size."""
    return min(texture_size, max(MIN_WORK_SIZE, work_size >> lod))


def sibling_map(albedo_name: str, channel: str, suffix: str) -> str:
    """The file beside an albedo: ``head_lod0_albedo.<UDIM>.png`` -> ``head_lod0_<channel>.<UDIM><suffix>``.

    The channel is the last ``_albedo.`` in the name, so an asset whose own name holds ``_albedo`` is left whole.
    """
    head, sep, tail = albedo_name.rpartition("_albedo.")
    if not sep:
        raise ValueError(f"not an albedo map name: {albedo_name!r}")
    return f"{head}_{channel}.{tail.rsplit('.', 1)[0]}{suffix}"


def albedo_files(maps_dir: Path, relative: str) -> tuple[Path, list[int]]:
    """The albedo pattern named by a ``textures`` entry (``maps/<file>``, ``<UDIM>`` or one file) under the
    stage folder holding ``maps_dir``, and the tiles present."""
    pattern = maps_dir.parent / relative
    if "<UDIM>" not in pattern.name:
        return pattern, [1001]
    head, tail = pattern.name.split("<UDIM>", 1)
    tiles = sorted(int(p.name[len(head) : -len(tail)]) for p in pattern.parent.glob(f"{head}*{tail}"))
    return pattern, tiles


def run(ctx: StageContext) -> dict[str, Any]:
    """Outputs ``textures`` (the albedo entries now name the delit files), ``maps`` (this stage's files) and
    ``summary``."""
    from lifecast.ml.geometry_maps import geometry_maps
    from lifecast.ml.run_delight import delight_texture_set
    from lifecast.ml.texture_files import read_texture_set, tile_path
    from lifecast.ml.weights import load_delight_model, released_base

    p = ctx.params
    lods: list[TriMesh] = ctx.input("uv", "lods")
    # The albedo comes from the photos when a photo job projected them (the ``photos`` stage), else from the bake.
    source = "photos" if "photos" in ctx.inputs else "texture"
    textures: list[dict[str, str]] = [dict(t) for t in ctx.input(source, "textures")]
    maps: StageFile | None = ctx.input(source, "maps")
    out = ctx.files_dir / "maps"
    out.mkdir(parents=True, exist_ok=True)
    todo = [i for i, t in enumerate(textures) if t.get("albedo")]
    if maps is None or not todo:
        return {"textures": textures, "maps": StageFile("maps", ctx.files_dir), "summary": {"delit_lods": 0}}
    from lifecast.ml.adapters import model_for_stage

    # The base the key names: the newest, or an older release the subject's adapter was trained on.
    base = released_base(p["weights_sha256"]) if p["weights_sha256"] else None
    model, _ = load_delight_model(base, device=p["device"])
    if ctx.resources.get("adapter_note"):
        ctx.log(str(ctx.resources["adapter_note"]))
    adapter = {"adapter_sha256": p["adapter_sha256"], "adapter_card": ctx.resources.get("adapter_card", "")}
    model = model_for_stage(model, adapter, base_sha256=p["weights_sha256"])
    summary: dict[str, Any] = {
        "delit_lods": 0,
        "weights": p["weights_sha256"],
        "adapter": p["adapter_sha256"],
        "lods": {},
    }
    for k, i in enumerate(todo):
        relative = textures[i]["albedo"]
        if relative.endswith(".exr"):
            ctx.warn(f"LOD{i}: the delight reads sRGB albedo; the ACEScg EXR albedo is kept as baked")
            continue
        pattern, tiles = albedo_files(maps.path, relative)
        step = scaled_progress(ctx.progress, k / len(todo), (k + 1) / len(todo), f"LOD{i}: ")
        lit = read_texture_set(pattern, tiles, "baked albedo")
        size = lit[0].shape[0]
        geometry = geometry_maps(
            lods[i], lod_work_size(p["work_size"], i, size), udims=tiles, device=p["device"], progress=step
        )
        result = delight_texture_set(
            model, lit, geometry, device=p["device"], fill_shadows=p["shadow_fill"], progress=step
        )
        stem = sibling_map(pattern.name, "albedo_raw", pattern.suffix)
        for udim in tiles:
            shutil.copyfile(tile_path(pattern, udim), out / tile_path(Path(stem), udim).name)
        shading = sibling_map(pattern.name, "shading", ".exr")
        result.write([(out / tile_path(pattern, u).name, out / tile_path(Path(shading), u).name) for u in tiles])
        summary["lods"][f"lod{i}"] = result.summary
        summary["delit_lods"] += 1
    ctx.progress(1.0)
    return {"textures": textures, "maps": StageFile("maps", ctx.files_dir), "summary": summary}


__all__ = ["MIN_WORK_SIZE", "VERSION", "albedo_files", "lod_work_size", "run", "sibling_map"]

"""The ``texture`` stage: bake the scan onto every LOD's UVs (LOD *i* at ``texture_size / 2**i``, never below 512)."""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from lifecast.mesh import TriMesh
from lifecast.pipeline.stage import StageContext, scaled_progress
from lifecast.pipeline.stages.uv import lod_texture_size
from lifecast.pipeline.store import StageFile

#: version 3: one ray per texel from the cage inwards (outermost hit), the albedo colour space.
#: version 4: ``textures`` lists the cavity map too (the MaterialX look's specular weight reads it).
#: version 5: the automatic cage is measured across the low triangles too (a 4.5M-triangle scan's LOD2 missed on 53 %
#: of its texels), on a wrapped template's fitted vertices only (its eyes and mouth bag set a 4.5 cm cage on the
#: sample: 4 cm spikes), and a cage miss's displacement is 0.
VERSION = "5"
#: The maps the USD material reads (cavity: the MaterialX look only); the others are baked beside it.
MATERIAL_CHANNELS = ("albedo", "normal", "displacement", "cavity")


def run(ctx: StageContext) -> dict[str, Any]:
    """Outputs ``textures`` (per LOD, the material's map paths by channel), the ``maps`` folder and ``summary``."""
    from lifecast.bake import bake_maps

    p = ctx.params
    source: TriMesh = ctx.input("clean", "mesh")
    lods: list[TriMesh] = ctx.input("uv", "lods")
    # A wrapped template's LOD0: only its fitted vertices lie on the scan (not its eyes, mouth bag, nostrils).
    on_scan: NDArray[np.bool_] | None = ctx.input("wrap", "lod0_on_scan") if "wrap" in ctx.inputs else None
    maps = [m for m in p["maps"]]
    if "albedo" in maps and source.vertex_colors is None and source.texture is None:
        ctx.warn("the scan has no colour (no vertex colours, no texture): no albedo map, a plain material")
        maps.remove("albedo")
    textures: list[dict[str, str]] = [{} for _ in lods]
    if not maps:
        return {"textures": textures, "maps": None, "summary": {"maps": 0}}
    out = ctx.files_dir / "maps"
    coverage: list[float] = []
    seconds: dict[str, float] = {}
    misses = 0
    n = len(lods)
    for i, mesh in enumerate(lods):
        size = lod_texture_size(p["texture_size"], i)
        name = f"{p['name']}_lod{i}"
        result = bake_maps(
            source,
            mesh,
            maps=maps,
            size=size,
            out_dir=out,
            name=name,
            cage=p["cage"],
            udims="auto",
            device=p["device"],
            # Charts lifecast unwrapped never overlap (xatlas packs them apart); texels counted twice there are
            # conservative edges meeting. Kept scan UVs can really overlap (mirrored halves): refuse those.
            # A template's layout is the template's: its owner decided what shares texels.
            allow_overlapping_uvs=not p["keep_uvs"] or bool(p.get("template_uvs")),
            on_scan=on_scan if i == 0 and on_scan is not None and len(on_scan) == len(mesh.vertices) else None,
            albedo_colorspace=p["albedo_colorspace"],
            progress=scaled_progress(ctx.progress, i / n, (i + 1) / n, f"LOD{i} {size}px: "),
        )
        for channel, tiles in result.paths.items():
            if channel not in MATERIAL_CHANNELS or not tiles:
                continue
            first = next(iter(tiles.values()))
            single = len(tiles) == 1 and 1001 in tiles
            textures[i][channel] = f"maps/{first.name}" if single else f"maps/{name}_{channel}.<UDIM>{first.suffix}"
        coverage.extend(result.coverage.values())
        misses += result.cage_misses
        for step, s in result.seconds.items():
            seconds[step] = round(seconds.get(step, 0.0) + s, 3)
    ctx.progress(1.0)
    return {
        "textures": textures,
        "maps": StageFile("maps", ctx.files_dir),
        "summary": {
            "maps": list(maps),
            "coverage_mean": round(float(np.mean(coverage)), 4) if coverage else 0.0,
            "cage_misses": misses,
            "seconds": seconds,
        },
    }


__all__ = ["MATERIAL_CHANNELS", "VERSION", "run"]

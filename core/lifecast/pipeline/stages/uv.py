"""The ``uv`` stage: unwrap every LOD (optionally over UDIM tiles), or keep the scan's or the template's UVs."""

from __future__ import annotations

from typing import Any

from lifecast.errors import InputError
from lifecast.mesh import TriMesh
from lifecast.pipeline.stage import StageContext, scaled_progress

#: version 2: charts grow to a bounded boundary (lifecast.uv.unwrap.DEFAULT_MAX_CHART_BOUNDARY).
VERSION = "2"
#: The smallest texture an LOD below LOD0 gets.
MIN_LOD_TEXTURE = 512


def run(ctx: StageContext) -> dict[str, Any]:
    """Outputs ``lods`` with UVs, their ``texel_density`` (one per LOD) and ``summary``."""
    from lifecast.uv import texel_density, udim_layout, unwrap

    p = ctx.params
    lods: list[TriMesh] = ctx.input(_geometry_stage(ctx), "lods")
    out: list[TriMesh] = []
    densities = []
    weights = [float(len(m.faces)) for m in lods]
    done = 0.0
    total = sum(weights)
    for i, mesh in enumerate(lods):
        size = lod_texture_size(p["texture_size"], i)

        sub = scaled_progress(ctx.progress, done / total, (done + weights[i]) / total, f"LOD{i}: ")
        if p.get("template_uvs"):
            if not mesh.has_uvs:
                raise InputError("the wrapped template has no UVs to keep")
            ctx.log(f"LOD{i}: keeping the template's UVs")
        elif p["keep_uvs"] and mesh.has_uvs:
            ctx.log(f"LOD{i}: keeping the scan's UVs")
        else:
            if p["keep_uvs"]:
                ctx.warn(f"LOD{i}: --keep-uvs asked, but this level has no UVs to keep; unwrapping")
            mesh = unwrap(mesh.with_(uvs=None, face_uvs=None), texture_size=size, progress=sub)
            if p["udims"] > 1:
                mesh = udim_layout(mesh, p["udims"])
        out.append(mesh)
        densities.append(texel_density(mesh, size))
        done += weights[i]
    ctx.progress(1.0)
    return {"lods": out, "texel_density": densities, "summary": {"uv_sets": len(out)}}


def _geometry_stage(ctx: StageContext) -> str:
    """The stage the meshes come from: ``wrap`` with a template, else ``lod``."""
    return "wrap" if "wrap" in ctx.inputs else "lod"


def lod_texture_size(texture_size: int, lod_index: int) -> int:
    """Texture size of LOD ``lod_index``: halved per level, never below 512 (or the base size)."""
    return max(min(MIN_LOD_TEXTURE, texture_size), texture_size >> lod_index)


__all__ = ["MIN_LOD_TEXTURE", "VERSION", "lod_texture_size", "run"]

"""The ``export`` stage: write the ASWF-layout USD asset and validate it."""

from __future__ import annotations

import shutil
from typing import Any

from lifecast.mesh import METERS_PER_UNIT, TriMesh
from lifecast.pipeline.stage import StageContext
from lifecast.pipeline.store import StageFile

#: version 4: a wrapped template's LOD0 keeps the template's polygons (quads) and per-corner UVs.
#: version 5: the normals authored are the angle-weighted ones the maps were baked against.
#: version 6: the material carries the look's MaterialX network (``look``) beside UsdPreviewSurface.
#: version 7: the maps of the texture model stages (delight, inpaint) overlay the bake's.
VERSION = "7"
#: Stages whose ``maps`` overlay the bake's, in order (a later one's file replaces an earlier one's).
MAP_STAGES = ("texture", "photos", "delight", "inpaint")


def run(ctx: StageContext) -> dict[str, Any]:
    """The USD asset; a wrapped template's LOD0 is authored with the template's polygons, not its triangles.

    Inputs of the look left unconnected (a map it reads was not baked) are warned about and returned as ``notes``.
    """
    from lifecast.usd import PolygonFaces, export_asset, validate_asset

    p = ctx.params
    lods: list[TriMesh] = ctx.input("uv", "lods")
    polygons: list[PolygonFaces | None] = [None] * len(lods)
    last = [s for s in MAP_STAGES if s in ctx.inputs][-1]
    textures: list[dict[str, str]] = ctx.input(last, "textures")
    asset_dir = ctx.files_dir / "asset"
    for stage in MAP_STAGES:
        maps: StageFile | None = ctx.input(stage, "maps") if stage in ctx.inputs else None
        if maps is not None and maps.path.is_dir():
            shutil.copytree(maps.path, asset_dir / "maps", dirs_exist_ok=True)
    provenance = dict(p["provenance"])
    if "wrap" in ctx.inputs:
        wrap_files: StageFile = ctx.input("wrap", "files")
        shutil.copytree(wrap_files.path, asset_dir / "wrap")
        report: dict[str, Any] = ctx.input("wrap", "report")
        skip = ("landmark_residuals", "notes")
        provenance["wrap"] = {k: v for k, v in report.items() if k not in skip and v is not None}
        polygons[0] = PolygonFaces(
            ctx.input("wrap", "lod0_polygon_counts"),
            ctx.input("wrap", "lod0_polygon_vertices"),
            ctx.input("wrap", "lod0_polygon_uvs"),
        )
    ctx.progress(0.2, "writing USD")
    files = export_asset(
        asset_dir,
        p["name"],
        lods,
        albedo=[t.get("albedo") for t in textures],
        normal=[t.get("normal") for t in textures],
        displacement=[t.get("displacement") for t in textures],
        cavity=[t.get("cavity") for t in textures],
        meters_per_unit=METERS_PER_UNIT[p["asset_units"]],
        up_axis="Y",
        provenance=provenance,
        albedo_color_space=p["albedo_colorspace"],
        polygons=polygons,
        look=p["look"],
    )
    for note in files.notes:
        ctx.warn(note)
    ctx.progress(0.8, "validating")
    errors = validate_asset(files.root)
    if errors:
        raise RuntimeError("exported asset does not validate: " + "; ".join(errors[:5]))
    ctx.progress(1.0)
    return {
        "asset_dir": StageFile("asset", ctx.files_dir),
        "summary": {"lods": len(lods), "validation_errors": 0, "look": p["look"]},
        "notes": list(files.notes),
    }


__all__ = ["MAP_STAGES", "VERSION", "run"]

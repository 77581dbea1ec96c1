"""The ``wrap`` stage (with ``--template``, in the place of ``lod``): the template wrapped onto the cleaned scan."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from lifecast.errors import InputError
from lifecast.mesh import METERS_PER_UNIT, TriMesh
from lifecast.pipeline.stage import StageContext, scaled_progress
from lifecast.pipeline.stages.ingest import to_asset_space
from lifecast.pipeline.store import StageFile

#: version 2: outputs the template's polygons (lod0_polygon_*) beside the triangulated LOD0.
#: version 3: outputs which LOD0 vertices lie on the scan (lod0_on_scan: the template's fitted ones).
VERSION = "3"


def run(ctx: StageContext) -> dict[str, Any]:
    """The template wrapped onto the cleaned scan: one LOD on the template's topology, with its UVs.

    ``lods[0]`` is the template's fan triangulation (what the bake needs); ``lod0_polygon_*`` are the
    template's own polygons (``(p,)`` corner counts, ``(c,)`` corner vertices, ``(c,)`` corner UV indices or
    ``None``), which the export authors in place of those triangles.
    """
    from lifecast.wrap.builtin import resolve_template
    from lifecast.wrap.wrap import wrap_scan

    p = ctx.params
    mesh: TriMesh = ctx.input("clean", "mesh")
    template = resolve_template(
        ctx.resources["template"],
        ctx.resources["template_landmarks"],
        progress=scaled_progress(ctx.progress, 0.0, 0.05),
    )
    landmarks = _asset_landmarks(ctx) if ctx.resources["landmarks"] is not None else None
    result = wrap_scan(
        mesh,
        template,
        scan_landmarks=landmarks,
        device=p["device"],
        progress=scaled_progress(ctx.progress, 0.05, 0.95),
    )
    report: dict[str, Any] = {"template": template.name} | result.report.as_dict()
    report["units"] = p["asset_units"]
    if result.phenotype is not None:
        report["phenotype"] = {k: round(v, 4) for k, v in result.phenotype.items()}
    if result.report.confidence == "low":
        ctx.warn("low confidence wrap: " + "; ".join(result.report.reasons))
    for note in result.report.notes:
        ctx.log(note)
    ctx.progress(0.97, "writing the wrapped template")
    out = ctx.files_dir / "wrap"
    out.mkdir()
    stem = f"{p['name']}_wrapped"
    result.write(out / f"{stem}.obj")
    (out / f"{stem}_fit.json").write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    np.save(out / f"{stem}_fit_distance.npy", result.fit_distance)
    lod0 = result.mesh()
    counts, corner_vertices, corner_uvs = result.polygon_corners()
    ctx.progress(1.0)
    return {
        "lods": [lod0],
        "lod0_polygon_counts": counts,
        "lod0_polygon_vertices": corner_vertices,
        "lod0_polygon_uvs": corner_uvs,
        "lod0_on_scan": np.asarray(result.template.fit_mask, bool),
        "report": report,
        "files": StageFile("wrap", ctx.files_dir),
        "summary": {
            "template": template.name,
            "vertices": len(lod0.vertices),
            "faces": len(lod0.faces),
            "polygons": len(counts),
            "mean_distance": report["mean_distance"],
            "p95_distance": report["p95_distance"],
            "coverage": report["coverage"],
            "flipped_faces": report["flipped_faces"],
            "confidence": report["confidence"],
        },
    }


def _asset_landmarks(ctx: StageContext) -> dict[str, np.ndarray]:
    """The scan landmarks in asset space: points through the ingest's units and up-axis conversion,
    vertex indices looked up in the ingested scan (its vertices keep the file's order)."""
    from lifecast.wrap.landmarks import needs_vertices, read_landmark_file, resolve_landmarks

    path: Path = ctx.resources["landmarks"]
    specs = read_landmark_file(path)
    summary: dict[str, Any] = ctx.input("ingest", "summary")
    if needs_vertices(specs) and summary.get("point_cloud"):
        raise InputError(
            "landmarks given as vertex indices cannot be used on a point cloud (it is meshed anew): give positions",
            path,
        )
    scale = METERS_PER_UNIT[summary["scan_units"]] / METERS_PER_UNIT[ctx.params["asset_units"]]
    ingested: TriMesh = ctx.input("ingest", "mesh")
    points = {name: spec for name, spec in specs.items() if spec.vertex is None}
    out = resolve_landmarks({k: v for k, v in specs.items() if v.vertex is not None}, ingested.vertices, source=path)
    if points:
        resolved = resolve_landmarks(points, None, source=path)
        names = list(resolved)
        moved = to_asset_space(np.stack([resolved[n] for n in names]), scale, summary["scan_up"])
        out |= dict(zip(names, moved.astype(np.float64), strict=True))
    return {name: out[name] for name in specs}


__all__ = ["VERSION", "run"]

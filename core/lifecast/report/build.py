"""The QA report of a published asset folder: read what the asset holds, make the pictures, render the page."""

from __future__ import annotations

from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

import lifecast
from lifecast.preview.zbuffer import DEFAULT_BACKGROUND
from lifecast.report.asset_files import AssetMesh, find_maps, lod_variants, read_asset_mesh, read_wrap_residuals
from lifecast.report.contact_sheet import ContactSheet, contact_sheet
from lifecast.report.heatmap import heatmap_views, residual_scale, to_mm
from lifecast.report.html import ReportPage, Residuals, render_report
from lifecast.report.renders import read_renders
from lifecast.report.views import HoleView, View, hole_views, shaded_views

__all__ = ["MAX_HOLE_VIEWS", "assess", "build_qa_report"]

#: Views of open holes shown at most (the largest ones).
MAX_HOLE_VIEWS = 4


def build_qa_report(asset_dir: Path, qa: Mapping[str, Any], *, thumbnail_size: int = 256, view_size: int = 352) -> str:
    """The HTML QA report of the asset in ``asset_dir`` (``asset.usda``, ``maps/``, ``wrap/``).

    Parameters
    ----------
    asset_dir
        A finished asset folder, as the export stage writes it and ``publish`` copies it.
    qa
        Its QA report (what ``qa_report.json`` holds: the clean stage's numbers, ``wrap``, ``texel_density``).
    thumbnail_size, view_size
        Longest side of a map's thumbnail and size of the shaded views, pixels.

    Returns
    -------
    str
        One self-contained HTML page (pictures embedded as PNG data URIs).
    """
    asset = asset_dir / "asset.usda"
    name, provenance = _asset_identity(asset)
    units = str((qa.get("after") or {}).get("units") or (qa.get("before") or {}).get("units") or "cm")
    with ThreadPoolExecutor(max_workers=1) as pool:  # the maps decode while the meshes render
        reading = pool.submit(contact_sheet, find_maps(asset_dir / "maps"), thumbnail_size, units)
        mesh = read_asset_mesh(asset)
        residuals = _residuals(asset_dir, mesh, units)
        holes = [] if residuals is not None or qa.get("wrap") else _hole_views(asset, mesh, qa, thumbnail_size)
        sheet = reading.result()
    status, warnings = assess(qa, sheet)
    renders, renders_note, current = _renders(asset_dir)
    if renders and not current:
        warnings.append("the Blender renders show an earlier version of the asset: rerun lifecast qa render")
        status = "review"
    report = ReportPage(
        name=name,
        status=status,
        warnings=warnings,
        facts=_facts(qa, provenance, mesh, sheet, units),
        views=shaded_views(mesh, sheet.albedo, size=view_size),
        sheet=sheet,
        qa=qa,
        units=units,
        residuals=residuals,
        holes=holes,
        lod_triangles={0: len(mesh.triangles)},
        renders=renders,
        renders_note=renders_note,
        footer=f"lifecast {lifecast.__version__}: {asset_dir.name}/qa_report.html, beside qa_report.json",
    )
    return render_report(report)


def assess(qa: Mapping[str, Any], sheet: ContactSheet | None = None) -> tuple[str, list[str]]:
    """``("ok" | "review", warnings)``: what an artist should look at before the asset moves on.

    Holes left open (in a scan's own mesh, not under a wrapped template), a low-confidence wrap, and a map
    tile whose bake covered no texel.
    """
    warnings = []
    left = qa.get("holes_left") or []
    wrap = qa.get("wrap") or {}
    if left and not wrap:  # a wrapped template is whole: the scan's holes are not the asset's
        units = (qa.get("after") or {}).get("units", "")
        largest = max(float(h.get("diameter", 0.0)) for h in left)
        warnings.append(f"{len(left)} hole(s) left open, the largest {largest:.3g} {units} across")
    if wrap.get("confidence") == "low":
        warnings.append("low confidence wrap: " + "; ".join(wrap.get("reasons") or ["see the wrap residuals"]))
    if sheet is not None:
        for t in sheet.thumbnails:
            if t.map.channel == "mask" and t.coverage == 0.0:
                warnings.append(f"LOD{t.map.lod} tile {t.map.udim}: the bake covered no texel")
    return ("review" if warnings else "ok"), warnings


def _hole_views(asset: Path, lod0: AssetMesh, qa: Mapping[str, Any], size: int) -> list[HoleView]:
    """Views of the largest holes left open, as many as the clean stage left (at most :data:`MAX_HOLE_VIEWS`).

    Seen on the coarsest LOD (the LOD chain keeps every boundary, and it renders in a fraction of the time).
    """
    count = min(len(qa.get("holes_left") or []), MAX_HOLE_VIEWS)
    if count == 0:
        return []
    lods = lod_variants(asset)
    mesh = read_asset_mesh(asset, lods[-1]) if len(lods) > 1 else lod0
    return hole_views(mesh, count, size=size)


def _renders(asset_dir: Path) -> tuple[list[View], str, bool]:
    """The Blender renders in ``qa/`` over the page's ground, a line saying what made them, whether they
    show this asset."""
    found = read_renders(asset_dir)
    if found is None:
        return [], "", False
    ground = np.asarray(DEFAULT_BACKGROUND) * 255.0
    views = []
    for label, rgba in found.images:
        alpha = rgba[..., 3:4].astype(np.float64) / 255.0
        rgb = rgba[..., :3].astype(np.float64) * alpha + ground * (1.0 - alpha)
        views.append(View(label, np.round(rgb).astype(np.uint8)))
    s = found.summary
    made = f"Blender {s.get('blender', '?')}, Cycles CPU, {s.get('samples', '?')} samples, uniform white light"
    if not found.current:
        return views, f"Of an earlier version of this asset ({made}): rerun lifecast qa render.", False
    return views, made + ".", True


def _asset_identity(asset: Path) -> tuple[str, dict[str, Any]]:
    """The asset's name (its default prim) and provenance (customData)."""
    from pxr import Usd

    stage = Usd.Stage.Open(str(asset), Usd.Stage.LoadNone)
    if stage is None:
        raise ValueError(f"not a readable USD asset: {asset}")
    root = stage.GetDefaultPrim()
    if not root:
        return asset.parent.name, {}
    provenance = root.GetCustomDataByKey("provenance")
    return root.GetName(), dict(provenance) if provenance else {}


def _residuals(asset_dir: Path, mesh: AssetMesh, units: str) -> Residuals | None:
    wrap = read_wrap_residuals(asset_dir / "wrap", units)
    if wrap is None or len(wrap.distance) != len(mesh.vertices):
        return None
    distance_mm = to_mm(wrap.distance, wrap.units)
    scale = residual_scale(wrap.report, distance_mm, wrap.units)
    r = wrap.report

    def mm(key: str) -> float:
        value = r.get(key)
        return float(to_mm(float(value), wrap.units)) if isinstance(value, int | float) else float("nan")

    landmarks = {k: float(to_mm(float(v), wrap.units)) for k, v in (r.get("landmark_residuals") or {}).items()}
    return Residuals(
        views=heatmap_views(mesh.vertices, mesh.triangles, distance_mm, scale),
        scale=scale,
        report=r,
        mean_mm=mm("mean_distance"),
        p95_mm=mm("p95_distance"),
        max_mm=mm("max_distance"),
        landmarks_mm=landmarks,
    )


def _facts(
    qa: Mapping[str, Any], provenance: Mapping[str, Any], mesh: AssetMesh, sheet: ContactSheet, units: str
) -> list[tuple[str, str]]:
    params = provenance.get("parameters") or {}
    facts = [("units", units), ("LODs", str(len(sheet.lods()) or 1)), ("LOD0", f"{len(mesh.triangles):,} triangles")]
    channels = sorted({t.map.channel for t in sheet.thumbnails} - {"mask"})
    if channels:
        facts.append(("maps", ", ".join(channels)))
    masks = [t.coverage for t in sheet.thumbnails if t.map.channel == "mask" and t.map.lod == 0]
    if masks and all(c is not None for c in masks):
        facts.append(("LOD0 coverage", f"{float(np.mean([c for c in masks if c is not None])):.1%}"))
    density = qa.get("texel_density") or []
    if density and isinstance(density[0], Mapping) and "p50" in density[0]:
        facts.append(("LOD0 texel density (median)", f"{density[0]['p50']:.3g} px/{units}"))
    template = (provenance.get("template") or {}).get("name") or (qa.get("wrap") or {}).get("template")
    if template:
        facts.append(("template", str(template)))
    if provenance.get("subject_id"):
        facts.append(("subject", str(provenance["subject_id"])))
    scan = (provenance.get("inputs") or {}).get("scan") or {}
    if scan.get("file"):
        facts.append(("scan", str(scan["file"])))
    if params.get("albedo_colorspace"):
        facts.append(("albedo", str(params["albedo_colorspace"])))
    return facts

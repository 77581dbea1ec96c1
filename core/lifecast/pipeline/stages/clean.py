"""The ``clean`` stage: repair the ingested scan and write the QA report."""

from __future__ import annotations

from typing import Any

from lifecast.errors import InputError
from lifecast.mesh import METERS_PER_UNIT, TriMesh
from lifecast.pipeline.stage import StageContext

VERSION = "1"


def run(ctx: StageContext) -> dict[str, Any]:
    """Outputs the cleaned ``mesh``, the QA ``report`` and ``summary``; warns of every hole left open."""
    from lifecast.geometry import clean_mesh

    p = ctx.params
    mm_to_units = 0.001 / METERS_PER_UNIT[p["asset_units"]]
    mesh: TriMesh = ctx.input("ingest", "mesh")
    cleaned, report = clean_mesh(
        mesh,
        units=p["asset_units"],
        min_component_fraction=p["min_component_fraction"],
        remove_ground_plane=p["remove_ground_plane"],
        fill_holes_max_diameter=p["fill_holes_mm"] * mm_to_units,
        progress=ctx.progress,
    )
    if len(cleaned.faces) == 0:
        raise InputError("nothing is left of the scan after cleaning (every face was degenerate or a floater)")
    for hole in report.get("holes_left", []):
        ctx.warn(
            f"hole left open: {hole.get('edges', '?')} boundary edges, diameter "
            f"{hole.get('diameter', float('nan')):.2f} {p['asset_units']} (over the {p['fill_holes_mm']} mm limit)"
        )
    after = report.get("after", {})
    return {
        "mesh": cleaned,
        "report": report,
        "summary": {
            "faces_before": report.get("before", {}).get("faces"),
            "faces_after": after.get("faces"),
            "holes_left": len(report.get("holes_left", [])),
            "components": after.get("components", {}).get("count")
            if isinstance(after.get("components"), dict)
            else after.get("components"),
        },
    }


__all__ = ["VERSION", "run"]

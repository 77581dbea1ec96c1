"""The ``lod`` stage: decimate the cleaned scan into an LOD chain, most detailed first."""

from __future__ import annotations

from typing import Any

from lifecast.mesh import TriMesh
from lifecast.pipeline.stage import StageContext

VERSION = "1"


def run(ctx: StageContext) -> dict[str, Any]:
    """Outputs ``lods``, one mesh per ``targets`` triangle count, and ``summary``."""
    from lifecast.geometry import build_lods

    mesh: TriMesh = ctx.input("clean", "mesh")
    lods = build_lods(mesh, tuple(ctx.params["targets"]), progress=ctx.progress)
    return {"lods": lods, "summary": {"faces": [len(m.faces) for m in lods]}}


__all__ = ["VERSION", "run"]

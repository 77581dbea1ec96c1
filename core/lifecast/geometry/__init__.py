"""Geometry: scan cleaning, holes, ground planes, QA reports, decimation and LODs.

``mesh_point_cloud`` (surface reconstruction from point clouds) lives in
:mod:`lifecast.geometry.reconstruct` and is imported lazily on first use,
so importing this package stays cheap and does not need open3d.
"""

from __future__ import annotations

from typing import Any

from lifecast.geometry.clean import DEFAULT_FILL_HOLES_MM, clean_mesh
from lifecast.geometry.decimate import decimate_mesh
from lifecast.geometry.holes import find_holes
from lifecast.geometry.lod import DEFAULT_LOD_TARGETS, build_lods
from lifecast.geometry.plane import find_ground_plane
from lifecast.geometry.qa import qa_report

__all__ = [
    "DEFAULT_FILL_HOLES_MM",
    "DEFAULT_LOD_TARGETS",
    "build_lods",
    "clean_mesh",
    "decimate_mesh",
    "find_ground_plane",
    "find_holes",
    "mesh_point_cloud",
    "qa_report",
]


def __getattr__(name: str) -> Any:
    # Lazy re-export of lifecast.geometry.reconstruct.mesh_point_cloud (written separately).
    if name == "mesh_point_cloud":
        from lifecast.geometry.reconstruct import mesh_point_cloud

        return mesh_point_cloud
    raise AttributeError(f"module 'lifecast.geometry' has no attribute {name!r}")

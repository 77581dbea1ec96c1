"""The ``ingest`` stage: read the scan (meshing a point cloud) and convert it to the asset's units and Y up."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lifecast.mesh import METERS_PER_UNIT, Scan, TriMesh, UpAxis
from lifecast.pipeline.stage import StageContext, scaled_progress

#: version 3: outputs ``scan_to_asset``, the transform from the scan file's coordinates to the asset's.
VERSION = "3"


def run(ctx: StageContext) -> dict[str, Any]:
    """Outputs ``mesh`` (in asset space), ``scan_to_asset`` (the ``(4, 4) float64`` matrix taking the scan file's
    coordinates there, :func:`asset_transform`), ``notes`` (what reading decided) and ``summary``."""
    from lifecast.io import read_scan

    p = ctx.params
    texture: Path | None = ctx.resources["texture"]
    ctx.progress(0.0, "reading")
    scan: Scan = read_scan(
        ctx.resources["scan"],
        texture=texture,
        units=p["units"],
        up=p["up"],
        progress=scaled_progress(ctx.progress, 0.0, 0.6),
    )
    notes = list(scan.notes)
    mesh = scan.mesh
    if mesh.is_point_cloud:
        from lifecast.geometry.reconstruct import mesh_point_cloud

        ctx.progress(0.6, f"meshing {len(mesh.vertices):,} points")
        mesh = mesh_point_cloud(
            mesh.vertices,
            normals=mesh.vertex_normals,
            colors=mesh.vertex_colors,
            progress=scaled_progress(ctx.progress, 0.6, 0.95),
        )
        notes.append(f"point cloud of {len(scan.mesh.vertices):,} points meshed to {len(mesh.faces):,} triangles")
    scale = METERS_PER_UNIT[scan.units] / METERS_PER_UNIT[p["asset_units"]]
    mesh = _mesh_to_asset_space(mesh, scale, scan.up)
    if scan.up == "z":
        notes.append("rotated from Z up to Y up")
    for note in notes:
        ctx.log(note)
    ctx.progress(1.0)
    return {
        "mesh": mesh,
        "scan_to_asset": asset_transform(scale, scan.up),
        "notes": notes,
        "summary": {
            "vertices": len(mesh.vertices),
            "faces": len(mesh.faces),
            "scan_units": scan.units,
            "scan_up": scan.up,
            "colour": _colour_source(mesh),
            "point_cloud": scan.mesh.is_point_cloud,
        },
    }


def to_asset_space(points: np.ndarray, scale: float, up: UpAxis) -> np.ndarray:
    """``(n, 3) float64`` scan-file points in asset space: scaled, and Z-up rotated to Y-up ``(x, z, -y)``."""
    v = np.asarray(points, np.float64).reshape(-1, 3) * scale
    if up == "z":
        v = np.stack([v[:, 0], v[:, 2], -v[:, 1]], axis=1)
    return v


def asset_transform(scale: float, up: UpAxis) -> NDArray[np.float64]:
    """The ``(4, 4) float64`` matrix of :func:`to_asset_space`: ``asset = M @ (x, y, z, 1)`` for a scan-file point.

    Things given in the scan file's frame (cameras, landmarks) are moved to the asset with it.
    """
    matrix = np.eye(4) * scale
    matrix[3, 3] = 1.0
    if up == "z":
        matrix[:3, :3] = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]]) * scale
    return matrix


def _mesh_to_asset_space(mesh: TriMesh, scale: float, up: UpAxis) -> TriMesh:
    """The mesh in asset space (:func:`to_asset_space`), normals rotated with it."""
    v = to_asset_space(mesh.vertices, scale, up)
    n = mesh.vertex_normals
    if up == "z" and n is not None:
        n = np.stack([n[:, 0], n[:, 2], -n[:, 1]], axis=1).astype(np.float32)
    return mesh.with_(vertices=v.astype(np.float32), vertex_normals=n)


def _colour_source(mesh: TriMesh) -> str:
    if mesh.texture is not None:
        return "texture"
    return "vertex" if mesh.vertex_colors is not None else "none"


__all__ = ["VERSION", "asset_transform", "run", "to_asset_space"]

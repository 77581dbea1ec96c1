"""Small scan files written on the fly for tests (tiny stand-ins for real scans)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.conftest import icosphere


def write_coloured_ply(path: Path, subdivisions: int = 3, radius_mm: float = 100.0) -> Path:
    """An icosphere in mm with vertex colours, as binary PLY (a tiny stand-in for a scan)."""
    mesh = icosphere(subdivisions, radius_mm)
    v, f = mesh.vertices, mesh.faces
    colours = ((v - v.min(0)) / np.ptp(v, 0) * 255).astype(np.uint8)
    header = (
        "ply\nformat binary_little_endian 1.0\ncomment units mm\n"
        f"element vertex {len(v)}\nproperty float x\nproperty float y\nproperty float z\n"
        "property uchar red\nproperty uchar green\nproperty uchar blue\n"
        f"element face {len(f)}\nproperty list uchar int vertex_indices\nend_header\n"
    )
    verts = np.zeros(len(v), dtype=[("p", "<f4", 3), ("c", "u1", 3)])
    verts["p"], verts["c"] = v, colours
    tris = np.zeros(len(f), dtype=[("n", "u1"), ("i", "<i4", 3)])
    tris["n"], tris["i"] = 3, f
    path.write_bytes(header.encode() + verts.tobytes() + tris.tobytes())
    return path

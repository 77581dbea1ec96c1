"""The readers on the real scans in ../shared/scans, and a raw range scan meshed end to end."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy.spatial import cKDTree

from lifecast.geometry.reconstruct import mesh_point_cloud
from lifecast.io import read_scan

pytestmark = pytest.mark.integration


def test_lee_perry_smith_obj_with_texture(shared_scans: Path) -> None:
    folder = shared_scans / "lee_perry_smith_head" / "obj_2k"
    scan = read_scan(folder / "head.obj", texture=folder / "Map-COL.jpg")
    mesh = scan.mesh
    assert mesh.faces.shape == (17684, 3)
    assert mesh.vertices.shape == (8844, 3)  # positions as in the file, not split at UV seams
    assert mesh.uvs is not None and mesh.face_uvs is not None
    assert mesh.uvs.shape == (8937, 2)
    assert mesh.face_uvs.max() == len(mesh.uvs) - 1
    assert mesh.texture is not None and mesh.texture.shape == (2048, 2048, 3)
    assert scan.up == "y" and any("guessed" in n for n in scan.notes)
    # closed once seams are merged: every edge has two faces
    f = mesh.faces
    edges = np.sort(np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]]), axis=1)
    _, counts = np.unique(edges, axis=0, return_counts=True)
    assert (counts == 2).all()


def test_lee_perry_smith_glb(shared_scans: Path) -> None:
    scan = read_scan(shared_scans / "lee_perry_smith_head" / "glb_1k" / "LeePerrySmith.glb")
    assert (scan.units, scan.up) == ("m", "y")
    assert scan.mesh.faces.shape == (17684, 3)
    assert scan.mesh.uvs is not None and len(scan.mesh.uvs) == len(scan.mesh.vertices)
    assert any("not the size of a person" in n for n in scan.notes)  # 8.5 "metres" across


def test_holed_bunny_ply(shared_scans: Path) -> None:
    scan = read_scan(shared_scans / "pymeshfix_bunny_with_holes" / "StanfordBunny.ply")
    assert scan.mesh.vertices.shape == (50000, 3) and scan.mesh.faces.shape == (99785, 3)


def test_demosthenes_obj(shared_scans: Path) -> None:
    scan = read_scan(shared_scans / "demosthenes_bust" / "demosthenes_demosthenes-low-res.obj")
    assert scan.mesh.vertices.shape == (8394, 3) and scan.mesh.faces.shape == (16719, 3)
    assert scan.mesh.uvs is None


def test_raw_range_scan_to_mesh(shared_scans: Path) -> None:
    scan = read_scan(shared_scans / "stanford_bunny_raw_scans" / "bun000.ply")
    assert scan.mesh.is_point_cloud and len(scan.mesh.vertices) == 40256
    assert scan.units == "m"  # 0.16 across, CRLF ASCII PLY with a range_grid element
    points = scan.mesh.vertices
    mesh = mesh_point_cloud(points)
    assert 1.0 * len(points) < len(mesh.faces) < 4.0 * len(points)
    # the surface stays on the scan: every vertex is within a few point spacings of a scanned point
    dist, _ = cKDTree(points).query(mesh.vertices)
    assert np.percentile(dist, 95) < 0.002  # 2 mm; the scan spacing is about 0.6 mm

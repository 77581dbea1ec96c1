"""OBJ reader: indexed UVs across seams, n-gons, negative indices, MTL textures, explicit texture override."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from lifecast.io import read_scan
from lifecast.io.obj import _map_file_name, parse_mtl_textures

# Two triangles sharing the edge 1-2 (0-based); the second uses its own UV copies of 1 and 2: a seam.
SEAM_OBJ = """# two triangles with a UV seam on their shared edge
mtllib skin.mtl
v 0 0 0
v 10 0 0
v 0 10 0
v 10 10 0
vt 0.0 0.0
vt 0.5 0.0
vt 0.0 0.5
vt 0.6 0.6
vt 1.0 0.6
vt 0.6 1.0
vn 0 0 1
usemtl skin
f 1/1/1 2/2/1 3/3/1
f 2/5/1 4/6/1 3/4/1
"""


def write_texture(path: Path, colour: tuple[int, int, int] = (200, 100, 50)) -> None:
    image = np.zeros((4, 8, 3), np.uint8)
    image[:] = colour[::-1]  # OpenCV writes BGR
    assert cv2.imwrite(str(path), image)


@pytest.fixture
def seam_obj(tmp_path: Path) -> Path:
    (tmp_path / "maps").mkdir()
    write_texture(tmp_path / "maps" / "albedo.png")
    (tmp_path / "skin.mtl").write_text("newmtl skin\nKd 1 1 1\nmap_Kd -s 1 1 1 -bm 0.5 maps/albedo.png\n")
    path = tmp_path / "seam.obj"
    path.write_text(SEAM_OBJ)
    return path


def test_uvs_stay_indexed_across_a_seam(seam_obj: Path) -> None:
    mesh = read_scan(seam_obj).mesh
    assert mesh.vertices.shape == (4, 3)  # positions are not split at the seam
    np.testing.assert_array_equal(mesh.faces, [[0, 1, 2], [1, 3, 2]])
    assert mesh.uvs is not None and mesh.face_uvs is not None
    assert mesh.uvs.shape == (6, 2) and mesh.uvs.dtype == np.float32
    np.testing.assert_array_equal(mesh.face_uvs, [[0, 1, 2], [4, 5, 3]])
    # vertex 1 has two different UVs, one per face: the seam
    np.testing.assert_allclose(mesh.uvs[mesh.face_uvs[0, 1]], [0.5, 0.0])
    np.testing.assert_allclose(mesh.uvs[mesh.face_uvs[1, 0]], [1.0, 0.6])


def test_mtl_texture_is_resolved_relative_to_the_mtl(seam_obj: Path) -> None:
    scan = read_scan(seam_obj)
    assert scan.mesh.texture is not None
    assert scan.mesh.texture.shape == (4, 8, 3) and scan.mesh.texture.dtype == np.uint8
    np.testing.assert_array_equal(scan.mesh.texture[0, 0], [200, 100, 50])
    assert any("albedo.png" in n for n in scan.notes)
    assert any("vn" in n for n in scan.notes)


def test_explicit_texture_overrides_the_mtl(seam_obj: Path, tmp_path: Path) -> None:
    write_texture(tmp_path / "other.jpg", (10, 20, 30))
    texture = read_scan(seam_obj, texture=tmp_path / "other.jpg").mesh.texture
    assert texture is not None
    np.testing.assert_allclose(texture[0, 0], [10, 20, 30], atol=3)  # JPEG


def test_explicit_texture_supplies_a_missing_one(tmp_path: Path) -> None:
    (tmp_path / "m.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nvt 0 0\nvt 1 0\nvt 0 1\nf 1/1 2/2 3/3\n")
    write_texture(tmp_path / "t.png")
    assert read_scan(tmp_path / "m.obj", texture=tmp_path / "t.png").mesh.texture is not None
    assert read_scan(tmp_path / "m.obj").mesh.texture is None


def test_ngons_negative_indices_and_vertex_colours(tmp_path: Path) -> None:
    text = "v 0 0 0 1 0 0\nv 1 0 0 0 1 0\nv 1 1 0 0 0 1\nv 0 1 0 1 1 1\nv 0.5 1.5 0 0 0 0\nf -5 -4 -3 -2 -1\n"
    (tmp_path / "p.obj").write_text(text)
    mesh = read_scan(tmp_path / "p.obj", units="m").mesh
    np.testing.assert_array_equal(mesh.faces, [[0, 1, 2], [0, 2, 3], [0, 3, 4]])
    assert mesh.uvs is None and mesh.face_uvs is None
    assert mesh.vertex_colors is not None
    np.testing.assert_array_equal(mesh.vertex_colors[1], [0, 1, 0])


def test_faces_without_uvs_get_a_placeholder(tmp_path: Path) -> None:
    text = "v 0 0 0\nv 1 0 0\nv 0 1 0\nv 1 1 0\nvt 0 0\nvt 1 0\nvt 0 1\nf 1/1 2/2 3/3\nf 2 4 3\n"
    (tmp_path / "mix.obj").write_text(text)
    scan = read_scan(tmp_path / "mix.obj", units="m")
    assert scan.mesh.uvs is not None and scan.mesh.face_uvs is not None
    assert scan.mesh.uvs.shape == (4, 2)
    np.testing.assert_array_equal(scan.mesh.face_uvs[1], [3, 3, 3])
    assert any("1 faces have no texture coordinates" in n for n in scan.notes)


def test_missing_mtl_is_a_note_not_an_error(tmp_path: Path) -> None:
    (tmp_path / "m.obj").write_text("mtllib nowhere.mtl\nv 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
    scan = read_scan(tmp_path / "m.obj", units="m")
    assert any("nowhere.mtl" in n for n in scan.notes)


def test_point_only_obj_is_a_point_cloud(tmp_path: Path) -> None:
    (tmp_path / "pts.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\n")
    assert read_scan(tmp_path / "pts.obj", units="m").mesh.is_point_cloud


def test_mtl_parsing(tmp_path: Path) -> None:
    (tmp_path / "a.mtl").write_text("newmtl a\nmap_Kd a.png\nnewmtl b\nKd 1 0 0\nnewmtl c\nmap_Kd C:\\tex\\c d.jpg\n")
    assert parse_mtl_textures(tmp_path / "a.mtl") == {"a": "a.png", "c": "C:/tex/c d.jpg"}
    assert _map_file_name(["-o", "0", "0", "-clamp", "on", "x.png"]) == "x.png"
    assert _map_file_name(["-s", "2", "tex.png"]) == "tex.png"

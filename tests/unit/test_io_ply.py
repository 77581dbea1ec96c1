"""PLY reader: ASCII / binary, CRLF, colours, normals, point clouds, declared units and up axis."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pytest
import trimesh

from lifecast.io import read_scan
from lifecast.io.ply import read_ply_header

TETRA = np.array([[0, 0, 0], [10, 0, 0], [0, 10, 0], [0, 0, 10]], np.float32)
TETRA_FACES = np.array([[0, 1, 2], [0, 3, 1], [0, 2, 3], [1, 3, 2]], np.int32)


def write_ascii(path: Path, props: str, rows: list[str], faces: list[str], comments: str = "", eol: str = "\n") -> Path:
    lines = ["ply", "format ascii 1.0", *comments.splitlines(), f"element vertex {len(rows)}"]
    lines += [f"property {p}" for p in props.split(",")]
    if faces:
        lines += [f"element face {len(faces)}", "property list uchar int vertex_indices"]
    lines += ["end_header", *rows, *faces]
    path.write_bytes(eol.join(lines).encode() + eol.encode())
    return path


XYZ = "float x,float y,float z"


def test_ascii_mesh_with_uchar_colours_and_declared_units(tmp_path: Path) -> None:
    rows = [f"{x} {y} {z} {r} 128 0" for (x, y, z), r in zip(TETRA, (0, 255, 51, 102), strict=True)]
    props = XYZ + ",uchar red,uchar green,uchar blue"
    path = write_ascii(tmp_path / "a.ply", props, rows, [f"3 {a} {b} {c}" for a, b, c in TETRA_FACES],
                       comments="comment units cm\ncomment up z")  # fmt: skip
    scan = read_scan(path)
    np.testing.assert_array_equal(scan.mesh.vertices, TETRA)
    np.testing.assert_array_equal(scan.mesh.faces, TETRA_FACES)
    assert scan.mesh.vertices.dtype == np.float32 and scan.mesh.faces.dtype == np.int32
    assert scan.mesh.vertex_colors is not None
    np.testing.assert_allclose(scan.mesh.vertex_colors[:, 0], [0, 1, 0.2, 0.4], atol=1e-6)
    np.testing.assert_allclose(scan.mesh.vertex_colors[:, 1], 128 / 255, atol=1e-6)
    assert (scan.units, scan.up) == ("cm", "z")
    assert any("declared by the file" in n for n in scan.notes)


def test_ascii_crlf_point_cloud_with_extra_element(tmp_path: Path) -> None:
    path = tmp_path / "range.ply"
    header = "ply\r\nformat ascii 1.0\r\nobj_info num_cols 2\r\nelement vertex 4\r\nproperty float x\r\n"
    header += "property float y\r\nproperty float z\r\nelement range_grid 3\r\n"
    header += "property list uchar int vertex_indices\r\nend_header\r\n"
    body = "".join(f"{x} {y} {z} \r\n" for x, y, z in TETRA / 100) + "1 0\r\n0\r\n2 1 2\r\n"
    path.write_bytes((header + body).encode())
    scan = read_scan(path)
    assert scan.mesh.is_point_cloud
    np.testing.assert_allclose(scan.mesh.vertices, TETRA / 100, rtol=1e-6)
    assert scan.units == "m"  # 0.1 across: guessed metres
    assert any("guessed" in n for n in scan.notes)


def test_float_colours_and_normals(tmp_path: Path) -> None:
    rows = [f"{x} {y} {z} 0 0 2 0.5 0.25 1" for x, y, z in TETRA]
    props = XYZ + ",float nx,float ny,float nz,float red,float green,float blue"
    scan = read_scan(write_ascii(tmp_path / "f.ply", props, rows, []))
    assert scan.mesh.vertex_colors is not None and scan.mesh.vertex_normals is not None
    np.testing.assert_allclose(scan.mesh.vertex_colors, [[0.5, 0.25, 1.0]] * 4)
    np.testing.assert_allclose(scan.mesh.vertex_normals, [[0, 0, 1]] * 4)


def test_binary_mesh_matches_trimesh_export(tmp_path: Path) -> None:
    sphere = trimesh.creation.icosphere(subdivisions=2, radius=100.0)
    sphere.visual.vertex_colors = np.tile([255, 0, 10, 255], (len(sphere.vertices), 1)).astype(np.uint8)
    path = tmp_path / "s.ply"
    sphere.export(path)  # binary little endian
    assert read_ply_header(path).format == "binary_little_endian"
    scan = read_scan(path)
    np.testing.assert_allclose(scan.mesh.vertices, sphere.vertices, rtol=1e-6)
    np.testing.assert_array_equal(scan.mesh.faces, sphere.faces)
    assert scan.mesh.vertex_colors is not None
    np.testing.assert_allclose(scan.mesh.vertex_colors[0], [1.0, 0.0, 10 / 255], atol=1e-6)
    assert scan.units == "mm"  # 200 across


def test_binary_big_endian_point_cloud(tmp_path: Path) -> None:
    header = b"ply\nformat binary_big_endian 1.0\ncomment units mm\nelement vertex 4\n"
    header += b"property float x\nproperty float y\nproperty float z\nend_header\n"
    path = tmp_path / "be.ply"
    path.write_bytes(header + struct.pack(">12f", *TETRA.ravel()))
    scan = read_scan(path)
    np.testing.assert_array_equal(scan.mesh.vertices, TETRA)
    assert scan.mesh.is_point_cloud and scan.units == "mm"


def test_quads_are_triangulated(tmp_path: Path) -> None:
    rows = ["0 0 0", "1 0 0", "1 1 0", "0 1 0"]
    scan = read_scan(write_ascii(tmp_path / "q.ply", XYZ, rows, ["4 0 1 2 3"]), units="m")
    assert scan.mesh.faces.shape == (2, 3)
    assert set(scan.mesh.faces.ravel()) == {0, 1, 2, 3}


def test_some_nan_vertices_are_kept_and_counted(tmp_path: Path) -> None:
    rows = ["0 0 0", "1 0 0", "nan 1 0", "0 1 0"]
    scan = read_scan(write_ascii(tmp_path / "n.ply", XYZ, rows, ["3 0 1 3"]), units="m")
    assert len(scan.mesh.vertices) == 4
    assert any("1 of 4 vertices have NaN" in n for n in scan.notes)


@pytest.mark.parametrize(("given", "expected"), [("mm", "mm"), ("m", "m")])
def test_explicit_units_win_over_the_file(tmp_path: Path, given: str, expected: str) -> None:
    path = write_ascii(tmp_path / "u.ply", XYZ, ["0 0 0", "1 0 0", "0 1 0"], [], comments="comment units cm")
    scan = read_scan(path, units=given, up="z")  # type: ignore[arg-type]
    assert (scan.units, scan.up) == (expected, "z")
    assert any("(given)" in n for n in scan.notes)


def test_progress_is_reported(tmp_path: Path) -> None:
    seen: list[float] = []
    read_scan(
        write_ascii(tmp_path / "p.ply", XYZ, ["0 0 0", "1 0 0", "0 1 0"], []), progress=lambda f, m: seen.append(f)
    )
    assert seen[0] == 0.0 and seen[-1] == 1.0 and seen == sorted(seen)


def test_header_comment_variants(tmp_path: Path) -> None:
    comments = "comment uploaded by a scanner\ncomment units: centimetres\ncomment up_axis = Z"
    scan = read_scan(write_ascii(tmp_path / "c.ply", XYZ, ["0 0 0", "1 0 0", "0 1 0"], [], comments=comments))
    assert (scan.units, scan.up) == ("cm", "z")
    assert not any("ignored" in n for n in scan.notes)

"""glTF/GLB and PCD readers, format sniffing, and images of every depth."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import open3d as o3d
import pytest
import trimesh
from PIL import Image

from lifecast.color import linear_to_srgb
from lifecast.errors import InputError
from lifecast.io import SUPPORTED_SUFFIXES, read_image, read_scan
from lifecast.io.sniff import sniff_format


def textured_box() -> trimesh.Trimesh:
    box = trimesh.creation.box(extents=(0.2, 0.3, 0.25))
    uv = np.random.default_rng(0).random((len(box.vertices), 2))
    image = Image.fromarray(np.full((4, 4, 3), (30, 60, 90), np.uint8))
    box.visual = trimesh.visual.TextureVisuals(uv=uv, image=image)
    return box


def test_glb_with_embedded_texture(tmp_path: Path) -> None:
    box = textured_box()
    path = tmp_path / "box.glb"
    scene = trimesh.Scene()
    scene.add_geometry(box, transform=trimesh.transformations.translation_matrix([1.0, 0, 0]))
    scene.export(path)
    scan = read_scan(path)
    assert (scan.units, scan.up) == ("m", "y")
    mesh = scan.mesh
    assert mesh.faces.shape == (12, 3)
    np.testing.assert_allclose(mesh.vertices.mean(axis=0), box.vertices.mean(axis=0) + np.array([1.0, 0, 0]), atol=1e-6)
    assert mesh.uvs is not None and mesh.face_uvs is not None
    np.testing.assert_array_equal(mesh.face_uvs, mesh.faces)
    assert mesh.texture is not None
    np.testing.assert_array_equal(mesh.texture[0, 0], [30, 60, 90])
    assert any("specification" in n for n in scan.notes)


def test_gltf_vertex_colours_are_converted_to_srgb(tmp_path: Path) -> None:
    box = trimesh.creation.box(extents=(0.2, 0.2, 0.2))
    box.visual.vertex_colors = np.tile([128, 0, 255, 255], (len(box.vertices), 1)).astype(np.uint8)
    path = tmp_path / "c.gltf"
    path.write_bytes(b"")  # trimesh writes .gltf as a dict of files
    for name, data in box.export(file_type="gltf").items():
        (tmp_path / name).write_bytes(data)
    (tmp_path / "model.gltf").rename(path)
    colors = read_scan(path).mesh.vertex_colors
    assert colors is not None
    np.testing.assert_allclose(colors[0], linear_to_srgb(np.array([128 / 255, 0, 1])), atol=2e-3)


def test_linear_to_srgb_endpoints_and_monotonic() -> None:
    x = np.linspace(0, 1, 101)
    y = linear_to_srgb(x)
    assert y[0] == 0 and abs(y[-1] - 1) < 1e-6 and np.all(np.diff(y) > 0)
    np.testing.assert_allclose(linear_to_srgb(np.array([0.2140])), [0.5], atol=1e-3)


def test_pcd_point_cloud_with_colours(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    points = rng.random((50, 3)) * 0.3
    cloud = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(points))
    cloud.colors = o3d.utility.Vector3dVector(rng.random((50, 3)))
    path = tmp_path / "c.pcd"
    assert o3d.io.write_point_cloud(str(path), cloud)
    scan = read_scan(path)
    assert scan.mesh.is_point_cloud and scan.mesh.vertices.dtype == np.float32
    np.testing.assert_allclose(scan.mesh.vertices, points, atol=1e-6)
    assert scan.mesh.vertex_colors is not None
    np.testing.assert_allclose(scan.mesh.vertex_colors, np.asarray(cloud.colors), atol=1 / 255)
    assert scan.units == "m" and "units: m (metres by PCL's convention for PCD files)" in scan.notes


def test_pcd_is_in_metres_whatever_its_size(tmp_path: Path) -> None:
    """A Kinect frame of a room (8 units across) is 8 m, not 8 cm of a guessed-at person; ``units=`` still wins."""
    points = np.random.default_rng(2).random((200, 3)) * [8.0, 3.0, 5.0]
    path = tmp_path / "room.pcd"
    assert o3d.io.write_point_cloud(str(path), o3d.geometry.PointCloud(o3d.utility.Vector3dVector(points)))
    scan = read_scan(path)
    assert scan.units == "m"
    assert not any("guessed" in note for note in scan.notes)
    assert any("not the size of a person" in note for note in scan.notes)  # 8 m: the plausibility warning stays
    assert read_scan(path, units="cm").units == "cm"


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"ply\nformat", "ply"),
        (b"glTF\x02\x00\x00\x00", "glb"),
        (b'  {"asset": {}}', "gltf"),
        (b"# .PCD v0.7\n", "pcd"),
        (b"v 1 2 3\nf 1 2 3\n", "text"),
        (b"\xff\xd8\xff\xe0", "a JPEG image"),
        (b"\x00\x01\x02binary", "binary data"),
    ],
)
def test_sniff_format(tmp_path: Path, head: bytes, expected: str) -> None:
    path = tmp_path / "f"
    path.write_bytes(head)
    assert sniff_format(path) == expected


def test_supported_suffixes() -> None:
    assert set(SUPPORTED_SUFFIXES) == {".ply", ".obj", ".glb", ".gltf", ".pcd"}


@pytest.mark.parametrize(
    ("array", "suffix"),
    [
        (np.full((3, 5), 77, np.uint8), ".png"),
        (np.full((3, 5), 77 * 257, np.uint16), ".png"),
        (np.dstack([np.full((3, 5), c, np.uint8) for c in (90, 80, 77, 255)]), ".png"),  # BGRA
        (np.dstack([np.full((3, 5), c * 257, np.uint16) for c in (90, 80, 77)]), ".tif"),
    ],
    ids=["grey8", "grey16", "bgra8", "bgr16"],
)
def test_read_image_converts_to_rgb8(tmp_path: Path, array: np.ndarray, suffix: str) -> None:
    path = tmp_path / f"img{suffix}"
    assert cv2.imwrite(str(path), array)
    image = read_image(path)
    assert image.shape == (3, 5, 3) and image.dtype == np.uint8
    assert image[0, 0, 0] == 77  # red: OpenCV stores BGR(A); grey is repeated into all three


def test_read_image_refuses_garbage(tmp_path: Path) -> None:
    (tmp_path / "bad.jpg").write_bytes(b"\xff\xd8\xff" + bytes(20))
    with pytest.raises(InputError, match="could not be decoded"):
        read_image(tmp_path / "bad.jpg")
    with pytest.raises(InputError, match="does not exist"):
        read_image(tmp_path / "none.png")
    (tmp_path / "empty.png").write_bytes(b"")
    with pytest.raises(InputError, match="empty"):
        read_image(tmp_path / "empty.png")

"""Camera rig readers and writers: round trips through every format, hand-written files, bad input."""

from __future__ import annotations

import json
import math
import struct
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image

from lifecast.errors import InputError
from lifecast.io.cameras import (
    Camera,
    CameraRig,
    Distortion,
    read_cameras,
    read_realitycapture_xmp,
    write_alicevision_json,
    write_colmap_binary,
    write_colmap_text,
    write_metashape_xml,
    write_realitycapture_xmp,
)


def look_at(centre: NDArray[np.float64], target: NDArray[np.float64], up: NDArray[np.float64]) -> NDArray[np.float64]:
    """World-to-camera rotation of a camera at ``centre`` looking at ``target`` (+Y down in the image)."""
    z = target - centre
    z = z / np.linalg.norm(z)
    x = np.cross(z, -up)
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    return np.stack([x, y, z])


# Distortions each format can hold exactly, cycled over the ring's cameras.
RADIAL = Distortion("radial", (-0.12, 0.03, -0.004))
OPENCV = Distortion("opencv", (-0.09, 0.02, 0.0012, -0.0008, -0.003, 0.0, 0.0, 0.0))
RATIONAL = Distortion("opencv", (-0.09, 0.02, 0.0012, -0.0008, -0.003, 0.05, -0.01, 0.002))
FISHEYE = Distortion("opencv_fisheye", (0.04, -0.01, 0.003, -0.0005))
NONE = Distortion("none", ())
SIMPLE_RADIAL = Distortion("radial", (-0.07, 0.0, 0.0))


def ring_rig(distortions: list[Distortion], count: int = 6, square_pixels: bool = False) -> CameraRig:
    """``count`` cameras on a tilted ring looking at the origin, varied sizes and intrinsics."""
    cameras = []
    for i in range(count):
        angle = 2 * math.pi * i / count
        centre = np.array([4.0 * math.cos(angle), 0.6 * math.sin(3 * angle), 4.0 * math.sin(angle)])
        rotation = look_at(centre, np.array([0.05 * i, -0.02, 0.03]), np.array([0.0, 1.0, 0.0]))
        width, height = (1200, 900) if i % 2 == 0 else (800, 1000)
        fx = 1000.0 + 37.5 * i
        fy = fx if square_pixels else fx * (1.0 + 0.01 * (i % 3))
        cameras.append(
            Camera(
                name=f"cam_{i:02d}.png",
                width=width,
                height=height,
                fx=fx,
                fy=fy,
                cx=width / 2 + 3.25 * (i - 2),
                cy=height / 2 - 2.5 * (i - 3),
                rotation=rotation,
                translation=-rotation @ centre,
                distortion=distortions[i % len(distortions)],
                sensor_id=f"body{i % 2}",
            )
        )
    return CameraRig(tuple(cameras), source="synthetic")


def scene_points(n: int = 200) -> NDArray[np.float64]:
    rng = np.random.default_rng(7)
    return rng.uniform(-0.8, 0.8, size=(n, 3))


def assert_same_projection(original: CameraRig, read: CameraRig) -> None:
    """Every camera of ``read`` projects the scene points to the same pixels as ``original`` (1e-6 px)."""
    points = scene_points()
    assert len(read.cameras) == len(original.cameras)
    for cam in original.cameras:
        other = read.by_name(cam.name)
        assert (other.width, other.height) == (cam.width, cam.height)
        expected, depth = cam.project(points)
        got, got_depth = other.project(points)
        assert np.all(depth > 0)
        np.testing.assert_allclose(got, expected, rtol=0, atol=1e-6, err_msg=cam.name)
        np.testing.assert_allclose(got_depth, depth, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(other.center, cam.center, atol=1e-9)


def write_blank_images(rig: CameraRig, folder: Path) -> None:
    for cam in rig.cameras:
        Image.new("L", (cam.width, cam.height)).save(folder / cam.name)


# --- round trips -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("writer", "source", "distortions", "target"),
    [
        (write_colmap_text, "colmap-text", [NONE, SIMPLE_RADIAL, RADIAL, OPENCV, RATIONAL, FISHEYE], "model"),
        (write_colmap_binary, "colmap-binary", [NONE, SIMPLE_RADIAL, RADIAL, OPENCV, RATIONAL, FISHEYE], "model"),
        (write_metashape_xml, "metashape-xml", [RADIAL, OPENCV, FISHEYE, NONE], "cameras.xml"),
        (write_alicevision_json, "alicevision-sfm", [RADIAL, OPENCV, FISHEYE, NONE], "sfm.json"),
        (write_realitycapture_xmp, "realitycapture-xmp", [RADIAL, OPENCV, NONE], "photos"),
    ],
)
def test_round_trip_projects_identically(
    tmp_path: Path, writer: Callable[..., object], source: str, distortions: list[Distortion], target: str
) -> None:
    rig = ring_rig(distortions)
    out = tmp_path / target
    writer(rig, out)
    if source == "realitycapture-xmp":
        write_blank_images(rig, out)
    read = read_cameras(out)
    assert read.source == source
    assert [c.name for c in read.cameras] == [c.name for c in rig.cameras]
    assert_same_projection(rig, read)


def test_colmap_square_pixels_use_the_narrow_models(tmp_path: Path) -> None:
    rig = ring_rig([NONE, SIMPLE_RADIAL, Distortion("radial", (-0.1, 0.02, 0.0))], square_pixels=True)
    write_colmap_text(rig, tmp_path)
    models = [line.split()[1] for line in (tmp_path / "cameras.txt").read_text().splitlines() if line[:1].isdigit()]
    assert set(models) == {"SIMPLE_PINHOLE", "SIMPLE_RADIAL", "RADIAL"}
    assert_same_projection(rig, read_cameras(tmp_path))


def test_colmap_model_found_in_sparse_0(tmp_path: Path) -> None:
    rig = ring_rig([RADIAL])
    write_colmap_binary(rig, tmp_path / "sparse" / "0")
    read = read_cameras(tmp_path)
    assert read.source == "colmap-binary"
    assert_same_projection(rig, read)
    # One of the model's files also names the model.
    assert read_cameras(tmp_path / "sparse" / "0" / "images.bin").source == "colmap-binary"


def test_metashape_chunk_transform_with_scale(tmp_path: Path) -> None:
    rig = ring_rig([RADIAL, OPENCV])
    angle = 0.7
    rot = np.array([[math.cos(angle), 0, math.sin(angle)], [0, 1, 0], [-math.sin(angle), 0, math.cos(angle)]])
    path = write_metashape_xml(rig, tmp_path / "c.xml", chunk_transform=(2.5, rot, np.array([10.0, -3.0, 1.5])))
    text = path.read_text()
    assert '<scale locked="true">2.5</scale>' in text
    assert_same_projection(rig, read_cameras(path))


def test_alicevision_rotation_is_written_column_major(tmp_path: Path) -> None:
    rig = ring_rig([NONE], count=1)
    data = json.loads(write_alicevision_json(rig, tmp_path / "s.json").read_text())
    stored = np.array([float(v) for v in data["poses"][0]["pose"]["transform"]["rotation"]])
    np.testing.assert_allclose(stored, rig.cameras[0].rotation.ravel(order="F"))


def test_writers_refuse_what_a_format_cannot_hold(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="rational"):
        write_metashape_xml(ring_rig([RATIONAL]), tmp_path / "c.xml")
    with pytest.raises(ValueError, match="opencv_fisheye"):
        write_realitycapture_xmp(ring_rig([FISHEYE]), tmp_path / "rc")
    with pytest.raises(ValueError, match="rational"):
        write_alicevision_json(ring_rig([RATIONAL]), tmp_path / "s.json")


# --- hand-written files with known numbers --------------------------------------------------------


def test_colmap_text_by_hand(tmp_path: Path) -> None:
    (tmp_path / "cameras.txt").write_text(
        "# comment\n1 PINHOLE 640 480 500 510 320 240\n2 SIMPLE_RADIAL 640 480 400 330 250 -0.2\n"
    )
    # (w, x, y, z) = (cos 45, 0, sin 45, 0): 90 degrees about +Y, R = [[0,0,1],[0,1,0],[-1,0,0]].
    s = math.sqrt(0.5)
    (tmp_path / "images.txt").write_text(
        f"# header\n1 {s} 0 {s} 0 1 2 3 1 a.jpg\n100 200 -1 150.5 20.25 7\n2 1 0 0 0 0 0 2 2 sub/b.jpg\n\n"
    )
    rig = read_cameras(tmp_path)
    assert rig.source == "colmap-text"
    a, b = rig.by_name("a.jpg"), rig.by_name("sub/b.jpg")
    np.testing.assert_allclose(a.rotation, [[0, 0, 1], [0, 1, 0], [-1, 0, 0]], atol=1e-12)
    np.testing.assert_allclose(a.translation, [1, 2, 3])
    # Origin -> camera (1, 2, 3); (1, 0, 0) -> (0, 0, -1) + t = (1, 2, 2).
    pixels, depth = a.project(np.array([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]]))
    np.testing.assert_allclose(pixels, [[500 / 3 + 320, 510 * 2 / 3 + 240], [570.0, 750.0]], atol=1e-9)
    np.testing.assert_allclose(depth, [3, 2])
    # SIMPLE_RADIAL, t = (0, 0, 2): (1, 0.5, 0) -> x = 0.5, y = 0.25; u = f x (1 + k r^2) + cx.
    pixels, _ = b.project(np.array([[1.0, 0.5, 0.0]]))
    scale = 1 - 0.2 * (0.25 + 0.0625)
    np.testing.assert_allclose(pixels, [[400 * 0.5 * scale + 330, 400 * 0.25 * scale + 250]], atol=1e-9)
    assert b.sensor_id == "2" and b.distortion == Distortion("radial", (-0.2, 0.0, 0.0))
    assert rig.by_name("b.jpg") is b and rig.by_name("b") is b


def test_colmap_binary_by_hand(tmp_path: Path) -> None:
    # OPENCV_FISHEYE camera 5 and one image, packed here with struct as COLMAP lays it out.
    cams = (
        struct.pack("<Q", 1)
        + struct.pack("<iiQQ", 5, 5, 300, 200)
        + struct.pack("<8d", 150, 160, 151, 99, 0.1, 0, 0, 0)
    )
    images = struct.pack("<Q", 1) + struct.pack("<I7dI", 9, 1, 0, 0, 0, 0, 0, 1, 5) + b"f.png\x00"
    images += struct.pack("<Q", 1) + struct.pack("<ddq", 10.0, 20.0, -1)
    (tmp_path / "cameras.bin").write_bytes(cams)
    (tmp_path / "images.bin").write_bytes(images)
    cam = read_cameras(tmp_path).by_name("f.png")
    assert (cam.width, cam.height, cam.fx, cam.fy, cam.cx, cam.cy) == (300, 200, 150, 160, 151, 99)
    assert cam.distortion == Distortion("opencv_fisheye", (0.1, 0.0, 0.0, 0.0))
    # Point at 45 degrees off axis, depth 1 from the camera at z = -1: theta = pi/4.
    pixels, _ = cam.project(np.array([[1.0, 0.0, 0.0]]))
    theta = math.pi / 4
    np.testing.assert_allclose(pixels, [[150 * theta * (1 + 0.1 * theta**2) + 151, 99]], atol=1e-9)


METASHAPE_XML = """<?xml version="1.0" encoding="UTF-8"?>
<document version="1.5.0">
  <chunk label="Chunk 1" enabled="true">
    <sensors next_id="1">
      <sensor id="0" label="EOS" type="frame">
        <resolution width="1000" height="800"/>
        <calibration type="frame" class="initial"><resolution width="1000" height="800"/><f>1</f></calibration>
        <calibration type="frame" class="adjusted">
          <resolution width="1000" height="800"/>
          <f>900</f><cx>{cx}</cx><cy>0</cy><b1>10</b1><k1>{k1}</k1><p1>{p1}</p1>
        </calibration>
      </sensor>
    </sensors>
    <cameras next_id="2" next_group_id="0">
      <camera id="0" sensor_id="0" label="IMG_0001">
        <transform>1 0 0 0 0 1 0 0 0 0 1 0 0 0 0 1</transform>
      </camera>
      <camera id="1" sensor_id="0" label="IMG_0002"/>
    </cameras>
    <transform>
      <rotation locked="true">1 0 0 0 1 0 0 0 1</rotation>
      <translation locked="true">1 0 0</translation>
      <scale locked="true">2</scale>
    </transform>
  </chunk>
</document>
"""


def test_metashape_by_hand(tmp_path: Path) -> None:
    path = tmp_path / "cameras.xml"
    path.write_text(METASHAPE_XML.format(cx=0, k1=0.1, p1=0))
    rig = read_cameras(path)
    assert rig.source == "metashape-xml" and len(rig.cameras) == 1
    assert any("not aligned" in n for n in rig.notes)
    cam = rig.by_name("IMG_0001.JPG")  # the label has no extension: by_name matches the stem
    # cx = 0 is the image centre; b1 adds to fx only.
    assert (cam.cx, cam.cy, cam.fx, cam.fy) == (500.0, 400.0, 910.0, 900.0)
    np.testing.assert_allclose(cam.center, [1, 0, 0])
    # World (2, 0.5, 4) -> chunk ((2-1)/2, 0.25, 2) = camera frame; x = 0.25, y = 0.125.
    pixels, depth = cam.project(np.array([[2.0, 0.5, 4.0], [1.0, 0.0, 4.0]]))
    radial = 1 + 0.1 * (0.25**2 + 0.125**2)
    np.testing.assert_allclose(pixels, [[500 + 910 * 0.25 * radial, 400 + 900 * 0.125 * radial], [500.0, 400.0]])
    np.testing.assert_allclose(depth, [4, 4])


def test_metashape_p1_is_opencv_p2(tmp_path: Path) -> None:
    path = tmp_path / "cameras.xml"
    path.write_text(METASHAPE_XML.format(cx=-12.5, k1=0, p1=0.01))
    cam = read_cameras(path).cameras[0]
    assert cam.cx == 487.5
    x, y = 0.25, 0.125
    r2 = x * x + y * y
    # Metashape manual Appendix C: x' = x + P1 (r^2 + 2 x^2) + 2 P2 x y, y' = y + P2 (r^2 + 2 y^2) + 2 P1 x y.
    xd, yd = x + 0.01 * (r2 + 2 * x * x), y + 2 * 0.01 * x * y
    pixels, _ = cam.project(np.array([[1 + 2 * x * 2, 2 * y * 2, 4.0]]))
    np.testing.assert_allclose(pixels, [[487.5 + 910 * xd, 400 + 900 * yd]], atol=1e-9)


XMP = """<x:xmpmeta xmlns:x="adobe:ns:meta/">
  <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">
    <rdf:Description xmlns:xcr="http://www.capturingreality.com/ns/xcr/1.1#"
       xcr:Version="3" xcr:PosePrior="locked" xcr:Coordinates="absolute"
       xcr:DistortionModel="{model}" xcr:DistortionCoeficients="{coeffs}" xcr:FocalLength35mm="36"
       xcr:Skew="0" xcr:AspectRatio="1" xcr:PrincipalPointU="0.01" xcr:PrincipalPointV="-0.02"
       xcr:Rotation="1 0 0 0 1 0 0 0 1">
      <xcr:Position>0 0 -5</xcr:Position>
    </rdf:Description>
  </rdf:RDF>
</x:xmpmeta>
"""


def test_realitycapture_by_hand(tmp_path: Path) -> None:
    Image.new("L", (1000, 750)).save(tmp_path / "shot.jpg")
    (tmp_path / "shot.xmp").write_text(XMP.format(model="brown3", coeffs="0 0 0 0 0 0"))
    (tmp_path / "_common.xmp").write_text("<x:xmpmeta xmlns:x='adobe:ns:meta/'/>")
    rig = read_cameras(tmp_path)
    cam = rig.by_name("shot.jpg")
    assert rig.source == "realitycapture-xmp"
    # FocalLength35mm = 36 on a 1000 px wide image is f = 1000 px; U, V are offsets / 1000 px.
    assert (cam.fx, cam.fy, cam.cx, cam.cy) == (1000.0, 1000.0, 510.0, 355.0)
    assert cam.distortion.model == "none"
    pixels, depth = cam.project(np.array([[0.5, 0.25, 0.0]]))
    np.testing.assert_allclose(pixels, [[610, 405]], atol=1e-9)
    np.testing.assert_allclose(depth, [5])


def test_realitycapture_tangential_order(tmp_path: Path) -> None:
    (tmp_path / "shot.xmp").write_text(XMP.format(model="brown3t2", coeffs="-0.1 0 0 0 0.003 0"))
    cam = read_realitycapture_xmp(tmp_path, image_sizes={"shot": (1000, 750)}).cameras[0]
    # k1 k2 k3 k4 t1 t2 with t1 = OpenCV p2 (RealityScan calibration.xml's OpenCV template: k1,k2,t2,t1,...).
    assert cam.distortion == Distortion("opencv", (-0.1, 0.0, 0.0, 0.003, 0.0, 0.0, 0.0, 0.0))
    assert cam.name == "shot"


ALICEVISION = {
    "version": ["1", "2", "5"],
    "views": [
        {"viewId": "11", "poseId": "21", "intrinsicId": "31", "path": "/abs/elsewhere/a.jpg", "width": "800",
         "height": "600"},
        {"viewId": "12", "poseId": "99", "intrinsicId": "31", "path": "b.jpg", "width": "800", "height": "600"},
    ],
    "intrinsics": [
        {"intrinsicId": "31", "width": "800", "height": "600", "sensorWidth": "36", "type": "radial3",
         "focalLength": "45", "pixelRatio": "1.1", "principalPoint": ["5", "-4"],
         "distortionParams": ["0", "0", "0"]},
    ],
    # World-to-camera R = [[0,1,0],[-1,0,0],[0,0,1]] written column-major.
    "poses": [{"poseId": "21", "pose": {"transform": {"rotation": ["0", "-1", "0", "1", "0", "0", "0", "0", "1"],
                                                      "center": ["0", "0", "-4"]}}}],
}  # fmt: skip


def test_alicevision_by_hand(tmp_path: Path) -> None:
    path = tmp_path / "cameras.sfm"
    path.write_text(json.dumps(ALICEVISION))
    rig = read_cameras(path)
    assert rig.source == "alicevision-sfm" and len(rig.cameras) == 1
    cam = rig.cameras[0]
    assert cam.name == "/abs/elsewhere/a.jpg"
    # fx = 45 / 36 * 800 = 1000, fy = fx * pixelRatio; principal point is an offset from the centre.
    assert (cam.fx, cam.cx, cam.cy) == (1000.0, 405.0, 296.0)
    assert cam.fy == pytest.approx(1100.0)
    pixels, depth = cam.project(np.array([[1.0, 0.0, 0.0]]))  # -> camera (0, -1, 4)
    np.testing.assert_allclose(pixels, [[405, 296 - 1100 * 0.25]], atol=1e-9)
    np.testing.assert_allclose(depth, [4])


def test_alicevision_old_version_absolute_principal_point(tmp_path: Path) -> None:
    data = json.loads(json.dumps(ALICEVISION))
    data["version"] = ["1", "0", "0"]
    intr = data["intrinsics"][0]
    del intr["focalLength"]
    intr.update(pxFocalLength="1000", principalPoint=["405", "296"], type="brown",
                distortionParams=["0", "0", "0", "0.01", "-0.02"])  # fmt: skip
    path = tmp_path / "sfm.json"
    path.write_text(json.dumps(data))
    cam = read_cameras(path).cameras[0]
    assert (cam.fx, cam.fy, cam.cx, cam.cy) == (1000.0, 1000.0, 405.0, 296.0)
    # brown k1 k2 k3 t1 t2: t1, t2 are OpenCV's p1, p2 (DistortionBrown.cpp).
    assert cam.distortion == Distortion("opencv", (0.0, 0.0, 0.01, -0.02, 0.0, 0.0, 0.0, 0.0))


# --- bad input ----------------------------------------------------------------------------------


def _message(exc: pytest.ExceptionInfo[InputError]) -> str:
    text = str(exc.value)
    assert "\n" not in text
    return text


def test_missing_path(tmp_path: Path) -> None:
    with pytest.raises(InputError) as exc:
        read_cameras(tmp_path / "nope")
    assert "nope" in _message(exc) and "does not exist" in _message(exc)


def test_empty_folder(tmp_path: Path) -> None:
    with pytest.raises(InputError) as exc:
        read_cameras(tmp_path)
    assert "no camera rig" in _message(exc)


def test_unknown_colmap_model_id(tmp_path: Path) -> None:
    (tmp_path / "cameras.bin").write_bytes(struct.pack("<Q", 1) + struct.pack("<iiQQ", 1, 42, 10, 10))
    (tmp_path / "images.bin").write_bytes(struct.pack("<Q", 0))
    with pytest.raises(InputError) as exc:
        read_cameras(tmp_path)
    assert "cameras.bin" in _message(exc) and "model id 42" in _message(exc)


def test_unsupported_colmap_model_named(tmp_path: Path) -> None:
    (tmp_path / "cameras.txt").write_text("3 FOV 100 100 50 50 50 0.9\n")
    (tmp_path / "images.txt").write_text("1 1 0 0 0 0 0 0 3 a.jpg\n\n")
    with pytest.raises(InputError) as exc:
        read_cameras(tmp_path)
    assert "FOV" in _message(exc)


def test_unknown_colmap_model_name(tmp_path: Path) -> None:
    (tmp_path / "cameras.txt").write_text("3 MYSTERY 100 100 50 50 50\n")
    (tmp_path / "images.txt").write_text("")
    with pytest.raises(InputError, match="MYSTERY"):
        read_cameras(tmp_path)


def test_image_refers_to_missing_camera(tmp_path: Path) -> None:
    (tmp_path / "cameras.txt").write_text("1 PINHOLE 100 100 50 50 50 50\n")
    (tmp_path / "images.txt").write_text("1 1 0 0 0 0 0 0 7 a.jpg\n\n")
    with pytest.raises(InputError) as exc:
        read_cameras(tmp_path)
    assert "images.txt" in _message(exc) and "camera 7" in _message(exc)


def test_truncated_colmap_binary(tmp_path: Path) -> None:
    write_colmap_binary(ring_rig([RADIAL]), tmp_path)
    data = (tmp_path / "images.bin").read_bytes()
    (tmp_path / "images.bin").write_bytes(data[:100])
    with pytest.raises(InputError, match=r"truncated|more than the file"):
        read_cameras(tmp_path)


def test_garbage_xml(tmp_path: Path) -> None:
    path = tmp_path / "cameras.xml"
    path.write_text("<document><chunk>unclosed")
    with pytest.raises(InputError) as exc:
        read_cameras(path)
    assert "cameras.xml" in _message(exc) and "XML" in _message(exc)


def test_xml_that_is_not_metashape(tmp_path: Path) -> None:
    path = tmp_path / "other.xml"
    path.write_text("<svg/>")
    with pytest.raises(InputError, match="no <chunk>"):
        read_cameras(path)


def test_metashape_camera_with_undefined_sensor(tmp_path: Path) -> None:
    path = tmp_path / "cameras.xml"
    path.write_text(
        METASHAPE_XML.format(cx=0, k1=0, p1=0).replace('sensor_id="0" label="IMG_0001"', 'sensor_id="5" label="X"')
    )
    with pytest.raises(InputError, match="sensor '5'"):
        read_cameras(path)


def test_garbage_json(tmp_path: Path) -> None:
    path = tmp_path / "sfm.json"
    path.write_text("{not json")
    with pytest.raises(InputError, match="not a JSON"):
        read_cameras(path)


def test_alicevision_unsupported_intrinsic(tmp_path: Path) -> None:
    data = json.loads(json.dumps(ALICEVISION))
    data["intrinsics"][0]["type"] = "3deanamorphic4"
    path = tmp_path / "sfm.json"
    path.write_text(json.dumps(data))
    with pytest.raises(InputError, match="3deanamorphic4"):
        read_cameras(path)


def test_xmp_without_photo_or_size(tmp_path: Path) -> None:
    (tmp_path / "lonely.xmp").write_text(XMP.format(model="brown3", coeffs="0 0 0 0 0 0"))
    with pytest.raises(InputError) as exc:
        read_cameras(tmp_path)
    assert "lonely.xmp" in _message(exc) and "image size" in _message(exc)


def test_xmp_division_model_with_coefficients_refused(tmp_path: Path) -> None:
    Image.new("L", (40, 30)).save(tmp_path / "d.png")
    (tmp_path / "d.xmp").write_text(XMP.format(model="division", coeffs="-0.2 0 0 0 0 0"))
    with pytest.raises(InputError, match="division"):
        read_cameras(tmp_path)


def test_unknown_file_type(tmp_path: Path) -> None:
    path = tmp_path / "rig.abc"
    path.write_text("x")
    with pytest.raises(InputError, match="not a camera rig"):
        read_cameras(path)


def test_metashape_k4_is_fitted_and_skew_dropped_with_warnings(tmp_path: Path) -> None:
    path = tmp_path / "cameras.xml"
    text = METASHAPE_XML.format(cx=0, k1=-0.15, p1=0).replace("<b1>10</b1>", "<b1>10</b1><b2>0.5</b2><k4>0.004</k4>")
    path.write_text(text)
    with pytest.warns(UserWarning, match="skew b2=0.5 dropped"):
        rig = read_cameras(path)
    assert any("k4=0.004" in n for n in rig.notes)
    cam = rig.cameras[0]
    assert cam.distortion.model == "opencv"
    # Against Metashape's own polynomial (manual Appendix C, b2 = 0 part) over the whole frame.
    xs, ys = np.meshgrid(np.linspace(-500, 500, 21) / 910, np.linspace(-400, 400, 17) / 900)
    x, y = xs.ravel(), ys.ravel()
    r2 = x * x + y * y
    radial = 1 - 0.15 * r2 + 0.004 * r2**4
    expected = np.stack([500 + 910 * x * radial, 400 + 900 * y * radial], axis=1)
    world = np.stack([1 + 2 * x * 3, 2 * y * 3, np.full_like(x, 6.0)], axis=1)  # camera frame (x, y, 1) * 3
    pixels, _ = cam.project(world)
    assert np.max(np.abs(pixels - expected)) < 0.01


def test_metashape_component_transform(tmp_path: Path) -> None:
    path = tmp_path / "cameras.xml"
    text = METASHAPE_XML.format(cx=0, k1=0, p1=0).replace('label="IMG_0001"', 'label="IMG_0001" component_id="0"')
    component = (
        '<components next_id="1" active_id="0"><component id="0" label="Component 1"><transform>'
        '<rotation locked="true">0 -1 0 1 0 0 0 0 1</rotation><translation locked="true">0 0 5</translation>'
        '<scale locked="true">3</scale></transform></component></components>'
    )
    path.write_text(text.replace("<cameras ", component + "<cameras "))
    cam = read_cameras(path).cameras[0]
    # The component's transform (not the chunk's) maps the camera at the chunk origin to (0, 0, 5),
    # its axes rotated by 90 degrees about Z.
    np.testing.assert_allclose(cam.center, [0, 0, 5], atol=1e-12)
    np.testing.assert_allclose(cam.rotation, [[0, 1, 0], [-1, 0, 0], [0, 0, 1]], atol=1e-12)
    pixels, depth = cam.project(np.array([[0.0, 0.0, 11.0]]))
    np.testing.assert_allclose(pixels, [[500.0, 400.0]])
    np.testing.assert_allclose(depth, [6.0])


def test_realitycapture_brown4_is_fitted(tmp_path: Path) -> None:
    (tmp_path / "s.xmp").write_text(XMP.format(model="brown4", coeffs="-0.1 0.02 0 0.003 0 0"))
    rig = read_realitycapture_xmp(tmp_path, image_sizes={"s": (1000, 750)})
    assert any("k4=0.003" in n for n in rig.notes)
    cam = rig.cameras[0]
    x, y = np.meshgrid(np.linspace(-0.5, 0.5, 11), np.linspace(-0.37, 0.37, 9))
    x, y = x.ravel(), y.ravel()
    r2 = x * x + y * y
    radial = 1 - 0.1 * r2 + 0.02 * r2**2 + 0.003 * r2**4
    pixels, _ = cam.project(np.stack([5 * x, 5 * y, np.zeros_like(x)], axis=1))
    expected = np.stack([510 + 1000 * x * radial, 355 + 1000 * y * radial], axis=1)
    assert np.max(np.abs(pixels - expected)) < 0.01


def test_alicevision_rig_views_compose_the_sub_pose(tmp_path: Path) -> None:
    data = json.loads(json.dumps(ALICEVISION))
    data["views"][0].update(rigId="0", subPoseId="1")
    # Sub-pose 1: no rotation, centre 2 m along the rig's +X; rig pose as above (centre (0, 0, -4)).
    sub = {"status": "constant", "pose": {"rotation": ["1", "0", "0", "0", "1", "0", "0", "0", "1"],
                                          "center": ["2", "0", "0"]}}  # fmt: skip
    data["rigs"] = [{"rigId": "0", "subPoses": [{"status": "constant", "pose": sub["pose"]}, sub]}]
    path = tmp_path / "rig.sfm"
    path.write_text(json.dumps(data))
    cam = read_cameras(path).cameras[0]
    # Pose3::operator*: C = C_rig + R_rig^T C_sub, R_rig = [[0,1,0],[-1,0,0],[0,0,1]] -> R^T (2,0,0) = (0, 2, 0).
    np.testing.assert_allclose(cam.center, [0, 2, -4], atol=1e-12)
    np.testing.assert_allclose(cam.rotation, [[0, 1, 0], [-1, 0, 0], [0, 0, 1]], atol=1e-12)

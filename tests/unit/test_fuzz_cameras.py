"""Fuzzed camera readers: mutated rigs end in a sane :class:`CameraRig` or one InputError.

Seeds are small valid rigs written by lifecast's own writers (COLMAP text and binary, Metashape XML,
RealityCapture XMP sidecars with their photos, AliceVision sfm.json); nothing comes from ../shared/scans.
Each property mutates one file of a seed (bytes, lines and words; XML and JSON also get structured junk:
wrong types, missing or duplicated elements and keys, NaN/inf, huge numbers, deep nesting) and reads it with
:func:`lifecast.io.cameras.read_cameras` through :func:`tests.fuzz_helpers.bounded`: the read returns a rig
whose cameras are sane (positive image sizes, finite positive focal lengths, finite principal points,
distortion, poses and centres, proper rotations) or raises an InputError with a one-line message, within the
time and memory limits, writing nothing.

``LIFECAST_FUZZ_EXAMPLES`` sets the examples per property (default 120); the shrunk inputs of the bugs found
are kept in tests/data/fuzz_regressions/cameras/ and replayed by ``test_camera_regression``.
"""

from __future__ import annotations

import copy
import json
import math
import struct
import tempfile
import xml.etree.ElementTree as ET
import zlib
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lifecast.io.cameras import (
    Camera,
    CameraRig,
    ColmapModel,
    Distortion,
    read_cameras,
    read_colmap_model,
    write_alicevision_json,
    write_colmap_binary,
    write_colmap_text,
    write_metashape_xml,
    write_realitycapture_xmp,
)
from lifecast.io.cameras._common import MAX_IMAGE_SIDE
from lifecast.io.cameras.realitycapture import XCR
from tests import fuzz_helpers as fz

REGRESSIONS = Path(__file__).resolve().parents[1] / "data" / "fuzz_regressions" / "cameras"

FUZZ = settings(
    max_examples=fz.EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)

# ---------------------------------------------------------------------------- seeds


def _rig(distortions: tuple[Distortion, ...]) -> CameraRig:
    """Two small cameras (64 x 48 and 40 x 50) looking at the origin from either side."""
    cameras = []
    for i, distortion in enumerate(distortions):
        angle = math.pi * i + 0.3
        centre = np.array([2.0 * math.cos(angle), 0.2, 2.0 * math.sin(angle)])
        z = -centre / np.linalg.norm(centre)
        x = np.cross(z, [0.0, -1.0, 0.0])
        x /= np.linalg.norm(x)
        rotation = np.stack([x, np.cross(z, x), z])
        width, height = (64, 48) if i % 2 == 0 else (40, 50)
        cameras.append(
            Camera(
                name=f"cam_{i}.png",
                width=width,
                height=height,
                fx=60.0 + 5 * i,
                fy=61.0 + 5 * i,
                cx=width / 2 + 0.75,
                cy=height / 2 - 1.25,
                rotation=rotation,
                translation=-rotation @ centre,
                distortion=distortion,
                sensor_id=f"body{i}",
            )
        )
    return CameraRig(tuple(cameras), source="synthetic")


RADIAL = Distortion("radial", (-0.12, 0.03, -0.004))
OPENCV = Distortion("opencv", (-0.09, 0.02, 0.0012, -0.0008, -0.003, 0.0, 0.0, 0.0))
RATIONAL = Distortion("opencv", (-0.09, 0.02, 0.0012, -0.0008, -0.003, 0.05, -0.01, 0.002))
FISHEYE = Distortion("opencv_fisheye", (0.04, -0.01, 0.003, -0.0005))


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()}


@cache
def colmap_seed(kind: str) -> dict[str, bytes]:
    """``cameras``/``images``/``points3D`` of a two-camera rig (RATIONAL -> FULL_OPENCV, FISHEYE), text or binary."""
    writer = write_colmap_text if kind == "text" else write_colmap_binary
    with tempfile.TemporaryDirectory() as name:
        writer(_rig((RATIONAL, FISHEYE)), Path(name))
        return _files(Path(name))


@cache
def metashape_seed() -> bytes:
    """A Metashape cameras XML with a scaled, rotated chunk transform (a frame and a fisheye sensor)."""
    c, s = math.cos(0.4), math.sin(0.4)
    rot = np.array([[c, -s, 0.0], [s, c, 0.0], [0.0, 0.0, 1.0]])
    with tempfile.TemporaryDirectory() as name:
        path = Path(name) / "cameras.xml"
        write_metashape_xml(_rig((OPENCV, FISHEYE)), path, chunk_transform=(2.5, rot, np.array([1.0, -2.0, 0.5])))
        return path.read_bytes()


@cache
def realitycapture_seed() -> dict[str, bytes]:
    """Two ``.xmp`` sidecars (brown3, brown3t2) and the PNG photos they take their sizes from."""
    rig = _rig((RADIAL, OPENCV))
    with tempfile.TemporaryDirectory() as name:
        write_realitycapture_xmp(rig, Path(name))
        files = _files(Path(name))
    for cam in rig.cameras:
        files[cam.name] = fz.png(cam.width, cam.height)
    return files


@cache
def alicevision_seed() -> bytes:
    """An AliceVision sfm.json (version 1.2.5) of a radial3 and a fisheye4 camera."""
    with tempfile.TemporaryDirectory() as name:
        path = Path(name) / "sfm.json"
        write_alicevision_json(_rig((RADIAL, FISHEYE)), path)
        return path.read_bytes()


# ---------------------------------------------------------------------------- what a sane result is


def check_rig(rig: CameraRig) -> None:
    """Every camera usable: image size in range, finite positive focal lengths, finite everything, a rotation."""
    assert isinstance(rig, CameraRig) and len(rig.cameras) > 0
    assert all(isinstance(n, str) for n in rig.notes)
    for cam in rig.cameras:
        assert isinstance(cam, Camera) and isinstance(cam.name, str)
        assert isinstance(cam.width, int) and isinstance(cam.height, int)
        assert 0 < cam.width <= MAX_IMAGE_SIDE and 0 < cam.height <= MAX_IMAGE_SIDE, (cam.width, cam.height)
        values = [cam.fx, cam.fy, cam.cx, cam.cy, *cam.distortion.coeffs]
        assert all(math.isfinite(v) for v in values), values
        assert cam.fx > 0 and cam.fy > 0
        r = cam.rotation
        assert r.shape == (3, 3) and np.isfinite(r).all()
        assert np.allclose(r @ r.T, np.eye(3), atol=1e-6) and np.linalg.det(r) > 0
        assert cam.translation.shape == (3,) and np.isfinite(cam.translation).all()
        assert np.isfinite(cam.center).all(), "a camera centre that is not finite"
        assert isinstance(cam.sensor_id, str)


def check_model(model: ColmapModel) -> None:
    """A COLMAP model with points and keypoints: consistent shapes, finite coordinates."""
    check_rig(model.rig)
    pts = model.points
    n = len(pts.ids)
    assert pts.xyz.shape == (n, 3) and np.isfinite(pts.xyz).all()
    assert pts.rgb.shape == (n, 3) and pts.rgb.dtype == np.uint8 and pts.error.shape == (n,)
    for xy, ids in model.observations.values():
        assert xy.ndim == 2 and xy.shape[1] == 2 and ids.shape == (len(xy),)
        assert np.isfinite(xy).all(), "a keypoint that is not finite"


def read_rig_bounded(path: Path, folder: Path) -> fz.Outcome:
    outcome = fz.bounded(lambda: read_cameras(path), folder)
    if outcome.error is None:
        check_rig(outcome.result)
    return outcome


def fuzz_files(label: str, files: dict[str, bytes], target: str | None = None) -> None:
    """Write ``files`` into a fresh folder and read the rig (``target``: the file to read, else the folder)."""
    with fz.scratch() as folder, fz.keep_failure(label, files):
        fz.write_files(folder, files)
        read_rig_bounded(folder / target if target else folder, folder)


# ---------------------------------------------------------------------------- the seeds are valid


@pytest.mark.parametrize("which", ["colmap-text", "colmap-binary", "metashape-xml", "realitycapture-xmp",
                                   "alicevision-sfm"])  # fmt: skip
def test_seeds_read_as_valid_rigs(which: str, tmp_path: Path) -> None:
    """The mutations start from rigs that read cleanly, with the distortion each seed was written with."""
    target: Path = tmp_path
    if which.startswith("colmap"):
        files = colmap_seed(which.split("-")[1])
    elif which == "realitycapture-xmp":
        files = realitycapture_seed()
    else:
        name = "cameras.xml" if which == "metashape-xml" else "sfm.json"
        files = {name: metashape_seed() if which == "metashape-xml" else alicevision_seed()}
        target = tmp_path / name
    fz.write_files(tmp_path, files)
    rig = read_cameras(target)
    check_rig(rig)
    assert rig.source == which and len(rig) == 2
    assert sorted(c.distortion.model for c in rig.cameras) != ["none", "none"]
    if which.startswith("colmap"):
        model = read_colmap_model(tmp_path)
        check_model(model)


# ---------------------------------------------------------------------------- COLMAP


@st.composite
def colmap_text(draw: st.DrawFn) -> dict[str, bytes]:
    """The text seed with its cameras.txt, images.txt or points3D.txt mutated (lines, words, bytes)."""
    files = dict(colmap_seed("text"))
    target = draw(st.sampled_from(["cameras.txt", "images.txt", "images.txt", "points3D.txt"]))
    if target == "points3D.txt":  # a few points, then mutated, so the points reader sees data
        files[target] += b"1 0.5 0.25 -1 255 128 0 0.7 1 0 2 0\n2 0 0 0 0 0 0 0 1 1\n"
    if target == "images.txt" and draw(st.booleans()):  # keypoints under the first image, then mutated
        lines = files[target].split(b"\n")
        at = next(i for i, line in enumerate(lines) if line and not line.startswith(b"#")) + 1
        lines[at] = b"10.5 20.25 1 30 40 -1 0.5 0.5 2"
        files[target] = b"\n".join(lines)
    files[target] = draw(fz.mutated(files[target]))
    return files


@FUZZ
@given(files=colmap_text())
def test_colmap_text(files: dict[str, bytes]) -> None:
    with fz.scratch() as folder, fz.keep_failure("colmap_text", files):
        fz.write_files(folder, files)
        read_rig_bounded(folder, folder)
        outcome = fz.bounded(lambda: read_colmap_model(folder), folder)
        if outcome.error is None:
            check_model(outcome.result)


@st.composite
def colmap_binary(draw: st.DrawFn) -> dict[str, bytes]:
    """The binary seed with cameras.bin or images.bin mutated (bytes, NaN/inf/huge words, counts)."""
    files = dict(colmap_seed("binary"))
    target = draw(st.sampled_from(["cameras.bin", "images.bin"]))
    data = files[target]
    if draw(st.booleans()):
        # Overwrite one 8-byte field (a count, a size, a parameter, a quaternion) with a double or an integer.
        at = draw(st.integers(0, len(data) - 8))
        value = draw(
            st.sampled_from([math.nan, math.inf, -math.inf, 1e308, -1e308, 0.0, -1.0, 1e-320]).map(
                lambda v: struct.pack("<d", v)
            )
            | st.sampled_from([0, 1, 2, 3, 2**31, 2**32 - 1, 2**63, 2**64 - 1]).map(lambda v: struct.pack("<Q", v))
        )
        data = data[:at] + value + data[at + 8 :]
    files[target] = draw(fz.mutated(data)) if draw(st.booleans()) else data
    return files


@FUZZ
@given(files=colmap_binary())
def test_colmap_binary(files: dict[str, bytes]) -> None:
    with fz.scratch() as folder, fz.keep_failure("colmap_binary", files):
        fz.write_files(folder, files)
        outcome = fz.bounded(lambda: read_colmap_model(folder), folder)
        if outcome.error is None:
            check_model(outcome.result)


# ---------------------------------------------------------------------------- XML (Metashape, RealityCapture)

#: Text and attribute values that break number parsing, counts, types and rotations.
XML_VALUES = [
    *fz.TOKENS, "", " ", "0 0 0", "1 0 0 0 1 0 0 0 1", "-1 0 0 0 -1 0 0 0 1", "1 0 0 0 1 0 0 0 -1",
    "0 0 0 0 0 0 0 0 0", "2 0 0 0 2 0 0 0 2", "1e308 1e308 1e308", "-1e308 1e308 -1e308", "1,2,3", "1 2 3 4 5 6 7",
    "1 0 0 0 0 1 0 0 0 0 1 0 0 0 0 1", "1 0 0 1e308 0 1 0 1e308 0 0 1 1e308 0 0 0 1", "nan nan nan",
    "0.1 0.2 0.3 0.4 0.5 0.6", "1e308", "1e-308", "5e-324", "frame", "fisheye", "spherical", "adjusted", "initial",
    "absolute", "relative", "perspective", "brown3", "brown4", "brown3t2", "brown4t2", "division", "rational",
    "a\nb", "-1", "1e20",
]  # fmt: skip

METASHAPE_TAGS = [
    "transform", "rotation", "translation", "scale", "calibration", "resolution", "f", "cx", "cy", "b1", "b2",
    "k1", "k2", "k3", "k4", "p1", "p2", "p3", "p4", "fx", "fy", "skew", "sensor", "sensors", "camera", "cameras",
    "component", "components", "chunk",
]  # fmt: skip
METASHAPE_ATTRS = ["id", "sensor_id", "label", "type", "class", "width", "height", "component_id"]

XMP_FIELDS = [
    "Rotation", "Position", "FocalLength35mm", "AspectRatio", "PrincipalPointU", "PrincipalPointV", "Skew",
    "DistortionModel", "DistortionCoeficients", "Coordinates", "CalibrationGroup",
]  # fmt: skip


#: Single numbers that break sizes, focal lengths, scales and offsets.
NUMBERS = ["0", "-0", "-1", "-5", "0.5", "1e-320", "1e-300", "1e20", "1e308", "-1e308", "nan", "inf", "-inf",
           "2147483648", "99999999999999999999", "1e400", ""]  # fmt: skip


def xml_value() -> st.SearchStrategy[str]:
    text = st.text(st.characters(codec="utf-8"), max_size=8)
    numbers = st.lists(st.sampled_from(["0", "1", "-1", "0.5", "1e308", "nan", "inf", "1e-300", "3"]), max_size=17)
    return st.sampled_from(NUMBERS) | st.sampled_from(XML_VALUES) | text | numbers.map(" ".join)


@st.composite
def xml_tamper(draw: st.DrawFn, seed: bytes, tags: list[str], attrs: list[str]) -> bytes:
    """``seed`` parsed, then one to three elements changed: text or an attribute set to junk, the element
    dropped, duplicated, or given a new child; serialised again by ElementTree."""
    root = ET.fromstring(seed)
    for _ in range(draw(st.integers(1, 3))):
        elements = list(root.iter())
        el = elements[draw(st.integers(0, len(elements) - 1))]
        how = draw(st.sampled_from(["text", "attr", "drop", "dup", "child"]))
        if how == "text":
            el.text = draw(xml_value())
        elif how == "attr":  # mostly an attribute the element has (a width, an id, an xcr: field)
            own = sorted(el.attrib)
            el.set(draw(st.sampled_from(own or attrs) | st.sampled_from(attrs)), draw(xml_value()))
        elif how in ("drop", "dup"):
            parents = {child: parent for parent in root.iter() for child in parent}
            if el in parents:
                parent = parents[el]
                if how == "drop":
                    parent.remove(el)
                else:
                    parent.insert(list(parent).index(el), copy.deepcopy(el))
        else:
            ET.SubElement(el, draw(st.sampled_from(tags))).text = draw(xml_value())
    return ET.tostring(root, encoding="utf-8")


def xml_bomb(kind: str) -> bytes:
    """Deep nesting, an entity expansion bomb, an external entity, odd encodings: small files, large claims."""
    if kind == "deep":
        return ("<document>" + "<chunk>" * 50_000 + "</chunk>" * 50_000 + "</document>").encode()
    if kind == "laughs":
        entities = "".join(f'<!ENTITY {chr(98 + i)} "{("&" + chr(97 + i) + ";") * 10}">' for i in range(8))
        return (
            f'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY a "aaaaaaaaaa">{entities}]>'
            "<document><chunk><sensors/><cameras>&i;</cameras></chunk></document>"
        ).encode()
    return {
        "external": b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY x SYSTEM "/dev/zero">]><document>&x;</document>',
        "empty": b"",
        "bare": b"<document/>",
        "bom": b"\xef\xbb\xbf<document><chunk/></document>",
        "utf16": b"<?xml version='1.0' encoding='utf-16'?><document/>",
    }[kind]


def xml_bombs() -> st.SearchStrategy[bytes]:
    return st.sampled_from(["deep", "laughs", "external", "empty", "bare", "bom", "utf16"]).map(xml_bomb)


@FUZZ
@given(data=fz.mutated(metashape_seed()) | xml_tamper(metashape_seed(), METASHAPE_TAGS, METASHAPE_ATTRS) | xml_bombs())
def test_metashape_xml(data: bytes) -> None:
    fuzz_files("metashape", {"cameras.xml": data}, "cameras.xml")


def giant_png(width: int, height: int) -> bytes:
    """A PNG whose header (with a correct CRC) claims ``width`` x ``height`` over a 4x4 image's data."""
    data = bytearray(fz.png())
    ihdr = bytearray(data[12:29])
    ihdr[4:12] = struct.pack(">II", width, height)
    data[12:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(ihdr)))
    return bytes(data)


@st.composite
def realitycapture_files(draw: st.DrawFn) -> dict[str, bytes]:
    """The sidecar seed with one sidecar mutated or tampered with, or a photo mutated or claiming a giant size."""
    files = dict(realitycapture_seed())
    target = draw(st.sampled_from(["cam_0.xmp", "cam_0.xmp", "cam_1.xmp", "cam_0.png", "giant"]))
    if target == "giant":
        size = st.sampled_from([0, 1, 16385, 65535, 2**20 + 1, 2**31 - 1, 2**32 - 1])
        files["cam_1.png"] = giant_png(draw(size), draw(size))
    elif target.endswith(".png"):
        files[target] = draw(fz.mutated(files[target]))
    else:
        attrs = [f"{{{XCR}}}{name}" for name in XMP_FIELDS]
        files[target] = draw(fz.mutated(files[target]) | xml_tamper(files[target], attrs, attrs) | xml_bombs())
    return files


@FUZZ
@given(files=realitycapture_files())
def test_realitycapture_xmp(files: dict[str, bytes]) -> None:
    fuzz_files("realitycapture", files)


# ---------------------------------------------------------------------------- JSON (AliceVision)

#: Keys the AliceVision reader looks up, to add to any object.
SFM_KEYS = [
    "version", "views", "intrinsics", "poses", "rigs", "rigId", "subPoseId", "subPoses", "pose", "transform",
    "rotation", "center", "poseId", "intrinsicId", "viewId", "path", "width", "height", "type", "distortionType",
    "distortionParams", "undistortionParams", "focalLength", "sensorWidth", "pixelRatio", "pxFocalLength",
    "principalPoint",
]  # fmt: skip


def _slots(doc: Any) -> list[tuple[Any, Any]]:
    """Every (container, key or index) in a JSON document, depth first."""
    out: list[tuple[Any, Any]] = []
    stack = [doc]
    while stack:
        node = stack.pop()
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
        for key, value in items:
            out.append((node, key))
            stack.append(value)
    return out


@st.composite
def json_tamper(draw: st.DrawFn, seed: bytes) -> bytes:
    """``seed`` with one to three values replaced by junk (wrong types, NaN/inf, huge numbers, nesting), keys
    dropped, or known keys added with junk values."""
    doc = json.loads(seed)
    for _ in range(draw(st.integers(1, 3))):
        slots = _slots(doc)
        node, key = slots[draw(st.integers(0, len(slots) - 1))]
        how = draw(st.sampled_from(["junk", "number", "number", "drop", "add"]))
        if how == "junk":
            node[key] = draw(fz.json_junk())
        elif how == "number":
            node[key] = draw(
                st.sampled_from([0, -1, "0", "-1", "1e400", "nan", 10**400, 1e308, "", "4294967295", "1e-320", "1e20"])
                | st.sampled_from(NUMBERS)
            )
        elif how == "drop":
            del node[key]
        else:
            dicts = [n for n, _ in slots if isinstance(n, dict)] or [doc]
            dicts[draw(st.integers(0, len(dicts) - 1))][draw(st.sampled_from(SFM_KEYS))] = draw(fz.json_junk())
    return json.dumps(doc).encode()


def json_raw() -> st.SearchStrategy[bytes]:
    huge = st.sampled_from(["deep_list", "deep_object", "long_list", "many_keys"]).map(fz.huge_json)
    raw = st.sampled_from(
        ['{"views": ' + "[" * 5000 + "]" * 5000 + "}", "[]", "null", "1e400", "", "{", '{"views": 1}']
    )
    return (huge | raw).map(str.encode) | st.just(b"\xff\xfe{\x00}\x00")


@FUZZ
@given(data=fz.mutated(alicevision_seed()) | json_tamper(alicevision_seed()) | json_raw())
def test_alicevision_sfm(data: bytes) -> None:
    fuzz_files("alicevision", {"sfm.json": data}, "sfm.json")


# ---------------------------------------------------------------------------- regressions

#: What reading each regression (a file or a folder under tests/data/fuzz_regressions/cameras) must do: the
#: fragment its InputError says, or "ok" for a sane rig.
CAMERA_REGRESSIONS: dict[str, str] = {
    "alicevision_deep_nesting.json": "nested too deeply",
    "alicevision_huge_integer.json": "intrinsic '1000' focalLength is too large",
    "alicevision_intrinsics_null.json": 'has a "intrinsics" that is not a list',
    "alicevision_sensor_width_zero.json": "sensorWidth and pixelRatio must be positive",
    "alicevision_version_inf.json": "has an unreadable version [inf, '2', '5']",
    "alicevision_width_zero.json": "intrinsic '1000': image size 0 x 48 is not in 1..1048576 pixels",
    "colmap_binary_name_newline": "image 1 ('cam\\n0.png') refers to camera 7",
    "colmap_binary_nan_distortion": "camera 1: distortion coefficients must be finite",
    "colmap_binary_width_huge": "image size 8386560 x 50 is not in 1..1048576 pixels",
    "colmap_text_centre_overflow": "the camera centre is not finite",
    "colmap_text_keypoint_nan": "line 6: POINTS2D holds a non-finite coordinate",
    "colmap_text_width_huge": "image size 2147483647 x 48 is not in 1..1048576 pixels",
    "metashape_focal_zero.xml": "sensor '0': focal lengths must be finite and positive, got 0, 1",
    "metashape_height_zero.xml": "sensor '0': image size 64 x 0 is not in 1..1048576 pixels",
    "metashape_sensor_id_newline.xml": "sensor '0\\nx' has no <calibration>",
    "realitycapture_aspect_ratio_zero": "camera 'cam_0.png': focal lengths must be finite and positive, got 60, 0",
    "realitycapture_photo_bomb": "cam_1.png: cannot read the image size",
}


def camera_regressions() -> list[Path]:
    return sorted(REGRESSIONS.iterdir()) if REGRESSIONS.is_dir() else []


def test_camera_regressions_are_described() -> None:
    """Every regression is replayed, and listed in the folder's README."""
    assert sorted(p.name for p in camera_regressions()) == sorted(CAMERA_REGRESSIONS)
    readme = (REGRESSIONS.parent / "README.md").read_text()
    assert all(f"`cameras/{name}`" in readme for name in CAMERA_REGRESSIONS)


@pytest.mark.parametrize("path", camera_regressions(), ids=lambda p: p.name)
def test_camera_regression(path: Path) -> None:
    outcome = read_rig_bounded(path, path if path.is_dir() else path.parent)
    expected = CAMERA_REGRESSIONS[path.name]
    if expected == "ok":
        assert outcome.error is None, outcome.error
    else:
        assert outcome.error is not None, f"{path.name} was accepted"
        assert expected in str(outcome.error), str(outcome.error)

"""COLMAP sparse models (``cameras``/``images``/``points3D``, text or binary) to and from :class:`CameraRig`.

Conventions, from COLMAP's own sources (colmap/colmap ``src/colmap/sensor/models.h`` for
the model ids and parameter orders, ``src/colmap/scene/reconstruction_io.cc`` and
``scripts/python/read_write_model.py`` for the file layouts):

* ``images``: ``QW QX QY QZ TX TY TZ`` is the world-to-camera rotation (Hamilton
  quaternion, scalar first) and translation, ``x_cam = R x_world + t``; the camera
  looks down +Z with +Y down, exactly this package's convention.
* pixel coordinates put the top-left corner of the image at ``(0, 0)`` (the centre of
  the top-left pixel is ``(0.5, 0.5)``), exactly this package's convention.
* models read: SIMPLE_PINHOLE ``f cx cy``; PINHOLE ``fx fy cx cy``; SIMPLE_RADIAL
  ``f cx cy k``; RADIAL ``f cx cy k1 k2``; OPENCV ``fx fy cx cy k1 k2 p1 p2``;
  OPENCV_FISHEYE ``fx fy cx cy k1 k2 k3 k4``; FULL_OPENCV
  ``fx fy cx cy k1 k2 p1 p2 k3 k4 k5 k6``. COLMAP's distortion functions for these
  are OpenCV's, so the coefficients carry over unchanged. Other models (FOV,
  SIMPLE_RADIAL_FISHEYE, RADIAL_FISHEYE, THIN_PRISM_FISHEYE, RAD_TAN_THIN_PRISM_FISHEYE)
  are refused with an :class:`InputError` naming the model when an image uses one.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lifecast.errors import InputError
from lifecast.io.cameras._common import fmt, fmt_all, make_camera, make_distortion, number
from lifecast.io.cameras.model import Camera, CameraRig, Distortion

# model id -> (name, number of parameters); colmap/colmap src/colmap/sensor/models.h.
MODELS: dict[int, tuple[str, int]] = {
    0: ("SIMPLE_PINHOLE", 3),
    1: ("PINHOLE", 4),
    2: ("SIMPLE_RADIAL", 4),
    3: ("RADIAL", 5),
    4: ("OPENCV", 8),
    5: ("OPENCV_FISHEYE", 8),
    6: ("FULL_OPENCV", 12),
    7: ("FOV", 5),
    8: ("SIMPLE_RADIAL_FISHEYE", 4),
    9: ("RADIAL_FISHEYE", 5),
    10: ("THIN_PRISM_FISHEYE", 12),
    11: ("RAD_TAN_THIN_PRISM_FISHEYE", 16),
}
MODEL_IDS: dict[str, int] = {name: mid for mid, (name, _) in MODELS.items()}
SUPPORTED_MODELS = ("SIMPLE_PINHOLE", "PINHOLE", "SIMPLE_RADIAL", "RADIAL", "OPENCV", "OPENCV_FISHEYE", "FULL_OPENCV")

_TEXT_FILES = ("cameras.txt", "images.txt")
_BINARY_FILES = ("cameras.bin", "images.bin")
_POINT2D = np.dtype([("x", "<f8"), ("y", "<f8"), ("id", "<i8")])


@dataclass
class _ColmapCamera:
    camera_id: int
    model: str
    width: int
    height: int
    params: tuple[float, ...]


@dataclass
class _ColmapImage:
    image_id: int
    qvec: tuple[float, float, float, float]
    tvec: tuple[float, float, float]
    camera_id: int
    name: str
    xy: NDArray[np.float64] = field(default_factory=lambda: np.zeros((0, 2)))
    point3d_ids: NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, np.int64))


@dataclass
class ColmapPoints:
    """A COLMAP model's sparse points.

    Attributes
    ----------
    ids
        ``(n,) int64`` POINT3D_IDs.
    xyz
        ``(n, 3) float64`` world positions.
    rgb
        ``(n, 3) uint8`` colours.
    error
        ``(n,) float64`` mean reprojection error COLMAP recorded, in pixels.
    """

    ids: NDArray[np.int64]
    xyz: NDArray[np.float64]
    rgb: NDArray[np.uint8]
    error: NDArray[np.float64]


@dataclass
class ColmapModel:
    """Everything in a COLMAP sparse model that lifecast uses.

    Attributes
    ----------
    rig
        The registered images as cameras.
    points
        The sparse points (empty when there is no points3D file).
    observations
        Image name -> ``((k, 2) float64 pixel coords, (k,) int64 POINT3D_ID, -1 where none)``:
        the keypoints of each image as ``images.txt``'s POINTS2D lists them.
    """

    rig: CameraRig
    points: ColmapPoints
    observations: dict[str, tuple[NDArray[np.float64], NDArray[np.int64]]]


# --- locating the model -------------------------------------------------------------------


def find_colmap_model(path: str | Path) -> tuple[Path, str] | None:
    """The folder holding a COLMAP model at or under ``path``, and ``"binary"`` or ``"text"``.

    Looks in ``path`` itself, then ``path/sparse/0``, ``path/sparse`` and ``path/0``.
    Binary wins over text when a folder has both, as in COLMAP's own reader. None when
    nothing is found.
    """
    root = Path(path)
    for folder in (root, root / "sparse" / "0", root / "sparse", root / "0"):
        if all((folder / name).is_file() for name in _BINARY_FILES):
            return folder, "binary"
        if all((folder / name).is_file() for name in _TEXT_FILES):
            return folder, "text"
    return None


def read_colmap(path: str | Path) -> CameraRig:
    """Read a COLMAP sparse model's registered images as a :class:`CameraRig`.

    Parameters
    ----------
    path
        The model folder (with ``cameras.bin``/``images.bin`` or ``cameras.txt``/``images.txt``),
        or a project folder holding it in ``sparse/0``.

    Raises
    ------
    InputError
        No model there, a malformed file, an unsupported camera model, an image
        referring to a camera that is not defined.
    """
    return read_colmap_model(path, points=False).rig


def read_colmap_model(path: str | Path, points: bool = True) -> ColmapModel:
    """Read a COLMAP sparse model: cameras, keypoint observations and (optionally) points.

    Parameters
    ----------
    path
        As for :func:`read_colmap`.
    points
        Also read ``points3D.txt``/``.bin`` (when present).
    """
    found = find_colmap_model(path)
    if found is None:
        raise InputError(
            "no COLMAP model here: expected cameras.txt + images.txt or cameras.bin + images.bin "
            "(in this folder or in sparse/0)",
            path,
        )
    folder, kind = found
    if kind == "binary":
        cameras = _read_cameras_binary(folder / "cameras.bin")
        images = _read_images_binary(folder / "images.bin")
        pts_path = folder / "points3D.bin"
        pts = _read_points_binary(pts_path) if points and pts_path.is_file() else _no_points()
    else:
        cameras = _read_cameras_text(folder / "cameras.txt")
        images = _read_images_text(folder / "images.txt")
        pts_path = folder / "points3D.txt"
        pts = _read_points_text(pts_path) if points and pts_path.is_file() else _no_points()
    images_file = folder / ("images.bin" if kind == "binary" else "images.txt")
    rig_cameras = []
    for image in images:
        cam = cameras.get(image.camera_id)
        if cam is None:
            raise InputError(
                f"image {image.image_id} ({image.name!r}) refers to camera {image.camera_id}, "
                f"which the cameras file does not define",
                images_file,
            )
        rig_cameras.append(_to_camera(image, cam, images_file))
    if not rig_cameras:
        raise InputError("the COLMAP model has no registered images", images_file)
    rig = CameraRig(tuple(rig_cameras), source=f"colmap-{kind}")
    observations = {image.name: (image.xy, image.point3d_ids) for image in images}
    return ColmapModel(rig=rig, points=pts, observations=observations)


# --- conversions -----------------------------------------------------------------------------


def qvec_to_rotation(qvec: tuple[float, float, float, float] | NDArray[np.float64]) -> NDArray[np.float64]:
    """``(3, 3)`` rotation of a unit quaternion ``(w, x, y, z)`` (COLMAP's ``qvec2rotmat``)."""
    w, x, y, z = (float(v) for v in qvec)
    n = np.sqrt(w * w + x * x + y * y + z * z)
    w, x, y, z = w / n, x / n, y / n, z / n
    return np.array(
        [
            [1 - 2 * y * y - 2 * z * z, 2 * x * y - 2 * w * z, 2 * x * z + 2 * w * y],
            [2 * x * y + 2 * w * z, 1 - 2 * x * x - 2 * z * z, 2 * y * z - 2 * w * x],
            [2 * x * z - 2 * w * y, 2 * y * z + 2 * w * x, 1 - 2 * x * x - 2 * y * y],
        ]
    )


def rotation_to_qvec(rotation: NDArray[np.float64]) -> NDArray[np.float64]:
    """Unit quaternion ``(w, x, y, z)``, ``w >= 0``, of a ``(3, 3)`` rotation (Shepperd's method)."""
    m = np.asarray(rotation, dtype=np.float64)
    trace = m[0, 0] + m[1, 1] + m[2, 2]
    if trace > 0:
        s = 2.0 * np.sqrt(trace + 1.0)
        q = [0.25 * s, (m[2, 1] - m[1, 2]) / s, (m[0, 2] - m[2, 0]) / s, (m[1, 0] - m[0, 1]) / s]
    elif m[0, 0] > m[1, 1] and m[0, 0] > m[2, 2]:
        s = 2.0 * np.sqrt(1.0 + m[0, 0] - m[1, 1] - m[2, 2])
        q = [(m[2, 1] - m[1, 2]) / s, 0.25 * s, (m[0, 1] + m[1, 0]) / s, (m[0, 2] + m[2, 0]) / s]
    elif m[1, 1] > m[2, 2]:
        s = 2.0 * np.sqrt(1.0 + m[1, 1] - m[0, 0] - m[2, 2])
        q = [(m[0, 2] - m[2, 0]) / s, (m[0, 1] + m[1, 0]) / s, 0.25 * s, (m[1, 2] + m[2, 1]) / s]
    else:
        s = 2.0 * np.sqrt(1.0 + m[2, 2] - m[0, 0] - m[1, 1])
        q = [(m[1, 0] - m[0, 1]) / s, (m[0, 2] + m[2, 0]) / s, (m[1, 2] + m[2, 1]) / s, 0.25 * s]
    qv = np.array(q)
    qv /= np.linalg.norm(qv)
    return -qv if qv[0] < 0 else qv


def _intrinsics(cam: _ColmapCamera, path: Path) -> tuple[float, float, float, float, Distortion]:
    """COLMAP parameters -> ``(fx, fy, cx, cy, distortion)``; models.h parameter orders."""
    fx, fy, cx, cy, model, coeffs = _params(cam)
    return fx, fy, cx, cy, make_distortion(model, coeffs, f"camera {cam.camera_id}", path)


def _params(cam: _ColmapCamera) -> tuple[float, float, float, float, str, tuple[float, ...]]:
    p = cam.params
    if cam.model == "SIMPLE_PINHOLE":
        return p[0], p[0], p[1], p[2], "none", ()
    if cam.model == "PINHOLE":
        return p[0], p[1], p[2], p[3], "none", ()
    if cam.model == "SIMPLE_RADIAL":
        return p[0], p[0], p[1], p[2], "radial", (p[3], 0.0, 0.0)
    if cam.model == "RADIAL":
        return p[0], p[0], p[1], p[2], "radial", (p[3], p[4], 0.0)
    if cam.model == "OPENCV":
        return p[0], p[1], p[2], p[3], "opencv", (p[4], p[5], p[6], p[7], 0.0, 0.0, 0.0, 0.0)
    if cam.model == "FULL_OPENCV":
        return p[0], p[1], p[2], p[3], "opencv", tuple(p[4:12])
    if cam.model == "OPENCV_FISHEYE":
        return p[0], p[1], p[2], p[3], "opencv_fisheye", tuple(p[4:8])
    raise ValueError(cam.model)


def _to_camera(image: _ColmapImage, cam: _ColmapCamera, path: Path) -> Camera:
    if cam.model not in SUPPORTED_MODELS:
        raise InputError(
            f"camera {cam.camera_id} uses the COLMAP model {cam.model}, which lifecast does not read "
            f"(supported: {', '.join(SUPPORTED_MODELS)}); undistort the images with COLMAP first",
            path,
        )
    fx, fy, cx, cy, distortion = _intrinsics(cam, path)
    q = np.asarray(image.qvec, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        length = float(np.linalg.norm(q))
    if not 0.5 < length < 2.0:
        raise InputError(f"image {image.image_id} ({image.name!r}) has a quaternion far from unit length", path)
    return make_camera(
        path,
        f"image {image.image_id} ({image.name!r}), camera {cam.camera_id}",
        name=image.name,
        width=cam.width,
        height=cam.height,
        fx=fx,
        fy=fy,
        cx=cx,
        cy=cy,
        rotation=qvec_to_rotation(q),
        translation=np.asarray(image.tvec, dtype=np.float64),
        distortion=distortion,
        sensor_id=str(cam.camera_id),
    )


def _colmap_params(cam: Camera) -> tuple[str, list[float]]:
    """The narrowest COLMAP model that represents ``cam`` exactly, and its parameters."""
    d = cam.distortion
    same_f = cam.fx == cam.fy
    if d.model == "none" or d.is_identity:
        if same_f:
            return "SIMPLE_PINHOLE", [cam.fx, cam.cx, cam.cy]
        return "PINHOLE", [cam.fx, cam.fy, cam.cx, cam.cy]
    if d.model == "radial":
        k1, k2, k3 = d.coeffs
        if same_f and k3 == 0.0:
            if k2 == 0.0:
                return "SIMPLE_RADIAL", [cam.fx, cam.cx, cam.cy, k1]
            return "RADIAL", [cam.fx, cam.cx, cam.cy, k1, k2]
        return "FULL_OPENCV", [cam.fx, cam.fy, cam.cx, cam.cy, k1, k2, 0.0, 0.0, k3, 0.0, 0.0, 0.0]
    if d.model == "opencv":
        k1, k2, p1, p2, k3, k4, k5, k6 = d.coeffs
        if k3 == k4 == k5 == k6 == 0.0:
            return "OPENCV", [cam.fx, cam.fy, cam.cx, cam.cy, k1, k2, p1, p2]
        return "FULL_OPENCV", [cam.fx, cam.fy, cam.cx, cam.cy, *d.coeffs]
    return "OPENCV_FISHEYE", [cam.fx, cam.fy, cam.cx, cam.cy, *d.coeffs]


def _camera_table(rig: CameraRig) -> tuple[list[tuple[int, str, int, int, list[float]]], list[int]]:
    """Unique COLMAP cameras (id, model, w, h, params) and each rig camera's camera id."""
    table: list[tuple[int, str, int, int, list[float]]] = []
    index: dict[tuple[object, ...], int] = {}
    ids = []
    for cam in rig.cameras:
        model, params = _colmap_params(cam)
        key = (cam.sensor_id, model, cam.width, cam.height, *params)
        if key not in index:
            index[key] = len(table) + 1
            table.append((len(table) + 1, model, cam.width, cam.height, params))
        ids.append(index[key])
    return table, ids


# --- writers ---------------------------------------------------------------------------------


def write_colmap_text(rig: CameraRig, folder: str | Path) -> Path:
    """Write ``rig`` as a COLMAP text model (``cameras.txt``, ``images.txt``, empty ``points3D.txt``).

    Each camera gets the narrowest COLMAP model that holds its intrinsics exactly;
    cameras with identical intrinsics and ``sensor_id`` share one COLMAP camera.
    Numbers are written with ``repr`` so they read back bit for bit.

    Returns
    -------
    The folder written.
    """
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    table, ids = _camera_table(rig)
    lines = ["# Camera list with one line of data per camera:", "#   CAMERA_ID, MODEL, WIDTH, HEIGHT, PARAMS[]"]
    lines.append(f"# Number of cameras: {len(table)}")
    lines += [f"{cid} {model} {w} {h} {' '.join(fmt(p) for p in params)}" for cid, model, w, h, params in table]
    (out / "cameras.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    lines = [
        "# Image list with two lines of data per image:",
        "#   IMAGE_ID, QW, QX, QY, QZ, TX, TY, TZ, CAMERA_ID, NAME",
        "#   POINTS2D[] as (X, Y, POINT3D_ID)",
        f"# Number of images: {len(rig.cameras)}, mean observations per image: 0",
    ]
    for i, (cam, cid) in enumerate(zip(rig.cameras, ids, strict=True), start=1):
        lines.append(f"{i} {fmt_all(rotation_to_qvec(cam.rotation))} {fmt_all(cam.translation)} {cid} {cam.name}")
        lines.append("")
    (out / "images.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (out / "points3D.txt").write_text(
        "# 3D point list with one line of data per point:\n"
        "#   POINT3D_ID, X, Y, Z, R, G, B, ERROR, TRACK[] as (IMAGE_ID, POINT2D_IDX)\n"
        "# Number of points: 0, mean track length: 0\n",
        encoding="utf-8",
    )
    return out


def write_colmap_binary(rig: CameraRig, folder: str | Path) -> Path:
    """Write ``rig`` as a COLMAP binary model (``cameras.bin``, ``images.bin``, empty ``points3D.bin``).

    Layout as COLMAP's ``Reconstruction::Write*Binary``: little-endian, ``cameras.bin`` =
    uint64 count, then per camera int32 id, int32 model id, uint64 width, uint64 height,
    float64 params; ``images.bin`` = uint64 count, then per image uint32 id, float64 qw qx qy qz
    tx ty tz, uint32 camera id, NUL-terminated UTF-8 name, uint64 number of points2D (0 here).

    Returns
    -------
    The folder written.
    """
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    table, ids = _camera_table(rig)
    chunks = [struct.pack("<Q", len(table))]
    for cid, model, w, h, params in table:
        chunks.append(struct.pack("<iiQQ", cid, MODEL_IDS[model], w, h))
        chunks.append(struct.pack(f"<{len(params)}d", *params))
    (out / "cameras.bin").write_bytes(b"".join(chunks))
    chunks = [struct.pack("<Q", len(rig.cameras))]
    for i, (cam, cid) in enumerate(zip(rig.cameras, ids, strict=True), start=1):
        q = rotation_to_qvec(cam.rotation)
        chunks.append(struct.pack("<I7dI", i, *q, *cam.translation, cid))
        chunks.append(cam.name.encode("utf-8") + b"\x00")
        chunks.append(struct.pack("<Q", 0))
    (out / "images.bin").write_bytes(b"".join(chunks))
    (out / "points3D.bin").write_bytes(struct.pack("<Q", 0))
    return out


# --- text parsing ----------------------------------------------------------------------------


def _data_lines(path: Path) -> Iterator[tuple[int, str]]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise InputError("is not a UTF-8 text file", path) from None
    except OSError as exc:
        raise InputError(f"cannot be read: {exc.strerror}", path) from None
    for number_, line in enumerate(text.splitlines(), start=1):
        yield number_, line.strip()


def _read_cameras_text(path: Path) -> dict[int, _ColmapCamera]:
    cameras = {}
    for lineno, line in _data_lines(path):
        if not line or line.startswith("#"):
            continue
        tokens = line.split()
        if len(tokens) < 4:
            raise InputError(f"line {lineno}: expected CAMERA_ID MODEL WIDTH HEIGHT PARAMS...", path)
        model = tokens[1]
        known = {name: n for name, n in MODELS.values()}
        if model not in known:
            raise InputError(f"line {lineno}: unknown COLMAP camera model {model!r}", path)
        try:
            camera_id, width, height = int(tokens[0]), int(tokens[2]), int(tokens[3])
        except ValueError:
            raise InputError(f"line {lineno}: CAMERA_ID, WIDTH and HEIGHT must be integers", path) from None
        params = tuple(number(t, f"line {lineno}: parameter", path) for t in tokens[4:])
        if len(params) != known[model]:
            raise InputError(f"line {lineno}: model {model} takes {known[model]} parameters, found {len(params)}", path)
        cameras[camera_id] = _ColmapCamera(camera_id, model, width, height, params)
    return cameras


def _read_images_text(path: Path) -> list[_ColmapImage]:
    # As COLMAP's ReadImagesText: an image line, then always its POINTS2D line (possibly empty).
    images = []
    lines = _data_lines(path)
    for lineno, line in lines:
        if not line or line.startswith("#"):
            continue
        tokens = line.split()
        if len(tokens) < 10:
            raise InputError(f"line {lineno}: expected IMAGE_ID QW QX QY QZ TX TY TZ CAMERA_ID NAME", path)
        try:
            image_id, camera_id = int(tokens[0]), int(tokens[8])
        except ValueError:
            raise InputError(f"line {lineno}: IMAGE_ID and CAMERA_ID must be integers", path) from None
        values = [number(t, f"line {lineno}: pose value", path) for t in tokens[1:8]]
        name = " ".join(tokens[9:])
        image = _ColmapImage(image_id, (values[0], values[1], values[2], values[3]), (values[4], values[5], values[6]),
                             camera_id, name)  # fmt: skip
        next_line = next(lines, None)
        if next_line is not None and next_line[1] and not next_line[1].startswith("#"):
            pts_lineno, pts = next_line
            try:
                arr = np.array(pts.split(), dtype=np.float64).reshape(-1, 3)
            except ValueError:
                raise InputError(f"line {pts_lineno}: POINTS2D must be triples X Y POINT3D_ID", path) from None
            image.xy = arr[:, :2].copy()
            image.point3d_ids = _point_ids(arr[:, 2], f"line {pts_lineno}: POINT3D_ID", path)
            _check_finite(image.xy, f"line {pts_lineno}: POINTS2D", path)
        images.append(image)
    return images


def _read_points_text(path: Path) -> ColmapPoints:
    rows = []
    for lineno, line in _data_lines(path):
        if not line or line.startswith("#"):
            continue
        tokens = line.split()
        if len(tokens) < 8:
            raise InputError(f"line {lineno}: expected POINT3D_ID X Y Z R G B ERROR TRACK[]", path)
        rows.append([number(t, f"line {lineno}: value", path) for t in tokens[:8]])
    if not rows:
        return _no_points()
    arr = np.array(rows)
    return ColmapPoints(
        ids=_point_ids(arr[:, 0], "POINT3D_ID", path),
        xyz=arr[:, 1:4].copy(),
        rgb=np.clip(arr[:, 4:7], 0, 255).astype(np.uint8),
        error=arr[:, 7].copy(),
    )


def _point_ids(values: NDArray[np.float64], what: str, path: Path) -> NDArray[np.int64]:
    """Point ids parsed as floats -> int64, or :class:`InputError` for a fraction, NaN or an id past 64 bits."""
    ok = np.isfinite(values) & (np.abs(values) < 2.0**63)
    if not ok.all() or (values != np.round(values)).any():
        raise InputError(f"{what} must be integers (found {values[~ok][:1].tolist() or 'a fraction'})", path)
    return values.astype(np.int64)


def _check_finite(values: NDArray[np.float64], what: str, path: Path) -> None:
    if not np.isfinite(values).all():
        raise InputError(f"{what} holds a non-finite coordinate", path)


def _no_points() -> ColmapPoints:
    return ColmapPoints(np.zeros(0, np.int64), np.zeros((0, 3)), np.zeros((0, 3), np.uint8), np.zeros(0))


# --- binary parsing --------------------------------------------------------------------------


class _Reader:
    """Little-endian cursor over a file's bytes that turns truncation into InputError."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.data = path.read_bytes()
        except OSError as exc:
            raise InputError(f"cannot be read: {exc.strerror}", path) from None
        self.pos = 0

    def unpack(self, fmt_: str) -> tuple[Any, ...]:
        size = struct.calcsize(fmt_)
        if self.pos + size > len(self.data):
            raise InputError(f"is truncated (needs {size} more bytes at offset {self.pos})", self.path)
        values = struct.unpack_from(fmt_, self.data, self.pos)
        self.pos += size
        return values

    def take(self, size: int) -> bytes:
        if size < 0 or self.pos + size > len(self.data):
            raise InputError(f"is truncated (needs {size} more bytes at offset {self.pos})", self.path)
        chunk = self.data[self.pos : self.pos + size]
        self.pos += size
        return chunk

    def cstring(self) -> str:
        end = self.data.find(b"\x00", self.pos)
        if end < 0:
            raise InputError(f"is truncated (unterminated image name at offset {self.pos})", self.path)
        raw = self.data[self.pos : end]
        self.pos = end + 1
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise InputError(f"has an image name that is not UTF-8 at offset {self.pos}", self.path) from None

    def count(self, what: str, item_size: int) -> int:
        n = int(self.unpack("<Q")[0])
        if n * item_size > len(self.data) - self.pos:
            raise InputError(f"claims {n} {what}, more than the file can hold", self.path)
        return n


def _read_cameras_binary(path: Path) -> dict[int, _ColmapCamera]:
    r = _Reader(path)
    cameras = {}
    for _ in range(r.count("cameras", 24)):
        camera_id, model_id, width, height = r.unpack("<iiQQ")
        if model_id not in MODELS:
            raise InputError(f"camera {camera_id} has unknown COLMAP camera model id {model_id}", path)
        name, n = MODELS[model_id]
        params = tuple(float(v) for v in r.unpack(f"<{n}d"))
        cameras[camera_id] = _ColmapCamera(camera_id, name, int(width), int(height), params)
    return cameras


def _read_images_binary(path: Path) -> list[_ColmapImage]:
    r = _Reader(path)
    images = []
    for _ in range(r.count("images", 64)):
        props = r.unpack("<I7dI")
        name = r.cstring()
        n_points = r.count("points2D", _POINT2D.itemsize)
        pts = np.frombuffer(r.take(n_points * _POINT2D.itemsize), dtype=_POINT2D)
        image_id, qw, qx, qy, qz, tx, ty, tz, camera_id = props
        image = _ColmapImage(int(image_id), (qw, qx, qy, qz), (tx, ty, tz), int(camera_id), name)
        image.xy = np.stack([pts["x"], pts["y"]], axis=1).astype(np.float64)
        image.point3d_ids = pts["id"].astype(np.int64)
        _check_finite(image.xy, f"image {image_id} ({name!r}) points2D", path)
        images.append(image)
    return images


def _read_points_binary(path: Path) -> ColmapPoints:
    r = _Reader(path)
    n = r.count("points", 43)
    ids = np.zeros(n, np.int64)
    xyz = np.zeros((n, 3))
    rgb = np.zeros((n, 3), np.uint8)
    error = np.zeros(n)
    for i in range(n):
        values = r.unpack("<Q3d3Bd")
        ids[i] = values[0]
        xyz[i] = values[1:4]
        rgb[i] = values[4:7]
        error[i] = values[7]
        track = r.count("track elements", 8)
        r.take(track * 8)
    _check_finite(xyz, "points3D", path)
    return ColmapPoints(ids=ids, xyz=xyz, rgb=rgb, error=error)

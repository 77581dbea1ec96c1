"""AliceVision / Meshroom ``sfm.json`` (``.sfm``) to and from :class:`CameraRig`.

Conventions, from AliceVision's own sources (alicevision/AliceVision):

* ``src/aliceVision/sfmDataIO/jsonIO.hpp``: ``poses[].pose.transform`` holds a ``Pose3``
  as ``rotation`` (9 numbers written by ``saveMatrix``, i.e. Eigen's linear index =
  COLUMN-major) and ``center``; ``src/aliceVision/geometry/Pose3.hpp``: the rotation is
  world-to-camera, ``x_cam = R (X - C)``. Column-major world-to-camera reads as row-major
  camera-to-world: the nine numbers are ``R^T`` row by row. Rig views compose their
  rig's pose with the sub-pose (``Pose3::operator*``: ``R = R_sub R_rig``,
  ``C = C_rig + R_rig^T C_sub``).
* ``src/aliceVision/sfmDataIO/jsonIO.cpp`` ``loadIntrinsic`` (file ``version``):
  ``< 1.2.0`` scalar ``pxFocalLength``; ``< 1.2.2`` ``pxFocalLength`` = ``[fx, fy]``;
  ``< 1.2.5`` ``focalLength`` (mm), ``sensorWidth``, ``pixelRatio`` = fx/fy;
  otherwise ``fx = focalLength / sensorWidth * width``, ``fy = fx * pixelRatio``.
  ``principalPoint`` is an OFFSET from the image centre from 1.2.1 on (``CHANGES.md``),
  absolute before.
* pixel convention: AliceVision's COLMAP exporter (``sfmDataIO/colmap.cpp``) writes its
  principal point unchanged as COLMAP's, i.e. the same top-left-corner-at-0 convention as
  this package. (That AliceVision means exactly this is inferred from its exporter, not
  stated anywhere.)
* distortion (``src/aliceVision/camera/Distortion*.cpp``): ``radial1`` (k1), ``radial3``
  (k1 k2 k3, polynomial in r^2), ``brown`` (k1 k2 k3 t1 t2 with
  ``t_x = t2 (r^2 + 2x^2) + 2 t1 x y``: ``t1``, ``t2`` are OpenCV's ``p1``, ``p2``), ``fisheye4``
  (k1..k4, OpenCV's fisheye). The intrinsic's ``type`` names the model (``pinhole``,
  ``radial1``, ``radial3``, ``brown``, ``fisheye4``); newer files may instead give
  ``distortionType`` (``none``, ``radialk1``, ``radialk3``, ``brown``, ``fisheye4``) beside
  ``type: pinhole``. Anything else (equidistant, 3DE models, fisheye1) is refused with an
  :class:`InputError` naming it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lifecast.errors import InputError
from lifecast.io.cameras._common import (
    check_intrinsics,
    make_camera,
    nearest_rotation,
    note,
    number,
    shorten,
)
from lifecast.io.cameras.model import CameraRig, Distortion

_DISTORTION_NAMES = {
    "pinhole": "none",
    "none": "none",
    "radial1": "radial1",
    "radialk1": "radial1",
    "radial3": "radial3",
    "radialk3": "radial3",
    "brown": "brown",
    "fisheye4": "fisheye4",
}


def _version(data: dict[str, Any], path: Path) -> tuple[int, int, int]:
    raw = data.get("version", ["1", "0", "0"])
    try:
        if not isinstance(raw, list):
            raise TypeError(raw)
        parts = [int(float(v)) for v in raw]
    except (TypeError, ValueError, OverflowError):
        raise InputError(f"has an unreadable version {shorten(raw)}", path) from None
    parts = [*parts, 0, 0, 0][:3]
    return parts[0], parts[1], parts[2]


def _list(data: dict[str, Any], key: str, path: Path) -> list[Any]:
    """``data[key]`` when it is a list, ``[]`` when absent, else :class:`InputError`."""
    value = data.get(key, [])
    if not isinstance(value, list):
        raise InputError(f'has a "{key}" that is not a list', path)
    return value


def _object(value: Any, what: str, path: Path) -> dict[str, Any]:
    """``value`` when it is a JSON object (an absent one reads as empty), else :class:`InputError`."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InputError(f"{what} is not an object", path)
    return value


def _numbers(value: Any, count: int, what: str, path: Path) -> list[float]:
    if not isinstance(value, list) or len(value) != count:
        raise InputError(f"{what} should be a list of {count} numbers", path)
    return [number(v, what, path) for v in value]


def read_alicevision_sfm(path: str | Path) -> CameraRig:
    """Read an AliceVision / Meshroom ``sfm.json`` or ``.sfm`` file.

    Only views with both a pose and a (supported) intrinsic become cameras; the
    others (not reconstructed) are skipped with a note. A camera's name is the view's
    ``path`` relative to the file's folder when it lies below it, else as written.

    Raises
    ------
    InputError
        Missing file, not JSON, no views, an unsupported intrinsic type, a view whose
        intrinsic or rig is not defined, malformed numbers.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError("does not exist" if not path.exists() else "is not a file", path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise InputError("is not a JSON file (not UTF-8 text)", path) from None
    except RecursionError:
        raise InputError("is not a JSON file lifecast reads (nested too deeply)", path) from None
    except ValueError as exc:  # JSONDecodeError, and an integer of more than 4300 digits
        raise InputError(f"is not a JSON file ({' '.join(str(exc).split())[:120]})", path) from None
    except OSError as exc:
        raise InputError(f"cannot be read: {exc.strerror}", path) from None
    if not isinstance(data, dict) or not isinstance(data.get("views"), list):
        raise InputError('is not an AliceVision sfm file: no "views" list', path)
    version = _version(data, path)
    notes: list[str] = []
    intrinsics = {str(i.get("intrinsicId")): i for i in _list(data, "intrinsics", path) if isinstance(i, dict)}
    poses = {}
    for entry in _list(data, "poses", path):
        entry = _object(entry, "a pose", path)
        what = f"pose {shorten(entry.get('poseId'), 30)}"
        transform = _object(_object(entry.get("pose"), what, path).get("transform"), f"{what} transform", path)
        # rotation: column-major world-to-camera (jsonIO.hpp saveMatrix, Pose3.hpp).
        rot = np.array(_numbers(transform.get("rotation"), 9, f"{what} rotation", path)).reshape(3, 3).T
        centre = np.array(_numbers(transform.get("center"), 3, f"{what} center", path))
        poses[str(entry.get("poseId"))] = (nearest_rotation(rot, f"{what} rotation", path), centre)
    rigs = {str(r.get("rigId")): r for r in _list(data, "rigs", path) if isinstance(r, dict)}
    converted: dict[str, tuple[float, float, float, float, int, int, Distortion]] = {}
    cameras = []
    skipped = 0
    for view in data["views"]:
        if not isinstance(view, dict):
            raise InputError("has a view that is not an object", path)
        pose = poses.get(str(view.get("poseId")))
        if pose is None:
            skipped += 1
            continue
        rotation, centre = pose
        if "rigId" in view and str(view.get("rigId")) not in ("", "4294967295"):
            rotation, centre = _rig_pose(view, rigs, rotation, centre, path)
        iid = str(view.get("intrinsicId"))
        if iid not in intrinsics:
            raise InputError(
                f"view {shorten(view.get('viewId'), 30)} refers to intrinsic {shorten(iid, 30)}, which is not defined",
                path,
            )
        if iid not in converted:
            converted[iid] = _intrinsic(intrinsics[iid], version, path, notes)
        fx, fy, cx, cy, width, height, distortion = converted[iid]
        cameras.append(
            make_camera(
                path,
                f"view {shorten(view.get('viewId'), 30)}",
                name=_name(str(view.get("path", view.get("viewId"))), path.parent),
                width=width,
                height=height,
                fx=fx,
                fy=fy,
                cx=cx,
                cy=cy,
                rotation=rotation,
                translation=-rotation @ centre,
                distortion=distortion,
                sensor_id=iid,
            )
        )
    if skipped:
        note(notes, f"{skipped} view(s) without a pose (not reconstructed) were skipped")
    if not cameras:
        raise InputError("has no view with a pose (the reconstruction is empty)", path)
    return CameraRig(tuple(cameras), source="alicevision-sfm", notes=tuple(notes))


def _name(image_path: str, base: Path) -> str:
    p = Path(image_path)
    if p.is_absolute():
        try:
            return p.relative_to(base.resolve()).as_posix()
        except ValueError:
            return image_path
    return image_path


def _rig_pose(
    view: dict[str, Any],
    rigs: dict[str, Any],
    rig_rot: NDArray[np.float64],
    rig_centre: NDArray[np.float64],
    path: Path,
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    rig = rigs.get(str(view.get("rigId")))
    sub_id = int(number(view.get("subPoseId"), "subPoseId", path))
    view_id, rig_id = shorten(view.get("viewId"), 30), shorten(view.get("rigId"), 30)
    if rig is None or not 0 <= sub_id < len(_list(rig, "subPoses", path)):
        raise InputError(f"view {view_id} refers to rig {rig_id} / sub-pose {sub_id}, which is not defined", path)
    what = f"rig {rig_id} sub-pose {sub_id}"
    sub = _object(_object(rig["subPoses"][sub_id], what, path).get("pose"), what, path)
    sub_rot = nearest_rotation(np.array(_numbers(sub.get("rotation"), 9, what, path)).reshape(3, 3).T, what, path)
    sub_centre = np.array(_numbers(sub.get("center"), 3, what, path))
    # Pose3::operator*: (sub * rig) = (R_sub R_rig, C_rig + R_rig^T C_sub).
    return sub_rot @ rig_rot, rig_centre + rig_rot.T @ sub_centre


def _intrinsic(
    intr: dict[str, Any], version: tuple[int, int, int], path: Path, notes: list[str]
) -> tuple[float, float, float, float, int, int, Distortion]:
    iid = shorten(intr.get("intrinsicId"), 30)
    width = int(number(intr.get("width"), f"intrinsic {iid} width", path))
    height = int(number(intr.get("height"), f"intrinsic {iid} height", path))
    kind = str(intr.get("type", "")).strip()
    dist_kind = str(intr.get("distortionType", "")).strip()
    if dist_kind:
        if kind != "pinhole":
            raise InputError(f"intrinsic {iid} is of type {kind!r}; lifecast reads pinhole intrinsics", path)
        key = dist_kind
    else:
        key = kind
    if key not in _DISTORTION_NAMES:
        raise InputError(
            f"intrinsic {iid} uses the model {key!r}, which lifecast does not read "
            f"(supported: pinhole, radial1, radial3, brown, fisheye4)",
            path,
        )
    undist = _list(intr, "undistortionParams", path) if intr.get("undistortionParams") else []
    if any(number(v, "undistortionParams", path) != 0.0 for v in undist):
        raise InputError(f"intrinsic {iid} uses an undistortion model, which lifecast does not read", path)
    # Focal length per file version, as jsonIO.cpp loadIntrinsic.
    if version < (1, 2, 0):
        fx = fy = number(intr.get("pxFocalLength"), f"intrinsic {iid} pxFocalLength", path)
    elif version < (1, 2, 2):
        fx, fy = _numbers(intr.get("pxFocalLength"), 2, f"intrinsic {iid} pxFocalLength", path)
    else:
        fmm = number(intr.get("focalLength"), f"intrinsic {iid} focalLength", path)
        sensor_width = number(intr.get("sensorWidth", 36.0), f"intrinsic {iid} sensorWidth", path)
        ratio = number(intr.get("pixelRatio", 1.0), f"intrinsic {iid} pixelRatio", path)
        if sensor_width <= 0 or ratio <= 0:
            raise InputError(f"intrinsic {iid}: sensorWidth and pixelRatio must be positive", path)
        fx = fmm / sensor_width * width
        fy = fx / ratio if version < (1, 2, 5) else fx * ratio
    px, py = _numbers(intr.get("principalPoint"), 2, f"intrinsic {iid} principalPoint", path)
    if version >= (1, 2, 1):
        px, py = px + width / 2.0, py + height / 2.0
    check_intrinsics(width, height, fx, fy, px, py, f"intrinsic {iid}", path)
    raw_params = _list(intr, "distortionParams", path) if intr.get("distortionParams") else []
    params = [number(v, f"intrinsic {iid} distortionParams", path) for v in raw_params]
    model = _DISTORTION_NAMES[key]
    need = {"none": 0, "radial1": 1, "radial3": 3, "brown": 5, "fisheye4": 4}[model]
    if len(params) < need:
        raise InputError(f"intrinsic {iid} ({key}) needs {need} distortionParams, found {len(params)}", path)
    if model == "none":
        distortion = Distortion("none", ())
    elif model == "radial1":
        distortion = Distortion("radial", (params[0], 0.0, 0.0))
    elif model == "radial3":
        distortion = Distortion("radial", tuple(params[:3]))
    elif model == "brown":
        k1, k2, k3, t1, t2 = params[:5]
        distortion = Distortion("opencv", (k1, k2, t1, t2, k3, 0.0, 0.0, 0.0))
    else:
        distortion = Distortion("opencv_fisheye", tuple(params[:4]))
    return fx, fy, px, py, width, height, distortion


# --- writer ----------------------------------------------------------------------------------


def write_alicevision_json(rig: CameraRig, path: str | Path, sensor_width: float = 36.0) -> Path:
    """Write ``rig`` as an AliceVision sfm.json (file version 1.2.5, values as strings like AliceVision).

    Intrinsics are shared by cameras with the same ``sensor_id`` and identical values.
    ``"opencv"`` distortion with non-zero ``k4..k6`` cannot be written (``ValueError``).

    Returns
    -------
    The path written.
    """
    out = Path(path)
    intrinsics: list[dict[str, Any]] = []
    keys: dict[tuple[object, ...], str] = {}
    views, poses = [], []
    for i, cam in enumerate(rig.cameras, start=1):
        d = cam.distortion
        if d.model == "none" or d.is_identity:
            kind, params = "pinhole", []
        elif d.model == "radial":
            kind, params = "radial3", list(d.coeffs)
        elif d.model == "opencv":
            k1, k2, p1, p2, k3, k4, k5, k6 = d.coeffs
            if k4 != 0.0 or k5 != 0.0 or k6 != 0.0:
                raise ValueError(f"camera {cam.name!r}: AliceVision cannot store OpenCV's rational terms k4..k6")
            kind, params = "brown", [k1, k2, k3, p1, p2]
        else:
            kind, params = "fisheye4", list(d.coeffs)
        values = [cam.fx, cam.fy, cam.cx, cam.cy, *params]
        key = (cam.sensor_id, kind, cam.width, cam.height, *values)
        if key not in keys:
            keys[key] = str(1000 + len(keys))
            intrinsics.append(
                {
                    "intrinsicId": keys[key],
                    "width": str(cam.width),
                    "height": str(cam.height),
                    "sensorWidth": repr(sensor_width),
                    "sensorHeight": repr(sensor_width * cam.height / cam.width),
                    "serialNumber": cam.sensor_id or keys[key],
                    "type": kind,
                    "initializationMode": "calibrated",
                    "initialFocalLength": repr(cam.fx * sensor_width / cam.width),
                    "focalLength": repr(cam.fx * sensor_width / cam.width),
                    "pixelRatio": repr(cam.fy / cam.fx),
                    "pixelRatioLocked": "true",
                    "principalPoint": [repr(cam.cx - cam.width / 2.0), repr(cam.cy - cam.height / 2.0)],
                    "distortionInitializationMode": "none",
                    "distortionParams": [repr(float(p)) for p in params],
                    "locked": "true",
                }
            )
        views.append(
            {
                "viewId": str(i),
                "poseId": str(i),
                "intrinsicId": keys[key],
                "path": cam.name,
                "width": str(cam.width),
                "height": str(cam.height),
                "metadata": {},
            }
        )
        # Column-major world-to-camera = row-major camera-to-world.
        poses.append(
            {
                "poseId": str(i),
                "pose": {
                    "transform": {
                        "rotation": [repr(float(v)) for v in cam.rotation.T.ravel()],
                        "center": [repr(float(v)) for v in cam.center],
                    },
                    "locked": "1",
                },
            }
        )
    doc = {"version": ["1", "2", "5"], "views": views, "intrinsics": intrinsics, "poses": poses}
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=4) + "\n", encoding="utf-8")
    return out

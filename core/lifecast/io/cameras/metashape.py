"""Agisoft Metashape (and PhotoScan) "cameras XML" export to and from :class:`CameraRig`.

Conventions, from the Metashape Professional user manual, Appendix C "Camera models"
(frame and fisheye cameras), and checked against nerfstudio's
``nerfstudio/process_data/metashape_utils.py`` reader:

* ``<sensor><calibration>``: ``f`` in pixels; ``cx``, ``cy`` are OFFSETS of the principal point
  from the image centre in pixels; the image's top-left corner is ``(0, 0)`` (the manual puts
  the centre of the top-left pixel at ``(0.5, 0.5)``), so ``cx_px = w / 2 + cx`` -- this
  package's convention exactly;
* projection: ``u = w/2 + cx + x'(f + B1) + y' B2``, ``v = h/2 + cy + y' f``: ``fx = f + b1``,
  ``fy = f``; ``b2`` is skew, which the internal model has no room for: it is DROPPED, with a
  note and a :class:`UserWarning` giving its largest effect in pixels;
* distortion: ``x' = x (1 + K1 r^2 + K2 r^4 + K3 r^6 + K4 r^8) + (P1 (r^2 + 2x^2) + 2 P2 x y)(1 + P3 r^2 + P4 r^4)``,
  ``y' = y (...) + (P2 (r^2 + 2y^2) + 2 P1 x y)(...)``: Metashape's P1 multiplies OpenCV's p2
  term and P2 OpenCV's p1, so ``p1_opencv = P2``, ``p2_opencv = P1``. ``K4`` (an ``r^8`` term
  OpenCV lacks) is approximated by OpenCV's rational model, fitted over the image
  (:func:`lifecast.io.cameras.distortion.fit_rational_to_polynomial`), with a note giving the
  worst error in pixels; ``P3``/``P4`` are dropped with a note;
* ``type="fisheye"`` sensors: equidistant ``x0 atan(r0) / r0`` then the same radial polynomial,
  which is OpenCV's fisheye model with ``k1..k4``; tangential terms are dropped with a note;
* ``<camera><transform>``: 16 numbers, row-major 4x4 camera-to-chunk; camera axes +X right,
  +Y down, +Z forward (OpenCV's);
* chunk to world: ``<component><transform>`` (Metashape >= 1.6, for the camera's
  ``component_id``) or else ``<chunk><transform>``, each ``<rotation>`` (9, row-major),
  ``<translation>`` (3), ``<scale>`` (1): ``x_world = scale * R x_chunk + T``. The camera's
  depth (``project``'s second output) is then in world units.

Older PhotoScan files give ``fx``, ``fy``, absolute ``cx``, ``cy`` and ``skew`` instead of
``f``/``b1``/``b2``; those are read as such (skew dropped with a note).
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from lifecast.errors import InputError
from lifecast.io.cameras._common import (
    check_intrinsics,
    floats,
    fmt,
    fmt_all,
    make_camera,
    make_distortion,
    nearest_rotation,
    note,
    number,
)
from lifecast.io.cameras.distortion import fit_rational_to_polynomial
from lifecast.io.cameras.model import Camera, CameraRig, Distortion


@dataclass
class _Sensor:
    sensor_id: str
    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float
    distortion: Distortion


def read_metashape_xml(path: str | Path) -> CameraRig:
    """Read a Metashape / PhotoScan cameras XML export.

    Cameras without a ``<transform>`` (not aligned) are skipped with a note; the
    camera's ``label`` becomes its name (Metashape labels are usually the photo's
    file name, sometimes without the extension: :meth:`CameraRig.by_name` matches either).

    Raises
    ------
    InputError
        The file is missing or not XML, has no chunk / sensors / aligned cameras, uses a
        sensor type other than frame or fisheye, or a number cannot be read.
    """
    path = Path(path)
    root = _parse(path)
    chunk = root if root.tag == "chunk" else root.find("chunk")
    if chunk is None:
        raise InputError(f"is not a Metashape cameras XML: no <chunk> under <{root.tag}>", path)
    notes: list[str] = []
    sensors_xml = chunk.find("sensors")
    if sensors_xml is None:
        raise InputError("is not a Metashape cameras XML: the chunk has no <sensors>", path)
    sensors = {s.get("id", ""): s for s in sensors_xml.iter("sensor")}
    parsed: dict[str, _Sensor] = {}
    chunk_to_world = {"": _similarity(chunk.find("transform"), path, "chunk")}
    components = chunk.find("components")
    if components is not None:
        for comp in components.iter("component"):
            if comp.find("transform") is not None:
                chunk_to_world[comp.get("id", "")] = _similarity(comp.find("transform"), path, "component")
    cameras_xml = chunk.find("cameras")
    if cameras_xml is None:
        raise InputError("has no <cameras> in its chunk", path)
    cameras = []
    skipped = 0
    for cam in cameras_xml.iter("camera"):
        label = cam.get("label") or cam.get("id") or "?"
        transform = cam.find("transform")
        if transform is None or not (transform.text or "").strip():
            skipped += 1
            continue
        sensor_id = cam.get("sensor_id", "")
        if sensor_id not in parsed:
            if sensor_id not in sensors:
                raise InputError(
                    f"camera {label!r} refers to sensor {sensor_id!r}, which <sensors> does not define", path
                )
            parsed[sensor_id] = _read_sensor(sensors[sensor_id], path, notes)
        sensor = parsed[sensor_id]
        m = np.array(floats(transform.text, 16, f"camera {label!r} <transform>", path)).reshape(4, 4)
        component = cam.get("component_id")
        scale, rot, trans = chunk_to_world.get(component or "", chunk_to_world[""])
        if component and component not in chunk_to_world:
            note(notes, f"camera {label!r}: component {component} has no transform; the chunk's is used")
        # camera-to-world: x_w = s R (Rc x_c + tc) + T, so R_c2w = R Rc (up to the scale s), centre s R tc + T.
        with np.errstate(over="ignore", invalid="ignore"):
            r_c2w = nearest_rotation(rot @ m[:3, :3], f"camera {label!r} rotation", path)
            centre = scale * rot @ m[:3, 3] + trans
        rotation = r_c2w.T
        cameras.append(
            make_camera(
                path,
                f"camera {label!r}",
                name=label,
                width=sensor.width,
                height=sensor.height,
                fx=sensor.fx,
                fy=sensor.fy,
                cx=sensor.cx,
                cy=sensor.cy,
                rotation=rotation,
                translation=-rotation @ centre,
                distortion=sensor.distortion,
                sensor_id=sensor_id,
            )
        )
    if skipped:
        note(notes, f"{skipped} camera(s) without a transform (not aligned) were skipped")
    if not cameras:
        raise InputError("has no aligned cameras (no <camera> has a <transform>)", path)
    return CameraRig(tuple(cameras), source="metashape-xml", notes=tuple(notes))


def _parse(path: Path) -> ET.Element:
    if not path.is_file():
        raise InputError("does not exist" if not path.exists() else "is not a file", path)
    try:
        return ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise InputError(f"is not well-formed XML ({exc})", path) from None
    except OSError as exc:
        raise InputError(f"cannot be read: {exc.strerror}", path) from None


def _similarity(
    transform: ET.Element | None, path: Path, what: str
) -> tuple[float, NDArray[np.float64], NDArray[np.float64]]:
    """``(scale, R (3,3), T (3,))`` of a chunk / component ``<transform>``; identity when absent."""
    if transform is None:
        return 1.0, np.eye(3), np.zeros(3)
    rot_el, trans_el, scale_el = transform.find("rotation"), transform.find("translation"), transform.find("scale")
    rot = np.eye(3)
    if rot_el is not None:
        rot = nearest_rotation(floats(rot_el.text, 9, f"{what} <rotation>", path), f"{what} <rotation>", path)
    trans = np.zeros(3) if trans_el is None else np.array(floats(trans_el.text, 3, f"{what} <translation>", path))
    scale = 1.0 if scale_el is None else number(scale_el.text, f"{what} <scale>", path)
    if not scale > 0:
        raise InputError(f"{what} <scale> must be positive, got {scale}", path)
    return scale, rot, trans


def _read_sensor(sensor: ET.Element, path: Path, notes: list[str]) -> _Sensor:
    sid = sensor.get("id", "")
    what = f"sensor {sid!r}"
    kind = sensor.get("type", "frame")
    if kind not in ("frame", "fisheye"):
        raise InputError(f"sensor {sid!r} is of type {kind!r}; lifecast reads frame and fisheye sensors", path)
    calibrations = sensor.findall("calibration")
    calib = next((c for c in calibrations if c.get("class") == "adjusted"), calibrations[0] if calibrations else None)
    if calib is None:
        raise InputError(f"sensor {sid!r} has no <calibration> (was the chunk aligned?)", path)
    res = calib.find("resolution")
    if res is None:
        res = sensor.find("resolution")
    if res is None:
        raise InputError(f"sensor {sid!r} has no <resolution>", path)
    width = int(number(res.get("width"), f"sensor {sid!r} resolution width", path))
    height = int(number(res.get("height"), f"sensor {sid!r} resolution height", path))

    def value(tag: str, default: float | None = 0.0) -> float:
        el = calib.find(tag)
        if el is None:
            if default is None:
                raise InputError(f"sensor {sid!r} calibration has no <{tag}>", path)
            return default
        return number(el.text, f"sensor {sid!r} <{tag}>", path)

    if calib.find("f") is not None:
        # Metashape: f, cx/cy offsets from the centre, b1 (aspect), b2 (skew); manual Appendix C.
        f = value("f", None)
        fx, fy = f + value("b1"), f
        cx, cy = width / 2.0 + value("cx"), height / 2.0 + value("cy")
        skew = value("b2")
    else:
        # PhotoScan < 1.4: fx, fy, absolute cx, cy, skew.
        fx, fy = value("fx", None), value("fy", None)
        cx, cy = value("cx", None), value("cy", None)
        skew = value("skew")
        note(notes, f"sensor {sid!r}: PhotoScan-style calibration (fx, fy, absolute cx, cy)")
    check_intrinsics(width, height, fx, fy, cx, cy, f"sensor {sid!r}", path)
    if skew != 0.0:
        worst = abs(skew) * (height / 2.0) / fy
        note(notes, f"sensor {sid!r}: skew b2={skew:g} dropped (up to {worst:.3g} px at the image edge)", warn=True)
    k1, k2, k3, k4 = (value(k) for k in ("k1", "k2", "k3", "k4"))
    P1, P2, P3, P4 = (value(p) for p in ("p1", "p2", "p3", "p4"))
    if P3 != 0.0 or P4 != 0.0:
        note(notes, f"sensor {sid!r}: tangential scale terms p3={P3:g}, p4={P4:g} dropped", warn=True)
    if kind == "fisheye":
        if P1 != 0.0 or P2 != 0.0:
            note(notes, f"sensor {sid!r}: fisheye tangential terms p1={P1:g}, p2={P2:g} dropped", warn=True)
        distortion = make_distortion("opencv_fisheye", (k1, k2, k3, k4), what, path)
    elif k4 != 0.0:
        corner = math.hypot(max(cx, width - cx) / fx, max(cy, height - cy) / fy)
        with np.errstate(all="ignore"):
            rational, worst = fit_rational_to_polynomial((k1, k2, k3, k4), corner)
        if not math.isfinite(worst):
            raise InputError(f"{what}: k4={k4:g} cannot be approximated by OpenCV's rational model", path)
        a1, a2, a3, b1, b2, b3 = rational
        note(
            notes,
            f"sensor {sid!r}: k4={k4:g} (r^8) approximated by OpenCV's rational model, "
            f"worst error {worst * max(fx, fy):.2g} px",
            warn=worst * max(fx, fy) > 0.01,
        )
        distortion = make_distortion("opencv", (a1, a2, P2, P1, a3, b1, b2, b3), what, path)
    elif P1 != 0.0 or P2 != 0.0:
        distortion = Distortion("opencv", (k1, k2, P2, P1, k3, 0.0, 0.0, 0.0))
    elif k1 != 0.0 or k2 != 0.0 or k3 != 0.0:
        distortion = Distortion("radial", (k1, k2, k3))
    else:
        distortion = Distortion("none", ())
    return _Sensor(sid, width, height, fx, fy, cx, cy, distortion)


# --- writer ----------------------------------------------------------------------------------


def _calibration(cam: Camera) -> tuple[str, dict[str, float]]:
    """Sensor type and Metashape calibration values that reproduce ``cam`` exactly."""
    values = {"f": cam.fy, "cx": cam.cx - cam.width / 2.0, "cy": cam.cy - cam.height / 2.0, "b1": cam.fx - cam.fy}
    d = cam.distortion
    if d.model == "radial":
        values.update(k1=d.coeffs[0], k2=d.coeffs[1], k3=d.coeffs[2])
    elif d.model == "opencv":
        k1, k2, p1, p2, k3, k4, k5, k6 = d.coeffs
        if k4 != 0.0 or k5 != 0.0 or k6 != 0.0:
            raise ValueError(f"camera {cam.name!r}: Metashape cannot store OpenCV's rational terms k4..k6")
        values.update(k1=k1, k2=k2, k3=k3, p1=p2, p2=p1)  # Metashape P1 = OpenCV p2 (manual Appendix C)
    elif d.model == "opencv_fisheye":
        values.update(k1=d.coeffs[0], k2=d.coeffs[1], k3=d.coeffs[2], k4=d.coeffs[3])
        return "fisheye", values
    return "frame", values


def write_metashape_xml(
    rig: CameraRig,
    path: str | Path,
    chunk_transform: tuple[float, NDArray[np.float64], NDArray[np.float64]] | None = None,
) -> Path:
    """Write ``rig`` as a Metashape cameras XML (document version 1.5.0 layout).

    Parameters
    ----------
    rig
        The cameras. ``"opencv"`` distortion with non-zero ``k4..k6`` cannot be written.
    path
        The ``.xml`` file to write.
    chunk_transform
        ``(scale, R (3,3), T (3,))`` to store as the chunk's transform (``x_world = scale R x_chunk + T``);
        camera transforms are written in the chunk frame so the world poses are unchanged.
        None: identity.

    Returns
    -------
    The path written.
    """
    out = Path(path)
    scale, rot, trans = chunk_transform if chunk_transform is not None else (1.0, np.eye(3), np.zeros(3))
    rot = np.asarray(rot, dtype=np.float64)
    trans = np.asarray(trans, dtype=np.float64)
    doc = ET.Element("document", version="1.5.0")
    chunk = ET.SubElement(doc, "chunk", label="lifecast", enabled="true")
    sensors = ET.SubElement(chunk, "sensors")
    keys: dict[tuple[object, ...], str] = {}
    cameras = ET.SubElement(chunk, "cameras")
    for i, cam in enumerate(rig.cameras):
        kind, values = _calibration(cam)
        key = (cam.sensor_id, kind, cam.width, cam.height, *sorted(values.items()))
        if key not in keys:
            sid = str(len(keys))
            keys[key] = sid
            sensor = ET.SubElement(sensors, "sensor", id=sid, label=cam.sensor_id or f"sensor {sid}", type=kind)
            ET.SubElement(sensor, "resolution", width=str(cam.width), height=str(cam.height))
            calib = ET.SubElement(sensor, "calibration", {"type": kind, "class": "adjusted"})
            ET.SubElement(calib, "resolution", width=str(cam.width), height=str(cam.height))
            for tag in ("f", "cx", "cy", "b1", "k1", "k2", "k3", "k4", "p1", "p2"):
                if tag in values:
                    ET.SubElement(calib, tag).text = fmt(values[tag])
        # camera-to-chunk = inverse(chunk-to-world) o camera-to-world.
        c2w_rot = cam.rotation.T
        m = np.eye(4)
        m[:3, :3] = rot.T @ c2w_rot
        m[:3, 3] = rot.T @ (cam.center - trans) / scale
        element = ET.SubElement(cameras, "camera", id=str(i), sensor_id=keys[key], label=cam.name)
        ET.SubElement(element, "transform").text = fmt_all(m)
    transform = ET.SubElement(chunk, "transform")
    ET.SubElement(transform, "rotation", locked="true").text = fmt_all(rot)
    ET.SubElement(transform, "translation", locked="true").text = fmt_all(trans)
    ET.SubElement(transform, "scale", locked="true").text = fmt(scale)
    ET.indent(doc)
    out.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(doc).write(out, encoding="UTF-8", xml_declaration=True)
    return out

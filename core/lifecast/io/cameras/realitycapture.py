"""RealityCapture / RealityScan ``.xmp`` sidecars (one per photo) to and from :class:`CameraRig`.

Conventions and where they come from (no one document states them all):

* ``xcr:Rotation``: 9 numbers, row-major, world-to-camera; ``xcr:Position``: the camera
  centre. RealityCapture support's "RealityCapture XMP Camera Math" article
  (``x = [R t] X``, "the rotation is stored row-wise"), and AliceVision's
  ``importKnownPoses`` reads the nine numbers row by row into its world-to-camera
  ``Pose3`` rotation with Position as the centre. Camera axes are OpenCV's (+Z forward,
  +Y down): Epic's sample ``-1 0 0 0 0 -1 0 -1 0`` in a Z-up world has image-down along
  world -Z. Either may be an attribute or a child element (both occur in the wild).
* intrinsics: the shipped RealityScan ``calibration.xml`` export templates convert with
  ``f_px = f * scale``, ``cx_px = px * scale + width/2``, ``cy_px = py * scale + height/2``,
  ``FocalLength35mm = f * 36``; ``scale`` is taken as ``max(width, height)`` (the XMP
  camera-math article normalises image coordinates to [-0.5, 0.5] along the longer side).
  So ``fx = FocalLength35mm * max(w, h) / 36``, ``cx = w/2 + PrincipalPointU * max(w, h)``,
  ``cy = h/2 + PrincipalPointV * max(w, h)``, top-left image corner at ``(0, 0)``.
* ``xcr:AspectRatio``: taken as ``fy / fx`` (as EasyVolcap's ``ixt_to_rc`` writes it;
  RealityCapture only fits it under its K+ models). ``xcr:Skew`` has no place in the
  internal model: dropped with a note and a :class:`UserWarning` when non-zero.
* ``xcr:DistortionCoeficients`` (sic): six numbers ``k1 k2 k3 k4 t1 t2`` (RealityScan's
  ``calibration.xml`` CSV header ``...,k1,k2,k3,k4,t1,t2``), radial polynomial in ``r^2``.
  The tangential pair is swapped relative to OpenCV: that file's "OpenCV-compliant"
  template writes ``k1,k2,t2,t1,k3,k4`` "in OpenCV ordering", camorph's reader swaps them
  ("Tangential components swapped (OpenCV vs Wiki)") and EasyVolcap writes ``p2, p1`` into
  ``t1, t2``. So ``p1_opencv = t2``, ``p2_opencv = t1``.
* ``xcr:DistortionModel``: ``perspective`` (none), ``brown3`` (k1..k3), ``brown4`` (k1..k4),
  ``brown3t2`` / ``brown4t2`` (+ tangential). ``k4`` (``r^8``) is approximated by OpenCV's
  rational model (worst error in the rig's notes). ``division`` and ``rational*`` models
  with non-zero coefficients are refused with an :class:`InputError`.

The XMP does not hold the image size: it is read from the photo beside each sidecar
(same stem, any image suffix) unless ``image_sizes`` gives it.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from lifecast.errors import InputError
from lifecast.io.cameras._common import (
    IMAGE_SUFFIXES,
    check_intrinsics,
    floats,
    fmt,
    fmt_all,
    image_size,
    make_camera,
    make_distortion,
    nearest_rotation,
    note,
    number,
)
from lifecast.io.cameras.distortion import fit_rational_to_polynomial
from lifecast.io.cameras.model import Camera, CameraRig, Distortion

XCR = "http://www.capturingreality.com/ns/xcr/1.1#"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
XMP = "adobe:ns:meta/"
_TANGENTIAL = ("brown3t2", "brown4t2")
_SUPPORTED = ("perspective", "brown3", "brown4", *_TANGENTIAL)


def find_xmp_sidecars(folder: str | Path) -> list[Path]:
    """The ``*.xmp`` files directly in ``folder``, sorted, excluding ``_common.xmp``."""
    return sorted(p for p in Path(folder).iterdir() if p.suffix.lower() == ".xmp" and p.stem != "_common")


def read_realitycapture_xmp(folder: str | Path, image_sizes: Mapping[str, tuple[int, int]] | None = None) -> CameraRig:
    """Read the RealityCapture XMP sidecars in a folder of photos.

    Parameters
    ----------
    folder
        The folder holding ``<stem>.xmp`` beside ``<stem>.<image suffix>``.
    image_sizes
        ``(width, height)`` per image name or stem, for sidecars whose photo is not
        there to measure.

    Returns
    -------
    One camera per sidecar with a pose, named after its photo (``<stem>.<suffix>``,
    or the stem when the photo is absent). Sidecars with no pose (calibration-only)
    or with rig-relative coordinates are skipped with a note.
    """
    root = Path(folder)
    if not root.is_dir():
        raise InputError("does not exist" if not root.exists() else "is not a folder", root)
    sidecars = find_xmp_sidecars(root)
    if not sidecars:
        raise InputError("has no .xmp sidecars", root)
    images = {p.stem: p for p in sorted(root.iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES}
    notes: list[str] = []
    cameras = []
    for sidecar in sidecars:
        cam = _read_one(sidecar, images.get(sidecar.stem), image_sizes or {}, notes)
        if cam is not None:
            cameras.append(cam)
    if not cameras:
        raise InputError("has .xmp sidecars but none holds a camera pose (xcr:Rotation and xcr:Position)", root)
    return CameraRig(tuple(cameras), source="realitycapture-xmp", notes=tuple(notes))


def _description(path: Path) -> ET.Element:
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise InputError(f"is not well-formed XML ({exc})", path) from None
    except OSError as exc:
        raise InputError(f"cannot be read: {exc.strerror}", path) from None
    for desc in root.iter(f"{{{RDF}}}Description"):
        if any(key.startswith(f"{{{XCR}}}") for key in desc.attrib) or any(
            child.tag.startswith(f"{{{XCR}}}") for child in desc
        ):
            return desc
    raise InputError("is not a RealityCapture XMP: no rdf:Description with xcr: camera fields", path)


def _field(desc: ET.Element, name: str) -> str | None:
    """An ``xcr:`` field written as an attribute or as a child element."""
    value = desc.get(f"{{{XCR}}}{name}")
    if value is not None:
        return value
    child = desc.find(f"{{{XCR}}}{name}")
    return None if child is None else (child.text or "")


def _read_one(path: Path, image: Path | None, sizes: Mapping[str, tuple[int, int]], notes: list[str]) -> Camera | None:
    desc = _description(path)
    rotation_text, position_text = _field(desc, "Rotation"), _field(desc, "Position")
    if rotation_text is None or position_text is None:
        note(notes, f"{path.name}: no xcr:Rotation / xcr:Position (calibration only), skipped")
        return None
    coordinates = _field(desc, "Coordinates") or "absolute"
    if coordinates != "absolute":
        note(notes, f"{path.name}: xcr:Coordinates={coordinates!r} (rig-relative pose), skipped")
        return None
    name = image.name if image is not None else path.stem
    size = sizes.get(name) or sizes.get(path.stem)
    if size is None:
        if image is None:
            raise InputError("has no photo beside it (same name, an image suffix) to take the image size from", path)
        size = image_size(image)
    width, height = int(size[0]), int(size[1])
    if not (width > 0 and height > 0):
        raise InputError(f"image size {width} x {height} is not positive", path)
    longer = float(max(width, height))

    def scalar(key: str, default: float) -> float:
        text = _field(desc, key)
        return default if text is None or not text.strip() else number(text, f"xcr:{key}", path)

    f35 = scalar("FocalLength35mm", math.nan)
    if not f35 > 0:
        raise InputError("xcr:FocalLength35mm is missing or not positive", path)
    fx = f35 * longer / 36.0
    fy = fx * scalar("AspectRatio", 1.0)
    cx = width / 2.0 + scalar("PrincipalPointU", 0.0) * longer
    cy = height / 2.0 + scalar("PrincipalPointV", 0.0) * longer
    check_intrinsics(width, height, fx, fy, cx, cy, f"camera {name!r}", path)
    skew = scalar("Skew", 0.0)
    if skew != 0.0:
        note(notes, f"{path.name}: xcr:Skew={skew:g} dropped", warn=True)
    distortion = _distortion(path, desc, notes, (fx, fy, cx, cy, width, height))
    rotation = nearest_rotation(floats(rotation_text, 9, "xcr:Rotation", path), "xcr:Rotation", path)
    centre = np.array(floats(position_text, 3, "xcr:Position", path))
    group = (_field(desc, "CalibrationGroup") or "").strip()
    return make_camera(
        path,
        f"camera {name!r}",
        name=name,
        width=width,
        height=height,
        fx=fx,
        fy=fy,
        cx=cx,
        cy=cy,
        rotation=rotation,
        translation=-rotation @ centre,
        distortion=distortion,
        sensor_id="" if group in ("", "-1") else group,
    )


def _distortion(
    path: Path, desc: ET.Element, notes: list[str], geometry: tuple[float, float, float, float, int, int]
) -> Distortion:
    model = (_field(desc, "DistortionModel") or "perspective").strip()
    text = _field(desc, "DistortionCoeficients")
    coeffs = floats(text, None, "xcr:DistortionCoeficients", path) if text and text.strip() else []
    if len(coeffs) > 6:
        raise InputError(f"xcr:DistortionCoeficients has {len(coeffs)} numbers, expected 6", path)
    k1, k2, k3, k4, t1, t2 = (coeffs + [0.0] * 6)[:6]
    if model not in _SUPPORTED:
        if any(coeffs):
            raise InputError(
                f"xcr:DistortionModel {model!r} is not supported (lifecast reads {', '.join(_SUPPORTED)}); "
                f"export the cameras with a Brown model",
                path,
            )
        return Distortion("none", ())
    if model == "perspective":
        return Distortion("none", ())
    if model in ("brown3", "brown3t2"):
        k4 = 0.0
    if model not in _TANGENTIAL:
        t1 = t2 = 0.0
    # OpenCV p1 = RC t2, p2 = RC t1 (see the module docstring).
    p1, p2 = t2, t1
    if k4 != 0.0:
        fx, fy, cx, cy, width, height = geometry
        corner = math.hypot(max(cx, width - cx) / fx, max(cy, height - cy) / fy)
        with np.errstate(all="ignore"):
            (a1, a2, a3, b1, b2, b3), worst = fit_rational_to_polynomial((k1, k2, k3, k4), corner)
        px = worst * max(fx, fy)
        if not math.isfinite(px):
            raise InputError(f"k4={k4:g} cannot be approximated by OpenCV's rational model", path)
        note(notes, f"{path.name}: k4={k4:g} approximated by OpenCV's rational model, worst {px:.2g} px", px > 0.01)
        return make_distortion("opencv", (a1, a2, p1, p2, a3, b1, b2, b3), "xcr:DistortionCoeficients", path)
    if p1 != 0.0 or p2 != 0.0:
        return Distortion("opencv", (k1, k2, p1, p2, k3, 0.0, 0.0, 0.0))
    if k1 == k2 == k3 == 0.0:
        return Distortion("none", ())
    return Distortion("radial", (k1, k2, k3))


# --- writer ----------------------------------------------------------------------------------


def write_realitycapture_xmp(rig: CameraRig, folder: str | Path) -> list[Path]:
    """Write one ``<stem>.xmp`` sidecar per camera into ``folder`` (the photos' folder).

    The sidecar is named after the camera name's stem, as RealityCapture pairs them.
    ``"opencv"`` distortion with non-zero ``k4..k6`` and ``"opencv_fisheye"`` cannot be
    written (``ValueError``).

    Returns
    -------
    The sidecars written, in the rig's order.
    """
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    ET.register_namespace("x", XMP)
    ET.register_namespace("rdf", RDF)
    ET.register_namespace("xcr", XCR)
    written = []
    for cam in rig.cameras:
        longer = float(max(cam.width, cam.height))
        d = cam.distortion
        if d.model == "none" or d.is_identity:
            model, coeffs = "perspective", [0.0] * 6
        elif d.model == "radial":
            model, coeffs = "brown3", [*d.coeffs, 0.0, 0.0, 0.0]
        elif d.model == "opencv":
            k1, k2, p1, p2, k3, k4, k5, k6 = d.coeffs
            if k4 != 0.0 or k5 != 0.0 or k6 != 0.0:
                raise ValueError(f"camera {cam.name!r}: RealityCapture cannot store OpenCV's rational terms k4..k6")
            model, coeffs = "brown3t2", [k1, k2, k3, 0.0, p2, p1]
        else:
            raise ValueError(f"camera {cam.name!r}: RealityCapture XMP cannot store {d.model!r} distortion")
        attrs = {
            "Version": "3",
            "PosePrior": "locked",
            "Coordinates": "absolute",
            "DistortionModel": model,
            "DistortionCoeficients": fmt_all(coeffs),
            "FocalLength35mm": fmt(cam.fx * 36.0 / longer),
            "Skew": "0",
            "AspectRatio": fmt(cam.fy / cam.fx),
            "PrincipalPointU": fmt((cam.cx - cam.width / 2.0) / longer),
            "PrincipalPointV": fmt((cam.cy - cam.height / 2.0) / longer),
            "CalibrationPrior": "locked",
            "CalibrationGroup": cam.sensor_id or "-1",
            "DistortionGroup": cam.sensor_id or "-1",
            "InTexturing": "1",
            "InMeshing": "1",
        }
        meta = ET.Element(f"{{{XMP}}}xmpmeta")
        rdf = ET.SubElement(meta, f"{{{RDF}}}RDF")
        desc = ET.SubElement(rdf, f"{{{RDF}}}Description", {f"{{{XCR}}}{k}": v for k, v in attrs.items()})
        ET.SubElement(desc, f"{{{XCR}}}Rotation").text = fmt_all(cam.rotation)
        ET.SubElement(desc, f"{{{XCR}}}Position").text = fmt_all(cam.center)
        ET.indent(meta)
        target = out / (Path(cam.name).stem + ".xmp")
        ET.ElementTree(meta).write(target, encoding="UTF-8", xml_declaration=False)
        written.append(target)
    return written

"""Calibrated camera rigs: readers and writers for photogrammetry formats, one internal model.

:func:`read_cameras` reads any supported rig into a :class:`CameraRig` of
:class:`Camera` objects that all follow COLMAP's / OpenCV's conventions (world-to-camera
``x_cam = R x + t``, +Z forward, +Y down, top-left image corner at pixel ``(0, 0)``),
whatever the file said. Supported:

=====================  =====================================================  ======================
format                 what ``path`` is                                       ``CameraRig.source``
=====================  =====================================================  ======================
COLMAP text            folder with ``cameras.txt`` + ``images.txt``            ``colmap-text``
                       (or its ``sparse/0``)
COLMAP binary          folder with ``cameras.bin`` + ``images.bin``            ``colmap-binary``
Metashape / PhotoScan  a cameras ``.xml`` export                                ``metashape-xml``
RealityCapture         folder of photos with ``<stem>.xmp`` sidecars           ``realitycapture-xmp``
AliceVision/Meshroom   an ``sfm.json`` / ``.sfm`` file                         ``alicevision-sfm``
=====================  =====================================================  ======================

Each format has a writer too (:func:`write_colmap_text`, :func:`write_colmap_binary`,
:func:`write_metashape_xml`, :func:`write_realitycapture_xmp`, :func:`write_alicevision_json`),
so a synthetic rig can be written in every format.
"""

from __future__ import annotations

from pathlib import Path

from lifecast.errors import InputError
from lifecast.io.cameras.alicevision import read_alicevision_sfm, write_alicevision_json
from lifecast.io.cameras.colmap import (
    ColmapModel,
    ColmapPoints,
    find_colmap_model,
    read_colmap,
    read_colmap_model,
    write_colmap_binary,
    write_colmap_text,
)
from lifecast.io.cameras.metashape import read_metashape_xml, write_metashape_xml
from lifecast.io.cameras.model import Camera, CameraRig, Distortion, DistortionModel
from lifecast.io.cameras.realitycapture import find_xmp_sidecars, read_realitycapture_xmp, write_realitycapture_xmp

__all__ = [
    "Camera",
    "CameraRig",
    "ColmapModel",
    "ColmapPoints",
    "Distortion",
    "DistortionModel",
    "read_alicevision_sfm",
    "read_cameras",
    "read_colmap",
    "read_colmap_model",
    "read_metashape_xml",
    "read_realitycapture_xmp",
    "write_alicevision_json",
    "write_colmap_binary",
    "write_colmap_text",
    "write_metashape_xml",
    "write_realitycapture_xmp",
]

_COLMAP_FILES = {"cameras.txt", "images.txt", "points3D.txt", "cameras.bin", "images.bin", "points3D.bin"}


def read_cameras(path: str | Path) -> CameraRig:
    """Read a calibrated camera rig, dispatching on what ``path`` is.

    Parameters
    ----------
    path
        A COLMAP model folder (or a project folder with ``sparse/0``), one of a COLMAP
        model's files, a Metashape ``.xml``, an AliceVision ``.json`` / ``.sfm``, or a folder
        of photos with RealityCapture ``.xmp`` sidecars (or one such sidecar).

    Raises
    ------
    InputError
        The path does not exist, is none of the above, or the file is malformed.
    """
    p = Path(path)
    if not p.exists():
        raise InputError("does not exist", p)
    if p.is_file():
        suffix = p.suffix.lower()
        if p.name in _COLMAP_FILES:
            return read_colmap(p.parent)
        if suffix == ".xml":
            return read_metashape_xml(p)
        if suffix in (".json", ".sfm"):
            return read_alicevision_sfm(p)
        if suffix == ".xmp":
            return read_realitycapture_xmp(p.parent)
        raise InputError(
            "is not a camera rig lifecast reads (COLMAP model files, Metashape .xml, AliceVision .json/.sfm, "
            "RealityCapture .xmp)",
            p,
        )
    if find_colmap_model(p) is not None:
        return read_colmap(p)
    if find_xmp_sidecars(p):
        return read_realitycapture_xmp(p)
    raise InputError(
        "holds no camera rig: expected COLMAP cameras + images files (here or in sparse/0) "
        "or photos with RealityCapture .xmp sidecars; give a Metashape .xml or AliceVision .sfm file directly",
        p,
    )

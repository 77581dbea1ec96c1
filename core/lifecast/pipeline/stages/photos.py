"""The ``photos`` stage (with ``--photos`` and ``--cameras``): every LOD's albedo projected from the capture's photos.

Between ``texture`` and ``delight``. The session's calibrated cameras are in the scan file's frame and units; the
ingest's ``scan_to_asset`` transform moves them to the asset's (:func:`lifecast.photo.frames.transform_rig`), where
the LODs and a wrapped template lie. Each LOD's UV tiles (every tile its UVs use, as the texture stage bakes them,
LOD *i* at ``texture_size / 2**i``, never below 512) are textured by :func:`lifecast.photo.project_photos`, with
the cleaned scan as the surface that hides things from the cameras. Into its ``maps`` folder, named as the
texture stage names its maps so that the later stages and the export read these instead of the bake's:

- ``<name>_lod<i>_albedo.<UDIM>.png`` (or ``.exr`` in ACEScg): the projected albedo, edge-padded from the texels
  the photos saw;
- ``<name>_lod<i>_holes.<UDIM>.png``: 255 on the texels of the UV charts that no photo saw (for the inpaint stage),
  0 elsewhere;
- ``<name>_lod<i>_photos.json``: the per-photo report (used or why not, gain, texels), coverage and warnings.

Its cache key holds the rig's cameras (their parameters as read, whatever the file format) and each photo's and
mask's size and modification time (:func:`photo_inputs`), not the folders' paths.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lifecast.errors import InputError
from lifecast.io.cameras.model import CameraRig
from lifecast.mesh import TriMesh
from lifecast.pipeline.hashing import canonical_json, combine
from lifecast.pipeline.stage import StageContext, scaled_progress
from lifecast.pipeline.stages.uv import lod_texture_size
from lifecast.pipeline.store import StageFile

VERSION = "1"

__all__ = [
    "SPREAD_BOUNDS",
    "VERSION",
    "chart_masks",
    "check_rig_scale",
    "photo_inputs",
    "projection_settings",
    "rig_key",
    "run",
]


def rig_key(rig: CameraRig) -> str:
    """A hash of the rig's cameras: names, image sizes, intrinsics, distortion and poses, each to 12 decimals of its
    scale (a rig converted to another format, its rotations through quaternions, keeps its key)."""

    def digits(values: Any, unit: float = 1.0) -> list[str]:
        rounded = np.round(np.asarray(values, np.float64).ravel() / unit, 12) + 0.0  # + 0.0: no -0
        return [repr(float(v)) for v in rounded]

    reach = float(f"{max([float(np.abs(c.translation).max()) for c in rig.cameras] + [1e-30]):.12g}")
    cameras: list[list[Any]] = [[repr(reach)]]  # the rig's scale: translations are rounded relative to it
    cameras += [
        [
            c.name,
            c.sensor_id,
            c.width,
            c.height,
            c.distortion.model,
            *digits([c.fx, c.fy, c.cx, c.cy], float(max(c.width, c.height))),
            *digits(c.distortion.coeffs),
            *digits(c.rotation),
            *digits(c.translation, reach),
        ]
        for c in rig.cameras
    ]
    return hashlib.sha256(canonical_json(cameras).encode()).hexdigest()


def _stamps(folder: Path, rig: CameraRig) -> list[list[Any]]:
    """Per camera: the file it finds in ``folder`` (relative), its size and modification time; ``None`` if none."""
    from lifecast.photo.photos import find_file

    out: list[list[Any]] = []
    for cam in rig.cameras:
        path = find_file(folder, cam.name)
        if path is None:
            out.append([cam.name, None])
            continue
        stat = path.stat()
        out.append([cam.name, path.relative_to(folder).as_posix(), stat.st_size, stat.st_mtime_ns])
    return out


def photo_inputs(photos: Path, cameras: Path, masks: Path | None = None) -> dict[str, Any]:
    """The photo inputs by content, for the stage's key and the asset's provenance.

    Reads the rig (:func:`lifecast.io.cameras.read_cameras`) and looks each camera's photo (and mask) up.

    Returns
    -------
    dict
        ``key`` (the rig's cameras, :func:`rig_key`, and every photo's and mask's name, size and modification
        time), ``rig_format`` (the rig's ``source``), ``cameras``, ``photos_found`` and ``masks_found``.

    Raises
    ------
    InputError
        The rig cannot be read or has no camera, or no camera's photo is in ``photos``.
    """
    from lifecast.io.cameras import read_cameras

    rig = read_cameras(cameras)
    if len(rig) == 0:
        raise InputError("the camera rig has no cameras", cameras)
    photo_stamps = _stamps(photos, rig)
    found = sum(1 for s in photo_stamps if s[1] is not None)
    if found == 0:
        shown = ", ".join(rig.names[:3]) + (", ..." if len(rig) > 3 else "")
        raise InputError(
            f"none of the {len(rig)} cameras' photos ({shown}) is in this folder: is it the session's photos folder?",
            photos,
        )
    mask_stamps = _stamps(masks, rig) if masks is not None else []
    key = combine(rig_key(rig), canonical_json(photo_stamps), canonical_json(mask_stamps))
    return {
        "key": key,
        "rig_format": rig.source,
        "cameras": len(rig),
        "photos_found": found,
        "masks_found": sum(1 for s in mask_stamps if s[1] is not None),
    }


def chart_masks(mesh: TriMesh, tiles: list[int], size: int) -> dict[int, NDArray[np.bool_]]:
    """``{udim: (size, size) bool}`` the texels of each tile that the mesh's UV charts cover.

    The same conservative rasterization as the bake's coverage and the projection's texels
    (:class:`lifecast.bake.rasterize.TileRasterizer`), streamed in bands.
    """
    from lifecast.bake.rasterize import TileRasterizer
    from lifecast.uv.udim import face_udims, tile_origin

    assert mesh.uvs is not None and mesh.face_uvs is not None
    face_tile = face_udims(mesh.uvs, mesh.face_uvs)
    corners = np.asarray(mesh.uvs, np.float64)[np.asarray(mesh.face_uvs)]
    out: dict[int, NDArray[np.bool_]] = {}
    for udim in tiles:
        mask = np.zeros(size * size, bool)
        members = corners[face_tile == udim] - np.array(tile_origin(udim), np.float64)
        if len(members):
            for band in TileRasterizer(members, size).bands(count_overlaps=False):
                mask[band.texel] = True
        out[udim] = mask.reshape(size, size)
    return out


#: Camera spreads (over the scan's size) outside these bounds are taken for cameras in other units than the scan.
SPREAD_BOUNDS = (1 / 30, 30.0)


def check_rig_scale(rig: CameraRig, mesh: TriMesh, units: str) -> None:
    """Refuse a rig whose cameras spread over far more or far less than the scan's size: another unit.

    A rig in metres around a scan in millimetres has its cameras within a millimetre of each other; a camera
    may still happen to frame a sliver of the scan, and the projection would texture it from the wrong pixels.
    Rigs with one camera position (or none) are left to the projection's own framing checks.

    Raises
    ------
    InputError
        The ratio of the camera centres' spread (their bounding box's diagonal) to the scan's lies outside
        :data:`SPREAD_BOUNDS`.
    """
    centres = np.array([c.center for c in rig.cameras], np.float64).reshape(-1, 3)
    spread = float(np.linalg.norm(centres.max(axis=0) - centres.min(axis=0))) if len(centres) else 0.0
    size = float(np.linalg.norm(mesh.vertices.max(axis=0) - mesh.vertices.min(axis=0)))
    if spread <= 0.0 or size <= 0.0:
        return
    ratio = spread / size
    if not SPREAD_BOUNDS[0] <= ratio <= SPREAD_BOUNDS[1]:
        raise InputError(
            f"the cameras spread over {ratio:.3g} times the scan's size: they are in different units from the scan "
            f"file (read as {units}); convert the cameras, or give the scan's units with --units"
        )


def run(ctx: StageContext) -> dict[str, Any]:
    """Outputs ``textures`` (the texture stage's, each LOD's albedo naming this stage's file), ``maps`` and
    ``summary``; every photo skipped is warned about once."""
    from lifecast.bake.encoding import MapEncoding
    from lifecast.bake.padding import pad_edges
    from lifecast.color import linear_to_srgb
    from lifecast.io.cameras import read_cameras
    from lifecast.jsonable import json_default
    from lifecast.photo.frames import transform_rig
    from lifecast.photo.project import ProjectionSettings, project_photos

    p = ctx.params
    photos: Path = ctx.resources["photos"]
    masks: Path | None = ctx.resources["photo_masks"]
    ctx.progress(0.0, "reading the cameras")
    rig = read_cameras(ctx.resources["cameras"])
    source_notes = len(rig.notes)
    rig = transform_rig(rig, np.asarray(ctx.input("ingest", "scan_to_asset"), np.float64))
    for note in rig.notes[:source_notes]:
        ctx.log(f"cameras: {note}")
    occluder: TriMesh = ctx.input("clean", "mesh")
    lods: list[TriMesh] = ctx.input("uv", "lods")
    check_rig_scale(rig, occluder, ctx.input("ingest", "summary")["scan_units"])
    textures: list[dict[str, str]] = [dict(t) for t in ctx.input("texture", "textures")]
    settings = ProjectionSettings(**p["settings"])
    encoding = MapEncoding(8, p["albedo_colorspace"])
    suffix = encoding.suffix("albedo")
    out = ctx.files_dir / "maps"
    out.mkdir(parents=True, exist_ok=True)
    warned: set[str] = set()
    summary: dict[str, Any] = {"rig_format": rig.source, "cameras": len(rig), "lods": {}}
    n = len(lods)
    for i, mesh in enumerate(lods):
        size = lod_texture_size(p["texture_size"], i)
        name = f"{p['name']}_lod{i}"
        result = project_photos(
            mesh,
            rig,
            photos,
            size=size,
            udims="auto",
            masks=masks,
            occluder=occluder,
            settings=settings,
            progress=scaled_progress(ctx.progress, 0.02 + 0.96 * i / n, 0.02 + 0.96 * (i + 1) / n, f"LOD{i}: "),
        )
        for line in result.warnings:
            if line not in warned:
                warned.add(line)
                ctx.warn(line)
        tiles = sorted(result.albedo)
        charts = chart_masks(mesh, tiles, size)
        holes = 0
        for udim in tiles:
            seen = result.coverage[udim]
            encoded = encoding.encode("albedo", np.asarray(linear_to_srgb(result.albedo[udim]), np.float32))
            encoding.write(out / f"{name}_albedo.{udim}{suffix}", "albedo", pad_edges(encoded, seen))
            missing = charts[udim] & ~seen
            holes += int(missing.sum())
            encoding.write(out / f"{name}_holes.{udim}.png", "holes", missing.astype(np.uint8) * np.uint8(255))
        single = tiles == [1001]
        textures[i]["albedo"] = f"maps/{name}_albedo.{1001 if single else '<UDIM>'}{suffix}"
        report = {"lod": i, "size": size, "rig_format": rig.source, "hole_texels": holes} | result.report()
        (out / f"{name}_photos.json").write_text(json.dumps(report, indent=2, default=json_default) + "\n")
        summary["lods"][f"lod{i}"] = _lod_summary(report)
    ctx.progress(1.0)
    return {"textures": textures, "maps": StageFile("maps", ctx.files_dir), "summary": summary}


def _lod_summary(report: Mapping[str, Any]) -> dict[str, Any]:
    coverage = report["coverage_percent"]
    return {
        "photos_used": report["photos_used"],
        "photos_skipped": report["photos_skipped"],
        "coverage_percent": round(float(np.mean(list(coverage.values()))), 3) if coverage else 0.0,
        "hole_texels": report["hole_texels"],
        "seconds": report["seconds"].get("total"),
    }


def projection_settings() -> dict[str, Any]:
    """The projection's settings (the defaults of :class:`lifecast.photo.ProjectionSettings`) as stage parameters."""
    from lifecast.photo.project import ProjectionSettings

    return dataclasses.asdict(ProjectionSettings())

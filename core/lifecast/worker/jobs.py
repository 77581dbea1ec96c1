"""Jobs a panel hands to ``lifecast worker``: parsing and running them.

A job is one JSON object::

    {"command": "process", "scan": "head.ply", "out": "assets/head", "lods": [2000, 500], "texture_size": 256}
    {"command": "inspect", "scan": "head.ply", "units": "mm"}
    {"command": "preview", "source": "assets/head/asset.usda", "out": "preview.png", "size": 512}
    {"command": "template", "template": "anny-head"}
    {"command": "correct", "asset": "assets/head", "fixed": "head_fixed.png", "subject": "lps01"}

``process`` takes the fields of :class:`~lifecast.pipeline.options.ProcessOptions`
(``out`` for ``out_dir``; ``template``, ``template_landmarks`` and ``landmarks`` for a
template wrap); ``inspect`` takes ``scan``, ``texture``, ``units`` and ``up``;
``preview`` takes ``source`` (a scan or a USD asset; ``scan`` is accepted too),
``out`` (a PNG), ``size``, ``yaw`` and ``pitch``; ``template`` takes ``template``
(a built-in name or a mesh path) and ``template_landmarks``, and its ``done``
event's ``report`` lists the template's landmark names in order, so a panel can
show what to click without importing the core; ``correct`` takes ``asset`` (an asset folder lifecast made),
``fixed`` (the artist's corrected LOD0 albedo: one file or a ``<UDIM>`` pattern), ``subject`` and ``show`` (default:
``$LIFECAST_SHOW``, else the show holding the asset) and records the correction as ``lifecast correct submit`` does;
its ``done`` event's ``report`` holds ``correction_id``, ``changed_texels``, ``changed_fraction``, ``tiles``, ``path``
and ``local`` (stored under the asset: no show registry). Unknown keys are refused, so a
typo in a panel never silently runs with a default.
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import lifecast
from lifecast.errors import EXIT_OK, InputError
from lifecast.worker.events import Event, EventSink, progress_event

__all__ = ["JOB_COMMANDS", "load_job", "run_job"]

JOB_COMMANDS = ("process", "inspect", "preview", "template", "correct")
_PATH_FIELDS = {
    "scan",
    "out_dir",
    "texture",
    "cache_dir",
    "show",
    "sign_cert",
    "sign_key",
    "template_landmarks",
    "landmarks",
    "photos",
    "cameras",
    "photo_masks",
}
_TUPLE_FIELDS = {"lods", "maps"}


def load_job(text: str, origin: str = "job") -> dict[str, Any]:
    """Parse a job's JSON text; :class:`InputError` when it is not a JSON object with a known ``command``."""
    try:
        job = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(f"the job is not valid JSON ({exc.msg} at line {exc.lineno})", origin) from None
    if not isinstance(job, dict):
        raise InputError("the job must be a JSON object", origin)
    if job.get("command") not in JOB_COMMANDS:
        raise InputError(f"the job's command must be one of {', '.join(JOB_COMMANDS)}, got {job.get('command')!r}")
    return job


def run_job(job: Mapping[str, Any], sink: EventSink) -> int:
    """Run one parsed job, streaming its events to ``sink``; returns the exit code."""
    runners: dict[str, Callable[[dict[str, Any], EventSink], int]] = {
        "process": _run_process,
        "inspect": _run_inspect,
        "preview": _run_preview,
        "template": _run_template,
        "correct": _run_correct,
    }
    fields = {k: v for k, v in job.items() if k != "command"}
    return runners[str(job["command"])](fields, sink)


def process_options(fields: Mapping[str, Any]) -> Any:
    """The :class:`ProcessOptions` of a ``process`` job's fields."""
    from lifecast.pipeline.options import ProcessOptions

    known = {f.name for f in dataclasses.fields(ProcessOptions)}
    values: dict[str, Any] = {}
    for key, value in fields.items():
        name = "out_dir" if key == "out" else key
        if name not in known:
            raise InputError(f"unknown process option {key!r} in the job")
        if value is None:
            continue
        if name in _PATH_FIELDS:
            value = Path(str(value))
        elif name in _TUPLE_FIELDS:
            value = tuple(value) if isinstance(value, list | tuple) else tuple(str(value).split(","))
            if name == "lods":
                value = tuple(int(n) for n in value)
        values[name] = value
    for required in ("scan", "out_dir"):
        if required not in values:
            raise InputError(f"a process job needs {'out' if required == 'out_dir' else required!r}")
    return ProcessOptions(**values)


def _run_process(fields: dict[str, Any], sink: EventSink) -> int:
    from lifecast.pipeline.scan_to_asset import process_scan

    t0 = time.perf_counter()
    result = process_scan(process_options(fields), sink)
    outputs = {"asset": str(result.asset)} if result.asset is not None else {}
    if "qa_report.json" in result.outputs:
        outputs["qa_report"] = result.outputs["qa_report.json"]
    sink.emit(Event("done", {"ok": True, "seconds": round(time.perf_counter() - t0, 3), "outputs": outputs}))
    return EXIT_OK


def _take(fields: dict[str, Any], allowed: tuple[str, ...], command: str) -> dict[str, Any]:
    unknown = sorted(set(fields) - set(allowed))
    if unknown:
        raise InputError(f"unknown {command} option(s) {', '.join(map(repr, unknown))} in the job")
    return fields


class _OneStageRun:
    """The event sequence of a job that is one stage of its own name (``inspect``, ``preview``, ``template``):
    ``run_start`` and ``stage_start`` when made, ``progress`` through :meth:`progress`, then ``stage_end`` and
    ``done`` from :meth:`finish`."""

    def __init__(self, sink: EventSink, name: str) -> None:
        self.sink, self.name = sink, name
        self._t0 = time.perf_counter()
        sink.emit(Event("run_start", {"command": name, "version": lifecast.__version__, "stages": [name]}))
        sink.emit(Event("stage_start", {"stage": name, "cached": False}))

    def progress(self, fraction: float, message: str = "") -> None:
        self.sink.emit(progress_event(self.name, fraction, message))

    def finish(self, summary: Any, *, outputs: dict[str, str] | None = None, report: Any = None) -> int:
        """``stage_end`` with ``summary``, then ``done`` with ``outputs`` (and ``report`` when given)."""
        seconds = round(time.perf_counter() - self._t0, 3)
        end = {"stage": self.name, "cached": False, "seconds": seconds, "summary": summary}
        self.sink.emit(Event("stage_end", end))
        done: dict[str, Any] = {"ok": True, "seconds": seconds, "outputs": outputs or {}}
        if report is not None:
            done["report"] = report
        self.sink.emit(Event("done", done))
        return EXIT_OK


def _run_inspect(fields: dict[str, Any], sink: EventSink) -> int:
    from lifecast.geometry import qa_report
    from lifecast.io import read_scan

    fields = _take(fields, ("scan", "texture", "units", "up"), "inspect")
    if not fields.get("scan"):
        raise InputError("an inspect job needs 'scan'")
    run = _OneStageRun(sink, "inspect")
    texture = Path(fields["texture"]) if fields.get("texture") else None
    scan = read_scan(Path(fields["scan"]), texture=texture, units=fields.get("units"), up=fields.get("up"))
    run.progress(0.6, "measuring")
    report = qa_report(scan.mesh, scan.units)
    report["notes"] = list(scan.notes)
    report["point_cloud"] = scan.mesh.is_point_cloud
    report["units"], report["up"] = scan.units, scan.up
    for note in scan.notes:
        sink.emit(Event("log", {"stage": "inspect", "message": note}))
    run.progress(1.0)
    after = report.get("after", report)
    summary = {"vertices": len(scan.mesh.vertices), "faces": len(scan.mesh.faces), "units": scan.units}
    if isinstance(after, dict) and "holes" in after:
        summary["holes"] = after["holes"] if isinstance(after["holes"], int) else len(after["holes"])
    return run.finish(summary, report=json.loads(json.dumps(report, default=str)))


def _run_preview(fields: dict[str, Any], sink: EventSink) -> int:
    from lifecast.preview import render_preview

    fields = _take(fields, ("source", "scan", "out", "size", "yaw", "pitch"), "preview")
    source = fields.get("source") or fields.get("scan")
    if not source or not fields.get("out"):
        raise InputError("a preview job needs 'source' (a scan or asset) and 'out' (a .png)")
    out = Path(fields["out"])
    if out.suffix.lower() != ".png":
        raise InputError("a preview is written as PNG: give 'out' a .png name", out)
    run = _OneStageRun(sink, "preview")
    summary = render_preview(
        Path(source),
        out,
        size=int(fields.get("size", 512)),
        yaw=float(fields.get("yaw", 25.0)),
        pitch=float(fields.get("pitch", 10.0)),
        progress=run.progress,
    )
    sink.emit(Event("artifact", {"stage": "preview", "path": str(out), "kind": "image"}))
    return run.finish(summary, outputs={"preview": str(out)})


def _run_template(fields: dict[str, Any], sink: EventSink) -> int:
    """What a template offers: its landmark names (in the template's order), size and UVs."""
    from lifecast.wrap.builtin import resolve_template

    fields = _take(fields, ("template", "template_landmarks"), "template")
    if not fields.get("template"):
        raise InputError("a template job needs 'template' (anny-head, anny-body or a template mesh path)")
    run = _OneStageRun(sink, "template")
    markup = Path(fields["template_landmarks"]) if fields.get("template_landmarks") else None
    template = resolve_template(str(fields["template"]), markup, progress=run.progress)
    report: dict[str, Any] = {
        "template": template.name,
        "kind": template.kind,
        "landmarks": list(template.landmarks),
        "vertices": len(template.vertices),
        "faces": template.polygons.polygon_count,
        "triangles": len(template.faces),
        "has_uvs": template.polygons.has_uvs,
        "excluded_vertices": int(template.exclude.sum()),
        "shape_model": list(template.shape_model.labels) if template.shape_model is not None else None,
    }
    return run.finish({k: report[k] for k in ("template", "vertices", "faces", "has_uvs")}, report=report)


def _run_correct(fields: dict[str, Any], sink: EventSink) -> int:
    """Record the artist's corrected albedo of an asset against its subject (``lifecast correct submit``)."""
    from lifecast.ml.corrections import find_show, submit_correction

    fields = _take(fields, ("asset", "fixed", "subject", "show"), "correct")
    missing = [key for key in ("asset", "fixed", "subject") if not str(fields.get(key) or "").strip()]
    if missing:
        raise InputError(
            f"a correct job needs {', '.join(map(repr, missing))} (the asset folder, the corrected albedo, the subject)"
        )
    asset, fixed = Path(str(fields["asset"])), Path(str(fields["fixed"]))
    if not asset.is_dir():
        raise InputError("asset folder not found", asset)
    show_arg = Path(str(fields["show"])) if str(fields.get("show") or "").strip() else None
    show = find_show(asset, show_arg)
    run = _OneStageRun(sink, "correct")
    run.progress(0.1, "measuring the change and the geometry maps")
    result = submit_correction(asset, fixed, str(fields["subject"]).strip(), show=show)
    c = result.correction
    texels = len(c.tiles) * int(c.meta.get("size", 0)) ** 2
    sink.emit(Event("artifact", {"stage": "correct", "path": str(c.path), "kind": "correction"}))
    if result.local:
        sink.emit(
            Event(
                "warning",
                {
                    "stage": "correct",
                    "message": "no show registry, so the correction is kept with the asset; adapters need a show",
                },
            )
        )
    report = {
        "correction_id": c.id,
        "changed_texels": round(result.changed_fraction * texels),
        "changed_fraction": round(result.changed_fraction, 6),
        "tiles": list(c.tiles),
        "path": str(c.path),
        "local": result.local,
    }
    summary = {k: report[k] for k in ("correction_id", "changed_texels", "changed_fraction")}
    return run.finish(summary, outputs={"correction": str(c.path)}, report=report)

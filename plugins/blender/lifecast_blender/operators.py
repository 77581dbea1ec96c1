"""The add-on's operators: process (modal), cancel, import the asset, compare the albedo, add/remove a landmark, open
the Qt panel.

Thin bpy glue over the pure modules: the work is done by :class:`~.session.RunSession`
(a :class:`~.worker_client.WorkerClient` and a :class:`~.run_state.RunState`).
``lifecast.process`` from the UI (``invoke``) is modal: a window-manager timer pumps
the session every 0.1 s, so Blender never blocks. From a script or
``--background`` (``execute``, or ``invoke`` without a window) it pumps the same
session until the worker ends. :func:`start_run` and :func:`pump_run` are what
both paths call; tests call them too to cancel a run midway. When a run has
published its asset, :func:`load_albedo_images` loads LOD0's delit albedo and raw
bake into ``bpy.data.images``, which ``lifecast.compare_albedo`` shows in turn in
an Image Editor. ``lifecast.submit_correction`` sends the albedo the artist painted in Texture Paint (saved first;
beside the asset when it was the asset's own file) to the worker's ``correct`` job for that asset and its subject.
"""

# Blender's class naming (LIFECAST_OT_*, LIFECAST_PT_*, LIFECAST_PG_*) is the convention bpy expects.
# ruff: noqa: N801

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import bmesh
import bpy
from bpy.props import EnumProperty, StringProperty

from .jobs import JobError, correction_job, default_out_dir, fix_save_path, process_job, resolve_worker_python
from .landmarks import LandmarkError, remove_landmark, set_landmark
from .properties import preferences, process_settings, show_run
from .run_state import find_albedo_maps
from .session import RunSession
from .worker_client import qt_panel_command

__all__ = [
    "active_run",
    "albedo_images",
    "find_image_editor",
    "landmarks_path",
    "load_albedo_images",
    "painted_image",
    "pump_run",
    "start_run",
    "stop_run",
]

_TIMER_STEP = 0.1
_ACTIVE: RunSession | None = None


def active_run() -> RunSession | None:
    """The run started last (running or finished), if any."""
    return _ACTIVE


def worker_python(context: bpy.types.Context) -> str:
    """The worker Python from the preferences or ``$LIFECAST_WORKER_PYTHON``; :class:`JobError` with the fix."""
    prefs = preferences(context)
    return resolve_worker_python(bpy.path.abspath(prefs.worker_python) if prefs and prefs.worker_python else "")


def start_run(context: bpy.types.Context) -> RunSession:
    """Build the process job from the scene's settings and start a worker on it; :class:`JobError` if it cannot."""
    if _ACTIVE is not None and not _ACTIVE.finished:
        raise JobError("a lifecast run is already going: cancel it or wait")
    return start_job(context, process_job(process_settings(context)))


def start_job(context: bpy.types.Context, job: dict[str, Any]) -> RunSession:
    """Start a worker on ``job``; :class:`JobError` when a run is going or there is no worker Python."""
    global _ACTIVE
    if _ACTIVE is not None and not _ACTIVE.finished:
        raise JobError("a lifecast run is already going: cancel it or wait")
    prefs = preferences(context)
    session = RunSession(job, worker_python(context), kill_after=prefs.kill_after if prefs else 10.0)
    _ACTIVE = session.start()
    show_run(context.window_manager, session.state)
    return session


def pump_run(context: bpy.types.Context, timeout: float = 0.0) -> bool:
    """Fold what the worker said into the panel's run info; ``True`` if anything arrived."""
    if _ACTIVE is None:
        return False
    changed = _ACTIVE.pump(timeout)
    if changed:
        show_run(context.window_manager, _ACTIVE.state)
        if _ACTIVE.finished and _ACTIVE.state.exit_code == 0 and _ACTIVE.job.get("command") == "process":
            context.window_manager.lifecast_run.subject = str(_ACTIVE.job.get("subject", ""))
            load_albedo_images(context)
    return changed


def _load_image(path: str, tiled: bool) -> bpy.types.Image | None:
    """The image of ``path`` (a UDIM set from its first tile when ``tiled``), read again from disk when
    ``bpy.data.images`` already has it (an imported asset's material, an earlier run); ``None`` if unreadable."""
    wanted = os.path.normpath(path)
    if tiled:
        folder, name = os.path.split(wanted)
        stem, _tile, ext = name.rsplit(".", 2)
        wanted = os.path.join(folder, f"{stem}.<UDIM>.{ext}")
    for image in bpy.data.images:
        if image.filepath and os.path.normpath(bpy.path.abspath(image.filepath)) == wanted:
            image.reload()
            return image
    try:
        image = bpy.data.images.load(path, check_existing=False)
    except RuntimeError:
        return None
    if tiled:
        image.source = "TILED"  # Blender finds the other tiles and names the file with <UDIM>
    return image


def load_albedo_images(context: bpy.types.Context) -> tuple[bpy.types.Image | None, bpy.types.Image | None]:
    """Load the last asset's LOD0 albedo (what its material reads: delit when the run delit) and raw bake.

    An image already loaded from the same file (the imported material's, for a single
    tile; an earlier run's) is reused and reloaded, so the sidebar, the Image Editor and
    the material show the same pixels. Returns ``(albedo, raw)``; ``raw`` is ``None``
    when the run did not delight.
    """
    run = context.window_manager.lifecast_run
    maps = find_albedo_maps(run.asset) if run.asset else None
    albedo = _load_image(maps.albedo, maps.tiled) if maps else None
    raw = _load_image(maps.raw, maps.tiled) if maps and maps.raw else None
    for image in (albedo, raw):
        if image is not None:
            image.preview_ensure()
    run.albedo_image = albedo.name if albedo else ""
    run.albedo_raw_image = raw.name if raw else ""
    return albedo, raw


def albedo_images(context: bpy.types.Context) -> tuple[bpy.types.Image | None, bpy.types.Image | None]:
    """The loaded ``(albedo, raw)`` images of the last run, ``None`` for each that is not there."""
    run = context.window_manager.lifecast_run
    images = bpy.data.images
    return (
        images.get(run.albedo_image) if run.albedo_image else None,
        images.get(run.albedo_raw_image) if run.albedo_raw_image else None,
    )


#: Workspaces of Blender's default startup file with an Image Editor, in the order they are tried.
IMAGE_WORKSPACES = ("Shading", "Texture Paint", "UV Editing")


def _largest_image_editor(screen: bpy.types.Screen | None) -> bpy.types.Area | None:
    areas = [a for a in screen.areas if a.type == "IMAGE_EDITOR"] if screen is not None else []
    return max(areas, key=lambda a: a.width * a.height) if areas else None


def find_image_editor(context: bpy.types.Context) -> tuple[bpy.types.Area | None, str]:
    """The Image Editor to show the albedo in, and how it was found.

    The one the operator runs in, else the largest on this screen, else one in another
    window; else the window switches to a workspace that has one (Shading, Texture
    Paint, UV Editing, or any other), whose editor is returned. ``(None, "")`` when
    there is none at all.
    """
    if context.area is not None and context.area.type == "IMAGE_EDITOR":
        return context.area, "this editor"
    area = _largest_image_editor(context.screen)
    if area is not None:
        return area, "this screen"
    for window in context.window_manager.windows:
        area = _largest_image_editor(window.screen)
        if area is not None:
            return area, f"the window showing {window.workspace.name}"
    named = [bpy.data.workspaces.get(n) for n in IMAGE_WORKSPACES]
    for workspace in [w for w in named if w is not None] + list(bpy.data.workspaces):
        for screen in workspace.screens:
            area = _largest_image_editor(screen)
            if area is not None:
                if context.window is not None:
                    context.window.workspace = workspace
                return area, f"the {workspace.name} workspace"
    return None, ""


def _redraw(context: bpy.types.Context) -> None:
    for window in context.window_manager.windows:
        for area in window.screen.areas:
            if area.type == "VIEW_3D":
                area.tag_redraw()


def _report_end(op: bpy.types.Operator, session: RunSession) -> set[str]:
    state = session.state
    if state.error is not None:
        op.report({"WARNING"} if state.exit_code == 130 else {"ERROR"}, state.error.headline)
        return {"CANCELLED"}
    op.report({"INFO"}, f"lifecast: asset written: {state.outputs.get('asset', '(no asset)')}")
    return {"FINISHED"}


class LIFECAST_OT_process(bpy.types.Operator):
    """Turn the scan into a USD asset in a lifecast worker process (Blender stays responsive)"""

    bl_idname = "lifecast.process"
    bl_label = "Process"

    _timer: Any = None
    _session: RunSession | None = None

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        return _ACTIVE is None or _ACTIVE.finished

    def execute(self, context: bpy.types.Context) -> set[str]:
        """Scripts and background mode: run the worker to the end, blocking."""
        try:
            session = start_run(context)
        except JobError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        while not session.finished:
            pump_run(context, timeout=_TIMER_STEP)
        return _report_end(self, session)

    def invoke(self, context: bpy.types.Context, event: bpy.types.Event) -> set[str]:
        if context.window is None:  # no window, no event loop: run synchronously
            return self.execute(context)
        try:
            start_run(context)
        except JobError as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        wm = context.window_manager
        self._session = _ACTIVE
        self._timer = wm.event_timer_add(_TIMER_STEP, window=context.window)
        wm.modal_handler_add(self)
        return {"RUNNING_MODAL"}

    def modal(self, context: bpy.types.Context, event: bpy.types.Event) -> set[str]:
        if event.type != "TIMER":
            return {"PASS_THROUGH"}
        session = self._session
        if session is None or session is not _ACTIVE:  # stopped from elsewhere (unregister, a file load)
            context.window_manager.event_timer_remove(self._timer)
            return {"CANCELLED"}
        if pump_run(context):
            _redraw(context)
        if not session.finished:
            return {"PASS_THROUGH"}
        context.window_manager.event_timer_remove(self._timer)
        _redraw(context)
        return _report_end(self, session)


class LIFECAST_OT_cancel(bpy.types.Operator):
    """Stop the running worker: SIGTERM (it removes its temporary files), SIGKILL after the grace period"""

    bl_idname = "lifecast.cancel"
    bl_label = "Cancel"

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        return _ACTIVE is not None and not _ACTIVE.finished

    def execute(self, context: bpy.types.Context) -> set[str]:
        assert _ACTIVE is not None
        _ACTIVE.cancel()
        context.window_manager.lifecast_run.status = "cancelling"
        self.report({"INFO"}, "lifecast: cancelling the worker")
        return {"FINISHED"}


class LIFECAST_OT_import_asset(bpy.types.Operator):
    """Import the finished USD asset (asset.usda) with Blender's USD importer"""

    bl_idname = "lifecast.import_asset"
    bl_label = "Import Asset"
    bl_options = {"REGISTER", "UNDO"}  # noqa: RUF012 - Blender reads a plain set

    filepath: StringProperty(  # type: ignore[valid-type]
        name="Asset", description="The asset.usda to import (empty: the last run's)", subtype="FILE_PATH", default=""
    )

    def _asset(self, context: bpy.types.Context) -> str:
        if self.filepath:
            return bpy.path.abspath(self.filepath)
        if context.window_manager.lifecast_run.asset:
            return str(context.window_manager.lifecast_run.asset)
        settings = process_settings(context)
        if not settings.scan and not settings.out:
            return ""
        out = settings.out or default_out_dir(settings.scan, settings.default_out_root)
        return os.path.join(out, "asset.usda")

    def execute(self, context: bpy.types.Context) -> set[str]:
        path = self._asset(context)
        if not path or not os.path.isfile(path):
            self.report({"ERROR"}, f"no asset to import{': ' + path + ' does not exist' if path else ''}")
            return {"CANCELLED"}
        before = set(bpy.data.objects)
        result = bpy.ops.wm.usd_import(filepath=path)
        if "FINISHED" not in result:
            self.report({"ERROR"}, f"Blender's USD importer could not read {path}")
            return {"CANCELLED"}
        meshes = [o for o in set(bpy.data.objects) - before if o.type == "MESH"]
        self.report({"INFO"}, f"lifecast: imported {Path(path).name}: {len(meshes)} mesh(es)")
        return {"FINISHED"}


class LIFECAST_OT_compare_albedo(bpy.types.Operator):
    """Show the last run's raw bake or its delit albedo (LOD0) in an Image Editor; each press switches"""

    bl_idname = "lifecast.compare_albedo"
    bl_label = "Compare Albedo"

    show: EnumProperty(  # type: ignore[valid-type]
        name="Show",
        items=[
            ("TOGGLE", "Switch", "The raw bake, or the delit albedo when the raw bake is shown"),
            ("RAW", "Raw Bake", "The albedo as baked, with the capture's lighting"),
            ("DELIT", "Delit", "The albedo with the capture's lighting removed (what the material uses)"),
        ],
        default="TOGGLE",
    )

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        albedo, raw = albedo_images(context)
        return albedo is not None and raw is not None

    def execute(self, context: bpy.types.Context) -> set[str]:
        albedo, raw = albedo_images(context)
        if albedo is None or raw is None:
            self.report({"ERROR"}, "no raw and delit albedo to compare: process a scan with Delight Albedo on")
            return {"CANCELLED"}
        area, where = find_image_editor(context)
        if area is None:
            self.report({"ERROR"}, "no Image Editor: turn an area into one (Shift+F10) and press again")
            return {"CANCELLED"}
        space = area.spaces.active
        showing_raw = self.show == "RAW" or (self.show == "TOGGLE" and space.image != raw)
        space.image = raw if showing_raw else albedo
        area.tag_redraw()
        what = "raw bake" if showing_raw else "delit albedo"
        self.report({"INFO"}, f"lifecast: {what} ({space.image.name}) in the Image Editor of {where}")
        return {"FINISHED"}


def painted_image(context: bpy.types.Context) -> bpy.types.Image | None:
    """The image the artist paints: Texture Paint's canvas (Image mode), else the active material's paint slot,
    else the image of an Image Editor in Paint mode, else the last run's delit albedo."""
    paint = context.tool_settings.image_paint if context.tool_settings else None
    if paint is not None and paint.mode == "IMAGE" and paint.canvas is not None:
        return paint.canvas
    obj = context.active_object
    material = obj.active_material if obj is not None else None
    if material is not None and len(material.texture_paint_images):
        slot = min(max(material.paint_active_slot, 0), len(material.texture_paint_images) - 1)
        return material.texture_paint_images[slot]
    for window in context.window_manager.windows:
        for area in window.screen.areas:
            space = area.spaces.active if area.type == "IMAGE_EDITOR" else None
            if space is not None and space.image is not None and space.mode == "PAINT":
                return space.image
    return albedo_images(context)[0]


def _same_file(a: str, b: str) -> bool:
    return bool(a) and bool(b) and os.path.normpath(a) == os.path.normpath(b)


def save_painted(context: bpy.types.Context, image: bpy.types.Image) -> str:
    """Save ``image`` if it has unsaved paint (into ``.lifecast/fixes`` beside the asset when it was loaded from the
    asset's own albedo, which stays the model's output); returns its file path (``<UDIM>`` for a tile set)."""
    run = context.window_manager.lifecast_run
    tiled = image.source == "TILED"
    path = bpy.path.abspath(image.filepath_raw) if image.filepath_raw else ""
    asset_files = set()
    for f in (run.albedo, run.albedo_raw):
        if f:
            folder, name = os.path.split(f)
            stem, _tile, ext = name.rsplit(".", 2)
            asset_files |= {f, os.path.join(folder, f"{stem}.<UDIM>.{ext}")}
    if image.is_dirty or not path:
        if not path or any(_same_file(path, f) for f in asset_files):
            path = fix_save_path(run.asset, path or image.name, tiled)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            image.filepath_raw = path
            image.file_format = "PNG"
        image.save()
    return path


class LIFECAST_OT_submit_correction(bpy.types.Operator):
    """Record the albedo you painted (or a corrected file) for the last asset against its subject, to train that
    person's adapter"""

    bl_idname = "lifecast.submit_correction"
    bl_label = "Submit Correction"

    filepath: StringProperty(  # type: ignore[valid-type]
        name="Corrected Albedo",
        description="The corrected albedo file (empty: the image painted in Texture Paint, saved first)",
        subtype="FILE_PATH",
        default="",
    )

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        return bool(context.window_manager.lifecast_run.asset) and (_ACTIVE is None or _ACTIVE.finished)

    def execute(self, context: bpy.types.Context) -> set[str]:
        run = context.window_manager.lifecast_run
        try:
            if self.filepath:
                fixed = bpy.path.abspath(self.filepath)
            else:
                image = painted_image(context)
                if image is None:
                    raise JobError("no painted image: paint the albedo in Texture Paint first")
                fixed = save_painted(context, image)
            job = correction_job(run.asset, fixed, run.subject or context.scene.lifecast.subject)
            run.correction = ""
            session = start_job(context, job)
        except (JobError, RuntimeError, OSError) as exc:
            run.correction = str(exc)
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        while not session.finished:
            pump_run(context, timeout=_TIMER_STEP)
        _redraw(context)
        if session.state.error is not None:
            self.report({"ERROR"}, session.state.error.headline)
            return {"CANCELLED"}
        self.report({"INFO"}, f"lifecast: {run.correction}")
        return {"FINISHED"}


def landmarks_path(context: bpy.types.Context) -> str:
    """The scene's landmarks file, else ``<output folder>/landmarks.json`` (empty when there is no scan either)."""
    settings = process_settings(context)
    if settings.landmarks:
        return settings.landmarks
    if not settings.scan and not settings.out:
        return ""
    out = settings.out or default_out_dir(settings.scan, settings.default_out_root)
    return os.path.join(out, "landmarks.json")


class LIFECAST_OT_add_landmark(bpy.types.Operator):
    """Mark the selected vertex of the mesh in Edit Mode as a named landmark in the scan's landmarks JSON.

    Writes ``{"name": {"vertex": i, "position": [x, y, z]}}``. ``i`` is the vertex's index in the mesh, which is
    its index in the scan file when the scan was imported by Blender's PLY importer (order kept; leave Merge
    Vertices off) and not edited since. ``position`` is in the object's local coordinates: the scan file's own
    coordinates and units, because Blender's PLY/OBJ importers put axis conversion and scale on the object's
    transform, not on the vertices (unless the transform was applied). The worker uses ``vertex``; ``position``
    is informational.
    """

    bl_idname = "lifecast.add_landmark"
    bl_label = "Add Landmark"
    bl_options = {"REGISTER", "UNDO"}  # noqa: RUF012 - Blender reads a plain set

    name: StringProperty(name="Name", description="The landmark's name (empty: the panel's)", default="")  # type: ignore[valid-type]

    @classmethod
    def poll(cls, context: bpy.types.Context) -> bool:
        obj = context.edit_object
        return context.mode == "EDIT_MESH" and obj is not None and obj.type == "MESH"

    def execute(self, context: bpy.types.Context) -> set[str]:
        obj = context.edit_object
        name = (self.name or context.scene.lifecast.landmark_name).strip()
        if not name:
            self.report({"ERROR"}, "name the landmark first")
            return {"CANCELLED"}
        bm = bmesh.from_edit_mesh(obj.data)
        active = bm.select_history.active
        selected = [v for v in bm.verts if v.select]
        if isinstance(active, bmesh.types.BMVert) and active.select:
            vert = active
        elif len(selected) == 1:
            vert = selected[0]
        else:
            self.report({"ERROR"}, f"select one vertex of {obj.name} ({len(selected)} selected)")
            return {"CANCELLED"}
        path = landmarks_path(context)
        if not path:
            self.report({"ERROR"}, "set the landmarks file, or pick a scan so it goes in the output folder")
            return {"CANCELLED"}
        try:
            set_landmark(path, name, vert.index, tuple(vert.co))
        except (LandmarkError, OSError) as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        if not context.scene.lifecast.landmarks:
            context.scene.lifecast.landmarks = path
        self.report({"INFO"}, f"lifecast: landmark {name!r} = vertex {vert.index} of {obj.name}")
        return {"FINISHED"}


class LIFECAST_OT_remove_landmark(bpy.types.Operator):
    """Remove a landmark from the scan's landmarks JSON"""

    bl_idname = "lifecast.remove_landmark"
    bl_label = "Remove Landmark"

    name: StringProperty(name="Name", default="")  # type: ignore[valid-type]

    def execute(self, context: bpy.types.Context) -> set[str]:
        path = landmarks_path(context)
        if not path:
            return {"CANCELLED"}
        try:
            remove_landmark(path, self.name)
        except (LandmarkError, OSError) as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        return {"FINISHED"}


class LIFECAST_OT_open_qt_panel(bpy.types.Operator):
    """Open the shared lifecast Qt panel in a window of its own (a separate process; needs lifecast's ui extra)"""

    bl_idname = "lifecast.open_qt_panel"
    bl_label = "Open Qt Panel"

    def execute(self, context: bpy.types.Context) -> set[str]:
        try:
            python = worker_python(context)
            options: dict[str, Any] = {"start_new_session": True} if sys.platform != "win32" else {}
            subprocess.Popen(qt_panel_command(python), stdin=subprocess.DEVNULL, **options)
        except (JobError, OSError) as exc:
            self.report({"ERROR"}, str(exc))
            return {"CANCELLED"}
        self.report({"INFO"}, "lifecast: the Qt panel opens in its own window")
        return {"FINISHED"}


CLASSES = (
    LIFECAST_OT_process,
    LIFECAST_OT_cancel,
    LIFECAST_OT_import_asset,
    LIFECAST_OT_compare_albedo,
    LIFECAST_OT_submit_correction,
    LIFECAST_OT_add_landmark,
    LIFECAST_OT_remove_landmark,
    LIFECAST_OT_open_qt_panel,
)


def stop_run(wait: float | None = None) -> None:
    """Cancel the active run, if any, and forget it (``wait``: seconds to wait for the worker to end)."""
    global _ACTIVE
    if _ACTIVE is not None and not _ACTIVE.finished:
        _ACTIVE.cancel()
        if wait:
            _ACTIVE.client.wait(wait)
    _ACTIVE = None


@bpy.app.handlers.persistent
def _stop_run_on_load(*_args: Any) -> None:
    # Loading a file drops the modal operator that pumps the run: stop the worker instead of orphaning it.
    stop_run()


def register() -> None:
    for cls in CLASSES:
        bpy.utils.register_class(cls)
    bpy.app.handlers.load_pre.append(_stop_run_on_load)


def unregister() -> None:
    if _stop_run_on_load in bpy.app.handlers.load_pre:
        bpy.app.handlers.load_pre.remove(_stop_run_on_load)
    # Never leave a worker running behind a disabled add-on.
    stop_run(wait=_ACTIVE.client.kill_after + 5.0 if _ACTIVE is not None else None)
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)

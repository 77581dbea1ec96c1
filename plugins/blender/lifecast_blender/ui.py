"""The sidebar panel: View3D > Sidebar (N) > lifecast. Draws from ``scene.lifecast`` and ``wm.lifecast_run``."""

# Blender's class naming (LIFECAST_OT_*, LIFECAST_PT_*, LIFECAST_PG_*) is the convention bpy expects.
# ruff: noqa: N801

from __future__ import annotations

import os
import textwrap
from typing import Any

import bpy

from .jobs import WORKER_PYTHON_ENV
from .landmarks import LandmarkError, read_landmarks
from .operators import active_run, albedo_images, landmarks_path
from .properties import ADDON, preferences

_WRAP = 42
_landmark_cache: dict[str, tuple[float, list[str]]] = {}


def _labels(layout: bpy.types.UILayout, text: str, icon: str = "NONE", width: int = _WRAP) -> None:
    """``text`` as wrapped labels (Blender labels do not wrap); the first line gets ``icon``."""
    lines = [piece for line in text.splitlines() for piece in (textwrap.wrap(line, width) or [""])]
    for i, line in enumerate(lines):
        layout.label(text=line, icon=icon if i == 0 else "BLANK1" if icon != "NONE" else "NONE")


def _landmark_names(path: str) -> list[str]:
    """The names in the landmarks file, re-read only when the file changes (draw runs often)."""
    try:
        mtime = os.path.getmtime(path)
    except OSError:
        return []
    cached = _landmark_cache.get(path)
    if cached is None or cached[0] != mtime:
        try:
            names = list(read_landmarks(path))
        except LandmarkError:
            names = []
        cached = _landmark_cache[path] = (mtime, names)
    return cached[1]


class LIFECAST_PT_sidebar(bpy.types.Panel):
    bl_label = "lifecast"
    bl_idname = "LIFECAST_PT_sidebar"
    bl_space_type = "VIEW_3D"
    bl_region_type = "UI"
    bl_category = "lifecast"

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        s = context.scene.lifecast
        run = context.window_manager.lifecast_run
        prefs = preferences(context)
        if not ((prefs and prefs.worker_python) or os.environ.get(WORKER_PYTHON_ENV)):
            box = layout.box()
            _labels(box, "Set the lifecast venv's python in the add-on preferences", icon="ERROR")
            box.operator("preferences.addon_show", text="Open Preferences", icon="PREFERENCES").module = ADDON

        col = layout.column(align=True)
        col.prop(s, "scan")
        col.prop(s, "out_dir")

        box = layout.box()
        box.label(text="Settings", icon="MODIFIER")
        col = box.column()
        col.prop(s, "lods")
        col.prop(s, "texture_size")
        col.prop(s, "udims")
        col.label(text="Maps")
        col.prop(s, "maps", expand=True)
        col.prop(s, "delight")
        col.prop(s, "inpaint")
        col.label(text="Photo Texturing", icon="CAMERA_DATA")
        col.prop(s, "photos")
        col.prop(s, "cameras")
        col.prop(s, "template")
        if s.template:
            col.prop(s, "template_landmarks")
        col.prop(s, "subject")

        self._draw_landmarks(layout, context, s)
        self._draw_run(layout, context, run)

    def _draw_landmarks(self, layout: bpy.types.UILayout, context: bpy.types.Context, s: Any) -> None:
        box = layout.box()
        box.label(text="Landmarks", icon="EMPTY_SINGLE_ARROW")
        box.prop(s, "landmarks", text="File")
        row = box.row(align=True)
        row.prop(s, "landmark_name", text="")
        row.operator("lifecast.add_landmark", text="Add", icon="ADD")
        if context.mode != "EDIT_MESH":
            box.label(text="Select one vertex of the scan in Edit Mode", icon="INFO")
        path = landmarks_path(context)
        for name in _landmark_names(path) if path else []:
            row = box.row(align=True)
            row.label(text=name)
            row.operator("lifecast.remove_landmark", text="", icon="X").name = name

    def _draw_run(self, layout: bpy.types.UILayout, context: bpy.types.Context, run: Any) -> None:
        box = layout.box()
        session = active_run()
        running = session is not None and not session.finished
        row = box.row(align=True)
        row.scale_y = 1.4
        if running:
            row.operator("lifecast.cancel", icon="CANCEL")
        else:
            row.operator("lifecast.process", icon="PLAY")
        if running or run.exit_code >= 0:
            text = f"{round(run.fraction * 100)}%" + (f"  {run.stage}" if run.stage else "")
            box.progress(factor=run.fraction, type="BAR", text=text)
            if run.status and not run.error:
                _labels(box, run.status)
        if run.log and running:
            col = box.column(align=True)
            col.scale_y = 0.8
            for line in run.log.splitlines()[-5:]:
                col.label(text=line[:120])
        if run.error:
            err = box.box()
            err.alert = True
            _labels(err, run.error, icon="ERROR")
            if run.error_details:
                err.prop(run, "show_details", toggle=True, icon="TEXT")
                if run.show_details:
                    col = err.column(align=True)
                    col.scale_y = 0.8
                    for line in run.error_details.splitlines()[-15:]:
                        col.label(text=line[:160])
        if run.asset and not running:
            box.operator("lifecast.import_asset", icon="IMPORT").filepath = run.asset
            _draw_textures(box, context, run)
            box.operator("lifecast.submit_correction", icon="BRUSH_DATA")
            if run.correction:
                _labels(box, run.correction, icon="ERROR" if run.error else "CHECKMARK")
        box.operator("lifecast.open_qt_panel", icon="WINDOW")


def _draw_textures(layout: bpy.types.UILayout, context: bpy.types.Context, run: Any) -> None:
    """LOD0's albedo after a run: the raw bake and the delit albedo side by side, the switch, the shading file."""
    if not run.albedo:
        return
    box = layout.box()
    tiles = f" ({run.albedo_tiles} UDIM tiles, first shown)" if run.albedo_tiles > 1 else ""
    box.label(text=f"Albedo LOD0{tiles}", icon="IMAGE_DATA")
    albedo, raw = albedo_images(context)
    delit = bool(run.albedo_raw)
    shown = [(raw, "Raw Bake", "RAW"), (albedo, "Delit", "DELIT")] if delit else [(albedo, "Albedo", "")]
    row = box.row()
    for image, title, show in shown:
        col = row.column(align=True)
        if image is not None and image.preview is not None:
            col.template_icon(icon_value=image.preview.icon_id, scale=6.0)
        if show:
            col.operator("lifecast.compare_albedo", text=title).show = show
        else:
            col.label(text=title)
    if delit:
        box.operator("lifecast.compare_albedo", icon="ARROW_LEFTRIGHT")
        _labels(box, f"Shading: {run.shading}" if run.shading else "No shading map", icon="FILE_IMAGE")
    else:
        _labels(box, "Not delit: Delight Albedo was off, the albedo keeps the capture's lighting", icon="INFO")


CLASSES = (LIFECAST_PT_sidebar,)


def register() -> None:
    for cls in CLASSES:
        bpy.utils.register_class(cls)


def unregister() -> None:
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)

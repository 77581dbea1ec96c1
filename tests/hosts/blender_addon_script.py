"""Drive the lifecast extension inside real Blender (the ``bpy`` 5.0.1 wheel); run by ``test_blender_addon.py``.

Runs under ``.venv-blender/bin/python`` (Python 3.11, numpy<2), never lifecast's venv:

    .venv-blender/bin/python tests/hosts/blender_addon_script.py CONFIG.json

``BLENDER_USER_RESOURCES`` must point at an empty folder (the caller sets it) so the
install never touches a user's Blender config. CONFIG holds ``source`` (the extension
folder), ``worker_python`` (lifecast's venv python), ``scan``, ``tmp``, ``vertex`` (a
scan vertex index to mark) and ``settings`` (small process settings). The script builds
the extension zip with Blender's own ``blender_ext.py build``, installs and enables it
through ``bpy.ops.extensions.package_install_files`` (what "Install from Disk" does),
runs the operators, and prints one line ``LIFECAST_RESULT {json}`` that the test asserts
on. Each check records what it saw rather than asserting here, so one failure does not
hide the others.
"""

from __future__ import annotations

import glob
import json
import os
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import bpy  # this script runs inside Blender's venv only; addon_utils and bmesh exist once bpy is imported

MODULE = "bl_ext.user_default.lifecast"


def build_and_install(source: str, tmp: Path) -> dict[str, Any]:
    """Build the extension zip with Blender's tool and install + enable it like "Install from Disk"."""
    tool = Path(bpy.utils.system_resource("SCRIPTS")) / "addons_core" / "bl_pkg" / "cli" / "blender_ext.py"
    dist = tmp / "dist"
    dist.mkdir(parents=True, exist_ok=True)
    validate = subprocess.run([sys.executable, str(tool), "validate", source], capture_output=True, text=True)
    build = subprocess.run(
        [sys.executable, str(tool), "build", "--source-dir", source, "--output-dir", str(dist)],
        capture_output=True,
        text=True,
    )
    zips = sorted(dist.glob("lifecast-*.zip"))
    out: dict[str, Any] = {
        "validate_rc": validate.returncode,
        "validate_out": (validate.stdout + validate.stderr)[-2000:],
        "build_rc": build.returncode,
        "zip": str(zips[-1]) if zips else None,
    }
    if not zips:
        out["build_out"] = (build.stdout + build.stderr)[-2000:]
        return out
    result = bpy.ops.extensions.package_install_files(
        filepath=str(zips[-1]), repo="user_default", enable_on_install=True
    )
    out["install"] = sorted(result)
    out["enabled"] = MODULE in bpy.context.preferences.addons
    out["module_file"] = getattr(sys.modules.get(MODULE), "__file__", None)
    return out


def _operator_exists(idname: str) -> bool:
    group, name = idname.split(".")
    try:
        getattr(getattr(bpy.ops, group), name).get_rna_type()
    except (KeyError, AttributeError):
        return False
    return True


def _call(op: Any, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """Run an operator; record its result or the error Blender raised for an ERROR report."""
    t0 = time.perf_counter()
    try:
        result = sorted(op(*args, **kwargs))
        return {"result": result, "seconds": round(time.perf_counter() - t0, 3)}
    except RuntimeError as exc:
        return {"result": ["RAISED"], "error": str(exc), "seconds": round(time.perf_counter() - t0, 3)}


def run_info() -> dict[str, Any]:
    run = bpy.context.window_manager.lifecast_run
    return {
        "running": run.running,
        "fraction": round(run.fraction, 4),
        "stage": run.stage,
        "status": run.status,
        "error": run.error,
        "error_details": run.error_details[-500:],
        "exit_code": run.exit_code,
        "asset": run.asset,
        "log": run.log,
    }


def process(cfg: dict[str, Any], out_dir: Path) -> dict[str, Any]:
    """The process operator (execute: the synchronous path) on the sample scan with small settings."""
    s = bpy.context.scene.lifecast
    s.scan = cfg["scan"]
    s.out_dir = str(out_dir)
    small = cfg["settings"]
    s.lods = small["lods"]
    s.texture_size = small["texture_size"]
    s.maps = set(small["maps"])
    s.udims = 1
    # INVOKE_DEFAULT is what the panel's button does; without a window (background) invoke runs execute's
    # synchronous path instead of the modal timer, which needs Blender's event loop.
    called = _call(bpy.ops.lifecast.process, "INVOKE_DEFAULT")
    ops = sys.modules[MODULE + ".operators"]
    state = ops.active_run().state
    return {
        **called,
        "run": run_info(),
        "drawn": draw_panel(),
        "stages": {name: st.status for name, st in state.stages.items()},
        "artifacts": [kind for kind, _ in state.artifacts],
        "outputs": state.outputs,
    }


def import_asset() -> dict[str, Any]:
    """The import operator on the last run's asset; what it created."""
    before_objects, before_images = set(bpy.data.objects), set(bpy.data.images)
    called = _call(bpy.ops.lifecast.import_asset)
    meshes = [o for o in set(bpy.data.objects) - before_objects if o.type == "MESH"]
    materials = {}
    for obj in meshes:
        for mat in obj.data.materials:
            if mat is None or mat.name in materials:
                continue
            nodes = []
            for node in mat.node_tree.nodes:
                entry: dict[str, Any] = {"type": node.bl_idname}
                if node.bl_idname == "ShaderNodeTexImage" and node.image is not None:
                    image = node.image
                    path = bpy.path.abspath(image.filepath)
                    entry.update(
                        image=image.name,
                        path=path,
                        exists=os.path.isfile(path),
                        size=list(image.size),  # reading the size loads the file
                        colorspace=image.colorspace_settings.name,
                        feeds=sorted({link.to_node.bl_idname for out in node.outputs for link in out.links}),
                    )
                nodes.append(entry)
            materials[mat.name] = nodes
    return {
        **called,
        "meshes": {o.name: {"vertices": len(o.data.vertices), "faces": len(o.data.polygons)} for o in meshes},
        "materials": materials,
        "new_images": sorted(i.name for i in set(bpy.data.images) - before_images),
    }


def add_landmarks(cfg: dict[str, Any]) -> dict[str, Any]:
    """Import the scan, select one vertex in Edit Mode, add a landmark; then try with two vertices selected."""
    import bmesh

    before = set(bpy.data.objects)
    bpy.ops.wm.ply_import(filepath=cfg["scan"])
    (scan,) = [o for o in set(bpy.data.objects) - before if o.type == "MESH"]
    for obj in bpy.context.view_layer.objects:
        obj.select_set(obj is scan)
    bpy.context.view_layer.objects.active = scan
    bpy.ops.object.mode_set(mode="EDIT")
    out: dict[str, Any] = {"mode": bpy.context.mode, "scan_vertices": len(scan.data.vertices)}
    bm = bmesh.from_edit_mesh(scan.data)
    bm.verts.ensure_lookup_table()
    for v in bm.verts:
        v.select = False
    bm.verts[cfg["vertex"]].select = True
    bmesh.update_edit_mesh(scan.data)
    out["one"] = _call(bpy.ops.lifecast.add_landmark, name="nose_tip")
    bm.verts[cfg["vertex"] + 1].select = True
    bm.select_history.clear()
    bmesh.update_edit_mesh(scan.data)
    out["two"] = _call(bpy.ops.lifecast.add_landmark, name="chin")
    bpy.ops.object.mode_set(mode="OBJECT")
    out["poll_outside_edit_mode"] = bpy.ops.lifecast.add_landmark.poll()
    path = bpy.context.scene.lifecast.landmarks
    out["path"] = path
    out["json"] = json.loads(Path(path).read_text()) if path and os.path.isfile(path) else None
    return out


def cancel_mid_stage(cfg: dict[str, Any], out_dir: Path) -> dict[str, Any]:
    """Start a run the way the modal operator does (start_run, then pump_run as its timer would), cancel in clean."""
    ops = sys.modules[MODULE + ".operators"]
    s = bpy.context.scene.lifecast
    s.out_dir = str(out_dir)
    session = ops.start_run(bpy.context)
    seen_running = {"cancel_poll_while_running": bpy.ops.lifecast.cancel.poll()}
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline and not session.finished:
        ops.pump_run(bpy.context, 0.1)
        clean = session.state.stages.get("clean")
        if clean is not None and clean.status == "running":
            break
    seen_running["stage_when_cancelled"] = session.state.current_stage
    seen_running["process_poll_while_running"] = bpy.ops.lifecast.process.poll()
    t0 = time.perf_counter()
    cancel = _call(bpy.ops.lifecast.cancel)
    while time.monotonic() < deadline + 60 and not session.finished:
        ops.pump_run(bpy.context, 0.1)
    process = session.client.process
    return {
        **seen_running,
        "cancel": cancel,
        "seconds_to_stop": round(time.perf_counter() - t0, 3),
        "worker_exit": process.poll() if process is not None else None,
        "run": run_info(),
        "asset_exists": (out_dir / "asset.usda").exists(),
        "temp_files": [p for p in glob.glob(str(out_dir / "**" / "*.tmp*"), recursive=True)],
    }


class _OperatorButton:
    """What ``layout.operator`` returns: setting a property checks the operator has it."""

    def __init__(self, idname: str, log: list[Any]) -> None:
        object.__setattr__(self, "_idname", idname)
        object.__setattr__(self, "_log", log)

    def __setattr__(self, name: str, value: Any) -> None:
        group, op = self._idname.split(".")
        known = name in getattr(getattr(bpy.ops, group), op).get_rna_type().properties
        self._log.append(["operator_property", f"{self._idname}.{name}", known])


class RecordingLayout:
    """Stands in for ``bpy.types.UILayout`` (there is none without a window): records what a draw() asks for
    and checks each property and operator it names exists."""

    def __init__(self, log: list[Any]) -> None:
        self._log = log

    def prop(self, data: Any, name: str, **kwargs: Any) -> None:
        self._log.append(["prop", name, name in data.bl_rna.properties])

    def operator(self, idname: str, **kwargs: Any) -> _OperatorButton:
        self._log.append(["operator", idname, _operator_exists(idname)])
        return _OperatorButton(idname, self._log)

    def label(self, text: str = "", **kwargs: Any) -> None:
        self._log.append(["label", text, True])

    def progress(self, factor: float = 0.0, type: str = "BAR", text: str = "") -> None:
        self._log.append(["progress", text, 0.0 <= factor <= 1.0])

    def __getattr__(self, name: str) -> Any:  # row(), column(), box(), split() ... give a nested layout
        return lambda *args, **kwargs: RecordingLayout(self._log)


def draw_panel() -> dict[str, Any]:
    """The sidebar panel's and the preferences' draw() on a recording layout: what an artist would see."""
    import types

    log: list[Any] = []
    panel_cls = bpy.types.LIFECAST_PT_sidebar
    panel = types.SimpleNamespace(layout=RecordingLayout(log))
    panel._draw_landmarks = types.MethodType(panel_cls._draw_landmarks, panel)
    panel._draw_run = types.MethodType(panel_cls._draw_run, panel)
    panel_cls.draw(panel, bpy.context)
    prefs = bpy.context.preferences.addons[MODULE].preferences
    prefs_proxy = types.SimpleNamespace(layout=RecordingLayout(log), bl_rna=prefs.bl_rna, worker_python="")
    type(prefs).draw(prefs_proxy, bpy.context)
    return {
        "unknown": [entry for entry in log if not entry[2]],
        "labels": [entry[1] for entry in log if entry[0] == "label"],
        "operators": [entry[1] for entry in log if entry[0] == "operator"],
        "progress": [entry[1] for entry in log if entry[0] == "progress"],
    }


def bad_input(tmp: Path) -> dict[str, Any]:
    """A file that is not a scan: the worker refuses it and the panel's run info says so in one line."""
    bad = tmp / "not_a_scan.ply"
    bad.write_text("this is not a PLY file\n")
    s = bpy.context.scene.lifecast
    s.scan, s.out_dir = str(bad), str(tmp / "bad_out")
    called = _call(bpy.ops.lifecast.process)
    drawn = draw_panel()
    missing = tmp / "missing.ply"
    s.scan = str(missing)
    return {**called, "run": run_info(), "drawn": drawn, "missing": _call(bpy.ops.lifecast.process)}


def unregister() -> dict[str, Any]:
    import addon_utils

    addon_utils.disable(MODULE, default_set=True)
    return {
        "enabled": MODULE in bpy.context.preferences.addons,
        "operators_left": [
            i for i in ("lifecast.process", "lifecast.cancel", "lifecast.import_asset") if _operator_exists(i)
        ],
        "types_left": [name for name in dir(bpy.types) if name.startswith("LIFECAST_")],
        "scene_property_left": hasattr(bpy.types.Scene, "lifecast"),
    }


def main() -> None:
    cfg = json.loads(Path(sys.argv[-1]).read_text())
    tmp = Path(cfg["tmp"])
    result: dict[str, Any] = {"bpy_version": bpy.app.version_string}
    t_start = time.perf_counter()
    try:
        bpy.ops.wm.read_factory_settings(use_empty=True)
        result["install"] = build_and_install(cfg["source"], tmp)
        result["operators"] = {
            i: _operator_exists(i)
            for i in (
                "lifecast.process",
                "lifecast.cancel",
                "lifecast.import_asset",
                "lifecast.add_landmark",
                "lifecast.open_qt_panel",
            )
        }
        result["panel_registered"] = hasattr(bpy.types, "LIFECAST_PT_sidebar")
        prefs = bpy.context.preferences.addons[MODULE].preferences
        prefs.worker_python = cfg["worker_python"]
        prefs.kill_after = 10.0
        steps = (
            ("process", lambda: process(cfg, tmp / "head")),
            ("import", import_asset),
            ("landmarks", lambda: add_landmarks(cfg)),
            ("cancel", lambda: cancel_mid_stage(cfg, tmp / "cancelled")),
            ("bad_input", lambda: bad_input(tmp)),
            ("unregister", unregister),
        )
        for name, step in steps:
            t0 = time.perf_counter()
            result[name] = step()
            result.setdefault("seconds", {})[name] = round(time.perf_counter() - t0, 3)
    except Exception:
        result["exception"] = traceback.format_exc()
    result.setdefault("seconds", {})["total"] = round(time.perf_counter() - t_start, 3)
    print("LIFECAST_RESULT " + json.dumps(result, default=str), flush=True)


if __name__ == "__main__":
    main()

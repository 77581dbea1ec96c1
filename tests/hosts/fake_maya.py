"""A fake ``maya`` package for the Maya adapter's tests: only the calls ``lifecast_maya`` makes.

What it checks: that the adapter calls real commands with real flags (every
``maya.cmds`` command rejects a flag its types-maya stub does not list; the plug-in
command ``mayaUSDImport`` exists only after ``loadPlugin("mayaUsdPlugin")`` and takes
the long flags of maya-usd's ``baseImportCommand.cpp``), and that the adapter's own
logic (vertex parsing, object-space positions, choosing the imported root, docking the
panel into a workspace control's Qt widget) is right against a small scripted scene.
A mesh's transform (scale, rotation about X, translation) moves its world positions
and leaves its local (object-space) ones alone, as in Maya, so an adapter that asks
for the wrong space gets different numbers.

What it cannot check: Maya itself. Command results are modelled on Maya's documented
behaviour (``filterExpand`` answers ``None`` for an empty match, ``mayaUSDImport``
returns the full DAG paths it created), but nothing here ran inside Maya.
"""

# ruff: noqa: N802  (the fake mirrors the application's camelCase API and exception names)
from __future__ import annotations

import math
import re
import sys
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import shiboken6
from PySide6.QtWidgets import QMainWindow, QVBoxLayout, QWidget

__all__ = ["FakeMaya", "FakeMesh", "stub_flags"]

#: Long flags of ``mayaUSDImport`` (maya-usd lib/mayaUsd/commands/baseImportCommand.cpp, createSyntax).
MAYA_USD_IMPORT_FLAGS = frozenset(
    {
        "file",
        "parent",
        "readAnimData",
        "frameRange",
        "primPath",
        "variant",
        "primVariant",
        "verbose",
        "shadingMode",
        "preferredMaterial",
        "importInstances",
        "importUSDZTextures",
        "importUSDZTexturesFilePath",
        "metadata",
        "apiSchema",
        "jobContext",
        "excludePrimvar",
        "useAsAnimationCache",
        "chaser",
        "chaserArgs",
    }
)
_RANGE = re.compile(r"^(?P<mesh>.+)\.vtx\[(?P<a>\d+)(?::(?P<b>\d+))?\]$")


def _stub_file() -> Path | None:
    for entry in sys.path:
        candidate = Path(entry) / "maya-stubs" / "cmds.pyi"
        if candidate.is_file():
            return candidate
    return None


@cache
def stub_flags(command: str) -> frozenset[str]:
    """Every keyword any overload of ``maya.cmds.<command>`` accepts in the types-maya stubs."""
    stub = _stub_file()
    if stub is None:
        raise FileNotFoundError("types-maya is not installed (it is part of the 'dev' extra)")
    flags: set[str] = set()
    head = f"def {command}(*args: Any, "
    with stub.open(encoding="utf-8") as f:
        for line in f:
            if line.startswith(head):
                flags.update(re.findall(r"(\w+): ", line[len(head) - 2 :]))
    if not flags:
        raise KeyError(f"maya.cmds.{command} is not in the types-maya stubs")
    flags.discard("args")
    return frozenset(flags)


@dataclass
class FakeMesh:
    """A polygon mesh under its transform: object-space (local) points and the transform that places them.

    Maya's transform order: scale, then rotate (about X, ``rotate_x`` degrees), then translate.
    """

    points: list[tuple[float, float, float]]
    translate: tuple[float, float, float] = (0.0, 0.0, 0.0)
    scale: float = 1.0
    rotate_x: float = 0.0

    def world(self, index: int) -> tuple[float, float, float]:
        x, y, z = (c * self.scale for c in self.points[index])
        c, s = math.cos(math.radians(self.rotate_x)), math.sin(math.radians(self.rotate_x))
        tx, ty, tz = self.translate
        return (x + tx, y * c - z * s + ty, y * s + z * c + tz)


@dataclass
class FakeControl:
    """A workspace control: its flags as last set and the Qt widget Maya would make for it."""

    name: str
    flags: dict[str, Any]
    widget: QWidget = field(default_factory=QWidget)

    def __post_init__(self) -> None:
        self.widget.setObjectName(self.name)
        QVBoxLayout(self.widget)


class FakeMaya:
    """One fake Maya session: a scene, a selection, workspace controls, menus, and every call made."""

    def __init__(self, main_window: QMainWindow) -> None:
        self.main_window = main_window
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
        self.meshes: dict[str, FakeMesh] = {}
        self.selection: list[str] = []
        self.loaded_plugins: set[str] = set()
        self.installed_plugins = {"mayaUsdPlugin"}
        self.controls: dict[str, FakeControl] = {}
        self.menus: dict[str, dict[str, Any]] = {}
        self.menu_items: list[dict[str, Any]] = []
        self.messages: list[tuple[str, str]] = []
        self.imports: list[str] = []
        self.deferred: list[Callable[[], Any]] = []
        self.batch = False
        self.modules = self._build_modules()

    # ------------------------------------------------------------------ installing

    def install(self, setitem: Callable[[Any, str, Any], None]) -> None:
        """Put the fake modules in ``sys.modules`` (``setitem`` is ``monkeypatch.setitem``)."""
        for name, module in self.modules.items():
            setitem(sys.modules, name, module)

    def _build_modules(self) -> dict[str, types.ModuleType]:
        maya = types.ModuleType("maya")
        maya.__path__ = []
        cmds = types.ModuleType("maya.cmds")
        for name in ("pluginInfo", "loadPlugin", "filterExpand", "pointPosition", "polyEvaluate", "about"):
            setattr(cmds, name, self._command(name, getattr(self, f"_{name}")))
        for name in ("workspaceControl", "deleteUI", "menu", "menuItem"):
            setattr(cmds, name, self._command(name, getattr(self, f"_{name}")))
        api = types.ModuleType("maya.api")
        api.__path__ = []
        open_maya = types.ModuleType("maya.api.OpenMaya")
        open_maya.MGlobal = types.SimpleNamespace(  # type: ignore[attr-defined]
            displayInfo=lambda text: self._say("info", text),
            displayWarning=lambda text: self._say("warning", text),
            displayError=lambda text: self._say("error", text),
        )
        open_maya_ui = types.ModuleType("maya.OpenMayaUI")
        open_maya_ui.MQtUtil = types.SimpleNamespace(  # type: ignore[attr-defined]
            mainWindow=lambda: shiboken6.getCppPointer(self.main_window)[0],
            findControl=self._find_control,
            addWidgetToMayaLayout=self._add_widget_to_layout,
        )
        utils = types.ModuleType("maya.utils")
        utils.executeDeferred = self.deferred.append  # type: ignore[attr-defined]
        maya.cmds = cmds  # type: ignore[attr-defined]
        maya.api = api  # type: ignore[attr-defined]
        maya.OpenMayaUI = open_maya_ui  # type: ignore[attr-defined]
        maya.utils = utils  # type: ignore[attr-defined]
        api.OpenMaya = open_maya  # type: ignore[attr-defined]
        return {
            "maya": maya,
            "maya.cmds": cmds,
            "maya.api": api,
            "maya.api.OpenMaya": open_maya,
            "maya.OpenMayaUI": open_maya_ui,
            "maya.utils": utils,
        }

    def _command(self, name: str, body: Callable[..., Any], flags: frozenset[str] | None = None) -> Callable[..., Any]:
        allowed = flags if flags is not None else stub_flags(name)

        def command(*args: Any, **kwargs: Any) -> Any:
            unknown = sorted(set(kwargs) - allowed)
            if unknown:
                raise TypeError(f"Invalid flag(s) {', '.join(unknown)} for maya.cmds.{name}")
            self.calls.append((name, args, kwargs))
            return body(*args, **kwargs)

        command.__name__ = name
        return command

    def _say(self, level: str, text: str) -> None:
        self.messages.append((level, str(text)))

    def called(self, name: str) -> list[tuple[tuple[Any, ...], dict[str, Any]]]:
        return [(a, k) for n, a, k in self.calls if n == name]

    # ------------------------------------------------------------------ plug-ins and USD

    def _pluginInfo(self, name: str, query: bool = False, loaded: bool = False, **_: Any) -> bool:
        assert query and loaded, "the fake answers pluginInfo(name, query=True, loaded=True) only"
        return name in self.loaded_plugins

    def _loadPlugin(self, name: str, quiet: bool = False, **_: Any) -> list[str]:
        if name not in self.installed_plugins:
            raise RuntimeError(f"Plug-in, {name!r}, was not found on MAYA_PLUG_IN_PATH.")
        if name not in self.loaded_plugins:
            self.loaded_plugins.add(name)
            if name == "mayaUsdPlugin":  # a plug-in's commands appear on maya.cmds once it is loaded
                cmds = self.modules["maya.cmds"]
                cmds.mayaUSDImport = self._command(  # type: ignore[attr-defined]
                    "mayaUSDImport", self._maya_usd_import, MAYA_USD_IMPORT_FLAGS
                )
        return [name]

    def _maya_usd_import(self, file: str = "", primPath: str = "", **_: Any) -> list[str]:
        """Opens the file with USD (pxr) and answers the DAG paths Maya would make for its prims."""
        from pxr import Usd, UsdGeom

        if not file or not Path(file).is_file():
            raise RuntimeError(f"File '{file}' does not exist, or could not be resolved. Exiting.")
        stage = Usd.Stage.Open(file)
        root = stage.GetPrimAtPath(primPath or "/")
        if not root:
            raise RuntimeError(f"no prim {primPath!r} in {file}")
        created = []
        for prim in Usd.PrimRange(root):
            if prim.IsPseudoRoot() or not prim.IsA(UsdGeom.Imageable):
                continue
            created.append("|" + "|".join(str(prim.GetPath()).strip("/").split("/")))
        self.imports.append(file)
        return created

    # ------------------------------------------------------------------ selection and meshes

    def _filterExpand(
        self, *items: Any, selectionMask: int | None = None, sm: int | None = None, expand: bool = False, **_: Any
    ) -> list[str] | None:
        mask = selectionMask if selectionMask is not None else sm
        assert mask == 31, "the fake knows polygon vertices (selection mask 31) only"
        found: list[str] = []
        for item in list(items) or self.selection:
            match = _RANGE.match(str(item))
            if not match or match["mesh"] not in self.meshes:
                continue
            a = int(match["a"])
            b = int(match["b"]) if match["b"] is not None else a
            if expand:
                found.extend(f"{match['mesh']}.vtx[{i}]" for i in range(a, b + 1))
            else:
                found.append(str(item))
        return found or None  # Maya answers None, not [], when nothing matches

    def _mesh_of(self, component: str) -> tuple[FakeMesh, int]:
        match = _RANGE.match(component)
        if not match or match["b"] is not None or match["mesh"] not in self.meshes:
            raise ValueError(f"No object matches name: {component}")
        return self.meshes[match["mesh"]], int(match["a"])

    def _pointPosition(self, component: str, world: bool = False, local: bool = False, **_: Any) -> list[float]:
        """World space unless ``local`` (Maya's default is world); local is the mesh's object space."""
        assert not (world and local), "the fake does not know what Maya answers to both world and local"
        mesh, index = self._mesh_of(component)
        return list(mesh.points[index] if local else mesh.world(index))

    def _polyEvaluate(self, *objects: str, vertex: bool = False, **_: Any) -> int:
        assert vertex, "the fake answers polyEvaluate(mesh, vertex=True) only"
        return len(self.meshes[objects[0]].points)

    def _about(self, batch: bool = False, **_: Any) -> bool:
        return self.batch

    # ------------------------------------------------------------------ UI: workspace controls and menus

    def _workspaceControl(self, name: str, *, edit: bool = False, exists: bool = False, **flags: Any) -> Any:
        if exists:
            return name in self.controls
        if edit:
            control = self.controls[name]  # KeyError: editing a control that does not exist
            control.flags.update(flags)
            if flags.get("restore") or flags.get("visible"):
                control.widget.show()
            return name
        if name in self.controls:
            raise RuntimeError(f"Object's name '{name}' is not unique.")
        self.controls[name] = FakeControl(name, dict(flags))
        return name

    def _deleteUI(self, name: str, control: bool = False, menu: bool = False, **_: Any) -> None:
        if menu:
            del self.menus[name]
            return
        gone = self.controls.pop(name)
        shiboken6.delete(gone.widget)  # Qt deletes the control's widget and everything in it

    def _menu(self, name: str = "", *, exists: bool = False, **flags: Any) -> Any:
        if exists:
            return name in self.menus
        self.menus[name] = dict(flags)
        return name

    def _menuItem(self, **flags: Any) -> str:
        self.menu_items.append(flags)
        return f"menuItem{len(self.menu_items)}"

    def _find_control(self, name: str) -> int | None:
        control = self.controls.get(name)
        return shiboken6.getCppPointer(control.widget)[0] if control else None

    def _add_widget_to_layout(self, widget_pointer: int, layout_pointer: int) -> None:
        widget = shiboken6.wrapInstance(int(widget_pointer), QWidget)
        holder = shiboken6.wrapInstance(int(layout_pointer), QWidget)
        layout = holder.layout()  # type: ignore[attr-defined]
        layout.addWidget(widget)

    def run_ui_script(self, name: str) -> None:
        """What Maya does when it rebuilds a control from a saved layout: a new control, then its uiScript."""
        script = self.controls[name].flags["uiScript"]
        exec(compile(script, "<uiScript>", "exec"), {})

    # ------------------------------------------------------------------ scripting the scene

    def select_vertices(self, *groups: tuple[str, Sequence[int]]) -> None:
        """Select ``(mesh, indices)`` groups as Maya lists them: contiguous runs collapse into ``mesh.vtx[a:b]``."""
        self.selection = []
        for mesh, indices in groups:
            ordered = sorted(indices)
            runs: list[list[int]] = []
            for i in ordered:
                if runs and i == runs[-1][-1] + 1:
                    runs[-1].append(i)
                else:
                    runs.append([i])
            for run in runs:
                a, b = run[0], run[-1]
                self.selection.append(f"{mesh}.vtx[{a}]" if a == b else f"{mesh}.vtx[{a}:{b}]")

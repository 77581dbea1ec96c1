"""Maya as the panel's host: main window, messages, USD import through mayaUsd, selected vertices."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, cast

import shiboken6
from maya import OpenMayaUI, cmds
from maya.api import OpenMaya
from PySide6.QtWidgets import QWidget

from lifecast_panel.host import Host, MessageLevel, PointSelection, SelectedPoints, UsdImporter

__all__ = ["MAYA_USD_PLUGIN", "MayaHost", "mqtutil"]

#: The plug-in that brings ``mayaUSDImport`` (Autodesk's maya-usd, shipped with Maya).
MAYA_USD_PLUGIN = "mayaUsdPlugin"
#: ``filterExpand`` selection mask of polygon vertices.
POLYGON_VERTICES = 31
_VERTEX = re.compile(r"^(?P<mesh>.+)\.vtx\[(?P<index>\d+)\]$")


def mqtutil() -> Any:
    """``maya.OpenMayaUI.MQtUtil`` (the API 1.0 Qt bridge).

    types-maya 0.6.1 ships ``maya/OpenMayaUI.pyi`` empty (it stubs API 2.0, which
    has no MQtUtil), so this one access is typed ``Any``.
    """
    return OpenMayaUI.MQtUtil  # type: ignore[attr-defined]  # not in types-maya (API 1.0 is unstubbed)


class MayaHost(Host, UsdImporter, PointSelection):
    """The panel inside Maya."""

    name = "maya"

    def main_window(self) -> QWidget:
        """Maya's main window, wrapped for PySide6."""
        pointer = mqtutil().mainWindow()
        return cast(QWidget, shiboken6.wrapInstance(int(pointer), QWidget))

    def report(self, message: str, level: MessageLevel = "info") -> None:
        """To the Script Editor and the command line's result field, with Maya's own colours."""
        text = f"lifecast: {message}"
        if level == "error":
            OpenMaya.MGlobal.displayError(text)
        elif level == "warning":
            OpenMaya.MGlobal.displayWarning(text)
        else:
            OpenMaya.MGlobal.displayInfo(text)

    def import_usd(self, path: Path) -> str:
        """Import the asset with mayaUsd's ``mayaUSDImport`` as Maya nodes; returns the top node.

        The ``mayaUsdPlugin`` is loaded when it is not (it ships with Maya 2025+).
        """
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no USD asset at {path}")
        if not cmds.pluginInfo(MAYA_USD_PLUGIN, query=True, loaded=True):
            cmds.loadPlugin(MAYA_USD_PLUGIN, quiet=True)
        # mayaUSDImport is a plug-in command: types-maya does not know it (flags from maya-usd's baseImportCommand).
        created = cmds.mayaUSDImport(  # type: ignore[attr-defined]
            file=path.as_posix(), primPath="/", readAnimData=False
        )
        nodes = [str(n) for n in (created or [])]
        if not nodes:
            raise RuntimeError(f"mayaUSDImport created nothing from {path}")
        # The full DAG paths of every node it made; the asset's root is the shortest (e.g. "|head").
        return min(nodes, key=lambda n: (n.count("|"), n))

    def selected_points(self) -> SelectedPoints | None:
        """The selected vertices of one polygon mesh, positions in the mesh's object space.

        Object space (``pointPosition(local=True)``, in the scene's linear unit) is the
        scan file's own coordinates when the scan was imported unchanged: moving, scaling
        or rotating its transform (an up-axis fix, say) does not change it. ``None`` when
        no vertex is selected, or when the vertices are on more than one mesh (a warning
        says so).
        """
        components = cmds.filterExpand(selectionMask=POLYGON_VERTICES, expand=True) or []
        by_mesh: dict[str, list[int]] = {}
        for component in components:
            match = _VERTEX.match(component)
            if match:
                by_mesh.setdefault(match["mesh"], []).append(int(match["index"]))
        if not by_mesh:
            return None
        if len(by_mesh) > 1:
            self.report(f"select vertices on one mesh, not on {', '.join(sorted(by_mesh))}", "warning")
            return None
        mesh, indices = next(iter(by_mesh.items()))
        indices = sorted(set(indices))
        positions = []
        for index in indices:
            x, y, z = cmds.pointPosition(f"{mesh}.vtx[{index}]", local=True)
            positions.append((float(x), float(y), float(z)))
        count = cmds.polyEvaluate(mesh, vertex=True)
        return SelectedPoints(mesh, tuple(indices), tuple(positions), int(count) if isinstance(count, int) else None)

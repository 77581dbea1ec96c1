"""Houdini as the panel's host: main window, status bar, USD import as a LOP (or SOP), selected points."""

from __future__ import annotations

import re
from pathlib import Path

import hou
from PySide6.QtWidgets import QWidget

from lifecast_panel.host import Host, MessageLevel, PointSelection, SelectedPoints, UsdImporter

__all__ = ["HoudiniHost", "node_name_for"]


def node_name_for(path: Path) -> str:
    """A valid node name from an asset path: ``.../head_asset/asset.usda`` -> ``lifecast_head_asset``."""
    stem = path.parent.name if path.stem == "asset" else path.stem
    return "lifecast_" + (re.sub(r"[^A-Za-z0-9_]", "_", stem) or "asset")


class HoudiniHost(Host, UsdImporter, PointSelection):
    """The panel inside Houdini."""

    name = "houdini"

    def main_window(self) -> QWidget:
        return hou.qt.mainWindow()

    def report(self, message: str, level: MessageLevel = "info") -> None:
        """On Houdini's status bar, with its severity (warnings and errors also go to the console)."""
        severity = {
            "info": hou.severityType.Message,
            "warning": hou.severityType.Warning,
            "error": hou.severityType.Error,
        }[level]
        hou.ui.setStatusMessage(f"lifecast: {message}", severity=severity)
        if level != "info":
            print(f"lifecast: {level}: {message}")

    def import_usd(self, path: Path) -> str:
        """A Sublayer LOP in ``/stage`` reading the asset, displayed; a USD Import SOP when there is no ``/stage``.

        The sublayer takes the stage's current display node as its input, so the asset
        is added to what the stage already holds. Returns the new node's path.
        """
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no USD asset at {path}")
        stage = hou.node("/stage")
        if isinstance(stage, hou.LopNetwork):
            return self._sublayer(stage, path)
        return self._sop_import(path)

    def _sublayer(self, stage: hou.LopNetwork, path: Path) -> str:
        shown = stage.displayNode()
        node = stage.createNode("sublayer", node_name_for(path))
        _set(node, "filepath1", path.as_posix())
        if shown is not None:
            node.setInput(0, shown)
        node.moveToGoodPosition()
        if isinstance(node, hou.LopNode):
            node.setDisplayFlag(True)
        return node.path()

    def _sop_import(self, path: Path) -> str:
        objects = hou.node("/obj")
        if objects is None:
            raise RuntimeError("this Houdini session has neither /stage nor /obj to import into")
        container = objects.createNode("geo", node_name_for(path))
        reader = container.createNode("usdimport", "import")
        _set(reader, "filepath1", path.as_posix())
        container.moveToGoodPosition()
        return reader.path()

    def selected_points(self) -> SelectedPoints | None:
        """The points selected in the Scene Viewer (else on the selected SOP), positions in SOP space.

        SOP space is the geometry's own coordinates, as a File SOP read them from the
        scan: the transform of the object the SOP lives in is not applied (it is where
        the scan sits in the scene, not the scan). ``None`` when no point is selected,
        or when points of more than one SOP are (a warning says so).
        """
        picks = _viewer_points() or _node_points()
        if not picks:
            return None
        if len(picks) > 1:
            self.report(f"select points on one mesh, not on {', '.join(n.path() for n, _ in picks)}", "warning")
            return None
        node, points = picks[0]
        indices, positions = [], []
        for point in sorted(points, key=lambda p: p.number()):
            position = point.position()
            indices.append(point.number())
            positions.append((float(position[0]), float(position[1]), float(position[2])))
        geometry = node.geometry()
        count = geometry.intrinsicValue("pointcount") if geometry is not None else None
        return SelectedPoints(node.path(), tuple(indices), tuple(positions), count if isinstance(count, int) else None)


def _set(node: hou.Node, parm_name: str, value: str) -> None:
    parm = node.parm(parm_name) if isinstance(node, hou.OpNode) else None
    if parm is None:
        raise RuntimeError(f"{node.path()} has no parameter {parm_name!r}")
    parm.set(value)


def _viewer_points() -> list[tuple[hou.SopNode, tuple[hou.Point, ...]]]:
    """Points of the Scene Viewer's current component selection, per SOP."""
    viewer = hou.ui.paneTabOfType(hou.paneTabType.SceneViewer)
    if not isinstance(viewer, hou.SceneViewer):
        return []
    selection = viewer.currentGeometrySelection()
    if selection is None:
        return []
    picks = []
    for node, chosen in zip(selection.nodes(), selection.selections(), strict=False):
        geometry = node.geometry() if isinstance(node, hou.SopNode) else None
        if isinstance(node, hou.SopNode) and geometry is not None:
            points = chosen.points(geometry)
            if points:
                picks.append((node, points))
    return picks


def _node_points() -> list[tuple[hou.SopNode, tuple[hou.Point, ...]]]:
    """Points of the cooked selection of the selected SOP nodes (when the viewer has none)."""
    picks = []
    for node in hou.selectedNodes():
        if not isinstance(node, hou.SopNode):
            continue
        geometry = node.geometry()
        chosen = node.selection(hou.geometryType.Points)
        if geometry is not None and chosen is not None:
            points = chosen.points(geometry)
            if points:
                picks.append((node, points))
    return picks

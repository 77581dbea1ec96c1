"""A fake ``hou`` module for the Houdini adapter's tests: only what ``lifecast_houdini`` uses.

What it checks: the adapter's calls and logic against a small scripted session:
node types exist only in their own context (``sublayer`` in ``/stage``,
``usdimport`` inside a SOP network) and unknown ones raise ``hou.OperationFailed``
as Houdini does; ``parm()`` answers ``None`` for a parameter the node type does
not have, so a wrong parameter name fails; a SOP's point positions are in SOP
space and the object it lives in has a world transform of its own (row vectors,
``p * M``, as in ``hou``), so SOP space and world space differ for a transformed
object; the severity passed to the status bar is recorded.

What it cannot check: Houdini itself (cooking, USD composition, the viewer's
selection states). Nothing here ran inside Houdini.
"""

# ruff: noqa: N802, N818  (the fake mirrors the application's camelCase API and exception names)
from __future__ import annotations

import math
import sys
import types
from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtWidgets import QMainWindow

__all__ = ["FakeHou"]


class EnumValue:
    def __init__(self, name: str) -> None:
        self._name = name

    def name(self) -> str:
        return self._name

    def __repr__(self) -> str:
        return f"hou.{self._name}"


class OperationFailed(Exception):
    pass


class Matrix4:
    """Row-major 4x4; a point is a row vector (``p * M``), translation in the last row, as ``hou.Matrix4``."""

    def __init__(self, rows: Sequence[Sequence[float]] | None = None) -> None:
        self.rows = (
            [list(map(float, r)) for r in rows] if rows else [[float(i == j) for j in range(4)] for i in range(4)]
        )

    @classmethod
    def scale_rotate_translate(cls, scale: float, rotate_x: float, translate: Sequence[float]) -> Matrix4:
        """Scale, then rotate ``rotate_x`` degrees about X, then translate (Houdini's default SRT order)."""
        c, s = math.cos(math.radians(rotate_x)), math.sin(math.radians(rotate_x))
        rotation = [[1.0, 0.0, 0.0], [0.0, c, s], [0.0, -s, c]]  # row-vector form: p * R
        m = cls()
        for i in range(3):
            m.rows[i][:3] = [scale * r for r in rotation[i]]
        m.rows[3][:3] = [float(t) for t in translate]
        return m


class Vector3:
    def __init__(self, xyz: Sequence[float]) -> None:
        self._v = [float(c) for c in xyz]

    def __getitem__(self, index: int) -> float:
        return self._v[index]

    def __len__(self) -> int:
        return 3

    def __mul__(self, m: Matrix4) -> Vector3:
        if not isinstance(m, Matrix4):
            return NotImplemented
        x, y, z = self._v
        r = m.rows
        return Vector3([x * r[0][c] + y * r[1][c] + z * r[2][c] + r[3][c] for c in range(3)])


class Point:
    def __init__(self, number: int, position: Sequence[float]) -> None:
        self._number, self._position = number, Vector3(position)

    def number(self) -> int:
        return self._number

    def position(self) -> Vector3:
        return self._position


class Geometry:
    def __init__(self, positions: Sequence[Sequence[float]]) -> None:
        self._points = tuple(Point(i, p) for i, p in enumerate(positions))

    def points(self) -> tuple[Point, ...]:
        return self._points

    def intrinsicValue(self, name: str) -> Any:
        if name == "pointcount":
            return len(self._points)
        raise OperationFailed(f"Invalid intrinsic name {name!r}")


class Selection:
    def __init__(self, numbers: Sequence[int]) -> None:
        self._numbers = list(numbers)

    def points(self, geo: Geometry) -> tuple[Point, ...]:
        return tuple(geo.points()[i] for i in self._numbers)


class GeometrySelection:
    def __init__(self, picks: Sequence[tuple[SopNode, Selection]]) -> None:
        self._picks = list(picks)

    def nodes(self) -> tuple[SopNode, ...]:
        return tuple(n for n, _ in self._picks)

    def selections(self) -> tuple[Selection, ...]:
        return tuple(s for _, s in self._picks)


class Parm:
    def __init__(self, node: Node, name: str) -> None:
        self.node, self.name, self.value = node, name, None

    def set(self, value: Any) -> None:
        self.value = value
        self.node.session.parm_sets.append((self.node.path(), self.name, value))

    def eval(self) -> Any:
        return self.value


#: Node types per context, with their parameters (the ones the adapter may touch).
NODE_TYPES: dict[str, dict[str, tuple[str, ...]]] = {
    "lop": {"sublayer": ("num_files", "filepath1"), "reference": ("filepath1", "primpath"), "null": ()},
    "obj": {"geo": (), "null": ()},
    "sop": {"usdimport": ("filepath1", "input_unpack"), "file": ("file",), "null": ()},
}


class Node:
    context = ""

    def __init__(self, session: FakeHouSession, name: str, parent: Node | None, type_name: str = "") -> None:
        self.session, self._name, self._parent, self.type_name = session, name, parent, type_name
        self.children: dict[str, Node] = {}
        self.inputs: dict[int, Node | None] = {}
        self.moved = False

    def name(self) -> str:
        return self._name

    def path(self) -> str:
        if self._parent is None:
            return "/" if not self._name else f"/{self._name}"
        base = self._parent.path().rstrip("/")
        return f"{base}/{self._name}"

    def parent(self) -> Node | None:
        return self._parent

    def setInput(self, index: int, item: Node | None, output_index: int = 0) -> None:
        self.inputs[index] = item

    def moveToGoodPosition(self, *args: Any, **kwargs: Any) -> None:
        self.moved = True


class OpNode(Node):
    child_context = ""

    def parm(self, name: str) -> Parm | None:
        allowed = NODE_TYPES.get(self.context, {}).get(self.type_name, ())
        if name not in allowed:
            return None
        return self.session.parms.setdefault((self.path(), name), Parm(self, name))

    def node(self, path: str) -> Node | None:
        return self.session.node(path if path.startswith("/") else f"{self.path()}/{path}")

    def createNode(self, node_type_name: str, node_name: str | None = None, *args: Any, **kwargs: Any) -> Node:
        kinds = {"lop": LopNode, "obj": ObjNode, "sop": SopNode}
        if node_type_name not in NODE_TYPES.get(self.child_context, {}):
            raise OperationFailed(f"Invalid node type name: {node_type_name!r} in {self.path()}")
        base = node_name or f"{node_type_name}1"
        name, n = base, 1
        while name in self.children:  # Houdini makes the name unique by appending a number
            n += 1
            name = f"{base}{n}"
        node = kinds[self.child_context](self.session, name, self, node_type_name)
        self.children[name] = node
        self.session.created.append(node.path())
        return node

    def displayNode(self) -> Node | None:
        return next((c for c in self.children.values() if getattr(c, "display", False)), None)


class LopNetwork(OpNode):
    child_context = "lop"


class LopNode(OpNode):
    context = "lop"

    def setDisplayFlag(self, on: bool) -> None:
        assert self._parent is not None
        for sibling in self._parent.children.values():
            sibling.display = False  # type: ignore[attr-defined]
        self.display = on


class ObjNode(OpNode):
    context = "obj"
    child_context = "sop"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.transform = Matrix4()

    def worldTransform(self) -> Matrix4:
        return self.transform


class SopNode(OpNode):
    context = "sop"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.geo: Geometry | None = None
        self.cooked_selection: Selection | None = None

    def geometry(self, output_index: int = 0) -> Geometry | None:
        return self.geo

    def selection(self, selection_type: EnumValue) -> Selection | None:
        return self.cooked_selection if selection_type.name() == "Points" else None


class SceneViewer:
    def __init__(self) -> None:
        self.current: GeometrySelection | None = None

    def currentGeometrySelection(self) -> GeometrySelection | None:
        return self.current


class FakeHouSession:
    """The state behind the fake module: node tree, viewer, selection, messages."""

    def __init__(self, main_window: QMainWindow, with_stage: bool = True) -> None:
        self.main_window = main_window
        self.root = OpNode(self, "", None)
        self.root.children["obj"] = type("ObjNetwork", (OpNode,), {"child_context": "obj"})(self, "obj", self.root)
        if with_stage:
            self.root.children["stage"] = LopNetwork(self, "stage", self.root)
        self.viewer: SceneViewer | None = SceneViewer()
        self.selected: list[Node] = []
        self.messages: list[tuple[str, str]] = []
        self.parms: dict[tuple[str, str], Parm] = {}
        self.parm_sets: list[tuple[str, str, Any]] = []
        self.created: list[str] = []

    def node(self, path: str) -> Node | None:
        current: Node | None = self.root
        for part in [p for p in path.split("/") if p]:
            current = current.children.get(part) if current is not None else None
        return current


class FakeHou:
    """Builds the ``hou`` module over a :class:`FakeHouSession`."""

    def __init__(self, main_window: QMainWindow, with_stage: bool = True) -> None:
        self.session = FakeHouSession(main_window, with_stage)
        self.module = self._build()

    def install(self, setitem: Callable[[Any, str, Any], None]) -> None:
        setitem(sys.modules, "hou", self.module)

    def _build(self) -> types.ModuleType:
        s = self.session
        hou = types.ModuleType("hou")
        severity = {n: EnumValue(f"severityType.{n}") for n in ("Message", "ImportantMessage", "Warning", "Error")}
        severity["Fatal"] = EnumValue("severityType.Fatal")
        levels = {v: k for k, v in severity.items()}

        def set_status_message(message: str, severity: EnumValue = severity["Message"]) -> None:
            s.messages.append((levels[severity], message))

        def pane_tab_of_type(kind: EnumValue, index: int = 0) -> SceneViewer | None:
            return s.viewer if kind.name() == "paneTabType.SceneViewer" else None

        namespace: dict[str, Any] = {
            "severityType": types.SimpleNamespace(**severity),
            "paneTabType": types.SimpleNamespace(SceneViewer=EnumValue("paneTabType.SceneViewer")),
            "geometryType": types.SimpleNamespace(Points=EnumValue("Points"), Primitives=EnumValue("Primitives")),
            "OperationFailed": OperationFailed,
            "Node": Node,
            "OpNode": OpNode,
            "LopNetwork": LopNetwork,
            "LopNode": LopNode,
            "ObjNode": ObjNode,
            "SopNode": SopNode,
            "SceneViewer": SceneViewer,
            "Matrix4": Matrix4,
            "Vector3": Vector3,
            "Point": Point,
            "Selection": Selection,
            "GeometrySelection": GeometrySelection,
            "node": s.node,
            "selectedNodes": lambda include_hidden=False: tuple(s.selected),
            "qt": types.SimpleNamespace(mainWindow=lambda: s.main_window),
            "ui": types.SimpleNamespace(setStatusMessage=set_status_message, paneTabOfType=pane_tab_of_type),
        }
        for key, value in namespace.items():
            setattr(hou, key, value)
        return hou

    # ------------------------------------------------------------------ scripting the scene

    def add_mesh(
        self,
        obj_name: str,
        positions: Sequence[Sequence[float]],
        scale: float = 1.0,
        translate: Sequence[float] = (0, 0, 0),
        rotate_x: float = 0.0,
    ) -> SopNode:
        """``/obj/<obj_name>`` (a geo object with that transform) holding a SOP ``scan`` with these points.

        The points are the SOP's (SOP space); the object's transform places them in the world.
        """
        obj = self.session.root.children["obj"]
        assert isinstance(obj, OpNode)
        geo = obj.createNode("geo", obj_name)
        assert isinstance(geo, ObjNode)
        geo.transform = Matrix4.scale_rotate_translate(scale, rotate_x, translate)
        sop = geo.createNode("null", "scan")
        assert isinstance(sop, SopNode)
        sop.geo = Geometry(positions)
        return sop

    def select_in_viewer(self, *picks: tuple[SopNode, Sequence[int]]) -> None:
        viewer = self.session.viewer
        assert viewer is not None
        viewer.current = GeometrySelection([(n, Selection(i)) for n, i in picks]) if picks else None

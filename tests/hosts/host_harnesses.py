"""The hosts the contract runs over: the fake, the standalone window, Maya and Houdini on fakes.

See ``host_contract.py`` for what passing means for each (the Maya and Houdini
harnesses check the adapters against fake ``maya`` / ``hou`` modules, not the
applications).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path
from typing import ClassVar

import pytest
from PySide6.QtWidgets import QMainWindow, QWidget

from tests.hosts.fake_hou import FakeHou, ObjNode, SopNode
from tests.hosts.fake_maya import FakeMaya, FakeMesh
from tests.hosts.host_contract import HEAD, HEAD_ROTATE_X, HEAD_SCALE, HEAD_TRANSLATE, PROP, HostHarness
from tests.hosts.panel_fakes import FakeHost

from lifecast_panel.host import Host, SelectedPoints  # isort: skip
from lifecast_panel.standalone import StandaloneHost  # isort: skip
from tests.conftest import require_optional

__all__ = ["HARNESSES", "fresh_import", "make_harness"]

HARNESSES = ("fake", "standalone", "maya", "houdini")


def fresh_import(monkeypatch: pytest.MonkeyPatch, package: str) -> None:
    """Forget ``package`` so its next import binds to the fake application just installed."""
    for name in [n for n in sys.modules if n == package or n.startswith(package + ".")]:
        monkeypatch.delitem(sys.modules, name)


class FakeHarness(HostHarness):
    capabilities = frozenset({"UsdImporter", "PointSelection"})

    def __init__(self) -> None:
        self._host = FakeHost()

    def host(self) -> Host:
        return self._host

    def messages(self) -> list[tuple[str, str]]:
        return self._host.messages

    def imports(self) -> list[Path]:
        return self._host.imported

    def select(self, *groups: tuple[str, Sequence[int]]) -> None:
        if len(groups) != 1 or not groups[0][1]:
            self._host.selection = None
            return
        mesh, indices = groups[0]
        chosen = tuple(sorted(indices))
        points = {"head": HEAD, "prop": PROP}[mesh]
        self._host.selection = SelectedPoints(mesh, chosen, tuple(points[i] for i in chosen), len(points))


class StandaloneHarness(HostHarness):
    def __init__(self) -> None:
        self._host = StandaloneHost(dialogs=False)

    def host(self) -> Host:
        return self._host

    def messages(self) -> list[tuple[str, str]]:
        return [(str(level), text) for level, text in self._host.messages]


class MayaHarness(HostHarness):
    capabilities = frozenset({"UsdImporter", "PointSelection"})

    def __init__(self, monkeypatch: pytest.MonkeyPatch, main_window: QMainWindow) -> None:
        require_optional("pxr", "the fake mayaUSDImport reads the asset with usd-core")
        self.maya = FakeMaya(main_window)
        self.maya.meshes["head"] = FakeMesh(list(HEAD), HEAD_TRANSLATE, HEAD_SCALE, HEAD_ROTATE_X)
        self.maya.meshes["prop"] = FakeMesh(list(PROP))
        self.maya.install(monkeypatch.setitem)
        fresh_import(monkeypatch, "lifecast_maya")
        from lifecast_maya.host import MayaHost

        self._host = MayaHost()

    def host(self) -> Host:
        return self._host

    def messages(self) -> list[tuple[str, str]]:
        return self.maya.messages

    def imports(self) -> list[Path]:
        return [Path(f) for f in self.maya.imports]

    def select(self, *groups: tuple[str, Sequence[int]]) -> None:
        self.maya.select_vertices(*groups)

    def expected_main_window(self) -> QWidget | None:
        return self.maya.main_window

    def world_position(self, mesh: str, index: int) -> tuple[float, float, float] | None:
        from maya import cmds

        x, y, z = cmds.pointPosition(f"{mesh}.vtx[{index}]")  # no flag: Maya answers world space
        return (x, y, z)


class HoudiniHarness(HostHarness):
    capabilities = frozenset({"UsdImporter", "PointSelection"})
    LEVELS: ClassVar[dict[str, str]] = {
        "Message": "info",
        "ImportantMessage": "info",
        "Warning": "warning",
        "Error": "error",
    }

    def __init__(self, monkeypatch: pytest.MonkeyPatch, main_window: QMainWindow, with_stage: bool = True) -> None:
        self.hou = FakeHou(main_window, with_stage=with_stage)
        self.sops: dict[str, SopNode] = {
            "head": self.hou.add_mesh("head", HEAD, HEAD_SCALE, HEAD_TRANSLATE, HEAD_ROTATE_X),
            "prop": self.hou.add_mesh("prop", PROP),
        }
        self.hou.install(monkeypatch.setitem)
        fresh_import(monkeypatch, "lifecast_houdini")
        from lifecast_houdini.host import HoudiniHost

        self._host = HoudiniHost()

    def host(self) -> Host:
        return self._host

    def messages(self) -> list[tuple[str, str]]:
        return [(self.LEVELS[level], text) for level, text in self.hou.session.messages]

    def imports(self) -> list[Path]:
        return [Path(v) for _, parm, v in self.hou.session.parm_sets if parm == "filepath1"]

    def select(self, *groups: tuple[str, Sequence[int]]) -> None:
        self.hou.select_in_viewer(*((self.sops[mesh], list(indices)) for mesh, indices in groups if indices))

    def mesh_name(self, mesh: str) -> str:
        return self.sops[mesh].path()

    def expected_main_window(self) -> QWidget | None:
        return self.hou.session.main_window

    def world_position(self, mesh: str, index: int) -> tuple[float, float, float] | None:
        sop = self.sops[mesh]
        obj = sop.parent()
        geometry = sop.geometry()
        assert isinstance(obj, ObjNode) and geometry is not None
        p = geometry.points()[index].position() * obj.worldTransform()
        return (p[0], p[1], p[2])


def make_harness(kind: str, monkeypatch: pytest.MonkeyPatch, main_window: QMainWindow) -> HostHarness:
    if kind == "fake":
        return FakeHarness()
    if kind == "standalone":
        return StandaloneHarness()
    if kind == "maya":
        return MayaHarness(monkeypatch, main_window)
    if kind == "houdini":
        return HoudiniHarness(monkeypatch, main_window)
    raise KeyError(kind)

"""The contract every host adapter keeps, as one test suite run over every host.

A :class:`HostHarness` builds a host and scripts the application around it (a scene
with two meshes, a selection, where messages and imports land). :class:`HostContract`
holds the tests; ``tests/hosts/test_host_contract.py`` runs them over the fake host,
the standalone host, ``MayaHost`` on a fake ``maya`` package and ``HoudiniHost`` on
a fake ``hou``.

Be clear about what passing means. For the fake and standalone hosts it is the real
thing. For Maya and Houdini the fakes (``fake_maya.py``, ``fake_hou.py``) implement
only the calls the adapters make, reject unknown flags and node types, and model the
documented answers; passing proves the adapters' calls and logic are consistent with
those models and with the type stubs (mypy), not that Maya or Houdini behave so.
Nothing here ran inside Maya or Houdini.
"""

from __future__ import annotations

import abc
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QWidget

from tests.hosts.panel_fakes import FakeWorker

from lifecast_panel.controller import PanelController  # isort: skip
from lifecast_panel.host import (  # isort: skip
    Host,
    PaintedImageSource,
    PointSelection,
    UsdImporter,
    capabilities_of,
)

__all__ = ["HEAD", "PROP", "HostContract", "HostHarness", "head_world", "write_tiny_asset"]

#: The two meshes every harness puts in its scene: their own (scan-file) points, and the transform that
#: places ``head`` in the scene: uniform scale, then a rotation about X (a Z-up scan stood up in a Y-up
#: scene), then a translation. Landmark positions are the own points, never the transformed ones.
HEAD = [(0.1 * i, 0.2 * i, -0.1 * i) for i in range(12)]
PROP = [(1.0, 0.0, 0.0), (0.0, 1.0, 0.0), (0.0, 0.0, 1.0), (1.0, 1.0, 1.0)]
HEAD_SCALE, HEAD_ROTATE_X, HEAD_TRANSLATE = 2.0, -90.0, (1.0, 2.0, 3.0)

TINY_ASSET = """#usda 1.0
(
    defaultPrim = "head"
    metersPerUnit = 0.01
    upAxis = "Y"
)

def Xform "head" (
    kind = "component"
)
{
    def Scope "geo"
    {
        def Mesh "body"
        {
            int[] faceVertexCounts = [3]
            int[] faceVertexIndices = [0, 1, 2]
            point3f[] points = [(0, 0, 0), (1, 0, 0), (0, 1, 0)]
        }
    }
}
"""


def write_tiny_asset(folder: Path) -> Path:
    """A one-triangle USD asset laid out as lifecast's export is (``<out>/asset.usda``, root ``/head``)."""
    path = folder / "head_asset" / "asset.usda"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(TINY_ASSET, encoding="utf-8")
    return path


def head_world(index: int) -> tuple[float, float, float]:
    """Where the scene shows ``HEAD[index]`` (world space): what a landmark position must *not* be."""
    x, y, z = (c * HEAD_SCALE for c in HEAD[index])
    c, s = math.cos(math.radians(HEAD_ROTATE_X)), math.sin(math.radians(HEAD_ROTATE_X))
    tx, ty, tz = HEAD_TRANSLATE
    return (x + tx, y * c - z * s + ty, y * s + z * c + tz)


class HostHarness(abc.ABC):
    """A host adapter in its (real or fake) application, with the scene the contract needs.

    ``capabilities`` are the capability interfaces the host declares it implements.
    The scene holds ``head`` (:data:`HEAD` under scale :data:`HEAD_SCALE`, rotation
    :data:`HEAD_ROTATE_X` about X and translation :data:`HEAD_TRANSLATE`) and ``prop``
    (:data:`PROP`, untransformed).
    """

    capabilities: frozenset[str] = frozenset()

    @abc.abstractmethod
    def host(self) -> Host: ...

    @abc.abstractmethod
    def messages(self) -> list[tuple[str, str]]:
        """``(level, text)`` as the application received them."""

    def imports(self) -> list[Path]:
        """The files the application was asked to bring into its scene."""
        return []

    def select(self, *groups: tuple[str, Sequence[int]]) -> None:
        """Select points: ``("head", [2, 5])``, or groups on two meshes."""
        raise NotImplementedError

    def mesh_name(self, mesh: str) -> str:
        """What the application calls the mesh ``head`` or ``prop``."""
        return mesh

    def expected_main_window(self) -> QWidget | None:
        return None

    def world_position(self, mesh: str, index: int) -> tuple[float, float, float] | None:
        """Where the application itself puts point ``index`` of ``mesh`` in world space (``None``: no scene)."""
        return None


class HostContract:
    """Tests every adapter passes; subclasses provide a ``harness`` fixture."""

    def test_name_says_which_application(self, harness: HostHarness) -> None:
        host = harness.host()
        assert isinstance(host.name, str) and host.name and host.name != Host.name

    def test_report_reaches_the_application_at_every_level(self, harness: HostHarness) -> None:
        host = harness.host()
        for level in ("info", "warning", "error"):
            host.report(f"contract says {level}", level)  # type: ignore[arg-type]
        got = harness.messages()[-3:]
        assert [lvl for lvl, _ in got] == ["info", "warning", "error"]
        assert all(f"contract says {lvl}" in text for lvl, text in got)

    def test_main_window_is_a_qwidget_or_none(self, harness: HostHarness) -> None:
        window = harness.host().main_window()
        expected = harness.expected_main_window()
        assert window is None or isinstance(window, QWidget)
        if expected is None:
            assert window is None
        else:
            import shiboken6

            assert window is not None and shiboken6.getCppPointer(window) == shiboken6.getCppPointer(expected)

    def test_declared_capabilities_are_implemented(self, harness: HostHarness) -> None:
        host = harness.host()
        assert capabilities_of(host) == set(harness.capabilities)
        assert not getattr(type(host), "__abstractmethods__", None)  # nothing left abstract
        for cap, method in ((UsdImporter, "import_usd"), (PointSelection, "selected_points")):
            if isinstance(host, cap):
                assert getattr(type(host), method) is not getattr(cap, method)
        assert not isinstance(host, PaintedImageSource) or "PaintedImageSource" in harness.capabilities

    def test_import_usd_brings_a_real_asset_in(self, harness: HostHarness, tmp_path: Path) -> None:
        host = harness.host()
        if not isinstance(host, UsdImporter):
            pytest.skip(f"{host.name} declares no USD import")
        asset = write_tiny_asset(tmp_path)
        created = host.import_usd(asset)
        assert isinstance(created, str) and created.strip()
        assert harness.imports()[-1] == asset
        with pytest.raises(FileNotFoundError):
            host.import_usd(tmp_path / "missing.usda")
        assert len(harness.imports()) == 1  # the missing file never reached the application

    def test_no_selection_is_none(self, harness: HostHarness) -> None:
        host = harness.host()
        if not isinstance(host, PointSelection):
            pytest.skip(f"{host.name} declares no point selection")
        harness.select()
        assert host.selected_points() is None

    def test_selected_points_are_one_mesh_in_scan_file_coordinates(self, harness: HostHarness) -> None:
        """Positions are the mesh's own coordinates (the scan file's), not where its transform puts them."""
        host = harness.host()
        if not isinstance(host, PointSelection):
            pytest.skip(f"{host.name} declares no point selection")
        harness.select(("head", [5, 2, 3]))
        points = host.selected_points()
        assert points is not None and points.mesh == harness.mesh_name("head")
        assert points.indices == (2, 3, 5) and len(points.positions) == len(points.indices)
        for index, position in zip(points.indices, points.positions, strict=True):
            assert position == pytest.approx(HEAD[index])
            assert position != pytest.approx(head_world(index))  # the transform is not applied
        assert points.mesh_vertex_count in (None, len(HEAD))

    def test_the_scene_transforms_the_head_so_the_spaces_differ(self, harness: HostHarness) -> None:
        """The harness's application really places ``head`` by a transform (else the test above proves nothing)."""
        for index in (2, 5, 11):
            world = harness.world_position("head", index)
            if world is None:
                pytest.skip(f"{harness.host().name} has no scene of its own")
            assert world == pytest.approx(head_world(index)) and world != pytest.approx(HEAD[index])
        assert harness.world_position("prop", 1) == pytest.approx(PROP[1])

    def test_points_on_two_meshes_are_refused(self, harness: HostHarness) -> None:
        host = harness.host()
        if not isinstance(host, PointSelection):
            pytest.skip(f"{host.name} declares no point selection")
        harness.select(("head", [1]), ("prop", [0]))
        assert host.selected_points() is None

    def test_the_panel_controller_works_on_the_host(self, harness: HostHarness, tmp_path: Path) -> None:
        host = harness.host()
        worker = FakeWorker()
        c = PanelController(host, worker)
        c.set_scan(tmp_path / "head.ply", tmp_path / "out")
        c.set_param("template", "anny-head")
        c.load_template()
        worker.answer_template(["nose_tip", "chin", "left_ear"])
        if isinstance(host, PointSelection):
            harness.select(("head", [7]))
            placed = c.assign_landmark()
            assert placed is not None and (placed.name, placed.vertex) == ("nose_tip", 7)
            assert placed.position == pytest.approx(HEAD[7]) and c.landmarks.current == "chin"
            job = c.run_step("wrap")
            data: dict[str, Any] = json.loads(Path(job["landmarks"]).read_text())
            assert data == {"nose_tip": {"vertex": 7, "position": pytest.approx(list(HEAD[7]))}}
            worker.exit(0)
        else:
            assert c.assign_landmark() is None and harness.messages()[-1][0] == "warning"
        asset = write_tiny_asset(tmp_path)
        c.results["export"] = {"asset": str(asset)}
        if isinstance(host, UsdImporter):
            assert c.can_import() and c.import_asset()
            assert harness.imports()[-1] == asset
        else:
            assert not c.can_import()

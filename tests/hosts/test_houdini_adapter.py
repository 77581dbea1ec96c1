"""Houdini-only behaviour of ``lifecast_houdini`` on the fake ``hou`` (see ``fake_hou.py`` for its limits).

Nothing here runs Houdini: these tests check the adapter's node building, its selection
fallback and the install files (package JSON, ``.pypanel``) against documented shapes.
"""

from __future__ import annotations

import json
import os
import re
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import require_optional

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
require_optional("PySide6", "the panel needs the 'ui' extra (PySide6-Essentials)")
require_optional("pytestqt", "pytest-qt is part of the 'dev' extra")

from tests.hosts.plugin_paths import PLUGINS, add_plugin_paths  # noqa: E402

add_plugin_paths()

from PySide6.QtWidgets import QMainWindow  # noqa: E402

from tests.hosts.fake_hou import LopNode, Selection  # noqa: E402
from tests.hosts.host_contract import HEAD, write_tiny_asset  # noqa: E402
from tests.hosts.host_harnesses import HoudiniHarness  # noqa: E402

HOUDINI = PLUGINS / "houdini"


@pytest.fixture
def window(qapp: object) -> Iterator[QMainWindow]:
    w = QMainWindow()
    yield w
    w.deleteLater()


def test_import_adds_a_displayed_sublayer_after_what_the_stage_shows(
    window: QMainWindow, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    h = HoudiniHarness(monkeypatch, window)
    stage = h.hou.session.node("/stage")
    shown = stage.createNode("null", "layout")  # type: ignore[union-attr]
    assert isinstance(shown, LopNode)
    shown.setDisplayFlag(True)
    asset = write_tiny_asset(tmp_path)
    created = h.host().import_usd(asset)  # type: ignore[attr-defined]
    node = h.hou.session.node(created)
    assert created == "/stage/lifecast_head_asset" and isinstance(node, LopNode) and node.type_name == "sublayer"
    assert node.inputs[0] is shown and node.display and not shown.display and node.moved
    assert h.hou.session.parms[(created, "filepath1")].value == asset.as_posix()
    assert h.host().import_usd(asset) == "/stage/lifecast_head_asset2"  # type: ignore[attr-defined]


def test_without_a_stage_the_asset_comes_in_through_a_usd_import_sop(
    window: QMainWindow, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    h = HoudiniHarness(monkeypatch, window, with_stage=False)
    asset = write_tiny_asset(tmp_path)
    created = h.host().import_usd(asset)  # type: ignore[attr-defined]
    assert created == "/obj/lifecast_head_asset/import"
    assert h.hou.session.parms[(created, "filepath1")].value == asset.as_posix()


def test_points_of_the_selected_sop_when_the_viewer_has_no_selection(
    window: QMainWindow, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = HoudiniHarness(monkeypatch, window)
    h.hou.select_in_viewer()
    sop = h.sops["head"]
    sop.cooked_selection = Selection([4, 1])
    h.hou.session.selected = [sop]
    points = h.host().selected_points()  # type: ignore[attr-defined]
    assert points is not None and points.mesh == "/obj/head/scan" and points.indices == (1, 4)
    assert points.mesh_vertex_count == 12
    # SOP space, as the scan file has them: the transform of /obj/head is not applied
    assert [list(xyz) for xyz in points.positions] == [pytest.approx(HEAD[i]) for i in (1, 4)]


def _expand(value: str, variables: dict[str, str]) -> str:
    return re.sub(r"\$(\w+)", lambda m: variables[m.group(1)], value)


def test_the_package_puts_the_panel_the_adapter_and_the_pypanel_on_houdinis_paths() -> None:
    package = json.loads((HOUDINI / "lifecast.json").read_text())
    variables = {"HOUDINI_PACKAGE_PATH": str(HOUDINI)}
    for entry in package["env"]:
        if "var" in entry:
            continue
        (name, value), *_ = entry.items()
        if isinstance(value, str):
            variables[name] = _expand(value, variables)
    python_path = next(e for e in package["env"] if e.get("var") == "PYTHONPATH")
    assert python_path["method"] == "prepend"
    folders = [Path(_expand(v, variables)).resolve() for v in python_path["value"]]
    assert (folders[0] / "lifecast_panel" / "panel.py").is_file()
    assert (folders[1] / "lifecast_houdini" / "host.py").is_file()
    houdini_path = Path(_expand(package["path"], variables))
    assert (houdini_path / "python_panels" / "lifecast.pypanel").is_file()
    worker = next(e["LIFECAST_WORKER_PYTHON"] for e in package["env"] if "LIFECAST_WORKER_PYTHON" in e)
    linux = next(v for k, v in worker.items() if "!=" in k)
    assert Path(_expand(linux, variables)).resolve(strict=False) == (PLUGINS.parent / ".venv/bin/python").resolve(
        strict=False
    )


def test_the_pypanel_creates_the_panel_on_houdini_host(window: QMainWindow, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIFECAST_WORKER_PYTHON", sys.executable)
    root = ET.parse(HOUDINI / "python_panels" / "lifecast.pypanel").getroot()
    assert root.tag == "pythonPanelDocument"
    interface = root.find("interface")
    assert interface is not None and interface.get("name") == "lifecast"
    assert interface.get("showNetworkNavigationBar") == "false"
    script = interface.findtext("script")
    assert script
    HoudiniHarness(monkeypatch, window)
    namespace: dict[str, object] = {}
    exec(compile(script, "lifecast.pypanel", "exec"), namespace)
    panel = namespace["onCreateInterface"]()  # type: ignore[operator]
    from lifecast_houdini.host import HoudiniHost

    from lifecast_panel.panel import LifecastPanel

    assert isinstance(panel, LifecastPanel) and isinstance(panel.controller.host, HoudiniHost)
    assert panel.parentWidget() is None  # Houdini parents it into the pane tab
    assert panel.import_button.text() == "Import into houdini"
    panel.deleteLater()

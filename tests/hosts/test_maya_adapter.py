"""Maya-only behaviour of ``lifecast_maya`` on the fake ``maya`` package (see ``fake_maya.py`` for its limits).

Nothing here runs Maya: these tests check that the adapter, the dock and the install
files make the calls Maya documents, with flags Maya has, in the right order.
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import require_optional

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
require_optional("PySide6", "the panel needs the 'ui' extra (PySide6-Essentials)")
require_optional("pytestqt", "pytest-qt is part of the 'dev' extra")

from tests.hosts.plugin_paths import PLUGINS, add_plugin_paths  # noqa: E402

add_plugin_paths()

import shiboken6  # noqa: E402
from PySide6.QtWidgets import QMainWindow  # noqa: E402

from tests.hosts.fake_maya import FakeControl, FakeMaya  # noqa: E402
from tests.hosts.host_contract import HEAD, write_tiny_asset  # noqa: E402
from tests.hosts.host_harnesses import MayaHarness, fresh_import  # noqa: E402

REPO = PLUGINS.parent


@pytest.fixture
def maya(qapp: object, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeMaya]:
    monkeypatch.setenv("LIFECAST_WORKER_PYTHON", sys.executable)
    window = QMainWindow()
    harness = MayaHarness(monkeypatch, window)
    yield harness.maya
    for control in list(harness.maya.controls.values()):
        shiboken6.delete(control.widget)
    window.deleteLater()


def test_the_fake_refuses_flags_maya_does_not_have(maya: FakeMaya) -> None:
    from maya import cmds

    with pytest.raises(TypeError, match="retainn"):
        cmds.workspaceControl("x", retainn=True)  # type: ignore[call-overload]  # the wrong flag is the point
    assert not hasattr(cmds, "mayaUSDImport")  # a plug-in command exists once its plug-in is loaded


def test_import_loads_maya_usd_once_and_returns_the_asset_root(maya: FakeMaya, tmp_path: Path) -> None:
    from lifecast_maya.host import MayaHost

    asset = write_tiny_asset(tmp_path)
    host = MayaHost()
    assert host.import_usd(asset) == "|head" and host.import_usd(asset) == "|head"
    assert len(maya.called("loadPlugin")) == 1 and len(maya.called("pluginInfo")) == 2
    (_, flags), _ = maya.called("mayaUSDImport")
    assert flags == {"file": asset.as_posix(), "primPath": "/", "readAnimData": False}


def test_vertex_positions_are_asked_for_in_object_space(maya: FakeMaya) -> None:
    from lifecast_maya.host import MayaHost

    maya.select_vertices(("head", [3, 4, 9]))
    points = MayaHost().selected_points()
    assert points is not None and points.indices == (3, 4, 9) and points.mesh_vertex_count == len(HEAD)
    assert [flags for _, flags in maya.called("pointPosition")] == [{"local": True}] * 3
    assert [list(xyz) for xyz in points.positions] == [pytest.approx(HEAD[i]) for i in (3, 4, 9)]
    assert maya.meshes["head"].world(3) != pytest.approx(HEAD[3])  # the fake's head is transformed


def test_show_docks_the_panel_in_a_retained_workspace_control(maya: FakeMaya) -> None:
    from lifecast_maya import dock
    from lifecast_maya.host import MayaHost

    panel = dock.show()
    control = maya.controls[dock.CONTROL]
    created_with = maya.called("workspaceControl")[1][1]  # after the exists check
    assert created_with["retain"] is True and created_with["floating"] is True and created_with["label"] == "lifecast"
    assert "uiScript" not in created_with  # set afterwards, so Maya does not run it at creation
    assert control.flags["uiScript"] == dock.UI_SCRIPT
    assert panel.parentWidget() is control.widget and isinstance(panel.controller.host, MayaHost)
    assert panel.controller.worker.python == sys.executable  # type: ignore[attr-defined]
    assert dock.show() is panel and len(maya.controls) == 1
    assert maya.called("workspaceControl")[-1][1] == {"edit": True, "restore": True}


def test_a_saved_layout_brings_the_panel_back_through_the_ui_script(
    maya: FakeMaya, monkeypatch: pytest.MonkeyPatch
) -> None:
    from lifecast_maya import dock

    old = dock.show()
    dock.close()
    assert not shiboken6.isValid(old) and dock.CONTROL not in maya.controls
    # Next session: Maya recreates the control from the workspace and runs its uiScript in a fresh Python.
    fresh_import(monkeypatch, "lifecast_maya")
    maya.controls[dock.CONTROL] = FakeControl(dock.CONTROL, {"uiScript": dock.UI_SCRIPT})
    maya.run_ui_script(dock.CONTROL)
    from lifecast_maya import dock as restored_dock

    panel = restored_dock.panel()
    assert panel is not None and panel.parentWidget() is maya.controls[dock.CONTROL].widget


def test_user_setup_adds_the_menu_that_opens_the_panel(maya: FakeMaya) -> None:
    source = (PLUGINS / "maya" / "scripts" / "userSetup.py").read_text()
    exec(compile(source, "userSetup.py", "exec"), {"__name__": "__main__"})
    assert len(maya.deferred) == 1  # waits for the UI
    maya.deferred.pop()()
    assert maya.menus["lifecastMenu"]["parent"] == "MayaWindow"
    maya.menu_items[0]["command"]()
    assert "lifecastPanelWorkspaceControl" in maya.controls
    maya.batch = True
    exec(compile(source, "userSetup.py", "exec"), {"__name__": "__main__"})
    assert maya.deferred == []  # no menu in batch mode


def test_the_module_file_puts_the_packages_and_the_worker_python_in_place() -> None:
    text = (PLUGINS / "maya" / "lifecast.mod").read_text()
    sections = re.split(r"^\+ ", text, flags=re.M)[1:]
    platforms = {}
    for section in sections:
        head, *lines = section.strip().splitlines()
        platform, name, version, root = head.split()
        assert name == "lifecast" and version == "0.1"
        base = PLUGINS / "maya" / root
        env = dict(line.split(":=", 1) for line in lines)
        platforms[platform] = (base, env)
        assert (base / "scripts" / "lifecast_maya" / "host.py").is_file() and (
            base / "scripts" / "userSetup.py"
        ).is_file()
        panel = (base / env["PYTHONPATH+"].replace("\\", "/")).resolve()
        assert (panel / "lifecast_panel" / "panel.py").is_file()
    assert set(platforms) == {"PLATFORM:linux", "PLATFORM:mac", "PLATFORM:win64"}
    base, env = platforms["PLATFORM:linux"]
    assert (base / env["LIFECAST_WORKER_PYTHON"]).resolve(strict=False) == (REPO / ".venv" / "bin" / "python").resolve(
        strict=False
    )

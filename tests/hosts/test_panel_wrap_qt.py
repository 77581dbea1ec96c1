"""The "Wrap or decimate" step in the real widgets (offscreen), with a fake host and a fake worker."""

from __future__ import annotations

import os
from pathlib import Path

from tests.conftest import require_optional

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
require_optional("PySide6", "the panel needs the 'ui' extra (PySide6-Essentials)")
require_optional("pytestqt", "pytest-qt is part of the 'dev' extra")

from tests.hosts.plugin_paths import add_plugin_paths  # noqa: E402

add_plugin_paths()

from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtWidgets import QComboBox  # noqa: E402

from lifecast_panel.controller import PanelController  # noqa: E402
from lifecast_panel.host import SelectedPoints  # noqa: E402
from lifecast_panel.panel import LifecastPanel  # noqa: E402
from tests.hosts.panel_fakes import FakeHost, FakeWorker  # noqa: E402

LEFT = Qt.MouseButton.LeftButton


def test_list_the_template_landmarks_and_place_them_by_clicking(qtbot, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    host, worker = FakeHost(), FakeWorker()
    c = PanelController(host, worker)
    panel = LifecastPanel(c)
    qtbot.addWidget(panel)
    c.set_scan(tmp_path / "head.ply", tmp_path / "out")
    panel.steps.setCurrentRow(3)
    assert c.current_step == "wrap" and panel.step_title.text() == "<b>Wrap or decimate</b>"
    assert panel.landmarks.isHidden()  # no template: the step decimates
    template = panel._form.editors["template"] if panel._form else None
    assert isinstance(template, QComboBox) and template.isEditable()
    template.setCurrentText("anny-head")
    assert c.params["template"] == "anny-head" and not panel.landmarks.isHidden()
    qtbot.mouseClick(panel.landmarks.load_button, LEFT)
    assert worker.jobs[-1] == {"command": "template", "template": "anny-head"}
    worker.answer_template(["nose_tip", "chin"], vertices=14000, faces=27000, has_uvs=True)
    picker = panel.landmarks
    assert [picker.names.item(i).text() for i in range(2)] == ["nose_tip  –  not placed", "chin  –  not placed"]
    assert picker.assign_button.text() == "Add selected point as nose_tip"
    assert ("Landmarks", "2") in [(r.label, r.value) for r in panel.result.numbers.rows]
    host.selection = SelectedPoints("head", (321,), ((1.0, 2.0, 3.0),))
    qtbot.mouseClick(picker.assign_button, LEFT)
    assert picker.names.item(0).text() == "nose_tip  –  head vertex 321"
    assert picker.assign_button.text() == "Add selected point as chin" and picker.names.currentRow() == 1
    assert picker.status.text() == "1 of 2 landmarks placed."
    picker.names.itemClicked.emit(picker.names.item(0))
    assert c.landmarks.current == "nose_tip" and picker.remove_button.isEnabled()
    qtbot.mouseClick(picker.remove_button, LEFT)
    assert picker.names.item(0).text() == "nose_tip  –  not placed" and not c.landmarks.placed

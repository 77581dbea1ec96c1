"""The panel's photo texturing fields: Photos (a folder) and Cameras (a file or a folder) in the bake step.

The controller's jobs with a fake host and worker, checked by the core's own option checks; then the real form
offscreen (pytest-qt), its Folder... / File... buttons answered by a patched file dialog.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import require_optional
from tests.hosts.plugin_paths import add_plugin_paths

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
add_plugin_paths()

from lifecast_panel.controller import PanelController  # noqa: E402
from lifecast_panel.steps import STEPS, step_named  # noqa: E402
from tests.hosts.panel_fakes import FakeHost, FakeWorker  # noqa: E402


@pytest.fixture
def session(tmp_path: Path) -> dict[str, Path]:
    """A scan, a photos folder and a COLMAP rig, as the worker's option checks want them (they exist)."""
    scan = tmp_path / "head.ply"
    scan.write_text("ply\n")
    photos = tmp_path / "photos"
    photos.mkdir()
    cameras = tmp_path / "sparse"
    cameras.mkdir()
    return {"scan": scan, "photos": photos, "cameras": cameras, "out": tmp_path / "out"}


@pytest.fixture
def controller(session: dict[str, Path]) -> PanelController:
    c = PanelController(FakeHost(), FakeWorker())
    c.set_scan(session["scan"], session["out"])
    return c


def _options(job: dict[str, object]) -> object:
    from lifecast.pipeline.options import check_options
    from lifecast.worker.jobs import process_options

    options = process_options({k: v for k, v in job.items() if k != "command"})
    check_options(options)
    return options


@pytest.mark.parametrize(
    ("delight", "inpaint", "bake_stops_after"),
    [(True, True, "inpaint"), (False, True, "inpaint"), (True, False, "delight"), (False, False, "photos")],
)
def test_photos_reach_every_job_and_the_bake_step_runs_on_through_them(
    controller: PanelController, session: dict[str, Path], delight: bool, inpaint: bool, bake_stops_after: str
) -> None:
    controller.set_param("delight", delight)
    controller.set_param("inpaint", inpaint)
    without = controller.job_for("texture")["stop_after"]
    assert without == (bake_stops_after if delight or inpaint else "texture")
    assert "photos" not in controller.job_for("texture") and "cameras" not in controller.job_for("clean")
    controller.set_param("photos", f" {session['photos']} ")
    controller.set_param("cameras", str(session["cameras"]))
    for step in ("clean", "wrap", "uv", "texture", "export"):
        job = controller.job_for(step)
        assert (job["photos"], job["cameras"]) == (str(session["photos"]), str(session["cameras"])), step
        options = _options(job)  # the worker accepts it: both given, both there
        assert "photos" in options.stage_names()  # type: ignore[attr-defined]
    job = controller.job_for("texture")
    assert job["stop_after"] == bake_stops_after and _options(job).last_stage() == bake_stops_after  # type: ignore[attr-defined]
    assert "stop_after" not in controller.job_for("export")
    controller.set_param("template", "anny-head")  # the wrap's own step is not the bake's
    assert controller.job_for("wrap")["stop_after"] == "wrap"
    assert controller.job_for("texture")["stop_after"] == bake_stops_after


def test_half_a_photo_session_makes_no_job(controller: PanelController, session: dict[str, Path]) -> None:
    controller.set_param("photos", str(session["photos"]))
    for step in ("clean", "texture", "export"):
        with pytest.raises(ValueError, match="needs both Photos and Cameras: give the cameras, or clear the photos"):
            controller.job_for(step)
    assert controller.job_for("inspect")["command"] == "inspect"  # reading the scan needs no photos
    controller.set_param("photos", "  ")
    controller.set_param("cameras", str(session["cameras"]))
    with pytest.raises(ValueError, match="give the photos, or clear the cameras"):
        controller.job_for("uv")
    controller.set_param("cameras", "")
    assert "cameras" not in controller.job_for("uv")  # both cleared: the scan's colours again


def test_the_fields_are_the_cores_options() -> None:
    import dataclasses

    from lifecast.pipeline.options import ProcessOptions

    params = {p.name: p for p in step_named("texture").params}
    fields = {f.name: f for f in dataclasses.fields(ProcessOptions)}
    for name, kind in (("photos", "folder"), ("cameras", "path")):
        assert params[name].kind == kind and params[name].optional and params[name].job_key == name
        assert fields[name].default is None
    assert [s.name for s in STEPS if any(p.name in ("photos", "cameras") for p in s.params)] == ["texture"]


# ---------------------------------------------------------------------- the form, offscreen


@pytest.fixture
def panel(qtbot, controller: PanelController):  # type: ignore[no-untyped-def]
    require_optional("PySide6", "the panel needs the 'ui' extra (PySide6-Essentials)")
    require_optional("pytestqt", "pytest-qt is part of the 'dev' extra")
    from lifecast_panel.panel import LifecastPanel

    widget = LifecastPanel(controller)
    qtbot.addWidget(widget)
    widget.steps.setCurrentRow([s.name for s in STEPS].index("texture"))
    assert widget._form is not None
    return widget


def test_the_bake_step_picks_photos_and_cameras_in_file_dialogs(
    panel, session: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    from PySide6.QtWidgets import QFileDialog, QLineEdit

    form = panel._form
    photos, cameras = form.editors["photos"], form.editors["cameras"]
    assert isinstance(photos, QLineEdit) and isinstance(cameras, QLineEdit) and photos.text() == ""
    assert [b.text() for b in form.browse_buttons["photos"]] == ["Folder..."]
    assert [b.text() for b in form.browse_buttons["cameras"]] == ["File...", "Folder..."]
    asked: list[tuple[str, str]] = []

    def folder(parent: object, caption: str, start: str) -> str:
        asked.append((caption, start))
        return str(session["photos"])

    def file(parent: object, caption: str, start: str, filters: str) -> tuple[str, str]:
        asked.append((caption, filters))
        return str(session["cameras"] / "cameras.xml"), filters

    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(folder))
    monkeypatch.setattr(QFileDialog, "getOpenFileName", staticmethod(file))
    form.browse_buttons["photos"][0].click()
    assert panel.controller.params["photos"] == str(session["photos"]) and photos.text() == str(session["photos"])
    assert asked[0] == ("Photos", str(session["scan"].parent))  # the dialog opens beside the scan
    form.browse_buttons["cameras"][0].click()
    assert panel.controller.params["cameras"] == str(session["cameras"] / "cameras.xml")
    assert asked[1][0] == "Cameras" and "*.xml" in asked[1][1]
    form.browse_buttons["cameras"][1].click()  # a COLMAP folder instead (the dialog answers the photos folder here)
    assert cameras.text() == str(session["photos"]) == panel.controller.params["cameras"]
    assert asked[2] == ("Cameras", str(session["cameras"] / "cameras.xml"))  # opens where the current value is
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", staticmethod(lambda *a: ""))
    form.browse_buttons["photos"][0].click()  # cancelled: nothing changes
    assert panel.controller.params["photos"] == str(session["photos"])
    panel.controller.set_param("cameras", str(session["cameras"]))  # a script: the open form shows it
    assert cameras.text() == str(session["cameras"])
    cameras.setText("")
    cameras.editingFinished.emit()  # the artist clears the field
    panel._run()
    assert not panel.error.isHidden()
    assert "needs both Photos and Cameras" in panel.error.message.text()
    assert panel.controller.worker.jobs == []  # type: ignore[attr-defined]

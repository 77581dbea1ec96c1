"""The panel's "Submit correction": the artist's corrected albedo goes to the worker's ``correct`` job, for the asset
the panel made and the subject its export ran with; the answer (id, changed texels) or the one-line error shows."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import require_optional

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
require_optional("PySide6", "the panel needs the 'ui' extra (PySide6-Essentials)")
require_optional("pytestqt", "pytest-qt is part of the 'dev' extra")

from tests.hosts.plugin_paths import add_plugin_paths  # noqa: E402

add_plugin_paths()

from lifecast_panel.controller import PanelController  # noqa: E402
from lifecast_panel.panel import LifecastPanel  # noqa: E402
from tests.hosts.panel_fakes import FakeHost, FakeWorker  # noqa: E402


@pytest.fixture
def panel(qtbot, tmp_path: Path) -> LifecastPanel:  # type: ignore[no-untyped-def]
    c = PanelController(FakeHost(), FakeWorker())
    widget = LifecastPanel(c)
    qtbot.addWidget(widget)
    c.set_scan(tmp_path / "head.ply", tmp_path / "out")
    return widget


def _worker(panel: LifecastPanel) -> FakeWorker:
    worker = panel.controller.worker
    assert isinstance(worker, FakeWorker)
    return worker


def _export(panel: LifecastPanel, subject: str) -> Path:
    """The artist runs the export with ``subject``; the fake worker publishes the asset, then its preview."""
    c, worker = panel.controller, _worker(panel)
    c.set_subject(subject)
    c.select_step("export")
    panel.run_button.click()
    assert worker.jobs[-1].get("subject", "") == subject
    asset = Path(worker.jobs[-1]["out"]) / "asset.usda"
    worker.say("run_start", command="process", stages=["export"])
    worker.say("done", ok=True, outputs={"asset": str(asset)})
    worker.exit(0)
    worker.say("done", ok=True, outputs={"preview": str(c.preview_path("asset"))})
    worker.exit(0)
    return asset


def _fix(tmp_path: Path) -> Path:
    fix = tmp_path / "head_fixed.png"
    fix.write_bytes(b"\x89PNG not read by the panel")
    return fix


def test_submit_correction_sends_the_asset_folder_the_fix_and_the_exports_subject(
    panel: LifecastPanel, tmp_path: Path
) -> None:
    c, worker = panel.controller, _worker(panel)
    assert not panel.correct_button.isEnabled(), "nothing to correct before an export"
    asset = _export(panel, "ana")
    c.set_subject("ben")  # typed after the export: the asset is still ana's
    assert panel.correct_button.isEnabled()
    fix = _fix(tmp_path)
    panel.pick_fix = lambda: str(fix)
    panel.correct_button.click()
    assert worker.jobs[-1] == {"command": "correct", "asset": str(asset.parent), "fixed": str(fix), "subject": "ana"}
    assert not panel.correct_button.isEnabled() and not panel.run_button.isEnabled(), "one job at a time"
    worker.say("run_start", command="correct", stages=["correct"])
    worker.say("stage_start", stage="correct", cached=False)
    report = {"correction_id": "20250101-abc", "changed_texels": 1234, "changed_fraction": 0.0188, "local": False}
    worker.say("stage_end", stage="correct", cached=False, seconds=1.0, summary=report)
    worker.say("done", ok=True, outputs={"correction": "/show/subjects/ana/corrections/c1"}, report=report)
    worker.exit(0)
    text = panel.correction.text()
    assert "20250101-abc" in text and "1,234 texels changed" in text and "1.88 %" in text
    assert panel.correction.isVisibleTo(panel) and panel.correct_button.isEnabled()
    assert c.asset() == asset, "the asset stays the one to correct again"
    assert any("20250101-abc" in m for _, m in c.host.messages)  # type: ignore[attr-defined]


def test_a_refused_correction_shows_its_one_line_error(panel: LifecastPanel, tmp_path: Path) -> None:
    c, worker = panel.controller, _worker(panel)
    _export(panel, "ana")
    panel.pick_fix = lambda: str(_fix(tmp_path))
    panel.correct_button.click()
    worker.say("run_start", command="correct", stages=["correct"])
    worker.say("error", message="the fix is the asset's albedo unchanged: nothing to record", exit_code=2)
    worker.exit(2, "Traceback: not shown")
    assert (
        panel.correction.text() == "Cannot use this input: the fix is the asset's albedo unchanged: nothing to record"
    )
    assert panel.error.isVisibleTo(panel) and c.correction == {"error": panel.correction.text()}


def test_submit_correction_needs_an_export_a_subject_and_an_image(panel: LifecastPanel, tmp_path: Path) -> None:
    c, worker = panel.controller, _worker(panel)
    with pytest.raises(ValueError, match="export the asset first"):
        c.correction_job(_fix(tmp_path))
    _export(panel, "")
    with pytest.raises(ValueError, match="enter the subject"):
        c.correction_job(_fix(tmp_path))
    c.set_subject("ana")
    with pytest.raises(ValueError, match="corrected albedo does not exist"):
        c.correction_job(tmp_path / "missing.png")
    with pytest.raises(ValueError, match=r"not head\.psd"):
        c.correction_job(tmp_path / "head.psd")
    assert c.correction_job(tmp_path / "fix.<UDIM>.exr")["fixed"] == str(tmp_path / "fix.<UDIM>.exr")
    jobs = len(worker.jobs)
    panel.pick_fix = lambda: ""  # the artist cancels the file dialog
    panel.correct_button.click()
    assert len(worker.jobs) == jobs
    panel.pick_fix = lambda: str(tmp_path / "missing.png")
    panel.correct_button.click()
    assert len(worker.jobs) == jobs and panel.error.isVisibleTo(panel)
    assert "does not exist" in panel.error.message.text()

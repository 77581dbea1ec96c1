"""The panel under pytest-qt (offscreen), driving a real `lifecast worker` on the bundled sample scan."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.conftest import require_optional

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
require_optional("PySide6", "the panel needs the 'ui' extra (PySide6-Essentials)")
require_optional("pytestqt", "pytest-qt is part of the 'dev' extra")

from tests.hosts.plugin_paths import add_plugin_paths  # noqa: E402

add_plugin_paths()

from PySide6.QtCore import Qt  # noqa: E402

from lifecast_panel.controller import PanelController  # noqa: E402
from lifecast_panel.panel import LifecastPanel  # noqa: E402
from lifecast_panel.standalone import StandaloneHost  # noqa: E402
from lifecast_panel.worker_client import QProcessWorker  # noqa: E402

LEFT = Qt.MouseButton.LeftButton
SMALL = {"lods": "2000,500", "texture_size": "256", "maps": "albedo"}


@pytest.fixture
def panel(qtbot, sample_scan: Path, tmp_path: Path) -> LifecastPanel:  # type: ignore[no-untyped-def]
    worker = QProcessWorker(sys.executable)
    controller = PanelController(StandaloneHost(dialogs=False), worker, defaults=SMALL)
    widget = LifecastPanel(controller)
    worker.setParent(widget)
    qtbot.addWidget(widget)
    controller.set_scan(sample_scan, tmp_path / "head")
    yield widget
    controller.cancel()
    worker.wait(20_000)


def _temp_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if ".tmp" in p.name] if folder.exists() else []


def test_export_step_writes_the_asset_and_shows_its_preview(qtbot, panel: LifecastPanel, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    c = panel.controller
    c.select_step("export")
    qtbot.mouseClick(panel.run_button, LEFT)
    assert panel.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: "preview" in c.results.get("export", {}) or c.run.error is not None, timeout=240_000)
    assert c.run.error is None, c.run.error
    assert (tmp_path / "head" / "asset.usda").is_file()
    assert Path(c.results["export"]["preview"]).is_file() and not panel.result.image.pixmap().isNull()
    assert f"File: {tmp_path / 'head' / 'asset.usda'}" in panel.result.text
    assert ("File", str(tmp_path / "head" / "asset.usda")) in [(r.label, r.value) for r in panel.result.numbers.rows]
    assert not any("{" in r.value for r in panel.result.numbers.rows)  # label/value rows, not raw JSON
    assert panel.import_button.isHidden()  # standalone cannot import
    # the Textures view: LOD0's raw bake and delit albedo as the delight stage published them, and its shading
    textures = c.textures()
    assert textures is not None and textures.delit and textures.shading is not None and textures.shading.is_file()
    view = panel.result.textures
    assert not view.isHidden() and view.maps == textures
    for image in (view.raw_image, view.albedo_image):
        assert (image.pixmap().width(), image.pixmap().height()) == (256, 256)  # a 256 px bake, shown as it is
    assert view.raw_caption.text().endswith("_lod0_albedo_raw.1001.png")
    assert view.shading.text() == f"Shading: {textures.shading}"
    assert set(panel.progress.bars) == {"preview"}  # the last run shown is the preview
    # rerunning an earlier step reuses the cache: every stage comes back cached
    c.select_step("uv")
    c.run_step()
    qtbot.waitUntil(lambda: not c.run.running, timeout=60_000)
    assert c.results["uv"]["cached"] == ["ingest", "clean", "lod", "uv"]


def test_cancel_mid_stage_leaves_nothing_half_written(qtbot, panel: LifecastPanel, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    c = panel.controller
    c.select_step("export")
    c.run_step()
    qtbot.waitUntil(
        lambda: c.run.stages.get("clean") is not None and c.run.stages["clean"].status == "running", timeout=60_000
    )
    qtbot.mouseClick(panel.cancel_button, LEFT)
    qtbot.waitUntil(lambda: not c.run.running, timeout=30_000)
    assert c.run.exit_code == 130 and c.run.error is not None
    assert not panel.error.isHidden() and panel.error.message.text().startswith("Cancelled")
    out = tmp_path / "head"
    assert not (out / "asset.usda").exists() and _temp_files(out) == []


def test_bad_input_shows_a_readable_message(qtbot, panel: LifecastPanel, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    c = panel.controller
    panel.scan_edit.setText(str(tmp_path / "missing.ply"))
    panel.scan_edit.editingFinished.emit()
    c.select_step("inspect")
    qtbot.mouseClick(panel.run_button, LEFT)
    qtbot.waitUntil(lambda: c.run.exit_code is not None, timeout=60_000)
    assert c.run.exit_code == 2
    assert not panel.error.isHidden() and "missing.ply" in panel.error.message.text()
    assert panel.error.message.text().startswith("Cannot use this input")
    assert panel.error.details.isHidden()
    panel.error.details_button.click()
    assert "exit code 2" in panel.error.details.toPlainText()

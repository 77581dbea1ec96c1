"""The bake step's delight / inpaint switches and the Textures view, in real widgets offscreen.

A fake worker speaks for ``lifecast worker``: its ``done`` event names an asset whose maps this test writes.
"""

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

from PySide6.QtCore import Qt, QUrl  # noqa: E402
from PySide6.QtGui import QColor, QDesktopServices, QImage  # noqa: E402
from PySide6.QtWidgets import QCheckBox, QLabel  # noqa: E402

from lifecast_panel.controller import PanelController  # noqa: E402
from lifecast_panel.panel import LifecastPanel  # noqa: E402
from lifecast_panel.steps import STEPS  # noqa: E402
from tests.hosts.panel_fakes import FakeHost, FakeWorker  # noqa: E402

LEFT = Qt.MouseButton.LeftButton
RAW, DELIT = QColor(200, 60, 40), QColor(128, 128, 128)
ALL_STAGES = ["ingest", "clean", "lod", "uv", "texture", "delight", "inpaint", "export"]


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


def _png(path: Path, color: QColor, width: int, height: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    image = QImage(width, height, QImage.Format.Format_RGB32)
    image.fill(color)
    assert image.save(str(path), "PNG")
    return path


def _publish(out: Path, *, delight: bool, tiles: tuple[int, ...] = (1001,), size: tuple[int, int] = (512, 384)) -> Path:
    """Write what a published asset holds (``asset.usda`` and LOD0's albedo files); returns the asset."""
    maps = out / "maps"
    for udim in tiles:
        _png(maps / f"out_lod0_albedo.{udim}.png", DELIT if delight else RAW, *size)
        if delight:
            _png(maps / f"out_lod0_albedo_raw.{udim}.png", RAW, *size)
            (maps / f"out_lod0_shading.{udim}.exr").write_bytes(b"v/1\x01 not read by Qt")
    asset = out / "asset.usda"
    asset.write_text("#usda 1.0\n")
    return asset


def _run_export(panel: LifecastPanel, asset: Path, stages: list[str]) -> dict[str, object]:
    """The artist runs the export step; the fake worker answers with ``stages`` and ``asset``; returns the job.

    The progress shows one bar per stage the worker announced, whichever the job switched on.
    """
    c, worker = panel.controller, _worker(panel)
    c.select_step("export")
    panel.run_button.click()
    job = worker.jobs[-1]
    worker.say("run_start", command="process", stages=stages)
    for stage in stages:
        worker.say("stage_start", stage=stage, cached=False)
        worker.say("stage_end", stage=stage, cached=False, seconds=0.5, summary={})
    worker.say("done", ok=True, outputs={"asset": str(asset)})
    assert list(panel.progress.bars) == stages and all(b.value() == 1000 for b in panel.progress.bars.values())
    worker.exit(0)
    return job


def _pixel(label: QLabel) -> QColor:
    return label.pixmap().toImage().pixelColor(10, 10)


def test_the_bake_step_offers_the_switches_and_they_change_the_job(panel: LifecastPanel) -> None:
    c = panel.controller
    panel.steps.setCurrentRow([s.name for s in STEPS].index("texture"))
    assert panel._form is not None
    delight, inpaint = panel._form.editors["delight"], panel._form.editors["inpaint"]
    assert isinstance(delight, QCheckBox) and isinstance(inpaint, QCheckBox)
    assert delight.isChecked() and inpaint.isChecked()
    layout = panel._form._layout
    labels = [layout.labelForField(w) for w in (delight, inpaint)]
    assert [label.text() for label in labels if isinstance(label, QLabel)] == ["Delight albedo", "Fill holes (inpaint)"]
    job = c.job_for("texture")
    assert (job["delight"], job["inpaint"], job["stop_after"]) == (True, True, "inpaint")
    delight.click()  # the artist unticks "Delight albedo"
    assert not c.params["delight"]
    job = c.job_for("texture")
    assert (job["delight"], job["inpaint"], job["stop_after"]) == (False, True, "inpaint")
    inpaint.click()
    job = c.job_for("export")
    assert (job["delight"], job["inpaint"]) == (False, False) and "stop_after" not in job
    assert c.job_for("texture")["stop_after"] == "texture"
    c.set_param("delight", True)  # a script: the open form follows
    assert delight.isChecked() and c.job_for("texture")["stop_after"] == "delight"


def test_the_stage_bars_are_the_stages_the_worker_announces(panel: LifecastPanel, tmp_path: Path) -> None:
    c, worker = panel.controller, _worker(panel)
    c.set_param("delight", False)
    c.run_step("texture")
    stages = [s for s in ALL_STAGES if s not in ("delight", "export")]
    worker.say("run_start", command="process", stages=stages)
    assert list(panel.progress.bars) == stages
    worker.say("stage_start", stage="inpaint", cached=False)
    worker.say("progress", stage="inpaint", fraction=0.5, message="filling LOD0")
    assert panel.progress.bars["inpaint"].value() == 500
    assert panel.progress.bars["inpaint"].format().startswith("inpaint") and "filling LOD0" in (
        panel.progress.bars["inpaint"].format()
    )
    worker.exit(0)


def test_after_an_export_the_textures_view_shows_the_raw_and_the_delit_albedo(
    qtbot,  # type: ignore[no-untyped-def]
    panel: LifecastPanel,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    view = panel.result.textures
    assert view.isHidden()  # nothing exported yet
    asset = _publish(tmp_path / "out", delight=True)
    job = _run_export(panel, asset, ALL_STAGES)
    assert job["delight"] is True and job["inpaint"] is True
    assert panel.controller.current_step == "export" and not view.isHidden()
    # both thumbnails, scaled to 256 px on the longer side (512 x 384 -> 256 x 192), each its own file
    for label in (view.raw_image, view.albedo_image):
        assert not label.isHidden() and (label.pixmap().width(), label.pixmap().height()) == (256, 192)
    assert _pixel(view.raw_image) == RAW and _pixel(view.albedo_image) == DELIT
    assert view.raw_caption.text().splitlines() == ["Raw bake LOD0 – 512 × 384", "out_lod0_albedo_raw.1001.png"]
    assert view.albedo_caption.text().splitlines() == ["Delit LOD0 – 512 × 384", "out_lod0_albedo.1001.png"]
    shading = tmp_path / "out" / "maps" / "out_lod0_shading.1001.exr"
    assert view.shading.text() == f"Shading: {shading}" and not view.open_shading.isHidden()
    opened: list[QUrl] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url) or True)
    qtbot.mouseClick(view.open_shading, LEFT)
    assert opened == [QUrl.fromLocalFile(str(shading))]
    # the preview job that follows the export keeps the view (it is the export step's result)
    assert _worker(panel).jobs[-1]["command"] == "preview"
    _worker(panel).say("done", ok=True, outputs={"preview": str(tmp_path / "p.png")})
    _worker(panel).exit(0)
    assert not view.isHidden() and view.raw_image.pixmap().width() == 256
    # another step's result has no textures
    panel.controller.select_step("uv")
    assert view.isHidden()


def test_a_run_without_the_delight_shows_the_albedo_alone(panel: LifecastPanel, tmp_path: Path) -> None:
    panel.controller.set_param("delight", False)
    asset = _publish(tmp_path / "out", delight=False, tiles=(1001, 1002), size=(300, 600))
    job = _run_export(panel, asset, [s for s in ALL_STAGES if s != "delight"])
    assert job["delight"] is False
    view = panel.result.textures
    assert not view.isHidden() and view.raw_image.isHidden()
    assert (view.albedo_image.pixmap().width(), view.albedo_image.pixmap().height()) == (128, 256)
    assert _pixel(view.albedo_image) == RAW  # the albedo as baked
    assert view.albedo_caption.text().startswith("LOD0 (not delit) – 300 × 600")
    assert view.raw_caption.text() == "Delight was off: the albedo keeps the capture's lighting."
    assert view.shading.text() == "No shading map, 2 UDIM tiles, first shown." and view.open_shading.isHidden()


def test_a_rerun_that_rewrites_the_maps_shows_the_new_pixels(panel: LifecastPanel, tmp_path: Path) -> None:
    asset = _publish(tmp_path / "out", delight=True)
    _run_export(panel, asset, ALL_STAGES)
    view = panel.result.textures
    assert _pixel(view.albedo_image) == DELIT
    _worker(panel).exit(0)  # the preview job
    newer = QColor(30, 160, 90)
    albedo = _png(tmp_path / "out" / "maps" / "out_lod0_albedo.1001.png", newer, 512, 384)
    stat = albedo.stat()
    os.utime(albedo, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # a later write, whatever the clock's grain
    _run_export(panel, asset, ALL_STAGES)
    assert _pixel(view.albedo_image) == newer and _pixel(view.raw_image) == RAW


def test_an_albedo_qt_cannot_read_is_named_not_shown(panel: LifecastPanel, tmp_path: Path) -> None:
    out = tmp_path / "out"
    (out / "maps").mkdir(parents=True)
    (out / "maps" / "out_lod0_albedo.1001.exr").write_bytes(b"v/1\x01 ACEScg")
    (out / "asset.usda").write_text("#usda 1.0\n")
    _run_export(panel, out / "asset.usda", ALL_STAGES)
    view = panel.result.textures
    assert not view.isHidden() and view.albedo_image.pixmap().isNull()
    assert view.albedo_image.text() == "no preview of .exr files"
    assert view.albedo_caption.text().endswith("out_lod0_albedo.1001.exr")

"""The panel's controller and run model with a fake host and a fake worker: no Qt, no window."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.hosts.plugin_paths import add_plugin_paths

add_plugin_paths()

from lifecast_panel.controller import PanelController  # noqa: E402
from lifecast_panel.models import RunModel  # noqa: E402
from lifecast_panel.protocol import LineBuffer, WorkerEvent, parse_line  # noqa: E402
from tests.hosts.panel_fakes import FakeHost, FakeWorker  # noqa: E402


@pytest.fixture
def panel() -> tuple[PanelController, FakeHost, FakeWorker]:
    host, worker = FakeHost(), FakeWorker()
    controller = PanelController(host, worker, defaults={"texture_size": "256"})
    controller.set_scan(Path("/scans/head.ply"))
    return controller, host, worker


def test_jobs_carry_every_parameter_and_stop_after(panel: tuple[PanelController, FakeHost, FakeWorker]) -> None:
    c, _, _ = panel
    assert c.out_dir == Path("/scans/head_asset")
    c.set_param("lods", "2000, 500")
    c.set_param("keep_ground", True)
    job = c.job_for("uv")
    assert job["command"] == "process" and job["stop_after"] == "uv"
    assert job["lods"] == [2000, 500] and job["texture_size"] == 256 and job["remove_ground_plane"] is False
    assert "stop_after" not in c.job_for("export")
    inspect = c.job_for("inspect")
    assert inspect == {"command": "inspect", "scan": "/scans/head.ply", "units": None, "up": None}
    with pytest.raises(KeyError):
        c.set_param("nope", 1)


def test_export_run_then_preview_then_import(
    panel: tuple[PanelController, FakeHost, FakeWorker], tmp_path: Path
) -> None:
    c, host, worker = panel
    asset = tmp_path / "head_asset" / "asset.usda"
    asset.parent.mkdir()
    asset.write_text("#usda 1.0\n")
    changes: list[str] = []
    c.subscribe(changes.append)
    c.run_step("export")
    with pytest.raises(RuntimeError):
        c.run_step("export")
    worker.say("run_start", command="process", stages=["ingest", "export"])
    worker.say("stage_start", stage="ingest", cached=True)
    worker.say("stage_end", stage="ingest", cached=True, seconds=0.0, summary={"faces": 10})
    worker.say("progress", stage="export", fraction=0.5, message="writing")
    assert c.run.overall_fraction() == pytest.approx(0.75)
    worker.say("done", ok=True, outputs={"asset": str(asset)})
    worker.exit(0)
    assert c.results["export"]["cached"] == ["ingest"]
    # the preview job starts by itself once the export succeeded
    assert worker.jobs[-1]["command"] == "preview" and worker.jobs[-1]["source"].endswith("asset.usda")
    worker.say("done", ok=True, outputs={"preview": "/p.png"})
    worker.exit(0)
    assert c.results["export"]["preview"] == "/p.png" and "finished" in changes
    assert c.can_import() and c.import_asset() == "/head_asset" and host.imported == [asset]


def test_error_is_readable_and_stops_the_queue(panel: tuple[PanelController, FakeHost, FakeWorker]) -> None:
    c, host, worker = panel
    c.run_step("inspect")
    worker.say("error", stage=None, message="/scans/head.ply: scan file not found", path="/scans/head.ply", exit_code=2)
    worker.exit(2, "stderr text")
    assert c.run.error is not None and c.run.error.headline.startswith("Cannot use this input: ")
    assert c.run.error.details == "stderr text" and len(worker.jobs) == 1  # no preview after a failure
    assert host.messages[-1][0] == "error"


def test_cancel_and_unknown_events(panel: tuple[PanelController, FakeHost, FakeWorker]) -> None:
    c, _, worker = panel
    c.run_step("clean")
    worker.say("stage_start", stage="clean")
    worker.say("something_new", stage="clean", whatever=1)  # ignored
    c.cancel()
    assert worker.cancelled
    worker.exit(130)
    assert c.run.error is not None and c.run.error.headline.startswith("Cancelled")
    assert c.run.stages["clean"].status == "failed" and not c.run.running


def test_protocol_parser_and_line_buffer() -> None:
    assert parse_line("") is None and parse_line("not json") is None and parse_line("[1]") is None
    event = parse_line('{"event":"progress","time":1.5,"stage":"uv","fraction":0.25,"extra":1}')
    assert event == WorkerEvent("progress", {"stage": "uv", "fraction": 0.25, "extra": 1}, 1.5)
    buf = LineBuffer()
    assert buf.feed(b'{"event":"log"') == [] and buf.feed(b',"message":"a"}\n{"ev') == ['{"event":"log","message":"a"}']
    assert buf.flush() == ['{"ev']
    run = RunModel()
    run.apply(WorkerEvent("done", {"ok": True, "outputs": {"asset": "a.usda"}, "report": {"faces": 3}}))
    assert run.outputs == {"asset": "a.usda"} and run.report == {"faces": 3}

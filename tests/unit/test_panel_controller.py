"""The panel's controller and run model with a fake host and a fake worker: no Qt, no window."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.hosts.plugin_paths import add_plugin_paths

add_plugin_paths()

from lifecast_panel.controller import PanelController, WorkerListener  # noqa: E402
from lifecast_panel.host import Host, MessageLevel, PointSelection, SelectedPoints, UsdImporter  # noqa: E402
from lifecast_panel.models import RunModel  # noqa: E402
from lifecast_panel.protocol import LineBuffer, WorkerEvent, parse_line  # noqa: E402


class FakeHost(Host, UsdImporter, PointSelection):
    name = "fake"

    def __init__(self) -> None:
        self.messages: list[tuple[str, str]] = []
        self.imported: list[Path] = []
        self.selection: SelectedPoints | None = None

    def main_window(self) -> Any:
        return None

    def report(self, message: str, level: MessageLevel = "info") -> None:
        self.messages.append((level, message))

    def import_usd(self, path: Path) -> str:
        self.imported.append(path)
        return f"/{path.parent.name}"

    def selected_points(self) -> SelectedPoints | None:
        return self.selection


class FakeWorker:
    def __init__(self) -> None:
        self.jobs: list[dict[str, Any]] = []
        self.listener: WorkerListener | None = None
        self.cancelled = False

    def start(self, job: dict[str, Any], listener: WorkerListener) -> None:
        self.jobs.append(job)
        self.listener = listener

    def cancel(self) -> None:
        self.cancelled = True

    def is_running(self) -> bool:
        return self.listener is not None

    def say(self, kind: str, **data: Any) -> None:
        assert self.listener is not None
        self.listener.handle_event(WorkerEvent(kind, data))

    def exit(self, code: int, stderr: str = "") -> None:
        listener, self.listener = self.listener, None
        assert listener is not None
        listener.handle_finished(code, stderr)


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


def test_export_run_then_preview_then_import(panel: tuple[PanelController, FakeHost, FakeWorker]) -> None:
    c, host, worker = panel
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
    worker.say("done", ok=True, outputs={"asset": "/scans/head_asset/asset.usda"})
    worker.exit(0)
    assert c.results["export"]["cached"] == ["ingest"]
    # the preview job starts by itself once the export succeeded
    assert worker.jobs[-1]["command"] == "preview" and worker.jobs[-1]["source"].endswith("asset.usda")
    worker.say("done", ok=True, outputs={"preview": "/p.png"})
    worker.exit(0)
    assert c.results["export"]["preview"] == "/p.png" and "finished" in changes
    assert (
        c.can_import() and c.import_asset() == "/head_asset" and host.imported == [Path("/scans/head_asset/asset.usda")]
    )


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


def test_landmarks_from_the_host_selection(panel: tuple[PanelController, FakeHost, FakeWorker]) -> None:
    c, host, _ = panel
    assert c.capture_landmarks() is None and host.messages[-1][0] == "warning"
    host.selection = SelectedPoints("head", (1, 2), ((0.0, 1.0, 2.0), (1.0, 1.0, 1.0)))
    assert c.capture_landmarks() == host.selection and c.landmarks == [host.selection]


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

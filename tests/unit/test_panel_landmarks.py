"""Wrap or decimate: the template parameter, the template's landmark names and placing them (fake host and worker)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.hosts.panel_fakes import FakeHost, FakeWorker

from lifecast_panel.controller import PanelController  # isort: skip
from lifecast_panel.host import SelectedPoints  # isort: skip

NAMES = ["nose_tip", "chin", "left_eye_outer", "right_eye_outer"]


@pytest.fixture
def panel(tmp_path: Path) -> tuple[PanelController, FakeHost, FakeWorker]:
    host, worker = FakeHost(), FakeWorker()
    controller = PanelController(host, worker)
    controller.set_scan(tmp_path / "head.ply", tmp_path / "out")
    return controller, host, worker


def _pick(host: FakeHost, vertex: int, mesh: str = "head", count: int | None = None) -> None:
    host.selection = SelectedPoints(mesh, (vertex,), ((float(vertex), 1.0, 2.0),), count)


def _with_names(c: PanelController, worker: FakeWorker, names: list[str] = NAMES) -> None:
    c.set_param("template", "anny-head")
    c.load_template()
    worker.answer_template(names, vertices=14_000, faces=27_000, has_uvs=True)


def test_without_a_template_the_step_decimates_and_jobs_stay_as_before(
    panel: tuple[PanelController, FakeHost, FakeWorker],
) -> None:
    c, _, _ = panel
    for step in ("wrap", "uv", "export"):
        job = c.job_for(step)
        assert "template" not in job and "template_landmarks" not in job and "landmarks" not in job
    assert c.job_for("wrap")["stop_after"] == "lod" and c.job_for("wrap")["lods"] == [100_000, 25_000, 5_000]
    with pytest.raises(ValueError, match="pick a template"):
        c.load_template()


def test_a_template_goes_into_every_process_job_and_the_step_stops_after_the_wrap(
    panel: tuple[PanelController, FakeHost, FakeWorker],
) -> None:
    c, _, _ = panel
    c.set_param("template", " anny-body ")
    c.set_param("template_landmarks", "/t/markup.json")
    wrap, uv = c.job_for("wrap"), c.job_for("uv")
    assert wrap["template"] == "anny-body" and wrap["template_landmarks"] == "/t/markup.json"
    assert wrap["stop_after"] == "wrap" and uv["stop_after"] == "uv" and uv["template"] == "anny-body"
    assert "landmarks" not in wrap  # none placed: the core aligns automatically


@pytest.mark.parametrize("in_report", [False, True])
def test_the_template_job_lists_the_names_in_either_answer_shape(
    panel: tuple[PanelController, FakeHost, FakeWorker], in_report: bool
) -> None:
    c, host, worker = panel
    c.set_param("template", "/t/head.obj")
    c.set_param("template_landmarks", "/t/head_markup.json")
    job = c.load_template()
    assert job == {"command": "template", "template": "/t/head.obj", "template_landmarks": "/t/head_markup.json"}
    with pytest.raises(RuntimeError):
        c.load_template()
    worker.answer_template(NAMES, in_report=in_report, vertices=10, faces=12, has_uvs=True)
    assert c.landmarks.names == NAMES and c.landmarks.current == "nose_tip"
    assert c.results["wrap"]["template"]["vertices"] == 10 and host.messages[-1] == (
        "info",
        "/t/head.obj: 4 landmarks to place",
    )
    assert len(worker.jobs) == 1  # no preview follows a template job


def test_an_answer_without_names_is_an_error(panel: tuple[PanelController, FakeHost, FakeWorker]) -> None:
    c, host, worker = panel
    c.set_param("template", "anny-head")
    c.load_template()
    worker.say("done", ok=True, outputs={})
    worker.exit(0)
    assert c.landmarks.names == [] and host.messages[-1][0] == "error"


def test_placing_landmarks_one_selected_vertex_at_a_time(panel: tuple[PanelController, FakeHost, FakeWorker]) -> None:
    c, host, worker = panel
    _pick(host, 3)
    assert c.assign_landmark() is None and "list the template" in host.messages[-1][1]
    _with_names(c, worker)
    host.selection = None
    assert c.assign_landmark() is None and host.messages[-1] == (
        "warning",
        "select the vertex of the scan for 'nose_tip' first",
    )
    host.selection = SelectedPoints("head", (1, 2), ((0.0, 0.0, 0.0), (1.0, 1.0, 1.0)))
    assert c.assign_landmark() is None and "exactly one vertex" in host.messages[-1][1]
    _pick(host, 120)
    placed = c.assign_landmark()
    assert placed is not None and (placed.name, placed.vertex, placed.position) == ("nose_tip", 120, (120.0, 1.0, 2.0))
    assert c.landmarks.current == "chin"
    _pick(host, 7, mesh="prop")
    assert c.assign_landmark() is None and "on head" in host.messages[-1][1]
    c.select_landmark("right_eye_outer")
    _pick(host, 9)
    c.assign_landmark()
    assert c.landmarks.current == "chin"  # the next unplaced, wrapping around
    for v in (10, 11):
        _pick(host, v)
        c.assign_landmark()
    assert c.landmarks.current is None and set(c.landmarks.placed) == set(NAMES)
    assert c.assign_landmark() is None and "every landmark is placed" in host.messages[-1][1]
    c.remove_landmark("chin")
    assert c.landmarks.current == "chin" and "chin" not in c.landmarks.placed
    with pytest.raises(KeyError):
        c.select_landmark("ear")


def test_a_mesh_that_is_not_the_scan_as_read_is_warned_about(
    panel: tuple[PanelController, FakeHost, FakeWorker],
) -> None:
    c, host, worker = panel
    c.results["inspect"] = {"report": {"vertices": 5000}}
    _with_names(c, worker)
    _pick(host, 3, count=4998)
    assert c.assign_landmark() is not None  # placed, but the artist is told
    assert host.messages[-2][0] == "warning" and "4,998 vertices" in host.messages[-2][1]
    _pick(host, 4, count=5000)
    c.assign_landmark()
    assert host.messages[-1][0] == "info"


def test_running_the_wrap_writes_landmarks_json_and_passes_it(
    panel: tuple[PanelController, FakeHost, FakeWorker],
) -> None:
    c, host, worker = panel
    _with_names(c, worker)
    c.select_landmark("chin")
    _pick(host, 42)
    c.assign_landmark()
    _pick(host, 5)
    c.assign_landmark()  # left_eye_outer
    job = c.run_step("wrap")
    path = c.out_dir / "landmarks.json" if c.out_dir else None
    assert path is not None and job["landmarks"] == str(path) and job["template"] == "anny-head"
    data = json.loads(path.read_text())
    assert list(data) == ["chin", "left_eye_outer"]  # template order
    assert data["chin"] == {"vertex": 42, "position": [42.0, 1.0, 2.0]}
    assert [p.name for p in path.parent.iterdir()] == ["landmarks.json"]  # no temporary file left


def test_another_template_forgets_the_names_and_drops_unknown_landmarks(
    panel: tuple[PanelController, FakeHost, FakeWorker],
) -> None:
    c, host, worker = panel
    _with_names(c, worker)
    _pick(host, 1)
    c.assign_landmark()
    _pick(host, 2)
    c.assign_landmark()
    c.set_param("template", "anny-body")
    assert c.landmarks.names == [] and c.template_info is None and len(c.landmarks.placed) == 2
    c.load_template()
    worker.answer_template(["chin", "navel"])
    assert list(c.landmarks.placed) == ["chin"] and c.landmarks.current == "navel"
    assert any(level == "warning" and "nose_tip" in msg for level, msg in host.messages)


def test_landmarks_saved_in_the_output_folder_come_back(panel: tuple[PanelController, FakeHost, FakeWorker]) -> None:
    c, _, worker = panel
    assert c.out_dir is not None
    c.out_dir.mkdir(parents=True)
    (c.out_dir / "landmarks.json").write_text(
        json.dumps({"chin": {"vertex": 8, "position": [0, 1, 2]}, "nose_tip": [1.0, 2.0, 3.0], "ear": {"vertex": 1}})
    )
    _with_names(c, worker)
    assert list(c.landmarks.placed) == ["chin"] and c.landmarks.placed["chin"].vertex == 8
    assert c.landmarks.current == "nose_tip"

"""The Blender extension (plugins/blender/lifecast_blender).

Two tiers in one file:

- its bpy-free modules (event parsing, run state, jobs, landmarks JSON, the worker client) here, in lifecast's venv,
  the worker client against a real ``lifecast worker``;
- the add-on in real Blender: ``tests/hosts/blender_addon_script.py`` runs under ``.venv-blender/bin/python`` (the
  ``bpy`` 5.0.1 wheel, Python 3.11, numpy<2; ``make test`` builds it), installs the extension the way "Install from
  Disk" does, processes the sample scan through the worker, imports the asset, adds a landmark in Edit Mode, cancels a
  run and disables the add-on. It skips when ``.venv-blender`` is missing, except with ``LIFECAST_REQUIRE_BLENDER=1``
  (CI), where it fails.
"""

from __future__ import annotations

import json
import os
import stat
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path
from typing import Any

import pytest

from tests.hosts.plugin_paths import add_plugin_paths

add_plugin_paths()

from lifecast_blender.jobs import (  # noqa: E402
    MAP_CHANNELS,
    JobError,
    ProcessSettings,
    default_out_dir,
    parse_lods,
    process_job,
    resolve_worker_python,
)
from lifecast_blender.landmarks import LandmarkError, read_landmarks, remove_landmark, set_landmark  # noqa: E402
from lifecast_blender.protocol import PROTOCOL_EVENTS, WorkerEvent, parse_line  # noqa: E402
from lifecast_blender.run_state import RunState, find_albedo_maps  # noqa: E402
from lifecast_blender.session import RunSession  # noqa: E402
from lifecast_blender.worker_client import Finished, WorkerClient, qt_panel_command, worker_command  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
BLENDER_PYTHON = REPO / ".venv-blender" / "bin" / "python"
SCRIPT = Path(__file__).with_name("blender_addon_script.py")
EXTENSION = REPO / "plugins" / "blender" / "lifecast_blender"
SMALL = {"lods": "2000,500", "texture_size": "256", "maps": ["albedo", "normal"]}
LANDMARK_VERTEX = 1000


def ev(kind: str, **data: Any) -> WorkerEvent:
    return WorkerEvent(kind, data, 0.0)


# --------------------------------------------------------------------------- protocol


def test_the_panel_offers_the_maps_the_core_bakes() -> None:
    from lifecast.bake import MAP_CHANNELS as CORE_MAP_CHANNELS

    assert MAP_CHANNELS == CORE_MAP_CHANNELS  # the add-on cannot import the core: its copy must follow the engine's


def test_parse_line_reads_what_the_core_writes() -> None:
    from lifecast.worker.events import EVENT_TYPES, Event

    assert PROTOCOL_EVENTS == EVENT_TYPES
    line = Event("progress", {"stage": "clean", "fraction": 0.5, "message": "holes"}, 12.5).to_json()
    event = parse_line(line)
    assert event == WorkerEvent("progress", {"stage": "clean", "fraction": 0.5, "message": "holes"}, 12.5)
    assert parse_line(line.encode() + b"\n") == event
    for junk in ("", "   ", "not json", "{broken", "[1, 2]", '{"no_event": 1}'):
        assert parse_line(junk) is None


def test_parse_line_agrees_with_the_qt_panel() -> None:
    from lifecast_panel.protocol import parse_line as panel_parse_line

    lines = [
        '{"event":"stage_start","time":3.25,"stage":"uv","cached":true}',
        '{"event":"future_event","time":"soon","extra":[1,2]}',
        '{"event":"done","ok":true,"outputs":{"asset":"a.usda"}}',
        "lifecast: a stray print",
    ]
    for line in lines:
        ours, theirs = parse_line(line), panel_parse_line(line)
        if theirs is None:
            assert ours is None
        else:
            assert ours is not None and (ours.type, ours.data) == (theirs.type, theirs.data), line


# --------------------------------------------------------------------------- run state


def test_run_state_folds_a_run_into_what_the_panel_shows() -> None:
    state = RunState(max_log=3)
    state.apply(ev("run_start", command="process", stages=["ingest", "clean"]))
    assert state.status_line == "starting the worker" and state.fraction == 0.0
    state.apply(ev("stage_start", stage="ingest", cached=False))
    state.apply(ev("progress", stage="ingest", fraction=0.5, message="reading"))
    assert state.status_line == "ingest: reading" and state.fraction == pytest.approx(0.25)
    for i in range(4):
        state.apply(ev("log", stage="ingest", message=f"line {i}"))
    state.apply(ev("warning", stage=None, message="careful"))
    assert list(state.log) == ["[ingest] line 2", "[ingest] line 3", "warning: careful"]
    state.apply(ev("stage_end", stage="ingest", cached=True, seconds=0.1, summary={}))
    state.apply(ev("stage_start", stage="clean", cached=False))
    state.apply(ev("some_new_event", stage="clean"))  # unknown types are ignored
    state.apply(ev("stage_end", stage="clean", cached=False, seconds=1.0, summary={}))
    state.apply(ev("done", ok=True, outputs={"asset": "/a/asset.usda"}))
    state.finish(0, "")
    assert state.stages["ingest"].status == "cached" and state.stages["clean"].status == "done"
    assert state.fraction == 1.0 and state.status_line == "done" and state.error is None
    assert state.outputs == {"asset": "/a/asset.usda"} and not state.running


@pytest.mark.parametrize(
    ("events", "exit_code", "stderr", "headline"),
    [
        ([ev("error", stage="ingest", message="scan.ply: not a PLY", exit_code=2)], 2, "", "Cannot use this input: "),
        ([], 130, "lifecast: interrupted", "Cancelled: the worker stopped; nothing half-written was left"),
        ([], 1, "Traceback (most recent call last):\n  ...\nZeroDivisionError: boom\n", "The worker failed: Zero"),
        ([], 3, "", "No valid consent: the worker exited with code 3"),
    ],
)
def test_run_state_errors_read_as_one_line(
    events: list[WorkerEvent], exit_code: int, stderr: str, headline: str
) -> None:
    state = RunState()
    state.apply(ev("run_start", command="process", stages=["ingest"]))
    state.apply(ev("stage_start", stage="ingest"))
    for event in events:
        state.apply(event)
    state.finish(exit_code, stderr)
    assert state.error is not None and state.error.headline.startswith(headline)
    assert state.status_line == state.error.headline and state.error.details == stderr
    assert state.stages["ingest"].status == "failed"


# --------------------------------------------------------------------------- textures


def _touch(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"x")


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (
            ["head_lod0_albedo.1001.png", "head_lod0_albedo_raw.1001.png", "head_lod0_shading.1001.exr"],
            ("head_lod0_albedo.1001.png", "head_lod0_albedo_raw.1001.png", "head_lod0_shading.1001.exr", (1001,)),
        ),
        (
            ["head_lod0_albedo.1001.png", "head_lod1_albedo_raw.1001.png"],
            ("head_lod0_albedo.1001.png", None, None, (1001,)),
        ),
        (
            [f"a_b_lod0_{kind}.{udim}.png" for kind in ("albedo", "albedo_raw") for udim in (1003, 1002)],
            ("a_b_lod0_albedo.1002.png", "a_b_lod0_albedo_raw.1002.png", None, (1002, 1003)),
        ),
        (["head_lod0_albedo.1001.exr"], ("head_lod0_albedo.1001.exr", None, None, (1001,))),
        (["head_lod0_normal.1001.png", "head_lod1_albedo.1001.png"], None),
    ],
)
def test_the_albedo_files_of_a_run_are_found_as_the_qt_panel_finds_them(
    tmp_path: Path, files: list[str], expected: tuple[Any, ...] | None
) -> None:
    from lifecast_panel.textures import find_albedo_maps as panel_find_albedo_maps

    for name in files:
        _touch(tmp_path / "maps" / name)
    asset = tmp_path / "asset.usda"
    ours, theirs = find_albedo_maps(str(asset)), panel_find_albedo_maps(asset)
    if expected is None:
        assert ours is None and theirs is None
        return
    assert ours is not None and theirs is not None
    maps = tmp_path / "maps"
    albedo, raw, shading, tiles = expected
    assert (ours.albedo, ours.raw, ours.shading, ours.tiles) == (
        str(maps / albedo),
        str(maps / raw) if raw else None,
        str(maps / shading) if shading else None,
        tiles,
    )
    assert ours.delit == bool(raw) and ours.tiled == (tiles != (1001,))
    as_text = (
        str(theirs.albedo),
        str(theirs.raw) if theirs.raw else None,
        str(theirs.shading) if theirs.shading else None,
    )
    assert as_text == (ours.albedo, ours.raw, ours.shading) and theirs.tiles == ours.tiles  # one rule, two hosts


def test_no_maps_folder_no_albedo(tmp_path: Path) -> None:
    assert find_albedo_maps(str(tmp_path / "asset.usda")) is None and find_albedo_maps("") is None


# --------------------------------------------------------------------------- jobs


def test_process_job_from_the_sidebar_settings(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scan = tmp_path / "head.ply"
    scan.write_bytes(b"ply\n")
    job = process_job(ProcessSettings(scan=str(scan), lods=" 2000, 500 ,", texture_size=256, maps=("normal", "albedo")))
    assert job == {
        "command": "process",
        "scan": str(scan),
        "out": str(tmp_path / "head_asset"),
        "lods": [2000, 500],
        "texture_size": 256,
        "udims": 1,
        "maps": ["albedo", "normal"],
        "delight": True,
        "inpaint": True,
    }
    # the texture model stages switch off one by one
    off = process_job(ProcessSettings(scan=str(scan), delight=False))
    assert (off["delight"], off["inpaint"]) == (False, True)
    assert process_job(ProcessSettings(scan=str(scan), inpaint=False))["inpaint"] is False
    # the preferences' default folder, a subject, a built-in template with landmarks
    landmarks = tmp_path / "lm.json"
    landmarks.write_text("{}")
    job = process_job(
        ProcessSettings(
            scan=str(scan),
            default_out_root=str(tmp_path / "assets"),
            template="anny-head",
            landmarks=str(landmarks),
            subject="actor01",
        )
    )
    assert job["out"] == str(tmp_path / "assets" / "head") and job["template"] == "anny-head"
    assert job["landmarks"] == str(landmarks) and job["subject"] == "actor01"
    # landmarks without a template stay out of the job; a template path is made absolute
    assert "landmarks" not in process_job(ProcessSettings(scan=str(scan), landmarks=str(landmarks)))
    monkeypatch.chdir(tmp_path)
    assert process_job(ProcessSettings(scan="head.ply", template="t/head.obj"))["template"] == str(
        tmp_path / "t/head.obj"
    )


def test_process_job_is_one_the_core_accepts(tmp_path: Path) -> None:
    from lifecast.pipeline.options import check_options
    from lifecast.worker.jobs import load_job, process_options

    scan = tmp_path / "head.ply"
    scan.write_bytes(b"ply\n")
    job = process_job(ProcessSettings(scan=str(scan), out=str(tmp_path / "out"), lods="3000", udims=2, subject="a"))
    parsed = load_job(json.dumps(job))
    options = process_options({k: v for k, v in parsed.items() if k != "command"})
    assert options.lods == (3000,) and options.udims == 2 and options.out_dir == tmp_path / "out"
    assert options.maps == ("albedo", "normal", "displacement") and options.subject == "a"
    assert options.delight and options.inpaint and {"delight", "inpaint"} <= set(options.stage_names())
    for delight, inpaint in ((False, True), (True, False), (False, False)):
        job = process_job(ProcessSettings(scan=str(scan), delight=delight, inpaint=inpaint, maps=("albedo", "holes")))
        options = process_options({k: v for k, v in load_job(json.dumps(job)).items() if k != "command"})
        check_options(options)
        assert (options.delight, options.inpaint) == (delight, inpaint) and options.maps == ("albedo", "holes")
        on = [name for name, flag in (("delight", delight), ("inpaint", inpaint)) if flag]
        assert [name for name in options.stage_names() if name in ("delight", "inpaint")] == on


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"scan": ""}, "pick a scan"),
        ({"scan": "/no/such/scan.ply"}, "does not exist"),
        ({"lods": "2000, lots"}, "whole numbers"),
        ({"lods": " , "}, "at least one LOD"),
        ({"lods": "2"}, "at least 4 triangles"),
        ({"texture_size": 300}, "texture size must be one of"),
        ({"udims": 0}, "at least 1"),
        ({"maps": ("albedo", "sheen")}, "unknown map(s) sheen"),
        ({"template": "anny-head", "landmarks": "/no/lm.json"}, "landmarks file does not exist"),
    ],
)
def test_process_job_says_what_to_fix(tmp_path: Path, changes: dict[str, Any], message: str) -> None:
    scan = tmp_path / "head.ply"
    scan.write_bytes(b"ply\n")
    values: dict[str, Any] = {"scan": str(scan), **changes}
    with pytest.raises(JobError, match=message.replace("(", r"\(").replace(")", r"\)")):
        process_job(ProcessSettings(**values))


def test_lods_and_default_folders() -> None:
    assert parse_lods((100_000, 5000)) == [100_000, 5000] and parse_lods("25_000") == [25_000]
    assert default_out_dir("/s/head.ply") == "/s/head_asset"
    assert default_out_dir("/s/head.ply", "/assets") == "/assets/head"


def test_worker_python_from_preference_or_environment(tmp_path: Path) -> None:
    assert resolve_worker_python(sys.executable, {}) == sys.executable
    assert resolve_worker_python("", {"LIFECAST_WORKER_PYTHON": sys.executable}) == sys.executable
    with pytest.raises(JobError, match=r"Preferences > Add-ons > lifecast .*LIFECAST_WORKER_PYTHON"):
        resolve_worker_python("  ", {})
    not_executable = tmp_path / "python"
    not_executable.write_text("")
    with pytest.raises(JobError, match="not an executable"):
        resolve_worker_python(str(not_executable), {})


# --------------------------------------------------------------------------- landmarks


def test_landmarks_file_is_written_whole_and_merged(tmp_path: Path) -> None:
    path = tmp_path / "asset" / "landmarks.json"
    set_landmark(path, " nose_tip ", 1234, (1.0, 2.5, -3.0))
    set_landmark(path, "chin", 7, [0.1, 0.2, 0.3])
    set_landmark(path, "nose_tip", 99, (4.0, 5.0, 6.0))  # replaces, keeps the others
    assert json.loads(path.read_text()) == {
        "nose_tip": {"vertex": 99, "position": [4.0, 5.0, 6.0]},
        "chin": {"vertex": 7, "position": [0.1, 0.2, 0.3]},
    }
    assert [p.name for p in path.parent.iterdir()] == ["landmarks.json"]  # no temporary file left
    assert list(remove_landmark(path, "chin")) == ["nose_tip"] and list(read_landmarks(path)) == ["nose_tip"]
    assert read_landmarks(tmp_path / "missing.json") == {}
    with pytest.raises(LandmarkError, match="name"):
        set_landmark(path, "  ", 1, (0, 0, 0))
    with pytest.raises(LandmarkError, match="negative"):
        set_landmark(path, "a", -1, (0, 0, 0))
    with pytest.raises(LandmarkError, match="3 coordinates"):
        set_landmark(path, "a", 1, (0, 0))
    path.write_text("[1, 2]")
    with pytest.raises(LandmarkError, match="one JSON object"):
        read_landmarks(path)


# --------------------------------------------------------------------------- worker client


def test_worker_commands() -> None:
    assert worker_command("/v/bin/python") == ["/v/bin/python", "-m", "lifecast.worker"]
    assert qt_panel_command("/v/bin/python")[:3] == ["/v/bin/python", "-m", "lifecast_panel.standalone"]


def test_a_real_worker_refuses_a_bad_scan_readably(tmp_path: Path) -> None:
    bad = tmp_path / "not_a_scan.ply"
    bad.write_text("this is not a PLY file\n")
    job = {"command": "process", "scan": str(bad), "out": str(tmp_path / "out"), "lods": [500], "texture_size": 256}
    updates: list[str] = []
    state = (
        RunSession(job, sys.executable)
        .start()
        .run_to_end(timeout=120, on_change=lambda s: updates.append(s.status_line))
    )
    assert state.exit_code == 2 and state.error is not None
    assert state.error.headline.startswith("Cannot use this input: ") and "not_a_scan.ply" in state.error.headline
    assert state.stages["ingest"].status == "failed" and updates and not (tmp_path / "out" / "asset.usda").exists()


def test_a_worker_that_cannot_start_says_so() -> None:
    session = RunSession({"command": "inspect", "scan": "x"}, "/no/such/python").start()
    state = session.run_to_end(timeout=10)
    assert state.exit_code == 1 and state.error is not None
    assert "could not start the worker with '/no/such/python'" in state.error.headline


def _fake_worker(tmp_path: Path, body: str) -> str:
    """An executable that stands in for the worker Python and runs ``body`` (Python) instead of lifecast."""
    script = tmp_path / "fake_worker.py"
    script.write_text(body)
    launcher = tmp_path / "python"
    launcher.write_text(f'#!/bin/sh\nexec "{sys.executable}" "{script}"\n')
    launcher.chmod(launcher.stat().st_mode | stat.S_IXUSR)
    return str(launcher)


def test_cancel_kills_a_worker_that_ignores_sigterm(tmp_path: Path) -> None:
    python = _fake_worker(
        tmp_path,
        "import signal, sys, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "job = sys.stdin.readline()\n"
        'print(\'{"event":"run_start","time":1,"command":"process","stages":["clean"]}\', flush=True)\n'
        "time.sleep(60)\n",
    )
    client = WorkerClient(python, kill_after=0.5)
    client.start({"command": "process"})
    first = client.get(timeout=20)
    assert first and isinstance(first[0], WorkerEvent) and first[0].type == "run_start"
    t0 = time.monotonic()
    client.cancel()
    assert client.wait(timeout=20)
    assert time.monotonic() - t0 < 10 and client.process is not None and client.process.returncode == -9
    assert client.poll() == [Finished(130, "")] and not client.is_running()


def test_a_chatty_stderr_never_blocks_the_worker(tmp_path: Path) -> None:
    python = _fake_worker(
        tmp_path,
        "import sys\n"
        "sys.stdin.readline()\n"
        "sys.stderr.write('x' * 2_000_000)\n"
        'print(\'{"event":"done","time":1,"ok":true,"outputs":{}}\', flush=True)\n',
    )
    client = WorkerClient(python)
    client.start({"command": "process"})
    assert client.wait(timeout=30)
    messages = client.poll()
    assert [m.type for m in messages if isinstance(m, WorkerEvent)] == ["done"]
    assert isinstance(messages[-1], Finished) and messages[-1].exit_code == 0 and len(messages[-1].stderr) == 2_000_000


# --------------------------------------------------------------------------- real Blender


def _require_blender() -> bool:
    return os.environ.get("LIFECAST_REQUIRE_BLENDER") == "1"


@pytest.fixture(scope="module")
def blender_run(tmp_path_factory: pytest.TempPathFactory, sample_scan: Path) -> dict[str, Any]:
    """Run blender_addon_script.py once in the Blender venv; its JSON result."""
    if not BLENDER_PYTHON.is_file():
        msg = f"the Blender venv is missing ({BLENDER_PYTHON}); `make test` builds it (bpy==5.0.1, Python 3.11)"
        if _require_blender():
            pytest.fail(msg + "; LIFECAST_REQUIRE_BLENDER=1 requires it", pytrace=False)
        pytest.skip(msg)
    tmp = tmp_path_factory.mktemp("blender")
    (tmp / "user").mkdir()
    config = {
        "source": str(EXTENSION),
        "worker_python": sys.executable,
        "scan": str(sample_scan),
        "tmp": str(tmp),
        "vertex": LANDMARK_VERTEX,
        "settings": SMALL,
    }
    (tmp / "config.json").write_text(json.dumps(config))
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["BLENDER_USER_RESOURCES"] = str(tmp / "user")  # never touch the user's Blender config
    t0 = time.perf_counter()
    proc = subprocess.run(
        [str(BLENDER_PYTHON), str(SCRIPT), str(tmp / "config.json")],
        capture_output=True,
        text=True,
        env=env,
        timeout=600,
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("LIFECAST_RESULT ")]
    assert proc.returncode == 0 and lines, f"Blender script failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    result: dict[str, Any] = json.loads(lines[-1].removeprefix("LIFECAST_RESULT "))
    assert "exception" not in result, result["exception"]
    result["wall_seconds"] = time.perf_counter() - t0
    result["tmp"] = str(tmp)
    return result


def test_blender_installs_and_enables_the_extension(blender_run: dict[str, Any]) -> None:
    install = blender_run["install"]
    assert blender_run["bpy_version"].startswith("5.0")
    assert install["validate_rc"] == 0 and install["build_rc"] == 0, install
    assert install["install"] == ["FINISHED"] and install["enabled"]
    assert install["module_file"].startswith(str(Path(blender_run["tmp"]) / "user"))
    assert all(blender_run["operators"].values()) and blender_run["panel_registered"]


def test_blender_processes_the_sample_scan_through_the_worker(blender_run: dict[str, Any]) -> None:
    process = blender_run["process"]
    run = process["run"]
    assert process["result"] == ["FINISHED"], process
    assert run["exit_code"] == 0 and run["error"] == "" and run["fraction"] == 1.0 and run["status"] == "done"
    # the job leaves delight and inpaint on (the sidebar's defaults): the worker runs the texture model stages too
    assert set(process["stages"]) == {"ingest", "clean", "lod", "uv", "texture", "delight", "inpaint", "export"}
    assert set(process["stages"].values()) == {"done"}
    assert "texture" in process["artifacts"] and "usd" in process["artifacts"]
    asset = Path(blender_run["tmp"]) / "head" / "asset.usda"
    assert run["asset"] == str(asset) and asset.is_file()
    # the sidebar after the run: every property and operator it names exists, 100 %, and the Import button
    drawn = process["drawn"]
    assert drawn["unknown"] == [], drawn["unknown"]
    assert {"lifecast.process", "lifecast.import_asset", "lifecast.add_landmark"} <= set(drawn["operators"])
    assert drawn["progress"] == ["100%  export"] and "done" in drawn["labels"]


def test_blender_imports_the_asset_with_materials_and_textures(blender_run: dict[str, Any]) -> None:
    imported = blender_run["import"]
    assert imported["result"] == ["FINISHED"]
    assert imported["meshes"] and all(m["vertices"] > 100 and m["faces"] > 100 for m in imported["meshes"].values())
    assert imported["materials"]
    for name, nodes in imported["materials"].items():
        images = {n["image"]: n for n in nodes if n["type"] == "ShaderNodeTexImage"}
        albedo = [n for img, n in images.items() if "albedo" in img]
        normal = [n for img, n in images.items() if "normal" in img]
        assert albedo and normal, f"{name}: {sorted(images)}"
        for node in images.values():
            assert node["exists"] and node["size"] == [256, 256], node
        assert albedo[0]["colorspace"] == "sRGB" and "ShaderNodeBsdfPrincipled" in albedo[0]["feeds"]
        assert normal[0]["colorspace"] == "Non-Color" and normal[0]["feeds"] == ["ShaderNodeNormalMap"]


def test_blender_landmark_from_the_selected_vertex(blender_run: dict[str, Any], sample_scan: Path) -> None:
    import trimesh

    lm = blender_run["landmarks"]
    assert lm["mode"] == "EDIT_MESH" and lm["one"]["result"] == ["FINISHED"]
    assert lm["two"]["result"] == ["RAISED"] and "select one vertex" in lm["two"]["error"]  # two selected: refused
    assert not lm["poll_outside_edit_mode"]
    assert lm["path"] == str(Path(blender_run["tmp"]) / "head" / "landmarks.json")
    scan = trimesh.load(sample_scan, process=False)  # the file's own vertex order and coordinates
    assert isinstance(scan, trimesh.Trimesh)
    assert lm["scan_vertices"] == len(scan.vertices)
    assert list(lm["json"]) == ["nose_tip"]
    entry = lm["json"]["nose_tip"]
    assert entry["vertex"] == LANDMARK_VERTEX
    # the position is the scan file's own coordinates (the importer's axes and scale live on the object)
    assert entry["position"] == pytest.approx(scan.vertices[LANDMARK_VERTEX].tolist(), abs=1e-4)


def test_blender_cancel_mid_stage_leaves_nothing_half_written(blender_run: dict[str, Any]) -> None:
    cancel = blender_run["cancel"]
    assert cancel["cancel_poll_while_running"] and not cancel["process_poll_while_running"]
    assert cancel["stage_when_cancelled"] == "clean" and cancel["cancel"]["result"] == ["FINISHED"]
    assert cancel["worker_exit"] == 130 and cancel["run"]["exit_code"] == 130
    assert cancel["run"]["error"].startswith("Cancelled: ") and not cancel["run"]["running"]
    assert not cancel["asset_exists"] and cancel["temp_files"] == []


def test_blender_shows_a_bad_input_readably(blender_run: dict[str, Any]) -> None:
    bad = blender_run["bad_input"]
    assert bad["result"] == ["RAISED"] and bad["run"]["exit_code"] == 2
    assert bad["run"]["error"].startswith("Cannot use this input: ") and "not_a_scan.ply" in bad["run"]["error"]
    # the sidebar shows the error in wrapped lines that read back as the whole message
    drawn = bad["drawn"]
    assert drawn["unknown"] == [] and "lifecast.import_asset" in drawn["operators"]  # the earlier asset stays
    assert " ".join(drawn["labels"]).find("Cannot use this input:") >= 0
    assert "not_a_scan.ply" in "".join(drawn["labels"]) and max(len(label) for label in drawn["labels"]) <= 80
    assert bad["missing"]["result"] == ["RAISED"] and "does not exist" in bad["missing"]["error"]


def test_blender_disabling_the_extension_unregisters_everything(blender_run: dict[str, Any]) -> None:
    gone = blender_run["unregister"]
    assert gone == {"enabled": False, "operators_left": [], "types_left": [], "scene_property_left": False}
    print(f"Blender add-on run: {blender_run['wall_seconds']:.1f} s wall, steps {blender_run['seconds']}")


# --------------------------------------------------------------------------- real Blender: the texture model stages

#: Stands in for ``lifecast worker`` (run by lifecast's venv python): records the job, announces the stages the job
#: switches on and publishes an asset whose LOD0 albedo files are copies of the test's fixtures (in ``fixtures/``
#: beside the output folder), named as the core names them.
FAKE_PUBLISHING_WORKER = r"""
import json, shutil, sys, time
from pathlib import Path

job = json.loads(sys.stdin.readline())
out = Path(job["out"])
fixtures = out.parent / "fixtures"
out.mkdir(parents=True, exist_ok=True)
with (fixtures / "jobs.jsonl").open("a") as log:
    log.write(json.dumps(job) + "\n")


def say(event, **data):
    print(json.dumps({"event": event, "time": time.time(), **data}), flush=True)


names = ("ingest", "clean", "lod", "uv", "texture", "delight", "inpaint", "export")
stages = [s for s in names if job.get(s) is not False]
say("run_start", command="process", stages=stages)
for stage in stages:
    say("stage_start", stage=stage, cached=False)
    say("stage_end", stage=stage, cached=False, seconds=0.01, summary={})
maps = out / "maps"
shutil.rmtree(maps, ignore_errors=True)  # the publish drops an earlier run's maps
maps.mkdir()
delight = job.get("delight", True)
for udim in range(1001, 1001 + int(job.get("udims", 1))):
    shutil.copyfile(fixtures / ("delit.png" if delight else "raw.png"), maps / f"head_lod0_albedo.{udim}.png")
    if delight:
        shutil.copyfile(fixtures / "raw.png", maps / f"head_lod0_albedo_raw.{udim}.png")
        shutil.copyfile(fixtures / "shading.exr", maps / f"head_lod0_shading.{udim}.exr")
shutil.copyfile(fixtures / "asset.usda", out / "asset.usda")
for path in sorted(maps.iterdir()):
    say("artifact", stage="export", path=str(path), kind="texture")
say("done", ok=True, seconds=0.1, outputs={"asset": str(out / "asset.usda")})
"""

#: One quad whose UsdPreviewSurface reads the albedo as the core's single-tile asset names it.
QUAD_ASSET = """#usda 1.0
(
    defaultPrim = "head"
    metersPerUnit = 0.01
    upAxis = "Y"
)

def Xform "head" (
    kind = "component"
)
{
    def Mesh "quad" (
        prepend apiSchemas = ["MaterialBindingAPI"]
    )
    {
        int[] faceVertexCounts = [4]
        int[] faceVertexIndices = [0, 1, 2, 3]
        point3f[] points = [(-1, -1, 0), (1, -1, 0), (1, 1, 0), (-1, 1, 0)]
        texCoord2f[] primvars:st = [(0, 0), (1, 0), (1, 1), (0, 1)] (
            interpolation = "vertex"
        )
        rel material:binding = </head/mtl/skin>
    }

    def Scope "mtl"
    {
        def Material "skin"
        {
            token outputs:surface.connect = </head/mtl/skin/surface.outputs:surface>

            def Shader "surface"
            {
                uniform token info:id = "UsdPreviewSurface"
                color3f inputs:diffuseColor.connect = </head/mtl/skin/albedo.outputs:rgb>
                token outputs:surface
            }

            def Shader "st"
            {
                uniform token info:id = "UsdPrimvarReader_float2"
                string inputs:varname = "st"
                float2 outputs:result
            }

            def Shader "albedo"
            {
                uniform token info:id = "UsdUVTexture"
                asset inputs:file = @./maps/head_lod0_albedo.1001.png@
                float2 inputs:st.connect = </head/mtl/skin/st.outputs:result>
                token inputs:sourceColorSpace = "sRGB"
                float3 outputs:rgb
            }
        }
    }
}
"""

#: Runs in Blender (``.venv-blender``): installs the extension with ``blender_addon_script``'s helpers, processes
#: through the fake worker with the texture stages on, compares the albedo in an Image Editor, imports the asset,
#: then processes with them off and with two UDIM tiles. Prints ``LIFECAST_TEXTURES {json}``.
TEXTURES_SCRIPT = r"""
import json, sys, traceback
from pathlib import Path

cfg = json.loads(Path(sys.argv[-1]).read_text())
sys.path.insert(0, cfg["hosts"])
import bpy
import blender_addon_script as base


def run_props():
    run = bpy.context.window_manager.lifecast_run
    keys = ("exit_code", "error", "asset", "albedo", "albedo_raw", "shading", "albedo_tiles", "albedo_image",
            "albedo_raw_image")
    return {key: getattr(run, key) for key in keys}


def image_info(name):
    image = bpy.data.images.get(name) if name else None
    if image is None:
        return None
    return {
        "name": image.name,
        "path": bpy.path.abspath(image.filepath),
        "source": image.source,
        "tiles": [tile.number for tile in image.tiles],
        "size": list(image.size),
        "pixel": [round(v, 3) for v in image.pixels[:4]],
        "preview": image.preview is not None,
    }


def process():
    called = base._call(bpy.ops.lifecast.process)
    ops = sys.modules[base.MODULE + ".operators"]
    run = bpy.context.window_manager.lifecast_run
    return {
        **called,
        "job": json.loads((Path(cfg["fixtures"]) / "jobs.jsonl").read_text().splitlines()[-1]),
        "stages": list(ops.active_run().state.stages),
        "run": run_props(),
        "albedo": image_info(run.albedo_image),
        "raw": image_info(run.albedo_raw_image),
        "drawn": base.draw_panel(),
        "compare_poll": bpy.ops.lifecast.compare_albedo.poll(),
    }


def image_editors():
    return {
        f"{ws.name}/{i}": area.spaces.active.image.name if area.spaces.active.image else None
        for ws in bpy.data.workspaces
        for screen in ws.screens
        for i, area in enumerate(screen.areas)
        if area.type == "IMAGE_EDITOR"
    }


def compare():
    screen = bpy.context.screen
    out = {"screen": screen.name, "editor_on_screen": any(a.type == "IMAGE_EDITOR" for a in screen.areas)}
    out["first"] = base._call(bpy.ops.lifecast.compare_albedo)
    out["editors_after_first"] = image_editors()
    out["workspace_asked"] = bpy.context.window.workspace.name
    # an Image Editor on the artist's own screen: the operator switches that one, each press the other image
    area = max(screen.areas, key=lambda a: a.width * a.height if a.type != "VIEW_3D" else 0)
    area.type = "IMAGE_EDITOR"
    shown = []
    with bpy.context.temp_override(window=bpy.context.window, screen=screen):
        for show in ("TOGGLE", "TOGGLE", "TOGGLE", "RAW", "RAW", "DELIT"):
            called = base._call(bpy.ops.lifecast.compare_albedo, show=show)
            image = area.spaces.active.image
            shown.append([called["result"][0], image.name if image is not None else None])
    out["shown"] = shown
    return out


def import_asset():
    called = base._call(bpy.ops.lifecast.import_asset)
    used = sorted(
        node.image.name
        for obj in bpy.data.objects if obj.type == "MESH"
        for mat in obj.data.materials if mat is not None
        for node in mat.node_tree.nodes if node.bl_idname == "ShaderNodeTexImage" and node.image is not None
    )
    return {**called, "material_images": used, "images": sorted(i.name for i in bpy.data.images)}


result = {}
try:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    result["install"] = base.build_and_install(cfg["source"], Path(cfg["tmp"]))
    bpy.context.preferences.addons[base.MODULE].preferences.worker_python = cfg["worker_python"]
    s = bpy.context.scene.lifecast
    s.scan, s.out_dir, s.lods, s.texture_size, s.maps = cfg["scan"], cfg["out"], "2000,500", "256", {"albedo"}
    result["defaults"] = {"delight": s.delight, "inpaint": s.inpaint}
    result["on"] = process()
    result["compare"] = compare()
    result["import"] = import_asset()
    s.delight, s.inpaint = False, False
    result["off"] = process()
    s.delight, s.inpaint, s.udims = True, False, 2
    result["udims"] = process()
except Exception:
    result["exception"] = traceback.format_exc()
print("LIFECAST_TEXTURES " + json.dumps(result, default=str), flush=True)
"""

RED, GREY = (200, 60, 40), (128, 128, 128)


def _png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """An 8-bit RGB PNG of one colour (no imaging library in this test's reach)."""

    def chunk(tag: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    rows = (b"\x00" + bytes(rgb) * width) * height
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def _blender_python_or_skip() -> Path:
    if not BLENDER_PYTHON.is_file():
        msg = f"the Blender venv is missing ({BLENDER_PYTHON}); `make test` builds it (bpy==5.0.1, Python 3.11)"
        if _require_blender():
            pytest.fail(msg + "; LIFECAST_REQUIRE_BLENDER=1 requires it", pytrace=False)
        pytest.skip(msg)
    return BLENDER_PYTHON


@pytest.fixture(scope="module")
def blender_textures(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The sidebar through runs of a fake worker that publishes raw / delit albedo files, in real Blender."""
    python = _blender_python_or_skip()
    tmp = tmp_path_factory.mktemp("blender_textures")
    (tmp / "user").mkdir()
    fixtures = tmp / "fixtures"
    fixtures.mkdir()
    (fixtures / "raw.png").write_bytes(_png(64, 48, RED))
    (fixtures / "delit.png").write_bytes(_png(64, 48, GREY))
    (fixtures / "shading.exr").write_bytes(b"v/1\x01 the shading: the sidebar names it, never reads it")
    (fixtures / "asset.usda").write_text(QUAD_ASSET)
    worker = _fake_worker(tmp, FAKE_PUBLISHING_WORKER)  # it finds the fixtures beside its output folder
    scan = tmp / "head.ply"
    scan.write_text("ply\n")  # the fake worker never reads it
    config = {
        "source": str(EXTENSION),
        "hosts": str(SCRIPT.parent),
        "worker_python": worker,
        "fixtures": str(fixtures),
        "scan": str(scan),
        "out": str(tmp / "head"),
        "tmp": str(tmp),
    }
    (tmp / "config.json").write_text(json.dumps(config))
    script = tmp / "textures_script.py"
    script.write_text(TEXTURES_SCRIPT)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["BLENDER_USER_RESOURCES"] = str(tmp / "user")
    proc = subprocess.run(
        [str(python), str(script), str(tmp / "config.json")], capture_output=True, text=True, env=env, timeout=300
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("LIFECAST_TEXTURES ")]
    assert proc.returncode == 0 and lines, f"Blender script failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    result: dict[str, Any] = json.loads(lines[-1].removeprefix("LIFECAST_TEXTURES "))
    assert "exception" not in result, result["exception"]
    assert result["install"]["enabled"], result["install"]
    result["maps"] = str(tmp / "head" / "maps")
    return result


def _close(pixel: list[float], rgb: tuple[int, int, int]) -> bool:
    return all(abs(p - c / 255) < 0.01 for p, c in zip(pixel, rgb, strict=False)) and pixel[3] == 1.0


def test_blender_sends_the_texture_switches_and_shows_the_stages_they_leave(blender_textures: dict[str, Any]) -> None:
    assert blender_textures["defaults"] == {"delight": True, "inpaint": True}
    on, off, udims = blender_textures["on"], blender_textures["off"], blender_textures["udims"]
    assert (on["job"]["delight"], on["job"]["inpaint"]) == (True, True) and on["job"]["maps"] == ["albedo"]
    assert on["stages"] == ["ingest", "clean", "lod", "uv", "texture", "delight", "inpaint", "export"]
    assert (off["job"]["delight"], off["job"]["inpaint"]) == (False, False)
    assert off["stages"] == ["ingest", "clean", "lod", "uv", "texture", "export"]
    assert (udims["job"]["delight"], udims["job"]["inpaint"], udims["job"]["udims"]) == (True, False, 2)
    assert "inpaint" not in udims["stages"] and "delight" in udims["stages"]
    for run in (on, off, udims):
        assert run["result"] == ["FINISHED"] and run["run"]["exit_code"] == 0 and run["run"]["error"] == ""


def test_blender_loads_the_raw_and_the_delit_albedo_after_a_run(blender_textures: dict[str, Any]) -> None:
    on, maps = blender_textures["on"], Path(blender_textures["maps"])
    run = on["run"]
    assert run["albedo"] == str(maps / "head_lod0_albedo.1001.png") and run["albedo_tiles"] == 1
    assert run["albedo_raw"] == str(maps / "head_lod0_albedo_raw.1001.png")
    assert run["shading"] == str(maps / "head_lod0_shading.1001.exr")
    albedo, raw = on["albedo"], on["raw"]
    assert albedo["path"] == run["albedo"] and raw["path"] == run["albedo_raw"] and albedo["name"] != raw["name"]
    assert albedo["size"] == raw["size"] == [64, 48] and albedo["source"] == raw["source"] == "FILE"
    assert _close(albedo["pixel"], GREY) and _close(raw["pixel"], RED)  # each is its own file
    assert albedo["preview"] and raw["preview"]
    # the sidebar: both images with a button each, the switch, and the shading file
    drawn = on["drawn"]
    assert drawn["unknown"] == [], drawn["unknown"]
    assert drawn["operators"].count("lifecast.compare_albedo") == 3 and on["compare_poll"]
    assert "Albedo LOD0" in drawn["labels"]
    assert "".join(drawn["labels"]).find(f"Shading: {run['shading']}") >= 0  # wrapped over several labels


def test_blender_compare_albedo_switches_an_image_editor(blender_textures: dict[str, Any]) -> None:
    compare = blender_textures["compare"]
    raw, albedo = blender_textures["on"]["raw"]["name"], blender_textures["on"]["albedo"]["name"]
    # no Image Editor on the Layout screen: the window goes to a workspace with one, which shows the raw bake
    assert compare["screen"] == "Layout" and not compare["editor_on_screen"]
    assert compare["first"]["result"] == ["FINISHED"]
    assert compare["editors_after_first"]["Shading/2"] == raw
    assert [name for name in compare["editors_after_first"].values() if name] == [raw]
    # an Image Editor on the artist's screen: each press switches it, RAW and DELIT pick one
    assert compare["shown"] == [
        ["FINISHED", raw],
        ["FINISHED", albedo],
        ["FINISHED", raw],
        ["FINISHED", raw],
        ["FINISHED", raw],
        ["FINISHED", albedo],
    ]


def test_blender_imported_material_uses_the_delit_image_the_sidebar_loaded(blender_textures: dict[str, Any]) -> None:
    imported, albedo = blender_textures["import"], blender_textures["on"]["albedo"]["name"]
    assert imported["result"] == ["FINISHED"] and imported["material_images"] == [albedo]
    assert [name for name in imported["images"] if name.startswith("head_lod0_albedo.")] == [albedo]  # no copy


def test_blender_without_the_delight_shows_the_albedo_alone(blender_textures: dict[str, Any]) -> None:
    off, on = blender_textures["off"], blender_textures["on"]
    run = off["run"]
    assert run["albedo"] == on["run"]["albedo"] and run["albedo_raw"] == run["shading"] == ""
    assert run["albedo_raw_image"] == "" and off["raw"] is None and not off["compare_poll"]
    # the same image, read again: it now holds the albedo as baked
    assert off["albedo"]["name"] == on["albedo"]["name"] and _close(off["albedo"]["pixel"], RED)
    drawn = off["drawn"]
    assert drawn["unknown"] == [] and "lifecast.compare_albedo" not in drawn["operators"]
    assert any(label.startswith("Not delit: Delight Albedo was off") for label in drawn["labels"])
    assert not any(label.startswith("Shading") for label in drawn["labels"])


def test_blender_loads_udim_albedo_as_tiled_images(blender_textures: dict[str, Any]) -> None:
    udims, maps = blender_textures["udims"], Path(blender_textures["maps"])
    run = udims["run"]
    assert run["albedo_tiles"] == 2 and run["albedo"] == str(maps / "head_lod0_albedo.1001.png")
    for image, stem in ((udims["albedo"], "head_lod0_albedo"), (udims["raw"], "head_lod0_albedo_raw")):
        assert image["source"] == "TILED" and image["tiles"] == [1001, 1002]
        assert image["path"] == str(maps / f"{stem}.<UDIM>.png")
    assert _close(udims["albedo"]["pixel"], GREY) and _close(udims["raw"]["pixel"], RED)
    assert "Albedo LOD0 (2 UDIM tiles, first shown)" in udims["drawn"]["labels"] and udims["compare_poll"]


# --------------------------------------------------------------------------- photo texturing: Photos and Cameras


def test_process_job_sends_photos_and_cameras_together(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lifecast.pipeline.options import check_options
    from lifecast.worker.jobs import load_job, process_options

    scan = tmp_path / "head.ply"
    scan.write_bytes(b"ply\n")
    (tmp_path / "photos").mkdir()
    (tmp_path / "sparse").mkdir()
    monkeypatch.chdir(tmp_path)
    job = process_job(ProcessSettings(scan=str(scan), photos="photos", cameras="sparse "))
    assert (job["photos"], job["cameras"]) == (str(tmp_path / "photos"), str(tmp_path / "sparse"))  # made absolute
    options = process_options({k: v for k, v in load_job(json.dumps(job)).items() if k != "command"})
    check_options(options)  # the worker accepts it
    assert options.stage_names()[4:6] == ("texture", "photos")
    assert "photos" not in process_job(ProcessSettings(scan=str(scan)))  # neither: the scan's colours
    cases = [
        ({"photos": "photos"}, "needs both Photos and Cameras: set Cameras, or clear Photos"),
        ({"cameras": "sparse"}, "set Photos, or clear Cameras"),
        ({"photos": "nowhere", "cameras": "sparse"}, "the photos folder does not exist"),
        ({"photos": "photos", "cameras": "sparse/cameras.xml"}, "the cameras file or folder does not exist"),
        ({"photos": "photos", "cameras": "sparse", "maps": ("normal",)}, "tick Albedo in Maps"),
    ]
    for changes, message in cases:
        with pytest.raises(JobError, match=message):
            process_job(ProcessSettings(scan=str(scan), **changes))  # type: ignore[arg-type]


#: Stands in for ``lifecast worker``: records the job beside its output folder and announces the stages the job has.
FAKE_RECORDING_WORKER = r"""
import json, sys, time
from pathlib import Path

job = json.loads(sys.stdin.readline())
out = Path(job["out"])
with (out.parent / "jobs.jsonl").open("a") as log:
    log.write(json.dumps(job) + "\n")


def say(event, **data):
    print(json.dumps({"event": event, "time": time.time(), **data}), flush=True)


names = ("ingest", "clean", "lod", "uv", "texture") + (("photos",) if job.get("photos") else ()) + ("export",)
say("run_start", command="process", stages=list(names))
for stage in names:
    say("stage_start", stage=stage, cached=False)
    say("stage_end", stage=stage, cached=False, seconds=0.01, summary={})
say("done", ok=True, seconds=0.1, outputs={})
"""

#: Runs in Blender: installs the extension, sets Photos and Cameras in the sidebar, processes through the recording
#: worker, draws the sidebar, then clears Cameras and processes again. Prints ``LIFECAST_PHOTOS {json}``.
PHOTOS_SCRIPT = r"""
import json, sys, traceback
from pathlib import Path

cfg = json.loads(Path(sys.argv[-1]).read_text())
sys.path.insert(0, cfg["hosts"])
import bpy
import blender_addon_script as base

result = {}
try:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    result["install"] = base.build_and_install(cfg["source"], Path(cfg["tmp"]))
    bpy.context.preferences.addons[base.MODULE].preferences.worker_python = cfg["worker_python"]
    s = bpy.context.scene.lifecast
    s.scan, s.out_dir, s.lods, s.texture_size = cfg["scan"], cfg["out"], "2000", "256"
    result["defaults"] = {"photos": s.photos, "cameras": s.cameras}
    result["subtypes"] = {name: s.bl_rna.properties[name].subtype for name in ("photos", "cameras")}
    s.photos, s.cameras = cfg["photos"], cfg["cameras"]
    result["process"] = base._call(bpy.ops.lifecast.process)
    ops = sys.modules[base.MODULE + ".operators"]
    result["stages"] = list(ops.active_run().state.stages)
    result["job"] = json.loads((Path(cfg["out"]).parent / "jobs.jsonl").read_text().splitlines()[-1])
    log = []
    panel = type("Proxy", (), {})()
    panel.layout = base.RecordingLayout(log)
    panel_cls = bpy.types.LIFECAST_PT_sidebar
    panel._draw_landmarks = panel_cls._draw_landmarks.__get__(panel)
    panel._draw_run = panel_cls._draw_run.__get__(panel)
    panel_cls.draw(panel, bpy.context)
    result["props"] = [entry[1] for entry in log if entry[0] == "prop"]
    result["unknown"] = [entry for entry in log if not entry[2]]
    s.cameras = ""
    result["half"] = base._call(bpy.ops.lifecast.process)
    result["jobs"] = len((Path(cfg["out"]).parent / "jobs.jsonl").read_text().splitlines())
except Exception:
    result["exception"] = traceback.format_exc()
print("LIFECAST_PHOTOS " + json.dumps(result, default=str), flush=True)
"""


@pytest.fixture(scope="module")
def blender_photos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The sidebar's Photos and Cameras through a run of a recording worker, in real Blender."""
    python = _blender_python_or_skip()
    tmp = tmp_path_factory.mktemp("blender_photos")
    (tmp / "user").mkdir()
    scan = tmp / "head.ply"
    scan.write_text("ply\n")  # the fake worker never reads it
    (tmp / "photos").mkdir()
    (tmp / "cams.xml").write_text("<document/>\n")
    config = {
        "source": str(EXTENSION),
        "hosts": str(SCRIPT.parent),
        "worker_python": _fake_worker(tmp, FAKE_RECORDING_WORKER),
        "scan": str(scan),
        "out": str(tmp / "head"),
        "photos": str(tmp / "photos"),
        "cameras": str(tmp / "cams.xml"),
        "tmp": str(tmp),
    }
    (tmp / "config.json").write_text(json.dumps(config))
    script = tmp / "photos_script.py"
    script.write_text(PHOTOS_SCRIPT)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["BLENDER_USER_RESOURCES"] = str(tmp / "user")
    proc = subprocess.run(
        [str(python), str(script), str(tmp / "config.json")], capture_output=True, text=True, env=env, timeout=300
    )
    lines = [line for line in proc.stdout.splitlines() if line.startswith("LIFECAST_PHOTOS ")]
    assert proc.returncode == 0 and lines, f"Blender script failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
    result: dict[str, Any] = json.loads(lines[-1].removeprefix("LIFECAST_PHOTOS "))
    assert "exception" not in result, result["exception"]
    assert result["install"]["enabled"], result["install"]
    result["config"] = config
    return result


def test_blender_sends_the_photos_and_cameras_and_shows_the_photos_stage(blender_photos: dict[str, Any]) -> None:
    cfg = blender_photos["config"]
    assert blender_photos["defaults"] == {"photos": "", "cameras": ""}
    assert blender_photos["subtypes"] == {"photos": "DIR_PATH", "cameras": "FILE_PATH"}
    assert blender_photos["process"]["result"] == ["FINISHED"], blender_photos["process"]
    job = blender_photos["job"]
    assert (job["photos"], job["cameras"]) == (cfg["photos"], cfg["cameras"])
    assert blender_photos["stages"] == ["ingest", "clean", "lod", "uv", "texture", "photos", "export"]
    assert {"photos", "cameras"} <= set(blender_photos["props"]) and blender_photos["unknown"] == []


def test_blender_refuses_photos_without_cameras_before_starting_a_worker(blender_photos: dict[str, Any]) -> None:
    half = blender_photos["half"]
    assert half["result"] == ["RAISED"] and "needs both Photos and Cameras: set Cameras" in half["error"]
    assert blender_photos["jobs"] == 1  # no second worker was started


# ---------------------------------------------------------------------------------------------------- corrections


def test_the_correction_job_names_the_asset_folder_the_fix_and_the_subject(tmp_path: Path) -> None:
    from lifecast_blender.jobs import correction_job, fix_save_path

    asset = tmp_path / "out" / "asset.usda"
    fix = tmp_path / "painted.png"
    fix.write_bytes(b"png")
    job = correction_job(str(asset), str(fix), " ana ")
    assert job == {"command": "correct", "asset": str(asset.parent), "fixed": str(fix), "subject": "ana"}
    assert correction_job(str(asset), str(tmp_path / "p.<UDIM>.png"), "ana", show=str(tmp_path))["show"] == str(
        tmp_path
    )
    for args, message in (
        (("", str(fix), "ana"), "process a scan first"),
        ((str(asset), str(fix), ""), "without a subject"),
        ((str(asset), "", "ana"), "paint the albedo"),
        ((str(asset), str(tmp_path / "gone.png"), "ana"), "does not exist"),
        ((str(asset), str(tmp_path / "p.psd"), "ana"), "not p.psd"),
    ):
        with pytest.raises(JobError, match=message):
            correction_job(*args)
    albedo = str(tmp_path / "out" / "maps" / "head_lod0_albedo.1001.png")
    assert fix_save_path(str(asset), albedo, False) == str(
        tmp_path / "out" / ".lifecast" / "fixes" / "head_lod0_albedo_fixed.png"
    )
    assert fix_save_path(str(asset), albedo.replace("1001", "<UDIM>"), True).endswith(
        "head_lod0_albedo_fixed.<UDIM>.png"
    )


def test_a_correct_run_reads_as_one_line() -> None:
    from lifecast_blender.run_state import correction_line

    state = RunState(command="correct")
    state.apply(WorkerEvent("run_start", {"command": "correct", "stages": ["correct"]}))
    report = {"correction_id": "c-1", "changed_texels": 4321, "changed_fraction": 0.066, "local": True}
    state.apply(WorkerEvent("done", {"ok": True, "outputs": {}, "report": report}))
    assert correction_line(state) == ""  # not finished yet
    state.finish(0)
    line = correction_line(state)
    assert line.startswith("correction c-1 recorded: 4,321 texels changed (6.60 %)") and "adapters need a show" in line
    failed = RunState(command="correct")
    failed.apply(WorkerEvent("error", {"message": "the fix's tile 1001 is 8x8", "exit_code": 2}))
    failed.finish(2)
    assert correction_line(failed) == "Cannot use this input: the fix's tile 1001 is 8x8"

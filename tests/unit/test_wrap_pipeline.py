"""``lifecast process --template``: option checks, the stage list, cache keys, the worker and farm plumbing."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from lifecast.errors import InputError
from lifecast.pipeline.options import STAGE_NAMES, WRAP_STAGE_NAMES, ProcessOptions, check_options
from lifecast.pipeline.runner import Runner
from lifecast.pipeline.scan_to_asset import build_stages
from lifecast.pipeline.stages.ingest import to_asset_space
from lifecast.worker.jobs import process_options
from tests.unit.test_wrap_core import QUAD_OBJ


@pytest.fixture
def opts(tmp_path: Path) -> ProcessOptions:
    scan = tmp_path / "scan.ply"
    scan.write_text("ply")
    (tmp_path / "t.obj").write_text(QUAD_OBJ)
    (tmp_path / "lm.json").write_text(json.dumps({"a": [0, 0, 0]}))
    return ProcessOptions(scan=scan, out_dir=tmp_path / "out", template=str(tmp_path / "t.obj"))


def test_check_options_refuses_what_a_wrap_cannot_do(opts: ProcessOptions, tmp_path: Path) -> None:
    check_options(opts)
    check_options(replace(opts, landmarks=tmp_path / "lm.json", stop_after="wrap"))
    check_options(replace(opts, stop_after="lod"))
    plain = replace(opts, template=None)
    cases = [
        (replace(plain, landmarks=tmp_path / "lm.json"), "give --template too"),
        (replace(plain, template_landmarks=tmp_path / "lm.json"), "need --template"),
        (replace(plain, stop_after="wrap"), "no wrap stage without --template"),
        (replace(opts, template=str(tmp_path / "missing.obj")), "template not found"),
        (replace(opts, template="anny-hands"), "template not found.*anny-head, anny-body"),
        (replace(opts, template_landmarks=tmp_path / "missing.json"), "template landmarks file not found"),
        (replace(opts, landmarks=tmp_path / "missing.json"), "landmarks file not found"),
        (replace(opts, udims=4), "--udims does not apply"),
        (replace(opts, keep_uvs=True), "--keep-uvs"),
        (replace(opts, stop_after="bake"), "unknown stage 'bake'"),
    ]
    for bad, match in cases:
        with pytest.raises(InputError, match=match):
            check_options(bad)
    (tmp_path / "bad.json").write_text(json.dumps({"a": [1, 2]}))
    with pytest.raises(InputError, match=r"\[x, y, z\]"):
        check_options(replace(opts, landmarks=tmp_path / "bad.json"))


def test_wrap_takes_the_place_of_lod(opts: ProcessOptions) -> None:
    assert opts.stage_names() == WRAP_STAGE_NAMES and replace(opts, template=None).stage_names() == STAGE_NAMES
    assert replace(opts, stop_after="lod").last_stage() == "wrap" == replace(opts, stop_after="wrap").last_stage()
    assert replace(opts, template=None, stop_after="lod").last_stage() == "lod"
    stages = build_stages(opts, "scanhash", "")
    assert [s.name for s in stages] == list(WRAP_STAGE_NAMES)
    by_name = {s.name: s for s in stages}
    assert by_name["uv"].deps == ("wrap",) and by_name["uv"].params["template_uvs"] is True
    assert "wrap" in by_name["export"].deps
    assert by_name["export"].params["provenance"]["template"]["name"] == "t"
    plain = {s.name: s for s in build_stages(replace(opts, template=None), "scanhash", "")}
    assert "template_uvs" not in plain["uv"].params, "scans without a template keep their cache keys"


def _keys(opts: ProcessOptions, tmp_path: Path) -> dict[str, str]:
    runner = Runner(tmp_path / "cache")
    out = {}
    for stage in build_stages(opts, "scanhash", ""):
        out[stage.name] = runner.keys[stage.name] = runner.key_of(stage)
    return out


def test_cache_keys_follow_the_template_and_landmark_contents(opts: ProcessOptions, tmp_path: Path) -> None:
    with_lm = replace(opts, landmarks=tmp_path / "lm.json")
    first = _keys(with_lm, tmp_path)
    (tmp_path / "moved.json").write_text((tmp_path / "lm.json").read_text())
    moved = _keys(replace(with_lm, landmarks=tmp_path / "moved.json"), tmp_path)
    # Content, not path, decides the work; only the provenance the export writes names the file.
    assert {k: v for k, v in moved.items() if k != "export"} == {k: v for k, v in first.items() if k != "export"}
    (tmp_path / "lm.json").write_text(json.dumps({"a": [0, 0, 1]}))
    changed = _keys(with_lm, tmp_path)
    assert changed["ingest"] == first["ingest"] and changed["clean"] == first["clean"]
    assert all(changed[s] != first[s] for s in ("wrap", "uv", "texture", "export"))
    (tmp_path / "t.obj").write_text(QUAD_OBJ.replace("v 2 0 0", "v 2 0 0.5"))
    assert _keys(with_lm, tmp_path)["wrap"] != changed["wrap"], "a changed template reruns the wrap"
    assert _keys(replace(with_lm, device="cuda"), tmp_path)["wrap"] != changed["wrap"]


def test_points_go_to_asset_space_like_the_scan() -> None:
    p = np.array([[10.0, 20.0, 30.0]])
    np.testing.assert_allclose(to_asset_space(p, 0.1, "z"), [[1.0, 3.0, -2.0]])
    np.testing.assert_allclose(to_asset_space(p, 0.1, "y"), [[1.0, 2.0, 3.0]])


def test_worker_process_job_takes_the_template_fields() -> None:
    opts = process_options(
        {"scan": "a.ply", "out": "o", "template": "anny-head", "landmarks": "/abs/lm.json", "template_landmarks": None}
    )
    assert opts.template == "anny-head" and opts.landmarks == Path("/abs/lm.json") and opts.template_landmarks is None


def test_template_info_job_lists_the_landmarks_in_order(tmp_path: Path) -> None:
    from lifecast.worker.events import Event
    from lifecast.worker.jobs import load_job, run_job

    (tmp_path / "t.obj").write_text(QUAD_OBJ)
    (tmp_path / "t.json").write_text(json.dumps({"landmarks": {"zeta": 0, "alpha": 4}, "exclude": [1]}))
    events: list[Event] = []

    class Sink:
        def emit(self, event: Event) -> None:
            events.append(event)

    job = load_job(
        json.dumps(
            {"command": "template", "template": str(tmp_path / "t.obj"), "template_landmarks": str(tmp_path / "t.json")}
        )
    )
    assert run_job(job, Sink()) == 0  # type: ignore[arg-type]
    done = events[-1]
    assert done.type == "done" and done.data["ok"] is True
    report = done.data["report"]
    assert report["landmarks"] == ["zeta", "alpha"] and report["vertices"] == 5 and report["faces"] == 2
    assert report["has_uvs"] is True and report["excluded_vertices"] == 1 and report["shape_model"] is None
    with pytest.raises(InputError, match="unknown template option"):
        run_job({"command": "template", "template": "anny-head", "scan": "x"}, Sink())  # type: ignore[arg-type]
    with pytest.raises(InputError, match="needs 'template'"):
        run_job({"command": "template"}, Sink())  # type: ignore[arg-type]


def test_farm_manifest_passes_the_template_options(tmp_path: Path) -> None:
    from lifecast.farm.manifest import manifest_from_dict

    manifest = manifest_from_dict(
        {
            "defaults": {"template": "anny-head", "texture_size": 1024},
            "scans": [
                {"scan": "a.ply", "landmarks": "lm/a.json"},
                {"scan": "b.ply", "template": "t/head.obj", "template_landmarks": "t/head.json"},
            ],
        },
        tmp_path / "m.toml",
    )
    a, b = manifest.scans
    assert a.options["template"] == "anny-head", "a built-in name is not a path"
    assert a.options["landmarks"] == str((tmp_path / "lm" / "a.json").resolve())
    assert b.options["template"] == str((tmp_path / "t" / "head.obj").resolve())
    args = a.process_args()
    assert args[args.index("--template") + 1] == "anny-head" and "--landmarks" in args

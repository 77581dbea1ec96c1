"""Publishing: every file via temp + rename, ``asset.usda`` last, a QA report of plain JSON, stale maps dropped."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from lifecast.pipeline.publish import publish
from lifecast.worker.events import CollectingSink


def asset(root: Path, maps: tuple[str, ...]) -> Path:
    for rel in ("asset.usda", "geo/lod0.usdc", *(f"maps/{m}" for m in maps)):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(rel)
    return root


def test_files_land_with_asset_usda_last_and_events_say_what_each_is(tmp_path: Path) -> None:
    src = asset(tmp_path / "stage", ("head_albedo.png", "head_disp.exr"))
    sink = CollectingSink()
    outputs = publish(src, tmp_path / "out", {"holes": 0}, sink)
    artifacts = [(Path(e.data["path"]).name, e.data["kind"]) for e in sink.of_type("artifact")]
    assert artifacts[-2] == ("asset.usda", "usd") and artifacts[-1] == ("qa_report.json", "report")
    assert dict(artifacts) == {
        "lod0.usdc": "usd",
        "head_albedo.png": "texture",
        "head_disp.exr": "texture",
        "asset.usda": "usd",
        "qa_report.json": "report",
    }
    assert (tmp_path / "out" / "geo" / "lod0.usdc").read_text() == "geo/lod0.usdc"
    assert set(outputs) == {
        "asset.usda",
        "geo/lod0.usdc",
        "maps/head_albedo.png",
        "maps/head_disp.exr",
        "qa_report.json",
    }


def test_the_qa_report_holds_numpy_arrays_and_scalars_as_json(tmp_path: Path) -> None:
    qa = {"texel_density": [np.float32(10.5)], "bounds": np.array([[0.0, 1.0], [2.0, 3.0]]), "n": np.int64(3)}
    publish(asset(tmp_path / "stage", ()), tmp_path / "out", qa, CollectingSink())
    back = json.loads((tmp_path / "out" / "qa_report.json").read_text())
    assert back == {"texel_density": [10.5], "bounds": [[0.0, 1.0], [2.0, 3.0]], "n": 3}


def test_maps_an_earlier_run_left_are_removed_but_temp_files_are_not(tmp_path: Path) -> None:
    out = tmp_path / "out"
    publish(asset(tmp_path / "first", ("a_lod0.png", "a_lod1.png")), out, {}, CollectingSink())
    (out / "maps" / ".a_lod0.png.tmp123").write_text("another writer, mid-rename")
    publish(asset(tmp_path / "second", ("a_lod0.png",)), out, {}, CollectingSink())
    assert sorted(p.name for p in (out / "maps").iterdir()) == [".a_lod0.png.tmp123", "a_lod0.png"]

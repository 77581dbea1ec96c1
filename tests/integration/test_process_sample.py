"""The main job on the bundled sample scan, through the real CLI, as a panel or farm task runs it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lifecast.ml.weights import shipped_weights_sha256
from lifecast.pipeline.hashing import hash_file
from lifecast.pipeline.options import STAGE_NAMES
from lifecast.usd import validate_asset
from lifecast.worker.events import parse_event
from tests.cli_helpers import events_of, run_cli
from tests.report_checks import check_references, decode_png

FirstRun = tuple[Path, subprocess.CompletedProcess[str]]
SMALL = ("--lods", "20000,5000,1000", "--texture-size", "512")


@pytest.fixture(scope="module")
def first_run(tmp_path_factory: pytest.TempPathFactory, sample_scan: Path) -> FirstRun:
    out = tmp_path_factory.mktemp("sample") / "head"
    proc = run_cli("process", sample_scan, "-o", out, "--json", "--subject", "anny-sample", *SMALL)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out, proc


def test_json_stream_walks_every_stage_in_order(first_run: FirstRun) -> None:
    _, proc = first_run
    events = events_of(proc.stdout)
    assert events[0].type == "run_start"
    starts = [e.data["stage"] for e in events if e.type == "stage_start"]
    assert tuple(starts) == STAGE_NAMES
    assert all(not e.data["cached"] for e in events if e.type == "stage_end")
    assert any(e.type == "progress" for e in events)
    artifacts = {Path(e.data["path"]).name for e in events if e.type == "artifact"}
    assert {"asset.usda", "geo.usdc", "mtl.usdc", "qa_report.json"} <= artifacts
    assert events[-1].type == "done" and events[-1].data["ok"] is True
    # Every stdout line is an event: nothing else pollutes the protocol stream.
    assert all(parse_event(line) is not None for line in proc.stdout.splitlines() if line.strip())


def test_the_asset_is_valid_and_says_where_it_came_from(first_run: FirstRun, sample_scan: Path) -> None:
    out, _ = first_run
    asset = out / "asset.usda"
    assert validate_asset(asset) == []
    from pxr import Usd, UsdGeom

    stage = Usd.Stage.Open(str(asset))
    root = stage.GetDefaultPrim()
    assert Usd.ModelAPI(root).GetKind() == "component"
    assert UsdGeom.GetStageUpAxis(stage) == "Y"
    assert UsdGeom.GetStageMetersPerUnit(stage) == pytest.approx(0.01)
    flat = json.dumps(root.GetCustomData(), default=str)
    assert "anny-sample" in flat, "subject id in provenance"
    assert hash_file(sample_scan) in flat, "input hash in provenance"
    assert '"texture_size": 512' in flat, "stage parameters in provenance"
    lod = root.GetVariantSets().GetVariantSet("lod")
    assert lod.GetVariantNames() == ["lod0", "lod1", "lod2"]
    maps = sorted(p.name for p in (out / "maps").iterdir())
    expected = [
        f"head_lod{i}_{channel}.1001.{ext}"
        for i in range(3)
        for channel, ext in (
            ("albedo", "png"),
            ("albedo_raw", "png"),
            ("displacement", "exr"),
            ("holes", "png"),
            ("mask", "png"),
            ("normal", "png"),
            ("shading", "exr"),
        )
    ]
    assert maps == sorted(expected)
    assert f'"weights_sha256": "{shipped_weights_sha256()}"' in flat, "the delight weights in provenance"


def test_the_sample_is_cleaned_to_one_head_in_centimetres(first_run: FirstRun) -> None:
    out, _ = first_run
    qa = json.loads((out / "qa_report.json").read_text())
    assert qa["before"]["faces"] > qa["after"]["faces"] > 0
    comps_after = qa["after"]["components"]
    comps_after = comps_after["count"] if isinstance(comps_after, dict) else comps_after
    assert comps_after == 1, "floaters and the turntable must be gone"
    assert qa.get("ground_plane"), "the sample's turntable disc must be found and removed"
    size = qa["after"]["bbox"]["size"]
    assert 10 < max(size) < 40, f"a head is 10-40 cm across, got {size}: the mm scan must arrive in cm"


def test_the_qa_page_shows_every_map_with_its_coverage_and_the_views(first_run: FirstRun) -> None:
    import cv2

    out, proc = first_run
    page = check_references(out / "qa_report.html")
    artifacts = {Path(e.data["path"]).name: e.data["kind"] for e in events_of(proc.stdout) if e.type == "artifact"}
    assert artifacts["qa_report.html"] == "report"
    maps = sorted(p.name for p in (out / "maps").iterdir())
    assert sorted(Path(m["data-file"]).name for m in page.maps) == maps, "one entry per baked map per LOD"
    for m in page.maps:
        mask = cv2.imread(str(out / "maps" / f"head_lod{m['data-lod']}_mask.{m['data-udim']}.png"), 0)
        measured = float((mask > 127).mean())
        assert float(m["data-coverage"]) == pytest.approx(measured, abs=1e-6)
        assert f"coverage {measured:.1%}" in page.text
    assert 0.3 < measured < 0.95
    qa = json.loads((out / "qa_report.json").read_text())
    assert page.by_id["status"] and len(qa["holes_left"]) > 0, "the sample keeps its neck open: status review"
    assert "review" in page.text
    assert sum(1 for i in page.images if i["alt"].startswith("LOD0 ")) == 3, "front, three-quarter, profile"
    holes = [i for i in page.images if i["alt"].startswith("hole ")]
    assert len(holes) == min(len(qa["holes_left"]), 4)
    hero = decode_png(page.by_id["hero"]["src"]).reshape(-1, 3).astype(int)
    skin = hero[(hero.max(axis=1) - hero.min(axis=1)) > 25]  # coloured pixels (the background is neutral)
    assert len(skin) > 0.1 * len(hero), "the albedo shows on the front view"


def test_rerun_is_all_cache_hits(first_run: FirstRun, sample_scan: Path) -> None:
    out, _ = first_run
    before = (out / "asset.usda").stat().st_mtime_ns
    layer = (out / "asset.usda").read_bytes()
    proc = run_cli("process", sample_scan, "-o", out, "--json", "--subject", "anny-sample", *SMALL)
    assert proc.returncode == 0, proc.stderr[-2000:]
    ends = {e.data["stage"]: e.data["cached"] for e in events_of(proc.stdout) if e.type == "stage_end"}
    assert ends == dict.fromkeys(STAGE_NAMES, True)
    assert validate_asset(out / "asset.usda") == []
    # Published again (temp + rename: a newer file) from the cached export, so byte for byte the same asset.
    assert (out / "asset.usda").stat().st_mtime_ns > before
    assert (out / "asset.usda").read_bytes() == layer


def test_changing_texture_size_reruns_only_the_texture_stages(first_run: FirstRun, sample_scan: Path) -> None:
    out, _ = first_run
    args = ("--lods", "20000,5000,1000", "--texture-size", "256")
    proc = run_cli("process", sample_scan, "-o", out, "--json", "--subject", "anny-sample", *args)
    assert proc.returncode == 0, proc.stderr[-2000:]
    ends = {e.data["stage"]: e.data["cached"] for e in events_of(proc.stdout) if e.type == "stage_end"}
    cached = {"ingest": True, "clean": True, "lod": True}
    assert ends == cached | {s: False for s in ("uv", "texture", "delight", "inpaint", "export")}
    from PIL import Image

    assert Image.open(out / "maps" / "head_lod0_albedo.1001.png").size == (256, 256)


def test_acescg_albedo_reruns_texture_and_export_into_an_exr(first_run: FirstRun, sample_scan: Path) -> None:
    out, _ = first_run
    target = out.parent / "head_aces"
    for name in (".lifecast",):  # share the first run's cache: only texture and export differ
        src = out / name
        if src.is_dir():
            import shutil

            shutil.copytree(src, target / name)
    proc = run_cli(
        "process", sample_scan, "-o", target, "--json", "--subject", "anny-sample", *SMALL,
        "--albedo-colorspace", "acescg",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    ends = {e.data["stage"]: e.data["cached"] for e in events_of(proc.stdout) if e.type == "stage_end"}
    cached = {"ingest": True, "clean": True, "lod": True, "uv": True}
    assert ends == cached | {s: False for s in ("texture", "delight", "inpaint", "export")}
    exr = target / "maps" / "head_aces_lod0_albedo.1001.exr"
    assert exr.is_file() and not (target / "maps" / "head_aces_lod0_albedo.1001.png").exists()
    import OpenEXR

    with OpenEXR.File(str(exr)) as f:
        assert f.header()["colorInteropID"] == "lin_ap1_scene"
    from pxr import Usd, UsdShade

    stage = Usd.Stage.Open(str(target / "asset.usda"))
    shaders = [UsdShade.Shader(p) for p in stage.Traverse() if p.GetName() == "albedoTexture"]
    assert shaders and all(s.GetInput("file").GetAttr().GetColorSpace() == "lin_ap1_scene" for s in shaders)
    assert validate_asset(target / "asset.usda") == []


def test_cancel_mid_stage_leaves_nothing_half_written(tmp_path: Path, sample_scan: Path) -> None:
    out = tmp_path / "cancelled"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "lifecast.cli", "process", str(sample_scan), "-o", str(out), "--json", *SMALL],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 300
    for line in proc.stdout:
        ev = parse_event(line)
        if ev is not None and ev.type == "stage_start" and ev.data["stage"] == "uv":
            break
        assert time.monotonic() < deadline
    proc.send_signal(signal.SIGTERM)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr[-3000:]
    assert not (out / "asset.usda").exists()
    temps = [p for p in out.rglob("*") if ".tmp" in p.name] if out.exists() else []
    assert temps == [], temps
    # Finished stages stay cached: the retry starts where the cancel stopped.
    retry = run_cli("process", sample_scan, "-o", out, "--json", *SMALL)
    assert retry.returncode == 0, retry.stderr[-2000:]
    cached = {e.data["stage"]: e.data["cached"] for e in events_of(retry.stdout) if e.type == "stage_end"}
    assert cached["ingest"] and cached["clean"] and cached["lod"]
    assert validate_asset(out / "asset.usda") == []


def test_stop_after_caches_the_first_stages_and_publishes_nothing(tmp_path: Path, sample_scan: Path) -> None:
    out = tmp_path / "farm"
    proc = run_cli("process", sample_scan, "-o", out, "--json", "--stop-after", "lod", *SMALL)
    assert proc.returncode == 0, proc.stderr[-2000:]
    events = events_of(proc.stdout)
    assert [e.data["stage"] for e in events if e.type == "stage_end"] == ["ingest", "clean", "lod"]
    assert events[-1].data == {"ok": True, "seconds": events[-1].data["seconds"], "outputs": {}}
    assert not (out / "asset.usda").exists()
    rest = run_cli("process", sample_scan, "-o", out, "--json", *SMALL)
    assert rest.returncode == 0, rest.stderr[-2000:]
    cached = {e.data["stage"]: e.data["cached"] for e in events_of(rest.stdout) if e.type == "stage_end"}
    done = {"ingest": True, "clean": True, "lod": True}
    assert cached == done | {s: False for s in ("uv", "texture", "delight", "inpaint", "export")}

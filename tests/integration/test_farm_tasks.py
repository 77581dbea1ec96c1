"""Farm tasks are idempotent: killed and retried, or raced, they publish what a clean run does.

Outputs are compared by content hash (:func:`lifecast.farm.outputs.hash_outputs`:
asset.usda, geo.usdc, mtl.usdc, payload.usda, maps/*.png, qa_report.json). The
asset's name comes from its output folder, so every run here publishes into a
folder called ``head`` (under different parents, with different caches).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from lifecast.farm.manifest import ScanTask, load_manifest
from lifecast.farm.outputs import hash_outputs, verify_outputs
from lifecast.farm.tasks import write_task_table
from lifecast.worker.events import parse_event
from tests.synthetic_scans import write_coloured_ply

TINY = {"lods": [500, 100], "texture_size": 256}


@pytest.fixture(scope="module")
def table(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("farm_tasks")
    scan = write_coloured_ply(root / "sphere.ply")
    (root / "m.toml").write_text(
        f"[defaults]\nlods = {TINY['lods']}\ntexture_size = 256\n[[scans]]\nscan = 'sphere.ply'\nout = 'head'\n"
    )
    manifest = load_manifest(root / "m.toml")
    assert manifest.scans == [ScanTask(scan.resolve(), "head", dict(TINY))]
    return write_task_table(manifest, root / "tasks.json")


def task_argv(table: Path, root: Path) -> list[str]:
    task = ["farm", "task", str(table), "--index", "0", "--out-root", str(root), "--cache", str(root / "cache")]
    return [sys.executable, "-m", "lifecast.cli", *task]


def run_task(table: Path, root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run(task_argv(table, root), capture_output=True, text=True, timeout=300, env=env)


@pytest.fixture(scope="module")
def clean_hashes(table: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Two clean runs in separate folders and caches must agree byte for byte before anything else is compared."""
    runs = []
    for _ in range(2):
        root = tmp_path_factory.mktemp("clean")
        proc = run_task(table, root)
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert verify_outputs(root / "head") == []
        runs.append(hash_outputs(root / "head"))
    assert runs[0] == runs[1], "two clean runs differ: the outputs are not deterministic"
    assert {"asset.usda", "geo.usdc", "mtl.usdc", "payload.usda", "qa_report.json"} <= set(runs[0])
    assert any(k.startswith("maps/") and k.endswith(".png") for k in runs[0])
    return runs[0]


def _kill_when(table: Path, root: Path, event_type: str, stage: str) -> list[str]:
    """Start the task, SIGKILL it at the first ``event_type`` event of ``stage``; return the events seen."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        task_argv(table, root), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env
    )
    assert proc.stdout is not None
    seen = []
    for line in proc.stdout:
        event = parse_event(line)
        if event is None:
            continue
        seen.append(event.type)
        if event.type == event_type and event.data.get("stage") == stage:
            os.kill(proc.pid, signal.SIGKILL)
            break
    proc.stdout.close()
    assert proc.wait(timeout=60) == -signal.SIGKILL, f"the task finished before its {stage} {event_type}: {seen}"
    return seen


@pytest.mark.parametrize(
    ("event_type", "stage"),
    [("stage_start", "texture"), ("progress", "uv"), ("artifact", "export")],
    ids=["at-texture-start", "mid-uv", "mid-publish"],
)
def test_killed_then_retried_matches_a_clean_run(
    table: Path, clean_hashes: dict[str, str], tmp_path: Path, event_type: str, stage: str
) -> None:
    _kill_when(table, tmp_path, event_type, stage)
    if stage == "export":
        # Killed between two published files: some are there, asset.usda (renamed last) is not.
        assert not (tmp_path / "head" / "asset.usda").exists()
        assert not (tmp_path / "head" / ".lifecast" / "outputs.json").exists()
    retry = run_task(table, tmp_path)
    assert retry.returncode == 0, retry.stderr[-3000:]
    events = [e for e in map(parse_event, retry.stdout.splitlines()) if e is not None]
    cached = {e.data["stage"] for e in events if e.type == "stage_end" and e.data["cached"]}
    assert "ingest" in cached, "the retry reuses the stages the killed run finished"
    assert hash_outputs(tmp_path / "head") == clean_hashes
    assert verify_outputs(tmp_path / "head") == []
    manifest = json.loads((tmp_path / "head" / ".lifecast" / "outputs.json").read_text())
    assert manifest["files"] == clean_hashes


def test_two_workers_racing_on_one_task_publish_a_clean_runs_outputs(
    table: Path, clean_hashes: dict[str, str], tmp_path: Path
) -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    procs = [
        subprocess.Popen(task_argv(table, tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], [o[1][-2000:] for o in outs]
    # The lock serialises them: the second finds every stage in the shared cache.
    cached_runs = [
        all(e.data["cached"] for e in map(parse_event, o[0].splitlines()) if e is not None and e.type == "stage_end")
        for o in outs
    ]
    assert sorted(cached_runs) == [False, True]
    assert hash_outputs(tmp_path / "head") == clean_hashes
    assert verify_outputs(tmp_path / "head") == []
    leftovers = [p for p in (tmp_path / "head").rglob(".*tmp*")]
    assert leftovers == []

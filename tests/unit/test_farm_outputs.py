"""Output manifests (content hashes of a published asset) and the per-task lock."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from lifecast.farm.outputs import (
    hash_outputs,
    lock_path,
    manifest_path,
    task_lock,
    verify_outputs,
    write_outputs_manifest,
)


def _asset(root: Path) -> Path:
    (root / "maps").mkdir(parents=True)
    (root / "asset.usda").write_text("#usda 1.0\n")
    (root / "maps" / "a_lod0_albedo.1001.png").write_bytes(b"png bytes")
    (root / "maps" / ".a_lod0.x1.tmp.png").write_bytes(b"a temp file of a running publish")
    (root / ".lifecast" / "cache").mkdir(parents=True)
    (root / ".lifecast" / "cache" / "entry.json").write_text("{}")
    return root


def test_manifest_lists_published_files_only_and_verifies(tmp_path: Path) -> None:
    out = _asset(tmp_path / "a")
    write_outputs_manifest(out, {"scan": {"sha256": "abc"}})
    body = json.loads(manifest_path(out).read_text())
    assert sorted(body["files"]) == ["asset.usda", "maps/a_lod0_albedo.1001.png"]
    assert body["inputs"] == {"scan": {"sha256": "abc"}}
    assert verify_outputs(out) == []


def test_verify_reports_changed_missing_and_extra_files(tmp_path: Path) -> None:
    out = _asset(tmp_path / "a")
    write_outputs_manifest(out)
    (out / "asset.usda").write_text("#usda 1.0\n# edited\n")
    (out / "maps" / "a_lod0_albedo.1001.png").unlink()
    (out / "extra.usda").write_text("x")
    assert verify_outputs(out) == [
        "missing: maps/a_lod0_albedo.1001.png",
        "not in the manifest: extra.usda",
        "changed: asset.usda",
    ]
    assert "no outputs manifest" in verify_outputs(tmp_path / "empty")[0]


def test_same_bytes_give_the_same_manifest_wherever_they_are(tmp_path: Path) -> None:
    a, b = _asset(tmp_path / "a"), _asset(tmp_path / "b")
    assert hash_outputs(a) == hash_outputs(b)
    assert write_outputs_manifest(a).read_bytes() == write_outputs_manifest(b).read_bytes()


def test_the_lock_makes_a_second_task_wait(tmp_path: Path) -> None:
    out = tmp_path / "asset"
    order: list[str] = []
    held = threading.Event()

    def first() -> None:
        with task_lock(tmp_path / "locks", out):
            order.append("first in")
            held.set()
            time.sleep(0.3)
            order.append("first out")

    t = threading.Thread(target=first)
    t.start()
    held.wait(5)
    with task_lock(tmp_path / "locks", out):
        order.append("second in")
    t.join()
    assert order == ["first in", "first out", "second in"]
    assert lock_path(tmp_path / "locks", out) != lock_path(tmp_path / "locks", tmp_path / "other")


def test_a_killed_holder_leaves_no_stale_lock(tmp_path: Path) -> None:
    code = (
        "import sys, time; from pathlib import Path; from lifecast.farm.outputs import task_lock\n"
        "with task_lock(Path(sys.argv[1]), Path(sys.argv[2])):\n    print('held', flush=True); time.sleep(60)\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code, str(tmp_path / "locks"), str(tmp_path / "a")], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "held"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    t0 = time.perf_counter()
    with task_lock(tmp_path / "locks", tmp_path / "a"):
        pass
    assert time.perf_counter() - t0 < 2.0

"""`lifecast batch`: a corrupt scan fails alone and is reported; a rerun takes everything from the cache."""

from __future__ import annotations

import json
from pathlib import Path

from lifecast.farm.outputs import verify_outputs
from lifecast.pipeline.options import STAGE_NAMES
from tests.cli_helpers import events_of, run_cli
from tests.report_checks import check_references
from tests.synthetic_scans import write_coloured_ply


def test_one_corrupt_scan_fails_alone_and_a_rerun_is_all_cache(tmp_path: Path) -> None:
    write_coloured_ply(tmp_path / "a.ply", subdivisions=3)
    write_coloured_ply(tmp_path / "b.ply", subdivisions=2)
    good = (tmp_path / "a.ply").read_bytes()
    (tmp_path / "broken.ply").write_bytes(good[: len(good) // 3])  # truncated mid-data, as an interrupted copy is
    (tmp_path / "batch.yaml").write_text(
        "defaults: {lods: [300, 100], texture_size: 256}\n"
        "scans:\n  - {scan: a.ply}\n  - {scan: broken.ply}\n  - {scan: b.ply, out: bee, texture_size: 128}\n"
    )
    out = tmp_path / "assets"
    proc = run_cli("batch", tmp_path / "batch.yaml", "-o", out, "--jobs", "2", timeout=300)
    assert proc.returncode == 2, proc.stdout + proc.stderr  # only bad input failed: no retry
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("[")]
    assert len(lines) == 3, "one progress line per scan"
    report = json.loads((out / ".lifecast" / "batch_report.json").read_text())
    assert report["succeeded"] == ["a", "bee"] and report["failed"] == ["broken"]
    bad = report["results"][1]
    assert (bad["exit_code"], bad["status"], bad["retry"]) == (2, "bad_input", False)
    assert "broken.ply" in bad["message"] and "truncated" in bad["message"]
    for r in report["results"]:
        assert r["seconds"] > 0 and r["peak_rss_mib"] > 50
        assert Path(r["log"]).is_file()
    assert verify_outputs(out / "a") == [] and verify_outputs(out / "bee") == []
    assert not (out / "broken" / "asset.usda").exists()
    index = check_references(out / "index.html")  # every report linked, thumbnails decode
    assert sorted(set(index.links)) == ["a/qa_report.html", "bee/qa_report.html"]
    for name in ("a", "bee"):
        check_references(out / name / "qa_report.html")
    assert sum(1 for i in index.images if i["alt"] in ("a", "bee")) == 2
    assert "bad_input" in index.text and bad["message"] in index.text

    again = run_cli("batch", tmp_path / "batch.yaml", "-o", out, "--json", timeout=300)
    events = events_of(again.stdout)
    assert [e.type for e in events] == ["log", "log", "log", "done"]
    rerun = events[-1].data["report"]
    cached = {r["out"]: r["stages_cached"] for r in rerun["results"]}
    stages = len(STAGE_NAMES)  # every stage of a job, the texture models included
    assert cached == {"a": stages, "broken": 0, "bee": stages}, "an unchanged scan is never processed twice"


def test_missing_scans_are_reported_at_once_and_the_rest_run(tmp_path: Path) -> None:
    """A manifest of 2,000 scans of which all but one are missing (an export that did not finish): each missing one
    is reported per scan, without a process (seconds, not the 2,000 task start-ups), and the present one runs."""
    write_coloured_ply(tmp_path / "here.ply", subdivisions=2)
    body = ["defaults: {lods: [300, 100], texture_size: 128}", "scans:", "  - {scan: here.ply}"]
    body += [f"  - {{scan: gone_{i:04d}.ply}}" for i in range(1999)]
    (tmp_path / "batch.yaml").write_text("\n".join(body) + "\n")
    out = tmp_path / "assets"
    proc = run_cli("batch", tmp_path / "batch.yaml", "-o", out, timeout=300)
    assert proc.returncode == 2, proc.stdout + proc.stderr
    report = json.loads((out / ".lifecast" / "batch_report.json").read_text())
    assert report["succeeded"] == ["here"] and len(report["failed"]) == 1999
    missing = report["results"][1:]
    assert {(r["exit_code"], r["status"], r["retry"]) for r in missing} == {(2, "bad_input", False)}
    assert all(r["message"].endswith(f"{r['scan']}: the scan file does not exist") for r in missing)
    assert report["results"][0]["seconds"] > 0 and all(r["seconds"] == 0 for r in missing)
    assert sorted(p.name for p in (out / ".lifecast" / "logs").iterdir()) == ["here.jsonl", "here.stderr.log"]
    assert verify_outputs(out / "here") == []
    assert sorted(set(check_references(out / "index.html").links)) == ["here/qa_report.html"]

"""The worker's ``correct`` job: the artist's corrected albedo recorded as ``lifecast correct submit`` records it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lifecast.errors import InputError
from lifecast.ml.texture_files import read_linear
from lifecast.worker.events import CollectingSink
from lifecast.worker.jobs import JOB_COMMANDS, load_job, run_job
from tests.unit.test_ml_corrections import _quiet, fix_of, make_asset, new_show, write_png

__all__ = ["_quiet"]  # the autouse fixture: no $LIFECAST_SHOW, one torch thread


def test_a_correct_job_records_the_fix_and_reports_its_id_and_changed_texels(tmp_path: Path) -> None:
    show = new_show(tmp_path)
    asset = show.subject_dir("ana") / "assets" / "head"
    write_png(tmp_path / "fix.png", fix_of(make_asset(asset)[1001]))
    job = load_job(f'{{"command": "correct", "asset": "{asset}", "fixed": "{tmp_path / "fix.png"}", "subject": "ana"}}')
    sink = CollectingSink()
    assert "correct" in JOB_COMMANDS and run_job(job, sink) == 0
    types = [e.type for e in sink.events]
    assert types[:2] == ["run_start", "stage_start"] and types[-2:] == ["stage_end", "done"]
    assert "artifact" in types and "warning" not in types  # stored in the show: no "adapters need a show" note
    report = sink.events[-1].data["report"]
    stored = show.subject_dir("ana") / "corrections" / report["correction_id"]
    assert Path(report["path"]) == stored and (stored / "correction.json").is_file() and report["local"] is False
    changed = read_linear(stored / "changed.1001.png")
    assert report["changed_texels"] == int(np.count_nonzero(changed[..., 0] > 0.5)) > 0
    assert sink.events[-1].data["outputs"] == {"correction": str(stored)}
    assert sink.events[-2].data["summary"]["correction_id"] == report["correction_id"]


def test_a_correct_job_without_a_show_warns_and_keeps_it_with_the_asset(tmp_path: Path) -> None:
    asset = tmp_path / "head"
    write_png(tmp_path / "fix.png", fix_of(make_asset(asset)[1001]))
    sink = CollectingSink()
    assert (
        run_job({"command": "correct", "asset": str(asset), "fixed": str(tmp_path / "fix.png"), "subject": "ana"}, sink)
        == 0
    )
    assert sink.events[-1].data["report"]["local"] is True
    assert any(e.type == "warning" and "adapters need a show" in e.data["message"] for e in sink.events)
    assert len(list((asset / ".lifecast" / "corrections").iterdir())) == 1


def test_a_correct_job_refuses_unknown_keys_missing_fields_and_bad_fixes(tmp_path: Path) -> None:
    asset = tmp_path / "head"
    out = make_asset(asset)[1001]
    write_png(tmp_path / "same.png", out)
    base = {"command": "correct", "asset": str(asset), "fixed": str(tmp_path / "same.png"), "subject": "ana"}
    with pytest.raises(InputError, match="unknown correct option"):
        run_job({**base, "subjet": "ana"}, CollectingSink())
    with pytest.raises(InputError, match="needs 'subject'"):
        run_job({**base, "subject": " "}, CollectingSink())
    with pytest.raises(InputError, match="asset folder not found"):
        run_job({**base, "asset": str(tmp_path / "nope")}, CollectingSink())
    sink = CollectingSink()
    with pytest.raises(InputError, match="unchanged"):
        run_job(base, sink)
    with pytest.raises(InputError, match="of subject 'ana'"):
        run_job({**base, "subject": "ben"}, CollectingSink())
    assert not (asset / ".lifecast").exists()

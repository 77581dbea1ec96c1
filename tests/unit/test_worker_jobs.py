"""`lifecast worker`: jobs in, JSON-lines events out, the CLI's exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lifecast.errors import InputError
from lifecast.mesh import fan_triangle_corners
from lifecast.preview import render_mesh
from lifecast.worker.jobs import load_job, process_options
from tests.cli_helpers import events_of
from tests.conftest import icosphere


def run_worker(job: dict | str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    text = job if isinstance(job, str) else json.dumps(job)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.run(
        [sys.executable, "-m", "lifecast.worker"], input=text, capture_output=True, text=True, timeout=120, env=env
    )


def test_load_job_refuses_bad_json_and_unknown_commands() -> None:
    with pytest.raises(InputError, match="not valid JSON"):
        load_job("{nope")
    with pytest.raises(InputError, match="command must be one of"):
        load_job('{"command": "explode"}')
    assert load_job('{"command": "inspect", "scan": "a.ply"}')["scan"] == "a.ply"


def test_process_options_from_job_fields() -> None:
    opts = process_options({"scan": "a.ply", "out": "o", "lods": [2000, 500], "maps": ["albedo"], "udims": 2})
    assert opts.out_dir == Path("o") and opts.lods == (2000, 500) and opts.maps == ("albedo",) and opts.udims == 2
    with pytest.raises(InputError, match="unknown process option 'lod'"):
        process_options({"scan": "a.ply", "out": "o", "lod": [1]})
    with pytest.raises(InputError, match="needs 'out'"):
        process_options({"scan": "a.ply"})


def test_render_mesh_draws_a_sphere_nearest_first() -> None:
    sphere = icosphere(3)
    v, f = sphere.vertices, sphere.faces
    image = render_mesh(v, f, size=64)
    assert image.shape == (64, 64, 3) and image.dtype == np.uint8
    background = image[0, 0].copy()
    covered = np.any(image != background, axis=2)
    # A sphere framed at 90% of the view covers about pi/4 * 0.9^2 of the image.
    assert 0.55 < covered.mean() < 0.70
    # Two spheres, the red one in front (+Z faces the viewer): the centre pixel is red.
    red, blue = np.tile([1.0, 0, 0], (len(v), 1)), np.tile([0, 0, 1.0], (len(v), 1))
    both_v = np.concatenate([v + np.array([0, 0, 0.5]), v]).astype(np.float32)
    both_f = np.concatenate([f, f + len(v)])
    front_first, back_first = both_f, np.concatenate([both_f[len(f) :], both_f[: len(f)]])
    for faces in (front_first, back_first):  # drawing order must not matter
        img = render_mesh(both_v, faces, colors=np.concatenate([red, blue]), size=32)
        r, _, b = img[16, 16].astype(int)
        assert r > 100 and b < 30


def test_fan_triangulate_quads_and_triangles() -> None:
    # A 2-corner face (degenerate, seen in USD files) gives no triangle.
    tris = np.array([0, 1, 2, 3, 7, 8, 4, 5, 6])[fan_triangle_corners(np.array([4, 2, 3]))]
    assert tris.tolist() == [[0, 1, 2], [0, 2, 3], [4, 5, 6]]


def test_worker_preview_and_inspect_stream_events(sample_scan: Path, tmp_path: Path) -> None:
    out = tmp_path / "p.png"
    done = run_worker({"command": "preview", "source": str(sample_scan), "out": str(out), "size": 128}, tmp_path)
    assert done.returncode == 0, done.stderr
    events = events_of(done.stdout)
    assert [e.type for e in events][:2] == ["run_start", "stage_start"] and events[-1].type == "done"
    assert events[-1].data["outputs"]["preview"] == str(out)
    assert Image.open(out).size == (128, 128)
    done = run_worker({"command": "inspect", "scan": str(sample_scan)}, tmp_path)
    assert done.returncode == 0, done.stderr
    final = events_of(done.stdout)[-1]
    assert final.data["report"]["faces"] > 1000 and final.data["report"]["units"] == "mm"


def test_worker_bad_input_exit_2_with_error_event(tmp_path: Path) -> None:
    done = run_worker(
        {"command": "process", "scan": str(tmp_path / "missing.ply"), "out": str(tmp_path / "o")}, tmp_path
    )
    assert done.returncode == 2
    errors = [e for e in events_of(done.stdout) if e.type == "error"]
    assert errors and "scan file not found" in errors[0].data["message"] and errors[0].data["exit_code"] == 2
    assert not (tmp_path / "o").exists()
    done = run_worker("not json", tmp_path)
    assert done.returncode == 2 and "not valid JSON" in done.stdout

"""`openjd run` executes a lifecast bundle end to end: the bundled sample scan and a second scan, every step."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from lifecast.farm.manifest import load_manifest
from lifecast.farm.openjd import openjd_job_params, write_bundle
from lifecast.farm.outputs import verify_outputs
from lifecast.pipeline.options import STAGE_NAMES
from lifecast.usd import validate_asset
from tests.cli_helpers import openjd_exe
from tests.synthetic_scans import write_coloured_ply


def test_openjd_runs_every_step_of_a_two_scan_bundle(tmp_path: Path, sample_scan: Path) -> None:
    exe = openjd_exe()
    lifecast_exe = shutil.which("lifecast", path=str(Path(sys.executable).parent))
    assert lifecast_exe is not None, "the lifecast console script sits beside this interpreter"
    shutil.copyfile(sample_scan, tmp_path / "anny_head.ply")
    write_coloured_ply(tmp_path / "sphere.ply")
    (tmp_path / "batch.toml").write_text(
        "[defaults]\nlods = [500, 100]\ntexture_size = 256\n"
        "[[scans]]\nscan = 'anny_head.ply'\nlods = [2000, 500]\nsubject = 'anny-sample'\n"
        "[[scans]]\nscan = 'sphere.ply'\n"
    )
    bundle = tmp_path / "bundle"
    template = write_bundle(
        load_manifest(tmp_path / "batch.toml"),
        bundle,
        out_root=tmp_path / "assets",
        cache_dir=tmp_path / "cache",
        lifecast_command=lifecast_exe,
    )
    check = subprocess.run([exe, "check", str(template)], capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr

    cmd = [exe, "run", str(template), "--step", "export", "--run-dependencies", *openjd_job_params(bundle)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    log = proc.stdout + proc.stderr
    assert proc.returncode == 0, log[-4000:]
    assert "Chunks run: 8" in log or log.count("exited with code: 0") >= 8, "4 steps x 2 scans"
    for step in ("lod", "uv", "texture"):
        assert f"--stop-after {step}" in log
    for name in ("anny_head", "sphere"):
        out = tmp_path / "assets" / name
        assert validate_asset(out / "asset.usda") == []
        assert verify_outputs(out) == []
    # The export step found every earlier stage in the shared cache: each stage ran once per scan.
    ran = [line for line in log.splitlines() if '"event":"stage_end"' in line and '"cached":false' in line]
    stages = len(STAGE_NAMES)  # the texture models (delight, inpaint) run in the export step
    assert len(ran) == 2 * stages, f"{stages} stages x 2 scans computed once each, got {len(ran)}"

"""The Blender add-on's "Submit Correction" in real bpy: painted pixels of the asset's own albedo are saved beside
the asset (``.lifecast/fixes``), never over the model's output, and that file is what the ``correct`` job sends."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
BLENDER_PYTHON = REPO / ".venv-blender" / "bin" / "python"

SCRIPT = """
import json, os, sys
sys.path.insert(0, {plugins!r})
import bpy
import lifecast_blender
from lifecast_blender.jobs import correction_job
from lifecast_blender.operators import painted_image, save_painted

lifecast_blender.register()
tmp = {tmp!r}
albedo = os.path.join(tmp, "out", "maps", "head_lod0_albedo.1001.png")
os.makedirs(os.path.dirname(albedo))
made = bpy.data.images.new("made", 8, 8)
made.filepath_raw, made.file_format = albedo, "PNG"
made.save()
bpy.data.images.remove(made)
before = open(albedo, "rb").read()
run = bpy.context.window_manager.lifecast_run
run.asset, run.albedo, run.subject = os.path.join(tmp, "out", "asset.usda"), albedo, "ana"
image = bpy.data.images.load(albedo)
run.albedo_image = image.name
assert painted_image(bpy.context) == image  # no paint canvas or slot: the loaded delit albedo
clean = save_painted(bpy.context, image)  # nothing painted: nothing saved, the asset's own file
pixels = list(image.pixels)
pixels[0:4] = [1.0, 0.0, 0.0, 1.0]
image.pixels = pixels
painted = save_painted(bpy.context, image)
print("RESULT " + json.dumps({{
    "clean": clean, "painted": painted, "exists": os.path.isfile(painted), "dirty": image.is_dirty,
    "asset_untouched": open(albedo, "rb").read() == before, "job": correction_job(run.asset, painted, run.subject),
}}))
"""


@pytest.mark.skipif(not BLENDER_PYTHON.is_file(), reason="the Blender venv (.venv-blender, bpy) is missing")
def test_painting_the_asset_albedo_saves_the_fix_beside_the_asset(tmp_path: Path) -> None:
    script = tmp_path / "script.py"
    script.write_text(SCRIPT.format(plugins=str(REPO / "plugins" / "blender"), tmp=str(tmp_path)))
    env = {**os.environ, "BLENDER_USER_RESOURCES": str(tmp_path / "user")}
    proc = subprocess.run([str(BLENDER_PYTHON), str(script)], capture_output=True, text=True, timeout=180, env=env)
    lines = [line for line in proc.stdout.splitlines() if line.startswith("RESULT ")]
    assert proc.returncode == 0 and lines, proc.stdout[-2000:] + proc.stderr[-2000:]
    result = json.loads(lines[-1][len("RESULT ") :])
    albedo = tmp_path / "out" / "maps" / "head_lod0_albedo.1001.png"
    fix = tmp_path / "out" / ".lifecast" / "fixes" / "head_lod0_albedo_fixed.png"
    assert result["clean"] == str(albedo)
    assert result["painted"] == str(fix) and result["exists"] and not result["dirty"]
    assert result["asset_untouched"], "the model's output is never overwritten by the paint"
    assert result["job"] == {"command": "correct", "asset": str(tmp_path / "out"), "fixed": str(fix), "subject": "ana"}

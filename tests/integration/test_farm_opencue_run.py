"""The OpenCue job runs: every frame of every layer of the written spec, as RQD would start it (one shell command
per frame, ``#IFRAME#`` replaced, layers in dependency order), publishes a valid asset. No Cuebot runs here."""

from __future__ import annotations

import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from lifecast.farm.manifest import load_manifest
from lifecast.farm.openjd import write_bundle
from lifecast.usd import validate_asset
from tests.conftest import require_optional
from tests.synthetic_scans import write_coloured_ply

require_optional("outline", "OpenCue outlines need the 'farm' extra (opencue-pyoutline)")

from lifecast.farm.opencue import FRAME_TOKEN, write_outline  # noqa: E402


def test_every_frame_of_the_spec_runs_in_a_shell(tmp_path: Path, sample_scan: Path) -> None:
    lifecast_exe = shutil.which("lifecast", path=str(Path(sys.executable).parent))
    assert lifecast_exe is not None, "the lifecast console script sits beside this interpreter"
    shutil.copyfile(sample_scan, tmp_path / "anny head.ply")  # a space in the path: the commands must be quoted
    write_coloured_ply(tmp_path / "sphere.ply")
    (tmp_path / "batch.toml").write_text(
        "[defaults]\nlods = [500, 100]\ntexture_size = 256\n"
        "[[scans]]\nscan = 'anny head.ply'\nout = 'anny_head'\nlods = [2000, 500]\n"
        "[[scans]]\nscan = 'sphere.ply'\n"
    )
    manifest = load_manifest(tmp_path / "batch.toml")
    roots = {"out_root": tmp_path / "shared assets", "cache_dir": tmp_path / "cache"}
    template = write_bundle(manifest, tmp_path / "bundle", lifecast_command=lifecast_exe, **roots)
    script = write_outline(manifest, template.parent, lifecast_command=lifecast_exe, **roots)
    spec = ET.fromstring((script.parent / "job.xml").read_text().split("?>", 1)[1].split(">", 1)[1])
    layers = {layer.get("name"): layer for layer in spec.findall("job/layers/layer")}
    after = {d.findtext("deplayer"): d.findtext("onlayer") for d in spec.findall("depends/depend")}
    order = [name for name in layers if name not in after]
    while len(order) < len(layers):
        order += [name for name, on in after.items() if on == order[-1]]
    assert order == ["geometry", "uv", "texture", "export"]
    for frame in range(2):
        for name in order:
            command = layers[name].findtext("cmd", "").replace(FRAME_TOKEN, str(frame))
            proc = subprocess.run(["/bin/sh", "-c", command], capture_output=True, text=True, timeout=600)
            assert proc.returncode == 0, f"{name} frame {frame}: {proc.stderr[-2000:]}"
    for out in ("anny_head", "sphere"):
        asset = tmp_path / "shared assets" / out / "asset.usda"
        assert validate_asset(asset) == []

"""OpenCue outlines: the outline loads in PyOutline, serializes to a Cuebot job spec, and is the OpenJD job."""

from __future__ import annotations

import shlex
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from lifecast.farm.manifest import load_manifest
from lifecast.farm.openjd import STEPS, TASK_TABLE, job_template, write_bundle
from tests.cli_helpers import run_cli
from tests.conftest import require_optional

require_optional("outline", "OpenCue outlines need the 'farm' extra (opencue-pyoutline)")

from lifecast.farm.opencue import FRAME_TOKEN, OPENCUE_DIR, job_name, serialize_outline, write_outline  # noqa: E402


def _manifest(tmp_path: Path, scans: int = 3) -> Path:
    text = "[defaults]\nlods = [500, 100]\ntexture_size = 256\n"
    for i in range(scans):
        faces = 1000 if i else 2_000_000  # the first scan is the big one: it sets every layer's memory
        header = f"ply\nformat binary_little_endian 1.0\nelement vertex 10\nelement face {faces}\nend_header\n"
        (tmp_path / f"scan {i}.ply").write_bytes(header.encode())
        text += f"[[scans]]\nscan = 'scan {i}.ply'\nout = 'scan_{i}'\n"
    (tmp_path / "batch.toml").write_text(text)
    return tmp_path / "batch.toml"


def _bundle(tmp_path: Path, gpu: bool) -> tuple[Path, ET.Element, dict]:  # type: ignore[type-arg]
    manifest = load_manifest(_manifest(tmp_path))
    roots = {"out_root": tmp_path / "shared assets", "cache_dir": tmp_path / "cache"}
    template = write_bundle(manifest, tmp_path / "bundle", lifecast_command="/sw/lifecast/bin/lifecast", **roots)
    script = write_outline(
        manifest,
        template.parent,
        lifecast_command="/sw/lifecast/bin/lifecast",
        name="lifecast batch",
        gpu_texture=gpu,
        **roots,
    )
    spec = ET.fromstring((script.parent / "job.xml").read_text().split("?>", 1)[1].split(">", 1)[1])
    return script, spec, job_template(manifest, "job", gpu_texture=gpu)


@pytest.mark.parametrize("gpu", [False, True])
def test_the_outline_is_the_openjd_job(tmp_path: Path, gpu: bool) -> None:
    script, spec, openjd = _bundle(tmp_path, gpu)
    assert sorted(p.name for p in script.parent.iterdir()) == ["job.xml", "lifecast.outline"]
    assert script.parent == tmp_path / "bundle" / OPENCUE_DIR
    job = spec.find("job")
    assert job is not None and job.get("name") == "lifecast_batch"
    layers = job.findall("layers/layer")
    assert [layer.get("name") for layer in layers] == [step.name for step in STEPS]
    values = {
        "{{Param.TaskTable}}": str(tmp_path / "bundle" / TASK_TABLE),
        "{{Param.OutputRoot}}": str(tmp_path / "shared assets"),
        "{{Param.CacheDir}}": str(tmp_path / "cache"),
        "{{Task.Param.ScanIndex}}": FRAME_TOKEN,
    }
    for layer, step in zip(layers, openjd["steps"], strict=True):
        action = step["script"]["actions"]["onRun"]
        expected = ["/sw/lifecast/bin/lifecast", *(values.get(a, a) for a in action["args"])]
        assert shlex.split(layer.findtext("cmd", "")) == expected, "the same command, quoted for a shell"
        assert layer.findtext("range") == "0-2" and layer.findtext("chunk") == "1", "a frame per scan"
        memory = step["hostRequirements"]["amounts"][0]["min"]
        assert layer.findtext("memory") == f"{memory}m"
        asks_gpu = any(a["name"] == "amount.worker.gpu" for a in step["hostRequirements"]["amounts"])
        assert (layer.findtext("gpus") == "1") == asks_gpu == (gpu and step["name"] == "texture")
        tags = [t.strip() for t in layer.findtext("tags", "").split("|")]
        assert tags == (["lifecast", "gpu"] if asks_gpu else ["lifecast"])
        assert layer.findtext("services/service") == "lifecast"
    depends = [(d.get("type"), d.findtext("deplayer"), d.findtext("onlayer")) for d in spec.findall("depends/depend")]
    openjd_depends = [
        ("FRAME_BY_FRAME", s["name"], s["dependencies"][0]["dependsOn"]) for s in openjd["steps"] if "dependencies" in s
    ]
    assert depends == openjd_depends and len(depends) == len(STEPS) - 1


def test_the_written_spec_is_what_the_script_serializes_to(tmp_path: Path) -> None:
    script, _, _ = _bundle(tmp_path, gpu=False)
    assert serialize_outline(script) == (script.parent / "job.xml").read_text()


def test_job_names_take_no_spaces_or_punctuation() -> None:
    assert job_name("lifecast batch: day 1") == "lifecast_batch__day_1"
    assert job_name("///") == "lifecast"


def test_cli_writes_the_outline_beside_the_bundle(tmp_path: Path) -> None:
    manifest = _manifest(tmp_path, scans=1)
    args = ["farm", "bundle", str(manifest), "-o", str(tmp_path / "b"), "--output-root", str(tmp_path / "out")]
    args += ["--cache", str(tmp_path / "cache")]
    plain = run_cli(*args)
    assert plain.returncode == 0, plain.stderr
    assert not (tmp_path / "b" / OPENCUE_DIR).exists(), "OpenJD alone by default"
    proc = run_cli(*args, "--engine", "opencue")
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "b" / "template.yaml").is_file() and (tmp_path / "b" / OPENCUE_DIR / "job.xml").is_file()
    assert "OpenCue" in proc.stderr
    bad = run_cli(*args, "--engine", "tractor")
    assert bad.returncode == 2 and "invalid choice" in bad.stderr

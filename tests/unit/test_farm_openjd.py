"""OpenJD job bundles: structure of the template, and `openjd check` on what we write."""

from __future__ import annotations

import subprocess
from pathlib import Path

from lifecast.farm.manifest import load_manifest
from lifecast.farm.openjd import STEPS, job_template, openjd_job_params, write_bundle
from tests.cli_helpers import openjd_exe, run_cli


def _manifest(tmp_path: Path) -> Path:
    for name, faces in (("small.ply", 1000), ("big.ply", 2_000_000)):
        header = f"ply\nformat binary_little_endian 1.0\nelement vertex 10\nelement face {faces}\nend_header\n"
        (tmp_path / name).write_bytes(header.encode())
    text = "[defaults]\nlods = [500, 100]\ntexture_size = 256\n"
    text += "[[scans]]\nscan = 'small.ply'\n[[scans]]\nscan = 'big.ply'\ntexture_size = 4096\n"
    (tmp_path / "batch.toml").write_text(text)
    return tmp_path / "batch.toml"


def test_steps_run_in_order_one_task_per_scan(tmp_path: Path) -> None:
    t = job_template(load_manifest(_manifest(tmp_path)), "job")
    assert t["specificationVersion"] == "jobtemplate-2023-09"
    names = [s["name"] for s in t["steps"]]
    assert names == ["geometry", "uv", "texture", "export"]
    assert "dependencies" not in t["steps"][0]
    assert [s["dependencies"][0]["dependsOn"] for s in t["steps"][1:]] == names[:-1]
    for step, spec in zip(t["steps"], STEPS, strict=True):
        assert step["parameterSpace"]["taskParameterDefinitions"] == [
            {"name": "ScanIndex", "type": "INT", "range": "0-1"}
        ]
        args = step["script"]["actions"]["onRun"]["args"]
        assert args[:2] == ["farm", "task"] and args[-2:] == ["--stop-after", spec.stop_after]
        assert "{{Task.Param.ScanIndex}}" in args and "{{Param.CacheDir}}" in args


def test_memory_follows_the_largest_scan_and_gpu_is_opt_in(tmp_path: Path) -> None:
    manifest = load_manifest(_manifest(tmp_path))
    cpu = job_template(manifest, "job")
    memory = {s["name"]: s["hostRequirements"]["amounts"][0] for s in cpu["steps"]}
    assert all(m["name"] == "amount.memory" and m["min"] % 256 == 0 for m in memory.values())
    assert memory["texture"]["min"] > memory["uv"]["min"] >= 2000, "2M triangles and a 4K bake need GiBs"
    assert not any(len(s["hostRequirements"]["amounts"]) > 1 for s in cpu["steps"])
    gpu = job_template(manifest, "job", gpu_texture=True)
    asks = {s["name"]: [a["name"] for a in s["hostRequirements"]["amounts"]] for s in gpu["steps"]}
    assert asks["texture"] == ["amount.memory", "amount.worker.gpu"] and asks["uv"] == ["amount.memory"]


def test_written_bundles_pass_openjd_check(tmp_path: Path) -> None:
    exe = openjd_exe()
    manifest = _manifest(tmp_path)
    for gpu in (False, True):
        bundle = tmp_path / f"bundle_{gpu}"
        template = write_bundle(
            load_manifest(manifest), bundle, out_root=tmp_path / "out", cache_dir=tmp_path / "cache", gpu_texture=gpu
        )
        assert sorted(p.name for p in bundle.iterdir()) == [
            "asset_references.yaml",
            "parameter_values.yaml",
            "tasks.json",
            "template.yaml",
        ]
        proc = subprocess.run([exe, "check", str(template)], capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "passes validation" in proc.stdout
    params = openjd_job_params(tmp_path / "bundle_False")
    assert f"TaskTable={tmp_path / 'bundle_False' / 'tasks.json'}" in params


def test_bundle_command_refuses_a_bad_manifest_with_exit_code_2(tmp_path: Path) -> None:
    (tmp_path / "m.toml").write_text("[[scans]]\nscan = 'a.ply'\nlods = 'many'\n")
    proc = run_cli("farm", "bundle", tmp_path / "m.toml", "-o", tmp_path / "b", "--output-root", "o", "--cache", "c")
    assert proc.returncode == 2, proc.stderr
    assert "lods" in proc.stderr and "Traceback" not in proc.stderr
    assert not (tmp_path / "b").exists()

"""The farm's adapt step: `[adapt]` in a manifest adds `lifecast ml adapt` per subject after the whole batch."""

from __future__ import annotations

import importlib.util
import shlex
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from lifecast.errors import InputError
from lifecast.farm.manifest import load_manifest
from lifecast.farm.openjd import ADAPT_STEP, STEPS, job_template, openjd_job_params, write_bundle
from tests.cli_helpers import openjd_exe

HEADER = "ply\nformat binary_little_endian 1.0\nelement vertex 10\nelement face 1000\nend_header\n"


def _manifest(tmp_path: Path, adapt: str, subjects: tuple[str, ...] = ("ana", "ben", "ana")) -> Path:
    text = f"{adapt}\n[defaults]\nlods = [500, 100]\ntexture_size = 256\n"
    for i, subject in enumerate(subjects):
        (tmp_path / f"s{i}.ply").write_bytes(HEADER.encode())
        text += f"[[scans]]\nscan = 's{i}.ply'\nsubject = '{subject}'\n"
    (tmp_path / "batch.toml").write_text(text)
    return tmp_path / "batch.toml"


def test_adapt_true_adapts_every_subject_of_the_batch_once(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LIFECAST_SHOW", str(tmp_path / "show"))
    manifest = load_manifest(_manifest(tmp_path, "adapt = true"))
    assert manifest.adapt is not None and manifest.adapt.subjects == ("ana", "ben")
    assert manifest.adapt.show is None and manifest.adapt.show_dir() == (tmp_path / "show").resolve()
    assert load_manifest(_manifest(tmp_path, "adapt = false")).adapt is None
    assert load_manifest(_manifest(tmp_path, "")).adapt is None


def test_an_adapt_table_names_subjects_and_a_show_relative_to_the_manifest(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("LIFECAST_SHOW", raising=False)
    manifest = load_manifest(_manifest(tmp_path, "[adapt]\nsubjects = ['ben']\nshow = 'shows/demo'"))
    assert manifest.adapt is not None and manifest.adapt.subjects == ("ben",)
    assert manifest.adapt.show_dir() == (tmp_path / "shows" / "demo").resolve()


@pytest.mark.parametrize(
    ("adapt", "subjects", "message"),
    [
        ("[adapt]\nsubject = ['ana']", ("ana",), "adapt must be true, false or a table"),
        ("adapt = 'yes'", ("ana",), "adapt must be true, false or a table"),
        ("[adapt]\nsubjects = ['cat']", ("ana",), "subject 'cat' has no scan in this batch"),
        ("[adapt]\nsubjects = ['../x']", ("ana",), "is not valid"),
        ("[adapt]\nsubjects = 'ana'", ("ana",), "subjects must be a list"),
        ("[adapt]\nshow = 3", ("ana",), "show must be a folder path"),
    ],
)
def test_bad_adapt_options_are_refused(tmp_path: Path, adapt: str, subjects: tuple[str, ...], message: str) -> None:
    with pytest.raises(InputError, match=message):
        load_manifest(_manifest(tmp_path, adapt, subjects))


def test_adapt_needs_a_subject_and_a_show(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LIFECAST_SHOW", raising=False)
    (tmp_path / "a.ply").write_bytes(HEADER.encode())
    (tmp_path / "m.toml").write_text("adapt = true\n[[scans]]\nscan = 'a.ply'\n")
    with pytest.raises(InputError, match="no subject to adapt"):
        load_manifest(tmp_path / "m.toml")
    manifest = load_manifest(_manifest(tmp_path, "adapt = true"))
    with pytest.raises(InputError, match="needs a show"):
        job_template(manifest, "job")


def test_the_openjd_adapt_step_follows_export_once_per_subject(tmp_path: Path) -> None:
    show = tmp_path / "show"
    manifest = load_manifest(_manifest(tmp_path, f"[adapt]\nshow = '{show}'"))
    t = job_template(manifest, "job")
    assert [s["name"] for s in t["steps"]] == [*(s.name for s in STEPS), ADAPT_STEP]
    step = t["steps"][-1]
    assert step["dependencies"] == [{"dependsOn": "export"}]
    assert step["parameterSpace"]["taskParameterDefinitions"] == [
        {"name": "Subject", "type": "STRING", "range": ["ana", "ben"]}
    ]
    run = step["script"]["actions"]["onRun"]
    assert run["command"] == "{{Param.LifecastCommand}}"
    assert run["args"] == ["ml", "adapt", "--subject", "{{Task.Param.Subject}}", "--show", "{{Param.ShowDir}}"]
    show_param = next(p for p in t["parameterDefinitions"] if p["name"] == "ShowDir")
    assert show_param["default"] == str(show) and show_param["type"] == "PATH"
    plain = job_template(load_manifest(_manifest(tmp_path, "")), "job")
    assert [s["name"] for s in plain["steps"]] == [s.name for s in STEPS]
    assert not any(p["name"] == "ShowDir" for p in plain["parameterDefinitions"])

    template = write_bundle(manifest, tmp_path / "b", out_root=tmp_path / "out", cache_dir=tmp_path / "cache")
    assert f"ShowDir={show}" in openjd_job_params(tmp_path / "b")
    proc = subprocess.run([openjd_exe(), "check", str(template)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "passes validation" in proc.stdout, proc.stdout + proc.stderr


@pytest.mark.skipif(importlib.util.find_spec("outline") is None, reason="OpenCue outlines need the 'farm' extra")
def test_the_opencue_adapt_layer_waits_for_the_whole_export_layer(tmp_path: Path) -> None:
    from lifecast.farm.opencue import write_outline

    show = tmp_path / "my show"
    manifest = load_manifest(_manifest(tmp_path, f"[adapt]\nshow = '{show}'"))
    roots = {"out_root": tmp_path / "out", "cache_dir": tmp_path / "cache"}
    template = write_bundle(manifest, tmp_path / "b", **roots)
    script = write_outline(manifest, template.parent, lifecast_command="echo", **roots)
    spec = ET.fromstring((script.parent / "job.xml").read_text().split("?>", 1)[1].split(">", 1)[1])
    layers = {layer.get("name"): layer for layer in spec.findall("job/layers/layer")}
    assert list(layers) == [*(s.name for s in STEPS), ADAPT_STEP]
    adapt = layers[ADAPT_STEP]
    assert adapt.findtext("range") == "0-1" and adapt.findtext("chunk") == "1", "a frame per subject"
    depends = [(d.get("type"), d.findtext("deplayer"), d.findtext("onlayer")) for d in spec.findall("depends/depend")]
    assert ("LAYER_ON_LAYER", "adapt", "export") in depends
    assert [d for d in depends if d[1] == "adapt"] == [("LAYER_ON_LAYER", "adapt", "export")]
    # Frame i runs the adapt of subject i: run the command as RQD would, with `echo` for lifecast.
    for frame, subject in enumerate(("ana", "ben")):
        command = adapt.findtext("cmd", "").replace("#IFRAME#", str(frame))
        out = subprocess.run(shlex.split(command), capture_output=True, text=True, timeout=30, check=True).stdout
        assert out.split() == ["ml", "adapt", "--subject", subject, "--show", *str(show).split()]

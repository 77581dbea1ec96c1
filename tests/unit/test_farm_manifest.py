"""Batch manifests: TOML and YAML, defaults and overrides, and every mistake named."""

from __future__ import annotations

from pathlib import Path

import pytest

from lifecast.errors import InputError
from lifecast.farm.manifest import load_manifest

REPO = Path(__file__).resolve().parents[2]

TOML = """
[defaults]
lods = [500, 100]
texture_size = 256
keep_ground = true

[subjects]
s01 = {}

[[scans]]
scan = "scans/a.ply"
subject = "s01"

[[scans]]
scan = "scans/b.ply"
out = "bee"
texture_size = 512
units = "mm"
"""


def _write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_defaults_overrides_and_relative_paths(tmp_path: Path) -> None:
    m = load_manifest(_write(tmp_path, "batch.toml", TOML))
    a, b = m.scans
    assert a.scan == (tmp_path / "scans" / "a.ply").resolve() and a.out == "a"
    assert b.out == "bee"
    assert a.options["texture_size"] == 256 and b.options["texture_size"] == 512
    assert b.lods == (500, 100) and b.texture_size == 512
    assert a.process_args() == [
        "--keep-ground",
        "--lods",
        "500,100",
        "--subject",
        "s01",
        "--texture-size",
        "256",
    ]
    assert "--units" in b.process_args() and "mm" in b.process_args()


def test_yaml_gives_the_same_scans(tmp_path: Path) -> None:
    yaml_text = """
defaults: {lods: [500, 100], texture_size: 256, keep_ground: true}
subjects: {s01: {}}
scans:
  - {scan: scans/a.ply, subject: s01}
  - {scan: scans/b.ply, out: bee, texture_size: 512, units: mm}
"""
    from_toml = load_manifest(_write(tmp_path, "batch.toml", TOML))
    from_yaml = load_manifest(_write(tmp_path, "batch.yaml", yaml_text))
    assert from_toml.scans == from_yaml.scans


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[scans]]\nscan = 'a.ply'\ncolour = 'red'\n", "unknown option 'colour'"),
        ("[[scans]]\nscan = 'a.ply'\ntexture_size = '4k'\n", "wrong type"),
        ("[[scans]]\nscan = 'a.ply'\nkeep_uvs = 1\n", "wrong type"),
        ("[[scans]]\nscan = 'a.ply'\nunits = 'inch'\n", "units must be one of"),
        ("[[scans]]\nscan = 'a.ply'\nlods = []\n", "lods must be a list"),
        ("[[scans]]\nscan = 'x/a.ply'\n[[scans]]\nscan = 'y/a.ply'\n", "used by scans[0] too"),
        ("[[scans]]\nscan = 'a.ply'\nout = '../escape'\n", "output folder name"),
        ("[subjects]\ns01 = {}\n[[scans]]\nscan = 'a.ply'\nsubject = 's02'\n", "not listed under [subjects]"),
        ("[defaults]\nlods = [10]\n", "lists no scans"),
        ("[[scans]]\nout = 'a'\n", "needs a 'scan' path"),
        ("scans = [\n", "not valid TOML"),
        ("[[scanz]]\nscan = 'a.ply'\n", "unknown top-level keys"),
    ],
)
def test_mistakes_are_input_errors_naming_the_manifest(tmp_path: Path, text: str, message: str) -> None:
    path = _write(tmp_path, "batch.toml", text)
    with pytest.raises(InputError, match=message.replace("[", r"\[").replace("]", r"\]")) as info:
        load_manifest(path)
    assert info.value.path == path


def test_other_formats_and_missing_files_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="not found"):
        load_manifest(tmp_path / "nope.toml")
    with pytest.raises(InputError, match=r"\.toml, \.yaml"):
        load_manifest(_write(tmp_path, "batch.json", "{}"))


def test_the_example_manifest_loads_and_names_real_files() -> None:
    m = load_manifest(REPO / "examples" / "batch_sample.toml")
    assert [s.out for s in m.scans] == ["anny_preview", "anny_hero"]
    assert all(s.scan.is_file() for s in m.scans)
    assert m.scans[0].lods == (5000, 1000) and m.scans[1].options["fill_holes"] == 20.0

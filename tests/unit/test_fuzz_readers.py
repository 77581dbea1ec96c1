"""Fuzzed readers: mutated scan, landmark, markup and manifest files end in a valid result or an InputError.

Each property mutates a small valid seed (see tests/fuzz_helpers.py) and reads it in-process: the reader must
return something valid (shapes, dtypes, indices in range) or raise :class:`~lifecast.errors.InputError` (exit
code 2) with a one-line message, within a time limit and a memory limit, writing nothing next to its input.
Any other exception, a hang or a huge allocation fails, and Hypothesis shrinks the file that caused it.

The budget is ``LIFECAST_FUZZ_EXAMPLES`` examples per property (default 120, derandomized so CI is
deterministic); set it to 2000 to hunt for bugs. The shrunk inputs of the bugs found are kept in
tests/data/fuzz_regressions/ (its README says what each one broke) and replayed by ``test_regression_file``.
"""

from __future__ import annotations

import json
import math
import re
import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lifecast.farm.manifest import _SAFE_OUT, OPTION_TYPES, Manifest, load_manifest
from lifecast.io import read_scan
from lifecast.mesh import Scan
from lifecast.wrap.landmarks import read_scan_landmarks
from lifecast.wrap.template import Template, load_template
from tests import fuzz_helpers as fz
from tests.cli_helpers import run_cli

REGRESSIONS = Path(__file__).resolve().parents[1] / "data" / "fuzz_regressions"

FUZZ = settings(
    max_examples=fz.EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
#: Real scans are larger (hundreds of KiB): fewer examples.
FUZZ_REAL = settings(FUZZ, max_examples=max(10, fz.EXAMPLES // 6))

# ---------------------------------------------------------------------------- what a valid result is


def check_scan(scan: Scan) -> None:
    """A scan as read: arrays of the documented shapes and dtypes, every index in range, colours in [0, 1]."""
    mesh = scan.mesh
    v, f = mesh.vertices, mesh.faces
    n = len(v)
    assert v.dtype == np.float32 and v.ndim == 2 and v.shape[1] == 3 and n > 0
    assert np.isfinite(v).all(axis=1).any(), "no finite vertex"
    assert f.dtype == np.int32 and f.ndim == 2 and f.shape[1] == 3
    if len(f):
        assert f.min() >= 0 and f.max() < n
    if mesh.uvs is not None:
        assert mesh.face_uvs is not None
        assert mesh.uvs.dtype == np.float32 and mesh.uvs.ndim == 2 and mesh.uvs.shape[1] == 2
        assert mesh.face_uvs.dtype == np.int32 and mesh.face_uvs.shape == f.shape
        if len(f):
            assert mesh.face_uvs.min() >= 0 and mesh.face_uvs.max() < len(mesh.uvs)
    if mesh.vertex_colors is not None:
        c = mesh.vertex_colors
        assert c.dtype == np.float32 and c.shape == (n, 3)
        assert np.isfinite(c).all() and c.min() >= 0 and c.max() <= 1, "colours outside [0, 1]"
    if mesh.vertex_normals is not None:
        assert mesh.vertex_normals.dtype == np.float32 and mesh.vertex_normals.shape == (n, 3)
        assert np.isfinite(mesh.vertex_normals).all(), "non-finite normals"
    if mesh.texture is not None:
        t = mesh.texture
        assert t.dtype == np.uint8 and t.ndim == 3 and t.shape[2] == 3 and t.shape[0] > 0 and t.shape[1] > 0
    assert scan.units in ("mm", "cm", "m") and scan.up in ("y", "z")
    assert all(isinstance(note, str) for note in scan.notes)


def read_scan_bounded(path: Path) -> None:
    outcome = fz.bounded(lambda: read_scan(path), path.parent)
    if outcome.error is None:
        check_scan(outcome.result)


def fuzz_scan_file(label: str, name: str, data: bytes) -> None:
    with fz.scratch() as folder, fz.keep_failure(label, {name: data}):
        (folder / name).write_bytes(data)
        read_scan_bounded(folder / name)


# ---------------------------------------------------------------------------- the seeds are valid


@pytest.mark.parametrize(
    "name", ["scan.ply", "scan_le.ply", "scan_be.ply", "scan.obj", "scan.glb", "scan.gltf", "a.pcd", "b.pcd", "c.pcd"]
)
def test_seeds_read_as_valid_scans(name: str, tmp_path: Path) -> None:
    """The mutations start from files that read cleanly (else the fuzzing would only test refusals)."""
    seeds = {
        "scan.ply": fz.ply_ascii(),
        "scan_le.ply": fz.ply_binary("<"),
        "scan_be.ply": fz.ply_binary(">"),
        "scan.glb": fz.glb(),
        "scan.gltf": fz.gltf(),
        "a.pcd": fz.pcd("ascii"),
        "b.pcd": fz.pcd("binary"),
        "c.pcd": fz.pcd("binary_compressed"),
    }
    if name == "scan.obj":
        fz.write_files(tmp_path, fz.obj_files())
    else:
        (tmp_path / name).write_bytes(seeds[name])
    scan = read_scan(tmp_path / name)
    check_scan(scan)
    if name.endswith((".ply", ".obj", ".glb", ".gltf")):
        assert len(scan.mesh.faces) > 0 and scan.mesh.has_uvs
    if name.endswith((".obj", ".glb", ".gltf")):
        assert scan.mesh.texture is not None
    if name.endswith(".pcd"):
        assert len(scan.mesh.vertices) == 20 and scan.mesh.vertex_colors is not None


# ---------------------------------------------------------------------------- scans


@FUZZ
@given(data=fz.mutated(fz.ply_ascii(), b"end_header"))
def test_ply_ascii(data: bytes) -> None:
    fuzz_scan_file("ply_ascii", "scan.ply", data)


@FUZZ
@given(data=st.sampled_from(["<", ">"]).flatmap(lambda e: fz.mutated(fz.ply_binary(e), b"end_header")))
def test_ply_binary(data: bytes) -> None:
    fuzz_scan_file("ply_binary", "scan.ply", data)


@FUZZ
@given(data=st.sampled_from([fz.ply_ascii(), fz.ply_binary("<"), fz.ply_binary(">")]).flatmap(fz.lying_ply))
def test_ply_header_that_lies(data: bytes) -> None:
    fuzz_scan_file("ply_header_that_lies", "scan.ply", data)


def giant_png(width: int, height: int) -> bytes:
    """A PNG whose header (with a correct CRC) claims ``width`` x ``height`` but holds a 4x4 image's data."""
    data = bytearray(fz.png())
    ihdr = bytearray(data[12:29])  # b"IHDR" + 13 bytes
    ihdr[4:12] = struct.pack(">II", width, height)
    data[12:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(ihdr)))
    return bytes(data)


@st.composite
def obj_with_material(draw: st.DrawFn) -> dict[str, bytes]:
    """The OBJ seed with its OBJ, MTL or PNG mutated, or its texture claiming a giant size."""
    files = fz.obj_files()
    target = draw(st.sampled_from(["scan.obj", "scan.obj", "skin.mtl", "skin.png", "giant"]))
    if target == "giant":
        size = st.sampled_from([0, 1, 16385, 30000, 65535, 2**31 - 1, 2**32 - 1])
        files["skin.png"] = giant_png(draw(size), draw(size))
    else:
        files[target] = draw(fz.mutated(files[target]))
    return files


@FUZZ
@given(files=obj_with_material())
def test_obj_with_mtl_and_texture(files: dict[str, bytes]) -> None:
    with fz.scratch() as folder, fz.keep_failure("obj", files):
        fz.write_files(folder, files)
        read_scan_bounded(folder / "scan.obj")


@FUZZ
@given(data=fz.mutated(fz.glb()) | fz.lying_glb(fz.glb()))
def test_glb(data: bytes) -> None:
    fuzz_scan_file("glb", "scan.glb", data)


@st.composite
def gltf_junk(draw: st.DrawFn) -> bytes:
    doc = json.loads(fz.gltf())
    for _ in range(draw(st.integers(1, 3))):
        table = draw(st.sampled_from(["accessors", "bufferViews", "buffers", "meshes", "nodes", "scenes", "asset"]))
        items = doc.get(table)
        target = items[draw(st.integers(0, len(items) - 1))] if isinstance(items, list) and items else doc
        if not isinstance(target, dict):
            target = doc
        key = draw(st.sampled_from(["count", "byteLength", "uri", "primitives", "attributes", "nodes", table]))
        target[key] = draw(fz.json_junk())
    return json.dumps(doc).encode()


@FUZZ
@given(data=fz.mutated(fz.gltf()) | gltf_junk())
def test_gltf(data: bytes) -> None:
    fuzz_scan_file("gltf", "scan.gltf", data)


@FUZZ
@given(
    data=st.sampled_from(["ascii", "binary", "binary_compressed"]).flatmap(
        lambda kind: fz.mutated(fz.pcd(kind), b"DATA") | fz.lying_pcd(fz.pcd(kind))
    )
)
def test_pcd(data: bytes) -> None:
    fuzz_scan_file("pcd", "scan.pcd", data)


REAL_SEEDS = (
    "sceaux_castle_sfm/openmvs/scene_mesh.ply",
    "sceaux_castle_sfm/openmvs/Sparse.ply",
    "lee_perry_smith_head/glb_1k/LeePerrySmith.glb",
    "demosthenes_bust/demosthenes_demosthenes-low-res.obj",
)


@pytest.mark.parametrize("relative", REAL_SEEDS)
def test_real_scans_mutated(relative: str, shared_scans: Path) -> None:
    """Mutations of real exports (read-only from ../shared/scans; the mutants live in a temporary folder)."""
    seed = (shared_scans / relative).read_bytes()
    name = "scan" + Path(relative).suffix
    marker = b"end_header" if name.endswith(".ply") else None

    @FUZZ_REAL
    @given(data=fz.mutated(seed, marker))
    def fuzz(data: bytes) -> None:
        fuzz_scan_file("real_" + Path(relative).stem, name, data)

    fuzz()


# ---------------------------------------------------------------------------- landmark and markup JSON


@st.composite
def json_file(draw: st.DrawFn, seed: dict[str, Any], names: list[str]) -> bytes:
    """``seed`` with junk values, junk entries, byte mutations, or a huge/deep document."""
    how = draw(st.sampled_from(["values", "values", "bytes", "huge", "raw"]))
    if how == "huge":
        return fz.huge_json(draw(st.sampled_from(["deep_list", "deep_object", "long_list", "many_keys"]))).encode()
    if how == "raw":
        return draw(st.sampled_from([b"\xef\xbb\xbf{}", b"\xff\xfe{\x00}\x00", b"[]", b"null", b"1e400", b"", b"{"]))
    doc = json.loads(json.dumps(seed))
    if how == "values":
        for _ in range(draw(st.integers(1, 3))):
            path = draw(st.sampled_from(names))
            target = doc
            for key in path.split(".")[:-1]:
                target = target.setdefault(key, {}) if isinstance(target, dict) else target
            if isinstance(target, dict):
                target[path.split(".")[-1]] = draw(fz.json_junk())
        return json.dumps(doc).encode()
    return draw(fz.mutated(json.dumps(doc, indent=1).encode()))


@FUZZ
@given(
    data=json_file(
        fz.LANDMARKS,
        ["nose_tip", "chin", "chin.vertex", "left_eye.position", "left_eye.vertex", "new", "chin.position"],
    )
)
def test_landmark_json(data: bytes) -> None:
    vertices = fz.TETRA.astype(np.float64)
    with fz.scratch() as folder, fz.keep_failure("landmarks", {"landmarks.json": data}):
        path = folder / "clicks.json"
        path.write_bytes(data)
        outcome = fz.bounded(lambda: read_scan_landmarks(path, vertices), folder)
        if outcome.error is None:
            for value in outcome.result.values():
                assert value.dtype == np.float64 and value.shape == (3,) and np.isfinite(value).all()


@FUZZ
@given(
    data=json_file(
        fz.MARKUP,
        ["kind", "landmarks", "exclude", "rigid", "landmarks.nose_tip", "landmarks.chin", "landmarks.new",
         "landmarks.chin.vertices", "landmarks.chin.weights"],
    )
)  # fmt: skip
def test_template_markup_json(data: bytes) -> None:
    with fz.scratch() as folder, fz.keep_failure("markup", {"markup.json": data}):
        (folder / "template.obj").write_bytes(fz.template_obj())
        (folder / "template.json").write_bytes(data)
        outcome = fz.bounded(lambda: load_template(folder / "template.obj", folder / "template.json"), folder)
        if outcome.error is None:
            template: Template = outcome.result
            n = len(template.vertices)
            assert template.exclude.shape == (n,) and template.rigid.shape == (n,)
            for point in template.landmarks.values():
                assert point.indices.shape == (3,) and point.indices.min() >= 0 and point.indices.max() < n
                assert np.isfinite(point.weights).all() and abs(point.weights.sum() - 1) < 1e-3


# ---------------------------------------------------------------------------- batch manifests


def toml_value(value: Any) -> str:
    """A JSON-like value written as a TOML literal (inline tables for objects)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + "}"
    return '""'  # None has no TOML spelling


@st.composite
def manifest_text(draw: st.DrawFn) -> bytes:
    """The seed manifest with an option set to junk, a line mutated, or bytes mutated."""
    how = draw(st.sampled_from(["option", "option", "lines", "bytes"]))
    if how == "option":
        lines = fz.MANIFEST.splitlines()
        at = draw(st.integers(0, len(lines)))
        key = draw(st.sampled_from([*OPTION_TYPES, "scan", "out", "bogus"]))
        choices = {"units": ["mm", "cm", "m", "km"], "up": ["y", "z", "x"], "look": ["preview", "gloss"]}
        value = draw(
            fz.json_junk()
            | st.sampled_from(["-x", "--help", "-o", "a b", "a,b", "", ".", "..", "a\u0000b", "a\nb", "/abs"])
            | st.sampled_from(choices.get(key, [0]))
        )
        lines.insert(at, f"{key} = {toml_value(value)}")
        return "\n".join(lines).encode()
    return draw(fz.mutated(fz.MANIFEST.encode()))


def check_manifest(manifest: Manifest) -> None:
    """An accepted manifest: typed options, safe output names, and arguments `lifecast process` accepts."""
    from lifecast.cli import build_parser

    assert manifest.scans
    for task in manifest.scans:
        assert task.scan.is_absolute()
        assert _SAFE_OUT.match(task.out) and task.out not in (".", "..")
        for key, value in task.options.items():
            assert isinstance(value, OPTION_TYPES[key])
        args = task.process_args()
        try:
            build_parser().parse_args(["process", str(task.scan), "-o", "out", *args])
        except SystemExit as exc:  # argparse's refusal: two lines of usage, and the farm task would fail
            raise AssertionError(f"the manifest was accepted but `lifecast process` refuses {args}") from exc


@FUZZ
@given(data=manifest_text())
def test_manifest_toml(data: bytes) -> None:
    with fz.scratch() as folder, fz.keep_failure("manifest", {"manifest.toml": data}):
        path = folder / "batch.toml"
        path.write_bytes(data)
        outcome = fz.bounded(lambda: load_manifest(path), folder)
        if outcome.error is None:
            check_manifest(outcome.result)


# ---------------------------------------------------------------------------- regressions and the real CLI

#: What reading each regression file must do: the fragment its InputError says, or "ok" for a valid result.
REGRESSION_EXPECTED: dict[str, str] = {
    "ply_ascii_extra_rows.ply": "declares 8 data rows (4 vertex, 4 face) but the file has more",
    "ply_ascii_face_count_lies.ply": "declares 5 data rows (4 vertex, 1 face) but the file has more",
    "ply_ascii_vertex_count_huge.ply": "1000000000000 vertex, 4 face) but the file has only 8",
    "ply_signed_char_colour.ply": "ok",
    "ply_face_properties_shuffled.ply": "ok",
    "obj_empty_vt.obj": "OBJ line 10 is malformed: 'vt'",
    "obj_giant_texture.obj": "claims 16385 x 65535 pixels, more than lifecast reads",
    "glb_chunk_length_past_end.glb": "claims 975336306 bytes but only 1490 follow",
    "gltf_uri_not_a_string.gltf": "'uri' that is not a string",
    "glb_position_vec2.glb": "positions of shape (8, 2), not (n, 3) (POSITION is not VEC3)",
    "landmarks_huge_integer.json": "landmark 'nose_tip' must be [x, y, z]",
    "pcd_points_lie.pcd": "promises 2147483647 points",
    # Its header says POINTS 100 over 20 rows: open3d read 80 points of uninitialised memory (ok in one run, a
    # 2.3e6 m scan in another); refused since.
    "pcd_colours_out_of_range.pcd": "promises 100 points but the ascii data holds 20 rows",
    "pcd_normal_y_missing.pcd": "has normal_x, normal_z but not normal_y",
    "landmarks_deep_nesting.json": "nested too deeply",
    "markup_deep_nesting.json": "nested too deeply",
    "markup_vertices_null.json": "landmark 'chin': expected a vertex index",
    "manifest_not_utf8.toml": "not UTF-8 text",
    "manifest_nul_in_path.toml": "texture holds a NUL character",
}
#: Files a regression file refers to (its material and texture), not read on their own.
REGRESSION_HELPERS = ("obj_giant_texture.mtl", "obj_giant_texture.png")


def regression_files() -> list[Path]:
    if not REGRESSIONS.is_dir():
        return []
    return sorted(p for p in REGRESSIONS.iterdir() if p.is_file() and p.name in REGRESSION_EXPECTED)


def read_any(path: Path) -> fz.Outcome:
    """Read a regression file with the reader its name calls for."""
    if path.name.startswith("landmarks_"):
        return fz.bounded(lambda: read_scan_landmarks(path, fz.TETRA.astype(np.float64)), path.parent)
    if path.name.startswith("markup_"):
        with fz.scratch() as folder:
            (folder / "template.obj").write_bytes(fz.template_obj())
            return fz.bounded(lambda: load_template(folder / "template.obj", path), path.parent)
    if path.suffix == ".toml":
        outcome = fz.bounded(lambda: load_manifest(path), path.parent)
        if outcome.error is None:
            check_manifest(outcome.result)
        return outcome
    outcome = fz.bounded(lambda: read_scan(path), path.parent)
    if outcome.error is None:
        check_scan(outcome.result)
    return outcome


def test_regression_folder_is_described() -> None:
    """Every file in tests/data/fuzz_regressions is replayed and listed in its README."""
    on_disk = sorted(p.name for p in REGRESSIONS.iterdir() if p.is_file() and p.name != "README.md")
    assert on_disk == sorted([*REGRESSION_EXPECTED, *REGRESSION_HELPERS])
    readme = (REGRESSIONS / "README.md").read_text()
    assert all(f"`{name}`" in readme for name in on_disk)


@pytest.mark.parametrize("path", regression_files(), ids=lambda p: p.name)
def test_regression_file(path: Path) -> None:
    outcome = read_any(path)
    expected = REGRESSION_EXPECTED[path.name]
    if expected == "ok":
        assert outcome.error is None, outcome.error
    else:
        assert outcome.error is not None, f"{path.name} was accepted"
        assert expected in str(outcome.error)


def cli_cases() -> list[Path]:
    """Regression scan files that are refused: the CLI must say so in one line (a handful, they are slow)."""
    scans = [p for p in regression_files() if p.suffix in (".ply", ".obj", ".glb", ".gltf", ".pcd")]
    return [p for p in scans if REGRESSION_EXPECTED[p.name] != "ok"][:6]


@pytest.mark.parametrize("path", cli_cases(), ids=lambda p: p.name)
def test_cli_refuses_mutated_scan_in_one_line(path: Path, tmp_path: Path) -> None:
    before = fz.listing(path.parent)
    proc = run_cli("inspect", path, timeout=120, cwd=tmp_path)
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lifecast: error: ") and path.name in lines[0], proc.stderr
    assert REGRESSION_EXPECTED[path.name] in lines[0]
    assert fz.listing(path.parent) == before and list(tmp_path.iterdir()) == []


def test_cli_on_a_lying_header(tmp_path: Path) -> None:
    """A PLY claiming 10**12 vertices: exit 2, one line, quickly, nothing written."""
    path = tmp_path / "liar.ply"
    path.write_bytes(re.sub(rb"element vertex 4", b"element vertex 1000000000000", fz.ply_binary()))
    proc = run_cli("inspect", path, timeout=120, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and "liar.ply" in lines[0] and "Traceback" not in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["liar.ply"]

"""Every file in tests/data/bad_inputs is refused with an InputError that names it and says why."""

from __future__ import annotations

from pathlib import Path

import pytest

from lifecast.errors import InputError
from lifecast.io import read_scan

BAD_INPUTS = Path(__file__).resolve().parents[1] / "data" / "bad_inputs"

#: What each refusal must say (a fragment of the message).
EXPECTED: dict[str, str] = {
    "empty.ply": "empty",
    "jpeg_renamed.ply": "JPEG",
    "jpeg_renamed.obj": "JPEG",
    "notes.txt": "unsupported scan format '.txt'",
    "truncated_binary.ply": "truncated",
    "no_end_header.ply": "end_header",
    "zero_vertices.ply": "no vertices",
    "all_nan.ply": "all 3 vertices have NaN",
    "kilometres_across.ply": "larger than 1000 m",
    "nanometres_across.ply": "smaller than 1e-06 m",
    "face_out_of_range.ply": "1 of 2 faces refer to vertices that do not exist",
    "face_out_of_range.obj": "1 of 2 faces refer to vertices that do not exist",
    "uv_out_of_range.obj": "texture coordinates that do not exist",
    "malformed_number.obj": "line 2",
    "binary_garbage.obj": "binary data",
    "missing_texture.obj": "does not exist",
    "missing_texture.mtl": "unsupported scan format '.mtl'",
    "corrupt_texture.obj": "could not be decoded as an image",
    "corrupt_texture.mtl": "unsupported scan format '.mtl'",
    "corrupt_texture.png": "unsupported scan format '.png'",
    "text_renamed.glb": "look like text",
    "json_not_gltf.gltf": "not glTF",
    "missing_buffer.gltf": "gone.bin",
    "no_points.pcd": "no points",
}


def corpus_files() -> list[Path]:
    return sorted(p for p in BAD_INPUTS.iterdir() if p.is_file() and p.suffix not in (".py", ".md"))


def test_corpus_matches_its_generator() -> None:
    assert [p.name for p in corpus_files()] == sorted(EXPECTED)


@pytest.mark.parametrize("bad", corpus_files(), ids=lambda p: p.name)
def test_bad_file_is_refused_naming_it(bad: Path) -> None:
    with pytest.raises(InputError) as info:
        read_scan(bad)
    message = str(info.value)
    assert bad.name in message
    assert EXPECTED[bad.name] in message
    assert "\n" not in message


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="does not exist") as info:
        read_scan(tmp_path / "nope.ply")
    assert info.value.path == tmp_path / "nope.ply"


def test_directory_instead_of_file(tmp_path: Path) -> None:
    folder = tmp_path / "scan.ply"
    folder.mkdir()
    with pytest.raises(InputError, match="directory"):
        read_scan(folder)


def test_explicit_texture_that_does_not_exist(tmp_path: Path) -> None:
    obj = tmp_path / "tri.obj"
    obj.write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nvt 0 0\nvt 1 0\nvt 0 1\nf 1/1 2/2 3/3\n")
    with pytest.raises(InputError, match=r"gone\.jpg"):
        read_scan(obj, texture=tmp_path / "gone.jpg")


def test_explicit_texture_without_uvs(tmp_path: Path) -> None:
    obj = tmp_path / "tri.obj"
    obj.write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
    image = tmp_path / "t.png"
    image.write_bytes((BAD_INPUTS / "jpeg_renamed.ply").read_bytes())
    with pytest.raises(InputError, match="no UVs"):
        read_scan(obj, texture=image)

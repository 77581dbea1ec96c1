"""The bulk OBJ reader (numpy by the chunk) against the line reader: the same contents, or it hands over."""

from __future__ import annotations

from dataclasses import fields
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lifecast.errors import InputError
from lifecast.io import obj
from lifecast.io.obj import ObjContents, _parse_obj_bulk, _parse_obj_lines

REPO = Path(__file__).resolve().parents[2]

TRIANGLES = {
    "v": "f 1 2 3\nf 1 3 4\n",
    "v/vt": "f 1/1 2/2 3/3\nf 1/1 3/3 4/4\n",
    "v//vn": "f 1//1 2//1 3//1\nf 1//1 3//1 4//1\n",
    "v/vt/vn": "f 1/1/1 2/2/1 3/3/1\r\nf 1/1/1 3/3/1 4/4/1\r\n",
}
HEAD = (
    "# scanner export\nmtllib head.mtl\no head\nv 0 0 0\nv 1.5 0 0\nv 1 1e0 0\nv 0 1 -0.25\n"
    "vt 0 0\nvt 1 0\nvt 1 1\nvt 0 1\nvn 0 0 1\ng skin\nusemtl skin\ns 1\n"
)


def assert_same(a: ObjContents, b: ObjContents) -> None:
    for f in fields(ObjContents):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, np.ndarray) or isinstance(y, np.ndarray):
            assert x is not None and y is not None, f.name
            np.testing.assert_array_equal(x, y, err_msg=f.name)
            assert x.shape == y.shape and x.dtype == y.dtype, f.name
        else:
            assert x == y, f.name


@pytest.mark.parametrize("corner", list(TRIANGLES))
def test_every_triangle_corner_format_is_read_in_bulk_as_the_line_reader_reads_it(
    tmp_path: Path, corner: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "head.obj"
    path.write_text(HEAD + TRIANGLES[corner], newline="")
    bulk = _parse_obj_bulk(path)
    assert bulk is not None  # the formats scanners write never fall back
    assert_same(bulk, _parse_obj_lines(path))
    monkeypatch.setattr(obj, "_CHUNK_BYTES", 7)  # statements cut across chunks: the same contents
    small = _parse_obj_bulk(path)
    assert small is not None
    assert_same(small, bulk)


def test_vertex_colours_and_real_scans_read_in_bulk(tmp_path: Path) -> None:
    path = tmp_path / "c.obj"
    path.write_text("v 0 0 0 1 0 0\nv 1 0 0 0 1 0\nv 0 1 0 0 0 255\nvt 0 0 0\nvt 1 0 0\nvt 0 1 0\nf 1/3 2/2 3/1")
    bulk = _parse_obj_bulk(path)
    assert bulk is not None and bulk.colors is not None
    assert_same(bulk, _parse_obj_lines(path))
    shared = REPO.parent / "shared" / "scans"
    for scan in sorted(shared.glob("*/**/*.obj"))[:3]:
        if scan.stat().st_size < 50e6:
            lines = _parse_obj_lines(scan)
            bulk = _parse_obj_bulk(scan)
            if bulk is not None:
                assert_same(bulk, lines)


@pytest.mark.parametrize(
    "text",
    [
        "v 0 0 0\nv 1 0 0\nv 0 1 0\nv 1 1 0\nf 1 2 3 4\n",  # a quad
        "v 0 0 0\nv 1 0 0\nv 0 1 0\nf -3 -2 -1\n",  # relative indices
        "v 0 0 0\nv 1 0 0\nv 0 1 0\n  f 1 2 3\n",  # an indented statement
        "v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1/1 2/1 3/1\nf 1 2 3\n",  # two corner formats
        "v 0 0 0\nv 1 0 0 1\nv 0 1 0\nf 1 2 3\n",  # a w coordinate on one vertex
        "v 0 0 0\nv 1 0 0\nv 0 1 0\nvt 0 0\nvt 1 0 0\nvt 0 1\nf 1/1 2/2 3/3\n",  # a w on one vt
    ],
)
def test_what_the_bulk_reader_does_not_handle_goes_to_the_line_reader(tmp_path: Path, text: str) -> None:
    path = tmp_path / "odd.obj"
    path.write_text(text)
    assert _parse_obj_bulk(path) is None
    assert len(obj.parse_obj(path).faces) >= 1


LINES = st.sampled_from(
    [
        "v 0 0 0", "v 1 0 0", "v 0 1 0", "v 1 1 x", "v 1 2", "v", "v 0 0 0 0.5 0.5 0.5", "vt 0 0", "vt 1",
        "vt 0.5 0.5 0", "vn 0 0 1", "f 1 2 3", "f 1/1 2/2 3/3", "f 1//1 2//1 3//1", "f 0 1 2", "f 1 2",
        "f 1/1/1 2/2/1 3/3/1", "f 1 2 99", "usemtl a", "usemtl", "mtllib m.mtl", "# f 1 2 3", "", "g x",
        " v 0 0 0", "f 1 2 3\r", "v nan 0 0", "f 1/ 2/ 3/",
    ]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(LINES, max_size=14))
def test_the_bulk_reader_agrees_with_the_line_reader_or_hands_over(lines: list[str]) -> None:
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "fuzz.obj"
        path.write_bytes("\n".join(lines).encode())
        try:
            expected: ObjContents | None = _parse_obj_lines(path)
        except InputError:
            expected = None
        bulk = _parse_obj_bulk(path)
        if bulk is not None:
            assert expected is not None, "the bulk reader accepted what the line reader refuses"
            assert_same(bulk, expected)

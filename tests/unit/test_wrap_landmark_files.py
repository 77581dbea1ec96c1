"""Scan landmark files: the three forms (points, vertex indices, what the panels write) and their errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from lifecast.errors import InputError
from lifecast.wrap.correspond import ScanSurface
from lifecast.wrap.landmarks import (
    LandmarkSpec,
    check_landmark_names,
    check_scan_landmarks,
    needs_vertices,
    read_landmark_file,
    read_scan_landmarks,
    resolve_landmarks,
)
from lifecast.wrap.polygon_obj import read_polygon_obj
from lifecast.wrap.template import template_from_arrays
from tests.conftest import grid_plane


def _write(tmp_path: Path, body: object) -> Path:
    path = tmp_path / "lm.json"
    path.write_text(json.dumps(body))
    return path


def test_three_forms_resolve_against_the_scan_as_read(tmp_path: Path) -> None:
    scan = grid_plane(5).vertices
    path = _write(
        tmp_path,
        {
            "a": [0.25, 0.5, 0.0],
            "b": {"vertex": 7},
            "c": {"vertex": 12, "position": [9.0, 9.0, 9.0]},  # the vertex wins, the position is informational
        },
    )
    specs = read_landmark_file(path)
    assert list(specs) == ["a", "b", "c"] and needs_vertices(specs)
    assert specs["c"] == LandmarkSpec(point=specs["c"].point, vertex=12)
    got = read_scan_landmarks(path, scan)
    np.testing.assert_allclose(got["a"], [0.25, 0.5, 0.0])
    np.testing.assert_allclose(got["b"], scan[7])
    np.testing.assert_allclose(got["c"], scan[12])
    points_only = _write(tmp_path, {"a": [1, 2, 3]})
    assert not needs_vertices(read_landmark_file(points_only))
    np.testing.assert_allclose(read_scan_landmarks(points_only)["a"], [1, 2, 3])


@pytest.mark.parametrize(
    ("body", "match"),
    [
        ({"a": [1, 2]}, r"\[x, y, z\]"),
        ({"a": [1, 2, "x"]}, r"\[x, y, z\]"),
        ({"a": [1, 2, float("inf")]}, r"\[x, y, z\]"),
        ({"a": {"vertex": "7"}}, "vertex"),
        ({"a": {"vertex": True}}, "vertex"),
        ({"a": {"vertex": -1}}, "negative"),
        ({"a": {"position": [1, 2, 3]}}, "vertex"),
        ([[1, 2, 3]], "JSON object"),
    ],
)
def test_malformed_entries_are_refused_by_name(tmp_path: Path, body: object, match: str) -> None:
    path = tmp_path / "lm.json"
    path.write_text(json.dumps(body).replace("Infinity", "1e999"))
    with pytest.raises(InputError, match=match):
        read_landmark_file(path)


def test_vertex_indices_out_of_range_are_named(tmp_path: Path) -> None:
    scan = grid_plane(3).vertices  # 9 vertices
    path = _write(tmp_path, {"ok": {"vertex": 8}, "far": {"vertex": 9}, "farther": {"vertex": 1000}})
    with pytest.raises(InputError, match=r"far \(vertex 9\), farther \(vertex 1000\)") as err:
        read_scan_landmarks(path, scan)
    assert "9 vertices" in str(err.value) and err.value.path == path
    with pytest.raises(InputError, match="vertices are needed"):
        read_scan_landmarks(path)
    assert resolve_landmarks({}, None) == {}


def test_unknown_names_and_off_surface_points_are_named(tmp_path: Path) -> None:
    (tmp_path / "t.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nv 1 1 0\nvt 0 0\nf 1/1 2/1 3/1\nf 2/1 4/1 3/1\n")
    template = template_from_arrays(
        "t", read_polygon_obj(tmp_path / "t.obj"), {"landmarks": {"a": 0, "b": 1, "c": 2, "d": 3}}
    )
    with pytest.raises(InputError, match=r"unknown landmark name.*nose, zz.*it knows: a, b, c, d"):
        check_landmark_names({"a", "zz", "nose"}, template)
    plane = grid_plane(11)
    surface = ScanSurface(plane.vertices, plane.faces)
    v = plane.vertices.astype(np.float64)
    with pytest.raises(InputError, match=r"off the scan surface .*: c \(0\.5 away\), d \(2 away\)"):
        check_scan_landmarks(
            {"a": v[0], "b": v[10], "c": v[60] + [0, 0, 0.5], "d": v[120] + [0, 0, 2.0]}, template, surface
        )
    assert check_scan_landmarks({"a": v[0], "b": v[10], "c": v[60]}, template, surface) == ["a", "b", "c"]

"""The small pure helpers behind the USD export: names, metadata values, texture paths, normals."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from pxr import Vt

from lifecast.color import srgb_to_linear
from lifecast.geometry.measure import vertex_normals_angle_weighted
from lifecast.usd.geometry import baked_vertex_normals
from lifecast.usd.material import texture_asset_path, texture_files
from lifecast.usd.metadata import check_variant_name, prim_name, to_usd_dictionary, to_usd_value


@pytest.mark.parametrize(
    ("name", "expected"),
    [("head", "head"), ("anny head-01", "anny_head_01"), ("01_head", "_1_head"), (" s001 ", "s001")],
)
def test_prim_name(name: str, expected: str) -> None:
    assert prim_name(name) == expected


def test_variant_names() -> None:
    assert check_variant_name("lod0") == "lod0"
    assert check_variant_name("0-high") == "0-high"
    for bad in ("", "a b", "lod.1", "x/y"):
        with pytest.raises(ValueError):
            check_variant_name(bad)


def test_usd_values() -> None:
    assert to_usd_value(np.float32(0.5)) == 0.5
    assert to_usd_value(True) is True
    assert to_usd_value(2**70) == str(2**70)
    assert to_usd_value(Path("/a/b")) == "/a/b"
    assert isinstance(to_usd_value(["a", "b"]), Vt.StringArray)
    assert isinstance(to_usd_value([True, False]), Vt.BoolArray)
    assert isinstance(to_usd_value(np.arange(3)), Vt.Int64Array)
    assert list(to_usd_value([1, 2.5])) == [1.0, 2.5]
    assert isinstance(to_usd_value([]), Vt.StringArray)
    assert json.loads(to_usd_value([1, "a", None])) == [1, "a", None]
    assert json.loads(to_usd_value([[1, 2], [3]])) == [[1, 2], [3]]
    assert to_usd_value(None) == "None"
    assert to_usd_dictionary({1: {"x": Path("p")}}) == {"1": {"x": "p"}}


def test_texture_asset_path() -> None:
    assert texture_asset_path("maps/a.<UDIM>.png") == "./maps/a.<UDIM>.png"
    assert texture_asset_path("./maps\\a.png") == "./maps/a.png"
    for bad in ("/abs/a.png", "C:\\maps\\a.png", "../a.png", "maps/../../a.png", "."):
        with pytest.raises(ValueError):
            texture_asset_path(bad)


def test_texture_files_expands_udim_tiles(tmp_path: Path) -> None:
    (tmp_path / "maps").mkdir()
    for name in ("a.1001.png", "a.1012.png", "a.0999.png", "a.png", "b.1001.png"):
        (tmp_path / "maps" / name).write_bytes(b"")
    assert [p.name for p in texture_files(tmp_path, "./maps/a.<UDIM>.png")] == ["a.1001.png", "a.1012.png"]
    assert texture_files(tmp_path, "./maps/a.png") == [tmp_path / "maps" / "a.png"]
    assert texture_files(tmp_path, "./maps/c.<UDIM>.png") == []


def test_normals_are_the_bakers_angle_weighted_ones() -> None:
    # Vertex 0 is shared by a large face in the XY plane and a small one in the XZ plane, both with a right angle
    # there: angle weighting gives them equal say (area weighting would give the large face 100x more).
    vertices = np.array([[0, 0, 0], [10, 0, 0], [0, 10, 0], [0, 0, 1], [1, 0, 0]], np.float32)
    faces = np.array([[0, 1, 2], [0, 3, 4]], np.int32)
    normals = baked_vertex_normals(vertices, faces)
    assert normals.dtype == np.float32 and normals.shape == (5, 3)
    np.testing.assert_allclose(normals[0], np.array([0.0, 1.0, 1.0]) / np.sqrt(2.0), atol=1e-6)
    np.testing.assert_allclose(normals[1], [0, 0, 1], atol=1e-6)
    np.testing.assert_allclose(normals[3], [0, 1, 0], atol=1e-6)
    np.testing.assert_array_equal(normals, vertex_normals_angle_weighted(vertices, faces))


def test_unreferenced_vertex_gets_a_finite_normal() -> None:
    vertices = np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [5, 5, 5]], np.float32)
    normals = baked_vertex_normals(vertices, np.array([[0, 1, 2]], np.int32))
    assert np.all(np.isfinite(normals))
    np.testing.assert_allclose(np.linalg.norm(normals, axis=1), 1.0, atol=1e-6)


def test_srgb_to_linear() -> None:
    np.testing.assert_allclose(
        srgb_to_linear(np.array([0.0, 0.04045, 0.5, 1.0, 1.5])), [0, 0.0031308, 0.214041, 1, 1], atol=1e-6
    )

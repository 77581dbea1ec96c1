"""Albedo colour management: sRGB texture values to linear ACEScg through OpenColorIO, written as half-float EXR.

The expected values are computed here from first principles, independently of OpenColorIO: the sRGB
transfer function, then the Rec.709 (D65) to AP1 (ACES white) matrix built from the two sets of
primaries with a Bradford chromatic adaptation. OpenColorIO's built-in config rounds its matrices to
about seven digits, so white comes out 1.000024: the tolerance is 1e-4.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pytest
from numpy.typing import NDArray

from lifecast.bake import bake_maps, read_exr, read_exr_header
from lifecast.bake.commands import add_commands
from lifecast.color import AP1_CHROMATICITIES
from lifecast.errors import InputError
from lifecast.mesh import TriMesh
from lifecast.worker.events import CollectingSink
from tests.conftest import grid_plane, require_optional

require_optional("PyOpenColorIO", "ACEScg albedo needs the 'color' extra (opencolorio)")

REC709 = (0.64, 0.33, 0.30, 0.60, 0.15, 0.06)
D65 = (0.3127, 0.3290)
ACES_WHITE = (0.32168, 0.33767)
BRADFORD = np.array([[0.8951, 0.2664, -0.1614], [-0.7502, 1.7135, 0.0367], [0.0389, -0.0685, 1.0296]])


def _xyz(xy: tuple[float, float]) -> NDArray[np.float64]:
    return np.array([xy[0] / xy[1], 1.0, (1.0 - xy[0] - xy[1]) / xy[1]])


def _rgb_to_xyz(primaries: tuple[float, ...], white: tuple[float, float]) -> NDArray[np.float64]:
    columns = np.stack([_xyz((primaries[2 * i], primaries[2 * i + 1])) for i in range(3)], axis=1)
    return columns * np.linalg.solve(columns, _xyz(white))


def _srgb_to_acescg_by_hand(srgb: NDArray[np.floating]) -> NDArray[np.float64]:
    c = np.asarray(srgb, np.float64)
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    adapt = np.linalg.inv(BRADFORD) @ np.diag((BRADFORD @ _xyz(ACES_WHITE)) / (BRADFORD @ _xyz(D65))) @ BRADFORD
    ap1 = AP1_CHROMATICITIES
    matrix = np.linalg.inv(_rgb_to_xyz(ap1[:6], (ap1[6], ap1[7]))) @ adapt @ _rgb_to_xyz(REC709, D65)
    return linear @ matrix.T


def test_hand_matrix_is_the_published_rec709_to_ap1() -> None:
    # Guards the reference itself against the widely published Rec.709 -> ACEScg matrix (4 digits).
    published = [[0.6131, 0.3395, 0.0474], [0.0702, 0.9164, 0.0135], [0.0206, 0.1096, 0.8698]]
    np.testing.assert_allclose(_srgb_to_acescg_by_hand(np.eye(3)).T, published, atol=1e-4)


def test_known_srgb_colours_round_trip_to_acescg() -> None:
    from lifecast.color import srgb_to_acescg

    rng = np.random.default_rng(0)
    known = [[1, 1, 1], [1, 0, 0], [0, 1, 0], [0, 0, 1], [0.5, 0.5, 0.5], [0.8, 0.6, 0.5], [0, 0, 0]]
    srgb = np.concatenate([known, rng.random((500, 3))]).astype(np.float32)
    out = srgb_to_acescg(srgb)
    assert out.dtype == np.float32 and out.shape == srgb.shape
    np.testing.assert_allclose(out, _srgb_to_acescg_by_hand(srgb), atol=1e-4)
    np.testing.assert_allclose(out[0], [1.0, 1.0, 1.0], atol=1e-4)  # white stays white (D65 adapted to ACES)
    np.testing.assert_allclose(out[4], [0.2140, 0.2140, 0.2140], atol=1e-4)  # sRGB 0.5 is 21.4 % linear


def _coloured_pair() -> tuple[TriMesh, TriMesh]:
    high = grid_plane(41, 1.2)
    verts = high.vertices - np.float32([0.1, 0.1, 0.0])
    colours = np.stack([verts[:, 0], verts[:, 1], np.full(len(verts), 0.25)], axis=1).clip(0, 1)
    low = grid_plane(9, 1.0)
    low = low.with_(uvs=low.vertices[:, :2].copy(), face_uvs=low.faces.copy())
    return high.with_(vertices=verts, vertex_colors=colours.astype(np.float32)), low


def test_acescg_albedo_is_a_half_float_exr_with_ap1_chromaticities(tmp_path: Path) -> None:
    import OpenEXR

    high, low = _coloured_pair()
    srgb = bake_maps(high, low, maps=["albedo"], size=64, out_dir=tmp_path / "srgb", albedo_bits=16)
    aces = bake_maps(high, low, maps=["albedo"], size=64, out_dir=tmp_path / "aces", albedo_colorspace="acescg")
    path = aces.paths["albedo"][1001]
    assert path.name == "bake_albedo.1001.exr"
    assert aces.color_spaces["albedo"] == "acescg" and srgb.color_spaces["albedo"] == "srgb"
    assert aces.color_spaces["mask"] == "raw"

    pixels = read_exr(path, as_float32=False)
    assert pixels.dtype == np.float16 and pixels.shape == (64, 64, 3)
    header = read_exr_header(path)
    np.testing.assert_allclose(header["chromaticities"], AP1_CHROMATICITIES, atol=1e-6)
    assert header["colorInteropID"] == "lin_ap1_scene"
    assert OpenEXR.checkColorMetadata(header) == 0  # no contradictory colour metadata

    import cv2

    encoded = cv2.imread(str(srgb.paths["albedo"][1001]), cv2.IMREAD_UNCHANGED)[..., ::-1] / 65535.0
    expected = _srgb_to_acescg_by_hand(encoded.reshape(-1, 3)).reshape(encoded.shape)
    # Same texels, same colours: only the encoding differs (16-bit sRGB vs half-float linear AP1).
    np.testing.assert_allclose(pixels.astype(np.float64), expected, atol=2e-3, rtol=2e-3)


def test_unknown_colour_space_is_refused(tmp_path: Path) -> None:
    high, low = _coloured_pair()
    with pytest.raises(InputError, match="colour space"):
        bake_maps(high, low, maps=["albedo"], size=16, out_dir=tmp_path, albedo_colorspace="rec2020")  # type: ignore[arg-type]


def test_cli_passes_the_albedo_colour_space(tmp_path: Path) -> None:
    from tests.unit.test_bake_commands import _write_obj

    high, low = _coloured_pair()
    _write_obj(tmp_path / "low.obj", low)
    # Vertex colours need a PLY: write one with trimesh.
    import trimesh

    colours = (np.asarray(high.vertex_colors) * 255).astype(np.uint8)
    trimesh.Trimesh(high.vertices, high.faces, vertex_colors=colours, process=False).export(tmp_path / "high.ply")
    parser = argparse.ArgumentParser(prog="lifecast")
    handlers = add_commands(parser.add_subparsers(dest="command"))
    args = parser.parse_args(
        ["bake", str(tmp_path / "high.ply"), str(tmp_path / "low.obj"), "-o", str(tmp_path / "maps"),
         "--maps", "albedo", "--size", "32", "--albedo-colorspace", "acescg", "--json"]
    )  # fmt: skip
    sink = CollectingSink()
    assert handlers["bake"](args, sink) == 0
    assert (tmp_path / "maps" / "low_albedo.1001.exr").is_file()
    assert sink.of_type("stage_end")[0].data["summary"]["color_spaces"]["albedo"] == "acescg"

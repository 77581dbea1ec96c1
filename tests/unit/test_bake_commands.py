"""``lifecast bake``: argument parsing, a small bake end to end, and a bad input."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pytest

from lifecast.bake.commands import add_commands, parse_udims
from lifecast.errors import InputError
from lifecast.mesh import TriMesh
from lifecast.worker.events import CollectingSink
from tests.conftest import grid_plane


def _write_obj(path: Path, mesh: TriMesh) -> None:
    lines = [f"v {x:.6f} {y:.6f} {z:.6f}" for x, y, z in mesh.vertices]
    if mesh.uvs is not None and mesh.face_uvs is not None:
        lines += [f"vt {u:.6f} {v:.6f}" for u, v in mesh.uvs]
        lines += [
            " ".join(["f"] + [f"{a + 1}/{b + 1}" for a, b in zip(f, t, strict=True)])
            for f, t in zip(mesh.faces, mesh.face_uvs, strict=True)
        ]
    else:
        lines += [" ".join(["f"] + [str(a + 1) for a in f]) for f in mesh.faces]
    path.write_text("\n".join(lines) + "\n")


def _parser() -> tuple[argparse.ArgumentParser, dict]:
    parser = argparse.ArgumentParser(prog="lifecast")
    handlers = add_commands(parser.add_subparsers(dest="command"))
    return parser, handlers


def _meshes(tmp_path: Path, with_uvs: bool = True) -> tuple[Path, Path]:
    high = grid_plane(30, 1.2)
    verts = high.vertices - np.float32([0.1, 0.1, 0.0])
    verts[:, 2] = 0.02 * np.sin(6 * verts[:, 0])
    low = grid_plane(6, 1.0)
    if with_uvs:
        low = low.with_(uvs=low.vertices[:, :2].copy(), face_uvs=low.faces.copy())
    _write_obj(tmp_path / "high.obj", high.with_(vertices=verts))
    _write_obj(tmp_path / "low.obj", low)
    return tmp_path / "high.obj", tmp_path / "low.obj"


def test_bake_command_writes_udim_named_maps_and_a_summary(tmp_path: Path) -> None:
    high, low = _meshes(tmp_path)
    parser, handlers = _parser()
    args = parser.parse_args(
        ["bake", str(high), str(low), "-o", str(tmp_path / "maps"), "--maps", "normal,displacement", "--size", "32",
         "--name", "head", "--json"]
    )  # fmt: skip
    sink = CollectingSink()
    assert handlers["bake"](args, sink) == 0
    assert (tmp_path / "maps" / "head_normal.1001.png").is_file()
    assert (tmp_path / "maps" / "head_displacement.1001.exr").is_file()
    assert (tmp_path / "maps" / "head_mask.1001.png").is_file()
    summary = sink.of_type("stage_end")[0].data["summary"]
    assert summary["coverage_percent"]["1001"] > 90
    assert summary["cage_misses"] == 0
    assert {"rasterize", "correspond", "normal", "displacement"} <= set(summary["seconds"])
    assert len(sink.of_type("artifact")) == 3
    assert sink.of_type("done")[0].data["ok"]


def test_bake_command_refuses_a_low_mesh_without_uvs(tmp_path: Path) -> None:
    high, low = _meshes(tmp_path, with_uvs=False)
    parser, handlers = _parser()
    args = parser.parse_args(["bake", str(high), str(low), "-o", str(tmp_path / "maps"), "--json"])
    with pytest.raises(InputError, match="no UVs"):
        handlers["bake"](args, CollectingSink())


def test_parse_udims() -> None:
    assert parse_udims(None) is None
    assert parse_udims("auto") == "auto"
    assert parse_udims("1001,1002") == [1001, 1002]
    with pytest.raises(InputError):
        parse_udims("1001,abc")
    with pytest.raises(InputError):
        parse_udims("999")

"""``lifecast project``: a small projection end to end through the command handler, and bad input."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from lifecast.color import srgb_to_linear
from lifecast.errors import InputError
from lifecast.io.cameras import write_colmap_text
from lifecast.mesh import TriMesh
from lifecast.photo.commands import add_commands
from lifecast.photo.metrics import psnr
from lifecast.photo.synthetic import SyntheticCapture, prepared_mesh, synthetic_capture
from lifecast.photo.texels import texel_set
from lifecast.uv.udim import face_udims
from lifecast.worker.events import CollectingSink
from tests.conftest import REPO

HEAD = REPO / "sample_scans" / "anny_head" / "anny_head_truth.ply"
SIZE = 128


def _write_obj(path: Path, mesh: TriMesh) -> Path:
    lines = [f"v {x:.6f} {y:.6f} {z:.6f}" for x, y, z in mesh.vertices]
    if mesh.uvs is not None and mesh.face_uvs is not None:
        lines += [f"vt {u:.7f} {v:.7f}" for u, v in mesh.uvs]
        lines += [
            " ".join(["f"] + [f"{a + 1}/{b + 1}" for a, b in zip(f, t, strict=True)])
            for f, t in zip(mesh.faces, mesh.face_uvs, strict=True)
        ]
    else:
        lines += [" ".join(["f"] + [str(a + 1) for a in f]) for f in mesh.faces]
    path.write_text("\n".join(lines) + "\n")
    return path


def _parser() -> tuple[argparse.ArgumentParser, dict]:
    parser = argparse.ArgumentParser(prog="lifecast")
    handlers = add_commands(parser.add_subparsers(dest="command"))
    return parser, handlers


@pytest.fixture(scope="module")
def capture() -> SyntheticCapture:
    mesh = prepared_mesh(HEAD, faces=3000, texture_size=SIZE)
    return synthetic_capture(mesh, cameras=10, width=256, height=192, texture_size=512, up=(0, 0, 1),
                             extension=".jpg", detail=1 / 15)  # fmt: skip


@pytest.fixture
def session(capture: SyntheticCapture, tmp_path: Path) -> dict[str, Path]:
    return {
        "mesh": _write_obj(tmp_path / "head.obj", capture.mesh),
        "bare": _write_obj(tmp_path / "bare.obj", capture.mesh.with_(uvs=None, face_uvs=None)),
        "cameras": write_colmap_text(capture.rig, tmp_path / "sparse"),
        "images": capture.write_photos(tmp_path / "images", quality=95),
        "out": tmp_path / "maps",
    }


def test_project_command_writes_udim_named_maps_and_a_photo_report(
    capture: SyntheticCapture, session: dict[str, Path]
) -> None:
    missing = capture.rig.names[3]
    (session["images"] / missing).unlink()
    parser, handlers = _parser()
    args = parser.parse_args(
        ["project", str(session["mesh"]), "--cameras", str(session["cameras"]), "--images", str(session["images"]),
         "-o", str(session["out"]), "--size", str(SIZE), "--name", "head", "--json"]
    )  # fmt: skip
    sink = CollectingSink()
    assert handlers["project"](args, sink) == 0
    out = session["out"]
    albedo = np.asarray(cv2.imread(str(out / "head_albedo.1001.png")))[:, :, ::-1]
    mask = np.asarray(cv2.imread(str(out / "head_mask.1001.png"), cv2.IMREAD_GRAYSCALE)) > 0
    report = json.loads((out / "head_photos.json").read_text())
    assert albedo.shape == (SIZE, SIZE, 3) and albedo.dtype == np.uint8
    assert report["photos_used"] == 9 and report["photos_skipped"] == 1
    skipped = [p for p in report["photos"] if not p["used"]]
    assert skipped[0]["name"] == missing and "no image" in skipped[0]["reason"]
    assert abs(report["coverage_percent"]["1001"] - 100 * mask.mean()) < 1e-3
    # The padding fills every texel around the charts (no black gutter for mip-maps to bleed).
    assert (albedo[~mask].max(axis=1) > 0).all()
    # The 8-bit sRGB file matches the truth on the covered texels: measured 32.1 dB (3 dB below is twice the error).
    mesh = capture.mesh
    assert mesh.uvs is not None and mesh.face_uvs is not None
    texels = texel_set(mesh, [1001], face_udims(mesh.uvs, mesh.face_uvs), SIZE)
    truth = texels.tiles[0].image(capture.albedo(texels.point))
    decoded = srgb_to_linear(albedo.astype(np.float32) / 255.0)
    assert psnr(decoded, truth, mask) > 29.0
    warnings = sink.of_type("warning")
    assert len(warnings) == 1 and missing in warnings[0].data["message"]
    assert len(sink.of_type("artifact")) == 3
    summary = sink.of_type("stage_end")[0].data["summary"]
    assert summary["photos_used"] == 9 and "blend" in summary["seconds"]
    assert sink.of_type("done")[0].data["ok"]


def test_project_command_refuses_a_mesh_without_uvs(session: dict[str, Path]) -> None:
    parser, handlers = _parser()
    args = parser.parse_args(
        ["project", str(session["bare"]), "--cameras", str(session["cameras"]), "--images", str(session["images"]),
         "-o", str(session["out"]), "--json"]
    )  # fmt: skip
    with pytest.raises(InputError, match="no UVs"):
        handlers["project"](args, CollectingSink())
    assert not session["out"].exists()


def test_project_command_refuses_a_missing_images_folder(session: dict[str, Path], tmp_path: Path) -> None:
    parser, handlers = _parser()
    args = parser.parse_args(
        ["project", str(session["mesh"]), "--cameras", str(session["cameras"]), "--images", str(tmp_path / "gone"),
         "-o", str(session["out"]), "--json"]
    )  # fmt: skip
    with pytest.raises(InputError, match="images folder does not exist"):
        handlers["project"](args, CollectingSink())

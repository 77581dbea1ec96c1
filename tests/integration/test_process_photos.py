"""``lifecast process --photos --cameras`` through the real CLI: the albedo projected from a capture's photos.

The capture is synthetic (:mod:`lifecast.photo.synthetic`): the bundled sample's clean head, decimated to 6,000
triangles, is the scan, written as a scanner exports it (mm, Z up, the sample's offset from the origin, grey vertex
colours that must not reach the albedo); 12 cameras around it photograph a procedural albedo known at every
surface point, each with its own exposure, white balance, vignetting, lens distortion and a little pose noise in
the recorded rig, written as a COLMAP text model in the scan file's frame. The pipeline converts the scan to cm and
Y up: the photos must land on the LODs (and on a wrapped template) through the same transform.
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from lifecast.color import srgb_to_linear
from lifecast.io.cameras import CameraRig, read_cameras, write_colmap_text
from lifecast.mesh import TriMesh
from lifecast.photo.frames import transform_rig
from lifecast.photo.metrics import psnr
from lifecast.photo.synthetic import ProceduralAlbedo, SyntheticCapture, prepared_mesh, synthetic_capture
from lifecast.photo.texels import texel_set
from lifecast.pipeline.store import load_values
from lifecast.uv.udim import face_udims
from lifecast.worker.events import Event
from tests.cli_helpers import events_of, run_cli
from tests.conftest import REPO, require_optional

pytestmark = pytest.mark.integration

HEAD = REPO / "sample_scans" / "anny_head" / "anny_head_truth.ply"
SIZE = 256
MISSING = 5  # the camera whose photo is not delivered
RUN = ("--name", "head", "--texture-size", str(SIZE), "--no-delight", "--no-inpaint", "--json")


def _write_scan(path: Path, mesh: TriMesh) -> Path:
    """A binary PLY as a scanner exports it: mm, Z up (declared in the header), grey vertex colours."""
    header = (
        "ply\nformat binary_little_endian 1.0\ncomment units mm\ncomment up z\n"
        f"element vertex {len(mesh.vertices)}\nproperty float x\nproperty float y\nproperty float z\n"
        "property uchar red\nproperty uchar green\nproperty uchar blue\n"
        f"element face {len(mesh.faces)}\nproperty list uchar int vertex_indices\nend_header\n"
    )
    vertices = np.zeros(len(mesh.vertices), dtype=[("p", "<f4", 3), ("c", "u1", 3)])
    vertices["p"], vertices["c"] = mesh.vertices, 128
    faces = np.zeros(len(mesh.faces), dtype=[("n", "u1"), ("i", "<i4", 3)])
    faces["n"], faces["i"] = 3, mesh.faces
    path.write_bytes(header.encode() + vertices.tobytes() + faces.tobytes())
    return path


@pytest.fixture(scope="module")
def capture() -> SyntheticCapture:
    mesh = prepared_mesh(HEAD, faces=6000, texture_size=512)
    return synthetic_capture(mesh, cameras=12, width=320, height=240, texture_size=512, up=(0, 0, 1), detail=1 / 15)


@pytest.fixture(scope="module")
def session(tmp_path_factory: pytest.TempPathFactory, capture: SyntheticCapture) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("photos")
    photos = capture.write_photos(root / "photos")
    (photos / capture.rig.names[MISSING]).unlink()
    return {
        "root": root,
        "scan": _write_scan(root / "scan.ply", capture.mesh),
        "photos": photos,
        "cameras": write_colmap_text(capture.rig, root / "sparse"),
        "cache": root / "cache",
    }


def _process(session: dict[str, Path], out: str, *extra: str | Path) -> subprocess.CompletedProcess[str]:
    s = session
    return run_cli("process", s["scan"], "-o", s["root"] / out, "--photos", s["photos"], "--cameras", s["cameras"],
                   "--cache", s["cache"], *RUN, *extra)  # fmt: skip


@pytest.fixture(scope="module")
def first_run(session: dict[str, Path]) -> tuple[Path, list[Event]]:
    proc = _process(session, "head", "--lods", "3000")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return session["root"] / "head", events_of(proc.stdout)


def _cached(cache: Path, stage: str, name: str) -> Any:
    """One output of the cache's only entry of ``stage``."""
    entries = list((cache / stage).iterdir())
    assert len(entries) == 1, entries
    return load_values(entries[0])[name]


def _albedo_psnr(out: Path, lod0: TriMesh, scan_to_asset: np.ndarray, albedo: ProceduralAlbedo) -> tuple[float, float]:
    """PSNR of the asset's LOD0 albedo against the truth on the texels the photos saw, and their share of the
    charts' texels. The truth at a texel is the albedo at its surface point taken back to the scan file's frame."""
    assert lod0.uvs is not None and lod0.face_uvs is not None
    texels = texel_set(lod0, [1001], face_udims(lod0.uvs, lod0.face_uvs), SIZE)
    tile = texels.tiles[0]
    back = np.linalg.inv(scan_to_asset)
    truth = tile.image(albedo(texels.point.astype(np.float64) @ back[:3, :3].T + back[:3, 3]))
    charts = tile.image(np.ones(len(texels), bool), fill=False)
    image = np.asarray(cv2.imread(str(out / "maps" / "head_lod0_albedo.1001.png")))[:, :, ::-1]
    holes = np.asarray(cv2.imread(str(out / "maps" / "head_lod0_holes.1001.png"), cv2.IMREAD_GRAYSCALE)) > 127
    assert not (holes & ~charts).any(), "holes are texels of the charts only"
    seen = charts & ~holes
    decoded = srgb_to_linear(image.astype(np.float32) / 255.0)
    return psnr(decoded, truth, seen), float(seen.sum() / charts.sum())


def test_the_albedo_is_the_photos_not_the_scan_colours(
    first_run: tuple[Path, list[Event]], session: dict[str, Path], capture: SyntheticCapture
) -> None:
    out, events = first_run
    starts = [e.data["stage"] for e in events if e.type == "stage_start"]
    assert starts == ["ingest", "clean", "lod", "uv", "texture", "photos", "export"]
    matrix = _cached(session["cache"], "ingest", "scan_to_asset")
    np.testing.assert_allclose(matrix[:3, :3], [[0.1, 0, 0], [0, 0, 0.1], [0, -0.1, 0]])  # mm Z up -> cm Y up
    value, seen = _albedo_psnr(out, _cached(session["cache"], "uv", "lods")[0], matrix, capture.albedo)
    # Measured 38.8 dB (11 of the 12 photos) over 79 % of the charts' texels (the rest: mouth bag, eye sockets).
    assert value > 36.0 and 0.7 < seen < 0.9, (value, seen)
    report = json.loads((out / "maps" / "head_lod0_photos.json").read_text())
    assert report["photos_used"] == 11 and report["photos_skipped"] == 1
    skipped = [p for p in report["photos"] if not p["used"]]
    assert skipped[0]["name"] == capture.rig.names[MISSING] and "no image" in skipped[0]["reason"]
    warnings = [e.data["message"] for e in events if e.type == "warning"]
    assert sum(capture.rig.names[MISSING] in w for w in warnings) == 1, "the missing photo is warned about once"
    assert not any("no albedo" in w for w in warnings), "the material reads the photos' albedo"
    from pxr import Usd

    stage = Usd.Stage.Open(str(out / "asset.usda"))
    provenance = json.dumps(stage.GetDefaultPrim().GetCustomData(), default=str)
    assert '"rig_format": "colmap-text"' in provenance and '"photos_found": 11' in provenance
    qa = json.loads((out / "qa_report.json").read_text())
    assert qa["photos"]["lods"]["lod0"]["photos_used"] == 11


def test_a_scan_frame_point_lands_on_the_lod_through_the_moved_cameras(
    first_run: tuple[Path, list[Event]], session: dict[str, Path], capture: SyntheticCapture
) -> None:
    """Pixels of a camera of the rig (scan file's frame) see a scan point; the same pixels of the camera moved by
    the ingest's transform see, on the LOD (asset frame), that point moved by it."""
    from lifecast.bake.correspond import make_ray_engine

    rig = read_cameras(session["cameras"])
    matrix = _cached(session["cache"], "ingest", "scan_to_asset")
    lod0: TriMesh = _cached(session["cache"], "uv", "lods")[0]
    moved = transform_rig(rig, matrix)
    scan_rays = make_ray_engine(capture.mesh.vertices, capture.mesh.faces)
    lod_rays = make_ray_engine(lod0.vertices, lod0.faces)
    grid = np.stack(np.meshgrid(np.arange(8, 320, 16) + 0.5, np.arange(8, 240, 16) + 0.5), -1).reshape(-1, 2)
    errors = []
    for before, after in zip(rig.cameras[::3], moved.cameras[::3], strict=True):
        hits = []
        for cam, engine in ((before, scan_rays), (after, lod_rays)):
            origins, directions = cam.pixel_rays(grid)
            h = engine.cast(origins.astype(np.float32), directions.astype(np.float32), 1e9)
            hits.append((origins + h.t[:, None] * directions, h.face >= 0))
        (scan_points, on_scan), (lod_points, on_lod) = hits
        both = on_scan & on_lod
        assert both.sum() > 50
        expected = scan_points[both] @ matrix[:3, :3].T + matrix[:3, 3]
        errors.append(np.linalg.norm(lod_points[both] - expected, axis=1))
    error = np.concatenate(errors)
    # cm: the 3,000-triangle LOD lies within about a millimetre of the 6,000-triangle scan it was decimated from
    assert np.median(error) < 0.05 and np.percentile(error, 90) < 0.15, np.percentile(error, [50, 90, 99])


def test_photos_onto_a_wrapped_template(session: dict[str, Path], capture: SyntheticCapture) -> None:
    """The wrap aligns the template to the cleaned scan in the asset's frame: no other transform for the photos."""
    require_optional("anny", "the anny templates need the 'wrap' extra (anny)")
    wrap = dict(session, cache=session["root"] / "cache_wrap")
    proc = _process(wrap, "wrapped", "--template", "anny-head")
    assert proc.returncode == 0, proc.stderr[-3000:]
    starts = [e.data["stage"] for e in events_of(proc.stdout) if e.type == "stage_start"]
    assert starts == ["ingest", "clean", "wrap", "uv", "texture", "photos", "export"]
    matrix = _cached(wrap["cache"], "ingest", "scan_to_asset")
    lod0 = _cached(wrap["cache"], "uv", "lods")[0]
    value, seen = _albedo_psnr(session["root"] / "wrapped", lod0, matrix, capture.albedo)
    # Measured 36.7 dB over 83 % of the template's charts (its eyes and mouth bag lie inside the scan: holes).
    assert value > 34.0 and 0.7 < seen < 0.95, (value, seen)


def test_an_acescg_asset_gets_the_photos_albedo_in_acescg(
    first_run: tuple[Path, list[Event]], session: dict[str, Path]
) -> None:
    from lifecast.bake.images import read_exr, read_exr_header
    from lifecast.color import srgb_to_acescg

    proc = _process(session, "aces", "--lods", "3000", "--albedo-colorspace", "acescg")
    assert proc.returncode == 0, proc.stderr[-2000:]
    maps = session["root"] / "aces" / "maps"
    assert not (maps / "head_lod0_albedo.1001.png").exists()
    header = read_exr_header(maps / "head_lod0_albedo.1001.exr")
    assert header["colorInteropID"] == "lin_ap1_scene"
    aces = read_exr(maps / "head_lod0_albedo.1001.exr")
    srgb = np.asarray(cv2.imread(str(first_run[0] / "maps" / "head_lod0_albedo.1001.png")))[:, :, ::-1] / 255.0
    charts = np.asarray(cv2.imread(str(maps / "head_lod0_mask.1001.png"), cv2.IMREAD_GRAYSCALE)) > 127  # the bake's
    seen = charts & (np.asarray(cv2.imread(str(maps / "head_lod0_holes.1001.png"), cv2.IMREAD_GRAYSCALE)) == 0)
    # the same projection as the sRGB asset's, in the other encoding (8-bit rounding and half floats apart)
    np.testing.assert_allclose(aces[seen], srgb_to_acescg(srgb[seen].astype(np.float32)), atol=0.01)


@pytest.mark.parametrize(
    ("mistake", "message"),
    [
        ("metres", "the cameras spread over 0.003"),  # the stage's units check
        ("moved", "none of the 12 cameras frames any part of the mesh: the cameras and the mesh are in different"),
    ],
)
def test_cameras_in_another_frame_are_refused_with_the_likely_cause(
    first_run: tuple[Path, list[Event]], session: dict[str, Path], capture: SyntheticCapture, mistake: str, message: str
) -> None:
    if mistake == "metres":
        rig = CameraRig(tuple(replace(c, translation=c.translation / 1000.0) for c in capture.rig.cameras), "s")
    else:  # the scan was moved after the cameras were exported: they are a metre off (project_photos refuses)
        rig = transform_rig(capture.rig, [[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 1000.0], [0, 0, 0, 1]])
    s = dict(session, cameras=write_colmap_text(rig, session["root"] / mistake))
    proc = _process(s, "head", "--lods", "3000", "--stop-after", "photos")
    assert proc.returncode == 2, proc.stderr[-2000:]
    errors = [e for e in events_of(proc.stdout) if e.type == "error"]
    assert message in errors[0].data["message"], errors[0].data["message"]
    cached = {e.data["stage"]: e.data["cached"] for e in events_of(proc.stdout) if e.type == "stage_end"}
    assert cached == dict.fromkeys(("ingest", "clean", "lod", "uv", "texture"), True)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--photos", "{photos}"), "--photos need their calibrated cameras"),
        (("--cameras", "{cameras}"), "give --photos too"),
        (("--photos", "{root}/nowhere", "--cameras", "{cameras}"), "photos folder not found"),
    ],
)
def test_half_a_photo_session_exits_2_before_any_work(
    session: dict[str, Path], args: tuple[str, ...], message: str
) -> None:
    out = session["root"] / "refused"
    given = [a.format(**{k: str(v) for k, v in session.items()}) for a in args]
    proc = run_cli("process", session["scan"], "-o", out, *given)
    assert proc.returncode == 2 and message in proc.stderr, proc.stderr[-2000:]
    assert not out.exists()


def test_the_photos_stage_is_cached_and_reruns_when_a_photo_changes(
    first_run: tuple[Path, list[Event]], session: dict[str, Path]
) -> None:
    out, _ = first_run
    albedo = out / "maps" / "head_lod0_albedo.1001.png"
    before = albedo.read_bytes()
    again = _process(session, "head", "--lods", "3000")
    assert again.returncode == 0, again.stderr[-2000:]
    cached = {e.data["stage"]: e.data["cached"] for e in events_of(again.stdout) if e.type == "stage_end"}
    assert cached == dict.fromkeys(("ingest", "clean", "lod", "uv", "texture", "photos", "export"), True)
    photo = session["photos"] / read_cameras(session["cameras"]).names[2]
    pixels = cv2.imread(str(photo))
    stamp = photo.stat().st_mtime_ns
    cv2.imwrite(str(photo), (pixels * 0.6).astype(np.uint8))
    os.utime(photo, ns=(stamp, stamp + 2_000_000_000))
    changed = _process(session, "head", "--lods", "3000")
    assert changed.returncode == 0, changed.stderr[-2000:]
    cached = {e.data["stage"]: e.data["cached"] for e in events_of(changed.stdout) if e.type == "stage_end"}
    assert cached == {"ingest": True, "clean": True, "lod": True, "uv": True, "texture": True, "photos": False,
                      "export": False}  # fmt: skip
    assert albedo.read_bytes() != before

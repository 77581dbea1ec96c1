"""The pipeline's photo texturing: the scan-to-asset transform, the rig moved with it, the options, the stage graph
and its key (the photos and the cameras by content)."""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from lifecast.errors import InputError
from lifecast.io.cameras import CameraRig, Distortion, read_cameras, write_colmap_text
from lifecast.mesh import TriMesh
from lifecast.photo.frames import similarity_parts, transform_rig
from lifecast.photo.synthetic import look_at
from lifecast.pipeline.options import (
    PHOTO_STAGE,
    STAGE_NAMES,
    WRAP_STAGE_NAMES,
    ProcessOptions,
    check_options,
)
from lifecast.pipeline.scan_to_asset import build_stages
from lifecast.pipeline.stages.ingest import asset_transform, to_asset_space
from lifecast.pipeline.stages.photos import chart_masks, photo_inputs
from tests.conftest import icosphere


def _rig(count: int = 4, distance: float = 500.0) -> CameraRig:
    """Cameras on a ring around the origin (scan units: mm), Z up, with lens distortion."""
    lens = Distortion("opencv", (-0.08, 0.02, 0.0008, -0.0005, 0.0, 0.0, 0.0, 0.0))
    cams = []
    for k in range(count):
        a = 2 * np.pi * k / count
        centre = np.array([np.cos(a), np.sin(a), 0.3]) * distance
        cams.append(look_at(f"cam{k:03d}.png", centre, np.zeros(3), np.array([0.0, 0.0, 1.0]), 64, 48, 80.0, lens))
    return CameraRig(tuple(cams), "synthetic")


@pytest.mark.parametrize(("scale", "up"), [(0.1, "z"), (1.0, "y"), (100.0, "z"), (0.001, "y")])
def test_the_ingest_transform_is_the_conversion_it_applies(scale: float, up: str) -> None:
    rng = np.random.default_rng(0)
    points = rng.normal(size=(50, 3)) * 300
    matrix = asset_transform(scale, up)  # type: ignore[arg-type]
    moved = points @ matrix[:3, :3].T + matrix[:3, 3]
    np.testing.assert_allclose(moved, to_asset_space(points, scale, up), rtol=1e-12)  # type: ignore[arg-type]
    assert matrix.dtype == np.float64 and matrix.shape == (4, 4)
    assert np.linalg.det(matrix[:3, :3]) > 0, "Z up to Y up is a rotation, not a mirror"


def test_a_moved_rig_sees_the_moved_points_where_the_original_saw_the_points() -> None:
    rig = _rig()
    rng = np.random.default_rng(1)
    points = rng.uniform(-80, 80, size=(200, 3))
    # mm Z up -> cm Y up, then an arbitrary turn and shift on top (a wrap's alignment would be one)
    turn = np.linalg.qr(rng.normal(size=(3, 3)))[0]
    turn *= np.sign(np.linalg.det(turn))
    extra = np.eye(4)
    extra[:3, :3], extra[:3, 3] = turn, [3.0, -7.0, 11.0]
    matrix = extra @ asset_transform(0.1, "z")
    moved_rig = transform_rig(rig, matrix)
    moved = points @ matrix[:3, :3].T + matrix[:3, 3]
    for before, after in zip(rig.cameras, moved_rig.cameras, strict=True):
        px0, depth0 = before.project(points)
        px1, depth1 = after.project(moved)
        np.testing.assert_allclose(px1, px0, atol=1e-7)
        np.testing.assert_allclose(depth1, depth0 * 0.1, rtol=1e-9)  # depths in the new units
        np.testing.assert_allclose(after.center, matrix[:3, :3] @ before.center + matrix[:3, 3], atol=1e-9)
        assert (after.fx, after.cx, after.distortion) == (before.fx, before.cx, before.distortion)
    assert moved_rig.source == rig.source and "similarity of scale 0.1" in moved_rig.notes[-1]
    assert transform_rig(rig, np.eye(4)) is rig


@pytest.mark.parametrize(
    ("matrix", "message"),
    [
        (np.diag([1.0, 1.0, -1.0, 1.0]), "handedness"),
        (np.diag([1.0, 2.0, 1.0, 1.0]), "uniform scale"),
        (np.eye(3), "finite"),
        (np.array([[1.0, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0.1, 0, 0, 1]]), "last row"),
    ],
)
def test_only_a_similarity_moves_a_rig(matrix: np.ndarray, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        similarity_parts(matrix)


def test_photos_add_their_stage_after_the_bake(tmp_path: Path) -> None:
    opts = ProcessOptions(scan=tmp_path / "s.ply", out_dir=tmp_path / "o")
    assert opts.stage_names() == STAGE_NAMES and PHOTO_STAGE not in STAGE_NAMES
    with_photos = replace(opts, photos=tmp_path, cameras=tmp_path)
    names = with_photos.stage_names()
    assert names == ("ingest", "clean", "lod", "uv", "texture", "photos", "delight", "inpaint", "export")
    assert replace(with_photos, delight=False, inpaint=False).stage_names()[-3:] == ("texture", "photos", "export")
    assert replace(with_photos, template="anny-head").stage_names() == (*WRAP_STAGE_NAMES[:5], "photos",
                                                                         *WRAP_STAGE_NAMES[5:])  # fmt: skip
    assert replace(with_photos, stop_after="photos").last_stage() == "photos"


@pytest.fixture
def session(tmp_path: Path) -> dict[str, Path]:
    """A scan file, a COLMAP rig and its photos (a few bytes each: only found, sized and dated here)."""
    scan = tmp_path / "scan.ply"
    scan.write_bytes(b"ply\n")
    photos = tmp_path / "photos"
    photos.mkdir()
    rig = _rig()
    for name in rig.names:
        (photos / name).write_bytes(b"png" + name.encode())
    return {"scan": scan, "photos": photos, "cameras": write_colmap_text(rig, tmp_path / "sparse"), "root": tmp_path}


def test_the_photo_options_are_checked_before_anything_runs(session: dict[str, Path]) -> None:
    opts = ProcessOptions(
        scan=session["scan"], out_dir=session["root"] / "o", photos=session["photos"], cameras=session["cameras"]
    )
    check_options(opts)
    check_options(replace(opts, stop_after="photos", photo_masks=session["photos"]))
    missing = session["root"] / "missing"
    cases = [
        (replace(opts, cameras=None), "--photos need their calibrated cameras"),
        (replace(opts, photos=None), "give --photos too"),
        (replace(opts, photos=None, cameras=None, photo_masks=session["photos"]), "--photo-masks"),
        (replace(opts, photos=None, cameras=None, stop_after="photos"), "no photos stage without --photos"),
        (replace(opts, photos=missing), "photos folder not found"),
        (replace(opts, photos=session["scan"]), "photos folder is not a folder"),
        (replace(opts, photo_masks=missing), "photo masks folder not found"),
        (replace(opts, cameras=missing), "cameras not found"),
        (replace(opts, maps=("normal",)), "keep albedo in --maps"),
        (replace(opts, stop_after="bake"), "one of ingest, clean, lod, uv, texture, photos, delight"),
    ]
    for bad, match in cases:
        with pytest.raises(InputError, match=match):
            check_options(bad)


def test_the_photos_stage_sits_between_the_bake_and_the_models(session: dict[str, Path]) -> None:
    opts = ProcessOptions(
        scan=session["scan"], out_dir=session["root"] / "o", photos=session["photos"], cameras=session["cameras"]
    )
    stages = {s.name: s for s in build_stages(opts, "scanhash", "")}
    assert list(stages) == list(opts.stage_names())
    assert stages["photos"].deps == ("ingest", "clean", "uv", "texture")
    assert "albedo" not in stages["texture"].params["maps"] and "holes" not in stages["texture"].params["maps"]
    assert stages["texture"].params["maps"] == ["normal", "displacement"]
    assert "photos" in stages["delight"].deps and "photos" in stages["inpaint"].deps
    assert stages["export"].deps[:3] == ("uv", "texture", "photos")
    provenance = stages["export"].params["provenance"]
    assert provenance["parameters"]["photos"] == {
        "rig_format": "colmap-text",
        "cameras": 4,
        "photos_found": 4,
        "masks_found": 0,
    }
    assert provenance["inputs"]["photos"]["sha256"] == stages["photos"].input_key
    assert stages["photos"].resources["photos"] == session["photos"]
    plain = {s.name: s for s in build_stages(replace(opts, photos=None, cameras=None), "scanhash", "")}
    assert "photos" not in plain and plain["texture"].params["maps"] == ["albedo", "normal", "displacement", "holes"]
    assert "photos" not in plain["delight"].deps and "photos" not in plain["export"].params["provenance"]["inputs"]


def test_the_photo_key_follows_the_content_not_the_paths(session: dict[str, Path]) -> None:
    photos, cameras = session["photos"], session["cameras"]
    first = photo_inputs(photos, cameras)
    assert first == photo_inputs(photos, cameras)
    # moved folders, same files (copy2 keeps the modification times): same key
    moved = shutil.copytree(photos, session["root"] / "elsewhere", copy_function=shutil.copy2)
    assert photo_inputs(moved, shutil.copytree(cameras, session["root"] / "sparse2"))["key"] == first["key"]
    # the same cameras in another format: same key, another format in the provenance
    rig = read_cameras(cameras)
    from lifecast.io.cameras import write_colmap_binary

    binary = photo_inputs(photos, write_colmap_binary(rig, session["root"] / "bin"))
    assert binary["key"] == first["key"] and binary["rig_format"] == "colmap-binary"
    # a photo rewritten: another key
    photo = photos / rig.names[2]
    stat = photo.stat()
    photo.write_bytes(b"another photo")
    os.utime(photo, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
    changed = photo_inputs(photos, cameras)
    assert changed["key"] != first["key"]
    # a camera moved by a millimetre: another key
    cam = rig.cameras[1]
    nudged = replace(cam, translation=cam.translation + np.array([1.0, 0.0, 0.0]))
    other = CameraRig((rig.cameras[0], nudged, *rig.cameras[2:]), rig.source)
    assert photo_inputs(photos, write_colmap_text(other, session["root"] / "nudged"))["key"] != changed["key"]
    # the whole rig in metres instead of millimetres: another key
    metres = CameraRig(tuple(replace(c, translation=c.translation / 1000.0) for c in rig.cameras), rig.source)
    assert photo_inputs(photos, write_colmap_text(metres, session["root"] / "metres"))["key"] != changed["key"]
    # masks count, and change the key
    masks = session["root"] / "masks"
    masks.mkdir()
    (masks / rig.names[0]).write_bytes(b"mask")
    with_masks = photo_inputs(photos, cameras, masks)
    assert with_masks["masks_found"] == 1 and with_masks["key"] != changed["key"]
    # a missing photo is counted (the stage warns and skips it); none at all is refused
    photo.unlink()
    assert photo_inputs(photos, cameras)["photos_found"] == 3
    empty = session["root"] / "empty"
    empty.mkdir()
    with pytest.raises(InputError, match="none of the 4 cameras' photos"):
        photo_inputs(empty, cameras)


def test_chart_masks_are_the_projection_texels(tmp_path: Path) -> None:
    from lifecast.photo.texels import texel_set
    from lifecast.uv import unwrap
    from lifecast.uv.udim import face_udims

    mesh: TriMesh = unwrap(icosphere(2), texture_size=128)
    assert mesh.uvs is not None and mesh.face_uvs is not None
    texels = texel_set(mesh, [1001], face_udims(mesh.uvs, mesh.face_uvs), 128)
    charts = chart_masks(mesh, [1001], 128)[1001]
    expected = texels.tiles[0].image(np.ones(len(texels), bool), fill=False)
    assert charts.shape == (128, 128) and 0.3 < charts.mean() < 0.95
    np.testing.assert_array_equal(charts, expected)


def test_worker_jobs_and_manifests_take_photo_paths(session: dict[str, Path]) -> None:
    from lifecast.farm.manifest import load_manifest
    from lifecast.worker.jobs import process_options

    options = process_options(
        {"scan": str(session["scan"]), "out": "o", "photos": "p", "cameras": "c/x.xml", "photo_masks": "m"}
    )
    assert (options.photos, options.cameras, options.photo_masks) == (Path("p"), Path("c/x.xml"), Path("m"))
    manifest = session["root"] / "batch.toml"
    manifest.write_text(
        '[defaults]\nphotos = "photos"\n\n[[scans]]\nscan = "scan.ply"\ncameras = "sparse"\nphoto_masks = "masks"\n'
    )
    task = load_manifest(manifest).scans[0]
    assert task.options["photos"] == str(session["photos"].resolve())
    assert task.options["cameras"] == str(session["cameras"].resolve())
    args = task.process_args()
    assert args[args.index("--photos") + 1] == str(session["photos"].resolve())
    assert args[args.index("--photo-masks") + 1] == str((session["root"] / "masks").resolve())
    with pytest.raises(InputError, match="photos = 3 has the wrong type"):
        manifest.write_text('[[scans]]\nscan = "scan.ply"\nphotos = 3\n')
        load_manifest(manifest)
    assert json.loads(json.dumps(task.to_json()))["options"]["cameras"].endswith("sparse")


def test_a_rig_in_other_units_than_the_scan_is_refused() -> None:
    from lifecast.pipeline.stages.photos import check_rig_scale

    head = icosphere(2, radius=100.0)  # mm, like the rig
    rig = _rig()
    check_rig_scale(rig, head, "mm")
    metres = CameraRig(tuple(replace(c, translation=c.translation / 1000.0) for c in rig.cameras), rig.source)
    with pytest.raises(InputError, match=r"spread over 0\.00\d+ times the scan's size.*read as mm.*--units"):
        check_rig_scale(metres, head, "mm")
    with pytest.raises(InputError, match=r"spread over 4\.08e\+03 times"):
        check_rig_scale(rig, icosphere(2, radius=0.1), "m")
    one_place = CameraRig((rig.cameras[0], rig.cameras[0]), rig.source)
    check_rig_scale(one_place, head, "mm")  # no spread to judge: left to the projection's framing checks

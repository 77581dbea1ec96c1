"""``project_photos`` with bad input: missing, corrupt, resized or cropped photos, masks, cameras that see
nothing, a rig in the wrong frame or units, a mesh without UVs."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from lifecast.errors import InputError
from lifecast.io.cameras.model import Camera, CameraRig
from lifecast.photo import ProjectionResult, project_photos
from lifecast.photo.metrics import psnr
from lifecast.photo.synthetic import SyntheticCapture, prepared_mesh, synthetic_capture
from lifecast.photo.texels import texel_set
from lifecast.uv.udim import face_udims
from tests.conftest import REPO

HEAD = REPO / "sample_scans" / "anny_head" / "anny_head_truth.ply"
SIZE = 128


@pytest.fixture(scope="module")
def capture() -> SyntheticCapture:
    mesh = prepared_mesh(HEAD, faces=3000, texture_size=SIZE)
    return synthetic_capture(mesh, cameras=10, width=256, height=192, texture_size=512, up=(0, 0, 1),
                             extension=".jpg", detail=1 / 15)  # fmt: skip


@pytest.fixture(scope="module")
def baseline(capture: SyntheticCapture) -> float:
    """PSNR from all ten photos, in memory (measured 32.0 dB: 128 px maps of a head are coarse)."""
    return _score(capture, project_photos(capture.mesh, capture.rig, capture.image, size=SIZE))


@pytest.fixture
def photos(capture: SyntheticCapture, tmp_path: Path) -> Path:
    return capture.write_photos(tmp_path / "images", quality=95)


def _imread(path: Path) -> np.ndarray:
    image = cv2.imread(str(path))
    assert image is not None, path
    return np.asarray(image)


def _score(capture: SyntheticCapture, result: ProjectionResult) -> float:
    mesh = capture.mesh
    assert mesh.uvs is not None and mesh.face_uvs is not None
    texels = texel_set(mesh, [1001], face_udims(mesh.uvs, mesh.face_uvs), SIZE)
    albedo = texels.tiles[0].image(capture.albedo(texels.point))
    return psnr(result.albedo[1001], albedo, result.coverage[1001])


def _report(result: ProjectionResult) -> dict[str, dict]:
    return {p["name"]: p for p in result.report()["photos"]}


def test_missing_and_corrupt_photos_are_skipped_and_the_rest_used(
    capture: SyntheticCapture, photos: Path, baseline: float
) -> None:
    names = capture.rig.names
    (photos / names[1]).unlink()
    (photos / names[2]).write_bytes(b"\xff\xd8\xff\xe0 this is not a JPEG any more" * 10)
    data = (photos / names[3]).read_bytes()
    (photos / names[3]).write_bytes(data[: len(data) // 2])  # truncated
    result = project_photos(capture.mesh, capture.rig, photos, size=SIZE)
    report = _report(result)
    assert "no image for this camera" in report[names[1]]["reason"]
    assert "could not be decoded" in report[names[2]]["reason"]
    assert "could not be decoded" in report[names[3]]["reason"]
    assert not any(report[n]["used"] for n in names[1:4])
    assert all(report[n]["used"] for n in names[:1] + names[4:])
    assert len(result.warnings) == 3 and all("skipped" in w for w in result.warnings)
    # The other seven photos (JPEG) still texture the head: measured 0.5 dB below all ten.
    assert _score(capture, result) > baseline - 1.0


def test_no_usable_photo_is_an_input_error(capture: SyntheticCapture, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="none of the 10 photos can be used: no image for this camera"):
        project_photos(capture.mesh, capture.rig, tmp_path / "empty", size=SIZE)


def test_a_resized_photo_scales_its_camera_and_a_cropped_one_is_skipped(
    capture: SyntheticCapture, photos: Path, baseline: float
) -> None:
    names = capture.rig.names
    full = _imread(photos / names[0])
    cv2.imwrite(str(photos / names[0]), cv2.resize(full, (128, 96), interpolation=cv2.INTER_AREA))
    cv2.imwrite(str(photos / names[1]), _imread(photos / names[1])[:150])
    result = project_photos(capture.mesh, capture.rig, photos, size=SIZE)
    report = _report(result)
    assert report[names[0]]["used"]
    assert any("camera scaled by 0.5" in note for note in report[names[0]]["notes"])
    assert not report[names[1]]["used"]
    assert "the image is 256x150 but its camera was calibrated for 256x192" in report[names[1]]["reason"]
    assert _score(capture, result) > baseline - 1.0  # measured 0.1 dB below


def test_a_camera_facing_away_is_skipped(capture: SyntheticCapture) -> None:
    cams = list(capture.rig.cameras)
    away = cams[0]
    turned = np.diag([-1.0, 1.0, -1.0]) @ away.rotation  # turned half round about its vertical axis
    cams[0] = Camera(away.name, away.width, away.height, away.fx, away.fy, away.cx, away.cy, turned,
                     -turned @ away.center, away.distortion)  # fmt: skip
    result = project_photos(capture.mesh, CameraRig(tuple(cams), "synthetic"), capture.image, size=SIZE)
    report = _report(result)
    assert report[away.name]["reason"] == "its camera frames none of the mesh"
    assert sum(p["used"] for p in report.values()) == 9


@pytest.mark.parametrize(
    ("scale", "shift", "needle"),
    [(1000.0, 0.0, "or units"), (1.0, 5000.0, "different frames. Mesh box")],
)
def test_a_rig_that_frames_nothing_says_why(capture: SyntheticCapture, scale: float, shift: float, needle: str) -> None:
    mesh = capture.mesh.with_(vertices=(capture.mesh.vertices * scale + shift).astype(np.float32))
    with pytest.raises(InputError, match=r"none of the 10 cameras (frames|sees) any part of the mesh") as info:
        project_photos(mesh, capture.rig, capture.image, size=SIZE)
    assert needle in str(info.value)
    assert "camera centres" in str(info.value)


def test_masks_keep_photos_off_what_they_hide(capture: SyntheticCapture, photos: Path, tmp_path: Path) -> None:
    names = capture.rig.names
    masks = tmp_path / "masks"
    masks.mkdir()
    white = np.full((192, 256), 255, np.uint8)
    for name in names[2:]:
        cv2.imwrite(str(masks / (Path(name).stem + ".png")), white)
    cv2.imwrite(str(masks / (Path(names[0]).stem + ".png")), np.zeros_like(white))
    half = white.copy()
    half[:, 128:] = 0
    cv2.imwrite(str(masks / (Path(names[1]).stem + ".png")), cv2.resize(half, (128, 96)))  # half size
    plain = project_photos(capture.mesh, capture.rig, photos, size=SIZE)
    masked = project_photos(capture.mesh, capture.rig, photos, size=SIZE, masks=masks)
    before, after = _report(plain), _report(masked)
    assert after[names[0]]["texels"] == 0 and not after[names[0]]["used"]
    assert after[names[0]]["reason"] == "it sees no texel (hidden or masked everywhere)"
    # A mask over the right half of the photo (given at half size): measured 41 % of the texels left.
    assert 0.3 < after[names[1]]["texels"] / before[names[1]]["texels"] < 0.7
    assert after[names[2]]["texels"] == before[names[2]]["texels"]


def test_a_mesh_without_uvs_is_refused(capture: SyntheticCapture) -> None:
    bare = capture.mesh.with_(uvs=None, face_uvs=None)
    with pytest.raises(InputError, match="no UVs"):
        project_photos(bare, capture.rig, capture.image, size=SIZE)


def test_an_image_source_that_fails_skips_that_photo(capture: SyntheticCapture) -> None:
    first = capture.rig.names[0]

    def source(camera: Camera) -> np.ndarray:
        if camera.name == first:
            raise InputError("the archive lost this one")
        return capture.image(camera)

    result = project_photos(capture.mesh, capture.rig, source, size=SIZE)
    assert _report(result)[first]["reason"] == "the archive lost this one"

"""The real Sceaux Castle COLMAP models (../shared/scans/sceaux_castle_sfm): text vs binary, reprojection."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from lifecast.io.cameras import read_cameras, read_colmap_model

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def sceaux(shared_scans: Path) -> Path:
    folder = shared_scans / "sceaux_castle_sfm"
    if not (folder / "colmap_txt" / "images.txt").is_file():
        pytest.fail(f"{folder} lacks colmap_txt/", pytrace=False)
    return folder


def test_text_and_binary_models_agree(sceaux: Path) -> None:
    text = read_cameras(sceaux / "colmap_txt")
    binary = read_cameras(sceaux / "colmap_bin")
    assert (text.source, binary.source) == ("colmap-text", "colmap-binary")
    assert len(text) == len(binary) == 11
    images = sorted(p.name for p in (sceaux / "images").glob("*.JPG"))
    assert sorted(text.names) == images
    cam = text.by_name("100_7100.JPG")
    # SOURCE.txt: one SIMPLE_RADIAL camera f = 2971.71, cx = 1416, cy = 1064, k = -0.164224, 2832 x 2128.
    assert (cam.width, cam.height, cam.fx, cam.fy, cam.cx, cam.cy) == (2832, 2128, 2971.71, 2971.71, 1416, 1064)
    assert cam.distortion.model == "radial" and cam.distortion.coeffs == (-0.164224, 0.0, 0.0)
    points = read_colmap_model(sceaux / "colmap_txt").points.xyz
    for a in text.cameras:
        b = binary.by_name(a.name)
        # The text file rounds to 6 significant digits; the binary holds full doubles.
        np.testing.assert_allclose(b.center, a.center, atol=1e-4)
        pa, da = a.project(points)
        pb, _ = b.project(points)
        inside = (da > 0) & np.all((pa >= 0) & (pa <= [a.width, a.height]), axis=1)
        assert inside.sum() > 100
        # A pose rounded to 6 digits moves an image point by a small fraction of a pixel.
        assert np.max(np.abs(pa[inside] - pb[inside])) < 0.05


@pytest.mark.parametrize("kind", ["colmap_txt", "colmap_bin"])
def test_points_reproject_onto_their_observations(sceaux: Path, kind: str) -> None:
    model = read_colmap_model(sceaux / kind)
    assert len(model.points.ids) == 7862
    index = {int(pid): i for i, pid in enumerate(model.points.ids)}
    errors = []
    for cam in model.rig.cameras:
        xy, ids = model.observations[cam.name]
        seen = ids >= 0
        pixels, depth = cam.project(model.points.xyz[[index[int(i)] for i in ids[seen]]])
        assert np.all(depth > 0)
        errors.append(np.linalg.norm(pixels - xy[seen], axis=1))
    err = np.concatenate(errors)
    rms = float(np.sqrt(np.mean(err**2)))
    print(f"sceaux {kind}: {err.size} observations, reprojection RMS {rms:.3f} px, mean {err.mean():.3f} px")
    # COLMAP recorded a mean error of 0.60 px for these points (points3D ERROR column).
    assert abs(err.mean() - model.points.error.mean()) < 0.1
    assert rms < 1.0

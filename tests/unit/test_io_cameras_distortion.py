"""Distortion models and the Camera maths, checked against OpenCV and against their own inverses."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray

from lifecast.io.cameras import Camera, CameraRig, Distortion
from lifecast.io.cameras.distortion import fit_rational_to_polynomial

MODELS = [
    Distortion("none", ()),
    Distortion("radial", (-0.21, 0.06, -0.011)),
    Distortion("radial", (0.08, 0.01, 0.0)),
    Distortion("opencv", (-0.28, 0.09, 0.0015, -0.0021, -0.015, 0.0, 0.0, 0.0)),
    Distortion("opencv", (-0.28, 0.09, 0.0015, -0.0021, -0.015, 0.12, 0.01, 0.002)),
    Distortion("opencv_fisheye", (0.05, -0.012, 0.0025, -0.0004)),
]


def disc(radius: float, n: int = 2000) -> NDArray[np.float64]:
    """Points filling a disc of normalised coordinates, centre and rim included."""
    rng = np.random.default_rng(3)
    r = radius * np.sqrt(rng.uniform(0, 1, n))
    a = rng.uniform(0, 2 * math.pi, n)
    pts = np.stack([r * np.cos(a), r * np.sin(a)], axis=1)
    return np.concatenate([pts, [[0.0, 0.0], [radius, 0.0], [0.0, -radius]]])


@pytest.mark.parametrize("distortion", MODELS, ids=lambda d: f"{d.model}{len(d.coeffs)}-{d.coeffs[:1]}")
def test_undistort_inverts_distort(distortion: Distortion) -> None:
    # Valid range: up to ~35 degrees off axis for the polynomial models (a 36 mm-equivalent
    # focal's corner), ~70 degrees for the fisheye.
    radius = math.tan(math.radians(70)) if distortion.model == "opencv_fisheye" else 0.7
    xy = disc(radius)
    back = distortion.undistort(distortion.distort(xy))
    np.testing.assert_allclose(back, xy, rtol=0, atol=1e-9)


def test_undistort_marks_what_it_cannot_invert() -> None:
    # Strong barrel distortion folds over beyond r ~ 1.3: the inverse there is NaN, not a wrong point.
    d = Distortion("radial", (-0.3, 0.0, 0.0))
    out = d.undistort(np.array([[2.0, 0.0], [0.1, 0.0]]))
    assert np.isnan(out[0]).all() and np.isfinite(out[1]).all()


def _camera(distortion: Distortion) -> Camera:
    angle = 0.3
    rot = np.array([[math.cos(angle), 0, -math.sin(angle)], [0, 1, 0], [math.sin(angle), 0, math.cos(angle)]])
    return Camera("c.jpg", 1600, 1200, 1100.0, 1080.0, 801.3, 597.9, rot, np.array([0.2, -0.1, 3.0]), distortion)


def _points() -> NDArray[np.float64]:
    rng = np.random.default_rng(11)
    return rng.uniform(-1.0, 1.0, size=(300, 3))


@pytest.mark.parametrize("distortion", [m for m in MODELS if m.model in ("radial", "opencv")])
def test_project_matches_cv2_project_points(distortion: Distortion) -> None:
    cam = _camera(distortion)
    pts = _points()
    ours, depth = cam.project(pts)
    assert np.all(depth > 0)
    coeffs = distortion.coeffs if distortion.model == "opencv" else (*distortion.coeffs[:2], 0, 0, distortion.coeffs[2])
    # OpenCV puts the top-left pixel's centre at (0, 0): its principal point is ours minus 0.5.
    K = np.array([[cam.fx, 0, cam.cx - 0.5], [0, cam.fy, cam.cy - 0.5], [0, 0, 1]])
    rvec, _ = cv2.Rodrigues(cam.rotation)
    theirs, _ = cv2.projectPoints(pts, rvec, cam.translation, K, np.array(coeffs, dtype=np.float64))
    np.testing.assert_allclose(ours, theirs.reshape(-1, 2) + 0.5, rtol=0, atol=1e-6)


def test_project_matches_cv2_fisheye() -> None:
    distortion = MODELS[-1]
    cam = _camera(distortion)
    pts = _points()
    ours, _ = cam.project(pts)
    K = np.array([[cam.fx, 0, cam.cx - 0.5], [0, cam.fy, cam.cy - 0.5], [0, 0, 1]])
    rvec, _ = cv2.Rodrigues(cam.rotation)
    theirs, _ = cv2.fisheye.projectPoints(
        pts.reshape(-1, 1, 3), rvec, cam.translation.reshape(3, 1), K, np.array(distortion.coeffs)
    )
    np.testing.assert_allclose(ours, theirs.reshape(-1, 2) + 0.5, rtol=0, atol=1e-6)


@pytest.mark.parametrize("distortion", MODELS, ids=lambda d: d.model)
def test_pixel_rays_pass_through_the_projected_points(distortion: Distortion) -> None:
    cam = _camera(distortion)
    pts = _points()
    pixels, _ = cam.project(pts)
    origins, dirs = cam.pixel_rays(pixels)
    np.testing.assert_allclose(np.linalg.norm(dirs, axis=1), 1.0, atol=1e-12)
    expected = pts - cam.center
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(origins, np.broadcast_to(cam.center, origins.shape))
    np.testing.assert_allclose(dirs, expected, atol=1e-9)


def test_points_behind_the_camera() -> None:
    cam = _camera(MODELS[1])
    pixels, depth = cam.project(np.array([cam.center - 2 * cam.rotation[2]]))
    assert depth[0] < 0 and np.isnan(pixels).all()


def test_pixel_convention_centre_of_top_left_pixel() -> None:
    # The ray through pixel (0.5, 0.5) of a camera with cx = w/2 is symmetric to the one through (w-0.5, h-0.5).
    cam = Camera("c", 4, 2, 10.0, 10.0, 2.0, 1.0, np.eye(3), np.zeros(3))
    _, d = cam.pixel_rays(np.array([[0.5, 0.5], [3.5, 1.5]]))
    np.testing.assert_allclose(d[0, :2], -d[1, :2])


def test_scaled_camera_projects_scaled_pixels() -> None:
    cam = _camera(MODELS[3])
    half = cam.scaled(0.5)
    assert (half.width, half.height) == (800, 600)
    pts = _points()
    np.testing.assert_allclose(half.project(pts)[0], cam.project(pts)[0] * 0.5, atol=1e-9)
    odd = Camera("o", 1001, 751, 900.0, 900.0, 500.5, 375.5, np.eye(3), np.zeros(3)).scaled(0.5)
    # round(500.5) = 500 and round(375.5) = 376: each axis scales by its own exact ratio.
    assert (odd.width, odd.height) == (500, 376)
    assert odd.cx == pytest.approx(500.5 * 500 / 1001) and odd.cy == pytest.approx(375.5 * 376 / 751)


def test_rational_fit_of_an_r8_term() -> None:
    radial = (-0.12, 0.05, -0.01, 0.004)
    (a1, a2, a3, b1, b2, b3), worst = fit_rational_to_polynomial(radial, max_radius=0.75)
    r = np.linspace(0, 0.75, 1001)
    s = r * r
    poly = 1 + s * (radial[0] + s * (radial[1] + s * (radial[2] + s * radial[3])))
    fit = (1 + s * (a1 + s * (a2 + s * a3))) / (1 + s * (b1 + s * (b2 + s * b3)))
    err = np.max(np.abs(r * (fit - poly)))
    assert err <= worst * 1.01 + 1e-15
    assert worst * 4000 < 0.01  # under a hundredth of a pixel at a 4000 px focal length


def test_distortion_validates_its_coefficients() -> None:
    with pytest.raises(ValueError, match="takes 3"):
        Distortion("radial", (0.1,))
    with pytest.raises(ValueError, match="unknown"):
        Distortion("division", ())  # type: ignore[arg-type]


def test_camera_rejects_a_non_rotation() -> None:
    with pytest.raises(ValueError, match="rotation"):
        Camera("c", 10, 10, 5.0, 5.0, 5.0, 5.0, np.diag([1.0, 1.0, -1.0]), np.zeros(3))


def test_by_name_fallbacks_and_errors() -> None:
    cams = tuple(
        Camera(n, 10, 10, 5.0, 5.0, 5.0, 5.0, np.eye(3), np.zeros(3)) for n in ("a/x.jpg", "b/y.jpg", "c/y.png")
    )
    rig = CameraRig(cams, source="synthetic")
    assert rig.by_name("a/x.jpg") is cams[0]
    assert rig.by_name("x.jpg") is cams[0] and rig.by_name("x") is cams[0]
    assert rig.by_name("y.png") is cams[2]
    with pytest.raises(KeyError, match="matches 2"):
        rig.by_name("y")
    with pytest.raises(KeyError, match="no camera named"):
        rig.by_name("z.jpg")

"""Lens distortion maths on normalised image coordinates.

Every function takes and returns ``(n, 2) float64`` normalised coordinates
``(x / z, y / z)`` of points in the camera frame (undistorted) or their
distorted counterparts, before the focal length and principal point are
applied. The models and coefficient orders are OpenCV's:

``"none"``
    identity, no coefficients.
``"radial"``
    ``(k1, k2, k3)``: ``x_d = x (1 + k1 r^2 + k2 r^4 + k3 r^6)`` (COLMAP's
    SIMPLE_RADIAL / RADIAL, Metashape / RealityCapture / AliceVision radial
    terms without tangential ones).
``"opencv"``
    ``(k1, k2, p1, p2, k3, k4, k5, k6)``: OpenCV's rational model
    (``cv::projectPoints`` with 8 coefficients, COLMAP's FULL_OPENCV)::

        s   = (1 + k1 r^2 + k2 r^4 + k3 r^6) / (1 + k4 r^2 + k5 r^4 + k6 r^6)
        x_d = x s + 2 p1 x y + p2 (r^2 + 2 x^2)
        y_d = y s + p1 (r^2 + 2 y^2) + 2 p2 x y
``"opencv_fisheye"``
    ``(k1, k2, k3, k4)``: OpenCV's fisheye (equidistant) model
    (``cv::fisheye::projectPoints``, COLMAP's OPENCV_FISHEYE)::

        theta   = atan(r)
        theta_d = theta (1 + k1 theta^2 + k2 theta^4 + k3 theta^6 + k4 theta^8)
        x_d     = x theta_d / r

Inverses are Newton iterations; they are exact (to ~1e-12) wherever the
forward map is monotonic along the ray, which is the calibrated part of any
real lens. Points where Newton does not converge come back as NaN.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

import numpy as np
from numpy.typing import NDArray

DistortionModel = Literal["none", "radial", "opencv", "opencv_fisheye"]

#: Number of coefficients each model takes.
COEFF_COUNT: dict[str, int] = {"none": 0, "radial": 3, "opencv": 8, "opencv_fisheye": 4}

_MAX_ITERATIONS = 60
_TOLERANCE = 1e-14


def _as_xy(xy: NDArray[np.floating] | list[list[float]]) -> NDArray[np.float64]:
    arr = np.asarray(xy, dtype=np.float64)
    if arr.ndim != 2 or arr.shape[1] != 2:
        raise ValueError(f"expected (n, 2) normalised coordinates, got shape {arr.shape}")
    return arr


def distort_points(model: DistortionModel, coeffs: tuple[float, ...], xy: NDArray[np.floating]) -> NDArray[np.float64]:
    """Apply a distortion model.

    Parameters
    ----------
    model, coeffs
        The model name and its coefficients (see the module docstring).
    xy
        ``(n, 2)`` undistorted normalised coordinates.

    Returns
    -------
    ``(n, 2) float64`` distorted normalised coordinates.
    """
    xy = _as_xy(xy)
    if model == "none":
        return xy.copy()
    x, y = xy[:, 0], xy[:, 1]
    r2 = x * x + y * y
    if model == "radial":
        k1, k2, k3 = coeffs
        s = 1.0 + r2 * (k1 + r2 * (k2 + r2 * k3))
        return xy * s[:, None]
    if model == "opencv":
        k1, k2, p1, p2, k3, k4, k5, k6 = coeffs
        s = (1.0 + r2 * (k1 + r2 * (k2 + r2 * k3))) / (1.0 + r2 * (k4 + r2 * (k5 + r2 * k6)))
        xd = x * s + 2.0 * p1 * x * y + p2 * (r2 + 2.0 * x * x)
        yd = y * s + p1 * (r2 + 2.0 * y * y) + 2.0 * p2 * x * y
        return np.stack([xd, yd], axis=1)
    if model == "opencv_fisheye":
        k1, k2, k3, k4 = coeffs
        r = np.sqrt(r2)
        theta = np.arctan(r)
        t2 = theta * theta
        theta_d = theta * (1.0 + t2 * (k1 + t2 * (k2 + t2 * (k3 + t2 * k4))))
        # theta_d / r -> 1 as r -> 0 (the same limit OpenCV takes for r < 1e-8).
        scale = np.ones_like(r)
        big = r > 1e-8
        scale[big] = theta_d[big] / r[big]
        return xy * scale[:, None]
    raise ValueError(f"unknown distortion model {model!r}")


_Slope = Callable[[NDArray[np.float64]], tuple[NDArray[np.float64], NDArray[np.float64]]]


def _invert_radius(
    target: NDArray[np.float64], value_and_slope: _Slope, start: NDArray[np.float64]
) -> NDArray[np.float64]:
    """Solve ``f(u) = target`` per element by Newton's method; NaN where it does not converge."""
    u = start.copy()
    for _ in range(_MAX_ITERATIONS):
        f, df = value_and_slope(u)
        with np.errstate(divide="ignore", invalid="ignore"):
            step = (f - target) / df
        step[~np.isfinite(step)] = 0.0
        u -= step
        if np.all(np.abs(step) <= _TOLERANCE * np.maximum(1.0, np.abs(u))):
            break
    f, df = value_and_slope(u)
    bad = ~(np.abs(f - target) <= 1e-10 * np.maximum(1.0, np.abs(target))) | (df <= 0)
    u[bad] = np.nan
    return u


def undistort_points(
    model: DistortionModel, coeffs: tuple[float, ...], xy: NDArray[np.floating]
) -> NDArray[np.float64]:
    """Invert a distortion model (Newton's method).

    Parameters
    ----------
    model, coeffs
        The model name and its coefficients (see the module docstring).
    xy
        ``(n, 2)`` distorted normalised coordinates.

    Returns
    -------
    ``(n, 2) float64`` undistorted normalised coordinates; NaN rows where the
    model cannot be inverted (outside its monotonic range, or beyond 90 degrees
    off-axis for the fisheye model).
    """
    xy = _as_xy(xy)
    if model == "none":
        return xy.copy()
    rd = np.sqrt(np.sum(xy * xy, axis=1))
    if model == "radial":
        k1, k2, k3 = coeffs

        def radial(r: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
            r2 = r * r
            f = r * (1.0 + r2 * (k1 + r2 * (k2 + r2 * k3)))
            df = 1.0 + r2 * (3.0 * k1 + r2 * (5.0 * k2 + r2 * 7.0 * k3))
            return f, df

        r = _invert_radius(rd, radial, rd)
        return _rescale(xy, rd, r)
    if model == "opencv_fisheye":
        k1, k2, k3, k4 = coeffs

        def fisheye(t: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
            t2 = t * t
            f = t * (1.0 + t2 * (k1 + t2 * (k2 + t2 * (k3 + t2 * k4))))
            df = 1.0 + t2 * (3.0 * k1 + t2 * (5.0 * k2 + t2 * (7.0 * k3 + t2 * 9.0 * k4)))
            return f, df

        theta = _invert_radius(rd, fisheye, np.minimum(rd, 1.0))
        theta[theta >= np.pi / 2] = np.nan
        return _rescale(xy, rd, np.tan(theta))
    if model == "opencv":
        return _undistort_opencv(coeffs, xy)
    raise ValueError(f"unknown distortion model {model!r}")


def _rescale(xy: NDArray[np.float64], rd: NDArray[np.float64], r: NDArray[np.float64]) -> NDArray[np.float64]:
    """Scale each point from radius ``rd`` to radius ``r`` (points at the centre stay)."""
    scale = np.ones_like(rd)
    big = rd > 1e-12
    scale[big] = r[big] / rd[big]
    scale[np.isnan(r)] = np.nan
    return xy * scale[:, None]


def _undistort_opencv(coeffs: tuple[float, ...], xyd: NDArray[np.float64]) -> NDArray[np.float64]:
    """2-D Newton on OpenCV's rational + tangential model, analytic Jacobian."""
    k1, k2, p1, p2, k3, k4, k5, k6 = coeffs
    xd, yd = xyd[:, 0], xyd[:, 1]
    x, y = xd.copy(), yd.copy()

    def forward(x: NDArray[np.float64], y: NDArray[np.float64]) -> tuple[NDArray[np.float64], ...]:
        r2 = x * x + y * y
        a = 1.0 + r2 * (k1 + r2 * (k2 + r2 * k3))
        b = 1.0 + r2 * (k4 + r2 * (k5 + r2 * k6))
        da = k1 + r2 * (2.0 * k2 + r2 * 3.0 * k3)
        db = k4 + r2 * (2.0 * k5 + r2 * 3.0 * k6)
        s = a / b
        ds = (da * b - a * db) / (b * b)  # d s / d r^2
        fx = x * s + 2.0 * p1 * x * y + p2 * (r2 + 2.0 * x * x)
        fy = y * s + p1 * (r2 + 2.0 * y * y) + 2.0 * p2 * x * y
        j11 = s + 2.0 * x * x * ds + 2.0 * p1 * y + 6.0 * p2 * x
        j12 = 2.0 * x * y * ds + 2.0 * p1 * x + 2.0 * p2 * y
        j22 = s + 2.0 * y * y * ds + 6.0 * p1 * y + 2.0 * p2 * x
        return fx, fy, j11, j12, j12, j22

    for _ in range(_MAX_ITERATIONS):
        fx, fy, j11, j12, j21, j22 = forward(x, y)
        ex, ey = fx - xd, fy - yd
        det = j11 * j22 - j12 * j21
        with np.errstate(divide="ignore", invalid="ignore"):
            dx = (j22 * ex - j12 * ey) / det
            dy = (-j21 * ex + j11 * ey) / det
        stuck = ~(np.isfinite(dx) & np.isfinite(dy))
        dx[stuck] = 0.0
        dy[stuck] = 0.0
        x -= dx
        y -= dy
        if np.all(np.abs(dx) + np.abs(dy) <= _TOLERANCE * np.maximum(1.0, np.abs(x) + np.abs(y))):
            break
    fx, fy, j11, j12, j21, j22 = forward(x, y)
    err = np.hypot(fx - xd, fy - yd)
    bad = ~(err <= 1e-10 * np.maximum(1.0, np.hypot(xd, yd))) | ~(j11 * j22 - j12 * j21 > 0)
    out = np.stack([x, y], axis=1)
    out[bad] = np.nan
    return out


def fit_rational_to_polynomial(
    radial: tuple[float, float, float, float], max_radius: float
) -> tuple[tuple[float, float, float, float, float, float], float]:
    """Approximate an 8th-order radial polynomial by OpenCV's rational radial factor.

    Metashape's ``k4`` and RealityCapture's ``brown4`` multiply ``r^8``, a term
    OpenCV's model does not have. This fits
    ``(1 + a1 s + a2 s^2 + a3 s^3) / (1 + b1 s + b2 s^2 + b3 s^3)`` (``s = r^2``)
    to ``1 + k1 s + k2 s^2 + k3 s^3 + k4 s^4`` over ``0 <= r <= max_radius`` by
    linear least squares.

    Parameters
    ----------
    radial
        ``(k1, k2, k3, k4)`` polynomial coefficients.
    max_radius
        The largest normalised radius that matters (the image corner).

    Returns
    -------
    ``((k1, k2, k3, k4, k5, k6), worst)``: OpenCV-ordered radial coefficients
    and the largest error of the fitted distorted radius over the range, in
    normalised units (multiply by the focal length for pixels).
    """
    k1, k2, k3, k4 = radial
    r = np.linspace(0.0, max_radius, 400)
    s = r * r
    poly = 1.0 + s * (k1 + s * (k2 + s * (k3 + s * k4)))
    # poly * (1 + b1 s + b2 s^2 + b3 s^3) = 1 + a1 s + a2 s^2 + a3 s^3, linear in (a, b).
    A = np.stack([s, s**2, s**3, -poly * s, -poly * s**2, -poly * s**3], axis=1)
    rhs = poly - 1.0
    # Column scaling keeps the system well conditioned for small radii.
    norm = np.maximum(np.abs(A).max(axis=0), 1e-300)
    sol, *_ = np.linalg.lstsq(A / norm, rhs, rcond=None)
    a1, a2, a3, b1, b2, b3 = (sol / norm).tolist()
    fitted = (1.0 + s * (a1 + s * (a2 + s * a3))) / (1.0 + s * (b1 + s * (b2 + s * b3)))
    worst = float(np.max(np.abs(r * (fitted - poly))))
    return (a1, a2, a3, b1, b2, b3), worst

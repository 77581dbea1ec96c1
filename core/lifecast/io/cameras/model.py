"""The one camera model every rig reader produces.

Conventions (COLMAP's / OpenCV's, whatever the file format said):

* world-to-camera ``x_cam = R @ x_world + t``; the camera looks down +Z,
  +X is image right, +Y is image down;
* pixel coordinates put the image's top-left CORNER at ``(0, 0)``, so the
  centre of the top-left pixel is ``(0.5, 0.5)`` (COLMAP's convention; OpenCV
  puts that pixel's centre at ``(0, 0)``: subtract 0.5 to go to OpenCV);
* no skew: readers fold what they can into ``fx`` / ``fy`` and say in their
  docstrings what they drop;
* distortion acts on normalised coordinates ``(x / z, y / z)`` before
  ``u = fx x_d + cx``, ``v = fy y_d + cy`` (see :mod:`lifecast.io.cameras.distortion`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

from lifecast.io.cameras.distortion import COEFF_COUNT, DistortionModel, distort_points, undistort_points

__all__ = ["Camera", "CameraRig", "Distortion", "DistortionModel"]


@dataclass(frozen=True)
class Distortion:
    """A lens distortion model and its coefficients.

    Attributes
    ----------
    model
        ``"none"``, ``"radial"``, ``"opencv"`` or ``"opencv_fisheye"``.
    coeffs
        ``"radial"``: ``(k1, k2, k3)``; ``"opencv"``: ``(k1, k2, p1, p2, k3, k4, k5, k6)``
        in OpenCV's order; ``"opencv_fisheye"``: ``(k1, k2, k3, k4)``; ``"none"``: ``()``.
    """

    model: DistortionModel = "none"
    coeffs: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if self.model not in COEFF_COUNT:
            raise ValueError(f"unknown distortion model {self.model!r}")
        coeffs = tuple(float(c) for c in self.coeffs)
        if len(coeffs) != COEFF_COUNT[self.model]:
            raise ValueError(
                f"distortion {self.model!r} takes {COEFF_COUNT[self.model]} coefficients, got {len(coeffs)}"
            )
        if not all(math.isfinite(c) for c in coeffs):
            raise ValueError(f"distortion coefficients must be finite, got {coeffs}")
        object.__setattr__(self, "coeffs", coeffs)

    @property
    def is_identity(self) -> bool:
        """True when the model does nothing (``"none"`` or all coefficients zero)."""
        return self.model == "none" or all(c == 0.0 for c in self.coeffs)

    def distort(self, xy: NDArray[np.float64]) -> NDArray[np.float64]:
        """``(n, 2)`` undistorted normalised coordinates -> ``(n, 2)`` distorted ones."""
        return distort_points(self.model, self.coeffs, xy)

    def undistort(self, xy: NDArray[np.float64]) -> NDArray[np.float64]:
        """``(n, 2)`` distorted normalised coordinates -> ``(n, 2)`` undistorted ones (Newton; NaN where it fails)."""
        return undistort_points(self.model, self.coeffs, xy)


NO_DISTORTION = Distortion("none", ())


def _frozen(a: ArrayLike, shape: tuple[int, ...], what: str) -> NDArray[np.float64]:
    arr = np.array(a, dtype=np.float64)
    if arr.shape != shape:
        raise ValueError(f"{what} must have shape {shape}, got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{what} must be finite")
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True, eq=False)
class Camera:
    """One calibrated photo: pinhole intrinsics, distortion and world-to-camera pose.

    Attributes
    ----------
    name
        The image's file name as the rig refers to it (a relative path).
    width, height
        Image size in pixels.
    fx, fy, cx, cy
        Focal lengths and principal point in pixels, top-left image corner at ``(0, 0)``.
    rotation
        ``(3, 3)`` world-to-camera rotation (orthonormal, det +1).
    translation
        ``(3,)``: ``x_cam = rotation @ x_world + translation``.
    distortion
        The lens distortion, applied to normalised coordinates.
    sensor_id
        The intrinsics group this camera shares with others, ``""`` if none.
    """

    name: str
    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float
    rotation: NDArray[np.float64]
    translation: NDArray[np.float64]
    distortion: Distortion = field(default=NO_DISTORTION)
    sensor_id: str = ""

    def __post_init__(self) -> None:
        rot = _frozen(self.rotation, (3, 3), "rotation")
        if not np.allclose(rot @ rot.T, np.eye(3), atol=1e-6) or np.linalg.det(rot) < 0:
            raise ValueError(f"camera {self.name!r}: rotation is not a proper rotation matrix")
        object.__setattr__(self, "rotation", rot)
        object.__setattr__(self, "translation", _frozen(self.translation, (3,), "translation"))
        with np.errstate(over="ignore", invalid="ignore"):
            if not np.all(np.isfinite(rot.T @ self.translation)):
                raise ValueError(f"camera {self.name!r}: the camera centre is not finite (translation too large)")
        if self.width <= 0 or self.height <= 0:
            raise ValueError(f"camera {self.name!r}: image size must be positive, got {self.width}x{self.height}")
        for key in ("fx", "fy", "cx", "cy"):
            value = float(getattr(self, key))
            if not math.isfinite(value):
                raise ValueError(f"camera {self.name!r}: {key} must be finite")
            object.__setattr__(self, key, value)
        if self.fx <= 0 or self.fy <= 0:
            raise ValueError(f"camera {self.name!r}: focal lengths must be positive, got {self.fx}, {self.fy}")
        object.__setattr__(self, "width", int(self.width))
        object.__setattr__(self, "height", int(self.height))

    @property
    def center(self) -> NDArray[np.float64]:
        """``(3,)`` camera centre in world coordinates, ``-R^T t``."""
        return -self.rotation.T @ self.translation

    @property
    def intrinsic_matrix(self) -> NDArray[np.float64]:
        """``(3, 3)`` intrinsic matrix in this model's pixel convention (corner at 0)."""
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])

    def to_camera(self, points: ArrayLike) -> NDArray[np.float64]:
        """``(n, 3)`` world points -> ``(n, 3)`` points in this camera's frame."""
        pts = np.asarray(points, dtype=np.float64).reshape(-1, 3)
        return pts @ self.rotation.T + self.translation

    def project(self, points: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Project world points to distorted pixel coordinates.

        Parameters
        ----------
        points
            ``(n, 3)`` world points.

        Returns
        -------
        pixels
            ``(n, 2)`` pixel coordinates (top-left corner at 0); NaN for points
            with depth ``<= 0``.
        depth
            ``(n,)`` z in the camera frame (``<= 0``: behind the camera).
        """
        cam = self.to_camera(points)
        depth = cam[:, 2].copy()
        front = depth > 0
        xy = np.full((cam.shape[0], 2), np.nan)
        xy[front] = cam[front, :2] / depth[front, None]
        xy[front] = self.distortion.distort(xy[front])
        pixels = xy * np.array([self.fx, self.fy]) + np.array([self.cx, self.cy])
        return pixels, depth

    def pixel_rays(self, pixels: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
        """Rays through pixel coordinates, undistorted.

        Parameters
        ----------
        pixels
            ``(n, 2)`` pixel coordinates (top-left corner at 0; pixel centres at ``i + 0.5``).

        Returns
        -------
        origins
            ``(n, 3)`` the camera centre, repeated.
        directions
            ``(n, 3)`` unit world directions; NaN where the distortion cannot be inverted.
        """
        px = np.asarray(pixels, dtype=np.float64).reshape(-1, 2)
        xyd = (px - np.array([self.cx, self.cy])) / np.array([self.fx, self.fy])
        xy = self.distortion.undistort(xyd)
        dirs_cam = np.concatenate([xy, np.ones((xy.shape[0], 1))], axis=1)
        dirs_cam /= np.linalg.norm(dirs_cam, axis=1, keepdims=True)
        directions = dirs_cam @ self.rotation  # R^T applied to row vectors
        origins = np.broadcast_to(self.center, directions.shape).copy()
        return origins, directions

    def scaled(self, factor: float) -> Camera:
        """The same camera for its image resized by ``factor``.

        The new size is ``round(width * factor) x round(height * factor)``;
        intrinsics scale by the exact per-axis ratio of new to old size, as a
        corner-to-corner resize (PIL, OpenCV ``INTER_AREA``) maps the image.
        """
        if not factor > 0:
            raise ValueError(f"scale factor must be positive, got {factor}")
        width = max(1, round(self.width * factor))
        height = max(1, round(self.height * factor))
        sx, sy = width / self.width, height / self.height
        return Camera(
            name=self.name,
            width=width,
            height=height,
            fx=self.fx * sx,
            fy=self.fy * sy,
            cx=self.cx * sx,
            cy=self.cy * sy,
            rotation=self.rotation,
            translation=self.translation,
            distortion=self.distortion,
            sensor_id=self.sensor_id,
        )


@dataclass(frozen=True, eq=False)
class CameraRig:
    """The calibrated cameras of one capture.

    Attributes
    ----------
    cameras
        One :class:`Camera` per registered photo, in the file's order.
    source
        The format read: ``"colmap-text"``, ``"colmap-binary"``, ``"metashape-xml"``,
        ``"realitycapture-xmp"`` or ``"alicevision-sfm"`` (``"synthetic"`` for rigs made in code).
    notes
        Human-readable lines about what the reader assumed, approximated or dropped.
    """

    cameras: tuple[Camera, ...]
    source: str
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "cameras", tuple(self.cameras))
        object.__setattr__(self, "notes", tuple(self.notes))

    def __len__(self) -> int:
        return len(self.cameras)

    @property
    def names(self) -> list[str]:
        """The cameras' names, in order."""
        return [c.name for c in self.cameras]

    def by_name(self, name: str) -> Camera:
        """The camera whose ``name`` is ``name``.

        Falls back to a unique match on the file name alone, then on the file
        name without its extension (Metashape labels often drop it), so
        ``"images/IMG_1.JPG"``, ``"IMG_1.JPG"`` and ``"IMG_1"`` find the same camera.

        Raises
        ------
        KeyError
            No camera, or more than one, matches.
        """
        for cam in self.cameras:
            if cam.name == name:
                return cam
        for key in (_basename, _stem):
            hits = [c for c in self.cameras if key(c.name) == key(name)]
            if len(hits) == 1:
                return hits[0]
            if len(hits) > 1:
                raise KeyError(f"{name!r} matches {len(hits)} cameras: {[c.name for c in hits][:5]}")
        shown = ", ".join(self.names[:5]) + (", ..." if len(self.cameras) > 5 else "")
        raise KeyError(f"no camera named {name!r} in this {self.source} rig ({len(self.cameras)} cameras: {shown})")


def _basename(name: str) -> str:
    return name.replace("\\", "/").rsplit("/", 1)[-1]


def _stem(name: str) -> str:
    base = _basename(name)
    return base.rsplit(".", 1)[0] if "." in base else base

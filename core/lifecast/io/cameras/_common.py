"""Small helpers the rig readers and writers share: number parsing, rotations, float text."""

from __future__ import annotations

import math
import warnings
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from lifecast.errors import InputError
from lifecast.io.cameras.model import Camera, Distortion

#: Largest image side a rig may claim, in pixels (no camera or stitched photo comes near; a larger value is a
#: corrupt file, and code that allocates per-pixel buffers for a photo must not be handed it).
MAX_IMAGE_SIDE = 1 << 20

#: Image suffixes a rig's photos may have (lower case), for finding the photo beside a sidecar.
IMAGE_SUFFIXES = (
    ".jpg", ".jpeg", ".png", ".tif", ".tiff", ".exr", ".bmp", ".webp",
    ".dng", ".cr2", ".cr3", ".nef", ".arw", ".orf", ".rw2", ".raf",
)  # fmt: skip


def floats(text: str | None, count: int | None, what: str, path: Path) -> list[float]:
    """Parse whitespace-separated numbers, raising :class:`InputError` naming ``what`` on failure.

    Parameters
    ----------
    text
        The text to parse (None is an error).
    count
        How many numbers there must be, or None for any number.
    what, path
        For the error message.
    """
    if text is None:
        raise InputError(f"{what} is missing", path)
    try:
        values = [float(v) for v in text.replace(",", " ").split()]
    except ValueError:
        raise InputError(f"{what} is not a list of numbers: {text.strip()[:60]!r}", path) from None
    if count is not None and len(values) != count:
        raise InputError(f"{what} should have {count} numbers, found {len(values)}", path)
    if not all(math.isfinite(v) for v in values):
        raise InputError(f"{what} contains a non-finite number", path)
    return values


def number(text: object, what: str, path: Path) -> float:
    """One finite number from a string or JSON value, or :class:`InputError`."""
    try:
        value = float(text)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise InputError(f"{what} is not a number: {shorten(text)}", path) from None
    except OverflowError:  # an integer too large for a float (JSON allows 10**400)
        raise InputError(f"{what} is too large: {shorten(text)}", path) from None
    if not math.isfinite(value):
        raise InputError(f"{what} is not finite: {shorten(text)}", path)
    return value


def shorten(value: object, limit: int = 60) -> str:
    """``repr(value)`` cut to ``limit`` characters (a message stays one short line)."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def check_intrinsics(
    width: int, height: int, fx: float, fy: float, cx: float, cy: float, what: str, path: Path
) -> None:
    """:class:`InputError` unless the image size is in ``1..MAX_IMAGE_SIDE``, the focal lengths finite and
    positive and the principal point finite (readers check this before deriving anything from them)."""
    if not (0 < width <= MAX_IMAGE_SIDE and 0 < height <= MAX_IMAGE_SIDE):
        raise InputError(f"{what}: image size {width} x {height} is not in 1..{MAX_IMAGE_SIDE} pixels", path)
    if not (math.isfinite(fx) and math.isfinite(fy) and fx > 0 and fy > 0):
        raise InputError(f"{what}: focal lengths must be finite and positive, got {fx:g}, {fy:g}", path)
    if not (math.isfinite(cx) and math.isfinite(cy)):
        raise InputError(f"{what}: the principal point is not finite ({cx:g}, {cy:g})", path)


def make_camera(path: Path, what: str, **fields: Any) -> Camera:
    """A :class:`Camera` from a reader's values; anything :class:`Camera` refuses is an :class:`InputError`."""
    check_intrinsics(fields["width"], fields["height"], fields["fx"], fields["fy"], fields["cx"], fields["cy"],
                     what, path)  # fmt: skip
    try:
        return Camera(**fields)
    except ValueError as exc:
        raise InputError(f"{what}: {exc}", path) from None


def make_distortion(model: str, coeffs: tuple[float, ...], what: str, path: Path) -> Distortion:
    """A :class:`Distortion`; non-finite coefficients (from an overflowing fit, say) are an :class:`InputError`."""
    try:
        return Distortion(model, coeffs)  # type: ignore[arg-type]
    except ValueError as exc:
        raise InputError(f"{what}: {exc}", path) from None


def nearest_rotation(matrix: ArrayLike, what: str, path: Path, tolerance: float = 1e-3) -> NDArray[np.float64]:
    """The proper rotation nearest to ``matrix`` (SVD), or :class:`InputError` if it is far from one.

    Files store rotations as decimal text, so they are orthonormal only to the
    precision written; this snaps them back so :class:`Camera` accepts them.

    Parameters
    ----------
    matrix
        ``(3, 3)``.
    tolerance
        Largest accepted ``|M M^T - I|`` entry.
    """
    m = np.asarray(matrix, dtype=np.float64).reshape(3, 3)
    with np.errstate(all="ignore"):
        error = float(np.max(np.abs(m @ m.T - np.eye(3))))
    if not error <= tolerance:  # NaN too: huge entries overflow m m^T
        raise InputError(f"{what} is not a rotation matrix (its rows are not orthonormal)", path)
    if np.linalg.det(m) < 0:
        raise InputError(f"{what} is a reflection, not a rotation (determinant -1)", path)
    u, _, vt = np.linalg.svd(m)
    r: NDArray[np.float64] = u @ vt
    return r


def fmt(value: float) -> str:
    """Shortest text that reads back as exactly the same float."""
    return repr(float(value))


def fmt_all(values: ArrayLike) -> str:
    """Space-separated :func:`fmt` of every value, flattened row-major."""
    return " ".join(fmt(v) for v in np.asarray(values, dtype=np.float64).ravel())


def note(notes: list[str], message: str, warn: bool = False) -> None:
    """Record a reader's note; also emit a :class:`UserWarning` when it changes the projection."""
    if message not in notes:
        notes.append(message)
        if warn:
            warnings.warn(message, UserWarning, stacklevel=3)


def image_size(path: Path) -> tuple[int, int]:
    """``(width, height)`` of an image file from its header, or :class:`InputError`."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as img:
            return int(img.width), int(img.height)
    except (OSError, UnidentifiedImageError, Image.DecompressionBombError, ValueError, SyntaxError) as exc:
        raise InputError(f"cannot read the image size: {_one_line(exc)}", path) from None


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())[:200] or type(exc).__name__

"""Small helpers the rig readers and writers share: number parsing, rotations, float text."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
from numpy.typing import ArrayLike, NDArray

from lifecast.errors import InputError

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
        raise InputError(f"{what} is not a number: {text!r}", path) from None
    if not math.isfinite(value):
        raise InputError(f"{what} is not finite: {text!r}", path)
    return value


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
    if np.max(np.abs(m @ m.T - np.eye(3))) > tolerance:
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
    except (OSError, UnidentifiedImageError) as exc:
        raise InputError(f"cannot read the image size: {exc}", path) from None

"""Image reading: any common format and bit depth to ``(h, w, 3) uint8`` sRGB."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from lifecast.errors import InputError


def read_image(path: str | Path) -> NDArray[np.uint8]:
    """Read an image file as an ``(h, w, 3) uint8`` sRGB array.

    Grey images are repeated into three channels, alpha is dropped, 16-bit
    images are rounded to 8 bits and float images are clipped to [0, 1] and
    scaled; values are otherwise kept as stored (assumed sRGB-encoded).

    Parameters
    ----------
    path
        A PNG, JPEG, TIFF, BMP, ... file.

    Returns
    -------
    NDArray[np.uint8]
        ``(h, w, 3)`` RGB pixels, row 0 at the top of the image.

    Raises
    ------
    InputError
        When the file is missing, empty, or cannot be decoded as an image.
    """
    p = Path(path)
    if not p.exists():
        raise InputError("the image file does not exist", p)
    if not p.is_file():
        raise InputError("expected an image file but found a directory", p)
    data = np.fromfile(p, dtype=np.uint8)
    if data.size == 0:
        raise InputError("the image file is empty", p)
    previous = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)  # the InputError says it once
    try:
        decoded = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    finally:
        cv2.utils.logging.setLogLevel(previous)
    if decoded is None or decoded.size == 0:
        raise InputError("the file could not be decoded as an image (corrupt or not an image)", p)
    return _to_rgb8(np.asarray(decoded))


def _to_rgb8(pixels: NDArray[np.generic]) -> NDArray[np.uint8]:
    """OpenCV's decoded array (grey, BGR or BGRA; any depth) as ``(h, w, 3) uint8`` RGB."""
    if pixels.ndim == 2:
        pixels = pixels[:, :, None]
    channels = pixels.shape[2]
    if channels == 1:
        rgb = np.repeat(pixels, 3, axis=2)
    elif channels == 2:  # grey + alpha
        rgb = np.repeat(pixels[:, :, :1], 3, axis=2)
    else:
        rgb = pixels[:, :, 2::-1]  # BGR(A) -> RGB, alpha dropped
    if rgb.dtype == np.uint8:
        return np.ascontiguousarray(rgb)
    if rgb.dtype == np.uint16:
        return np.ascontiguousarray(((rgb.astype(np.uint32) * 255 + 32767) // 65535).astype(np.uint8))
    if np.issubdtype(rgb.dtype, np.floating):
        scaled = np.clip(np.nan_to_num(rgb.astype(np.float32)), 0.0, 1.0) * 255.0 + 0.5
        return np.ascontiguousarray(scaled.astype(np.uint8))
    info = np.iinfo(rgb.dtype)  # other integer depths: scale the full range
    scaled = (rgb.astype(np.float64) - info.min) / (info.max - info.min) * 255.0 + 0.5
    return np.ascontiguousarray(scaled.astype(np.uint8))

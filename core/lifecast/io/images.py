"""Image reading: any common format and bit depth to ``(h, w, 3) uint8`` sRGB."""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO

import cv2
import numpy as np
from numpy.typing import NDArray

from lifecast.errors import InputError

#: Largest image decoded (pixels): 16K x 16K, the largest map lifecast bakes (3/4 GiB as 8-bit RGB).
MAX_PIXELS = 16384 * 16384
#: Above any compression ratio deflate (PNG, at most 1032:1) or baseline JPEG reach.
_MAX_RATIO = 1100


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
        When the file is missing, empty, larger than 16384 x 16384 pixels, or cannot be decoded as an image.
    """
    p = Path(path)
    if not p.exists():
        raise InputError("the image file does not exist", p)
    if not p.is_file():
        raise InputError("expected an image file but found a directory", p)
    data = np.fromfile(p, dtype=np.uint8)
    if data.size == 0:
        raise InputError("the image file is empty", p)
    _check_size(p)
    previous = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)  # the InputError says it once
    try:
        decoded = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    except cv2.error:  # OpenCV refuses some headers (e.g. too many pixels) by raising, others by returning None
        decoded = None
    finally:
        cv2.utils.logging.setLogLevel(previous)
    if decoded is None or decoded.size == 0:
        raise InputError("the file could not be decoded as an image (corrupt or not an image)", p)
    return _to_rgb8(np.asarray(decoded))


def _check_size(path: Path) -> None:
    """Refuse an image whose header claims too many pixels, before decoding allocates them."""
    with path.open("rb") as fh:
        problem = image_header_problem(fh, path.stat().st_size)
    if problem is not None:
        raise InputError(problem, path)


def image_header_problem(fh: BinaryIO, size: int) -> str | None:
    """Why an image's header cannot be believed, or ``None``: read by Pillow without decoding the pixels.

    Refused: more than :data:`MAX_PIXELS` pixels, or a PNG / JPEG that claims far more pixels than its
    ``size`` bytes can hold (deflate and JPEG compress less than :data:`_MAX_RATIO` to 1), which is a
    corrupt or hostile header that would make the decoder allocate the whole image first.
    Formats Pillow cannot read are left to the decoder.
    """
    import PIL.Image

    limit = PIL.Image.MAX_IMAGE_PIXELS
    PIL.Image.MAX_IMAGE_PIXELS = None  # Pillow's bomb check (179M pixels) is below ours; only the header is read
    try:
        with PIL.Image.open(fh) as im:
            width, height = im.size
            bands, kind = len(im.getbands()), im.format
    except Exception:
        return None
    finally:
        PIL.Image.MAX_IMAGE_PIXELS = limit
    if width * height > MAX_PIXELS:
        return f"the image claims {width} x {height} pixels, more than lifecast reads (16384 x 16384)"
    if kind in ("PNG", "JPEG") and width * height * bands > _MAX_RATIO * size + (1 << 20):
        return (
            f"the image claims {width} x {height} pixels but the file is only {size} bytes "
            "(its header is corrupt or the file is truncated)"
        )
    return None


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

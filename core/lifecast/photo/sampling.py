"""Reading colours out of images: sRGB decoding, bilinear lookups and a box-filtered pyramid.

Pixel coordinates follow :mod:`lifecast.io.cameras.model`: the image's top-left corner is ``(0, 0)``,
so the centre of pixel ``(row, col)`` is ``(col + 0.5, row + 0.5)``. Level ``k`` of a :class:`Pyramid`
averages ``2^k x 2^k`` blocks of the photo, so a point ``(x, y)`` of the photo lies at array position
``(x / 2^k - 0.5, y / 2^k - 0.5)`` of that level.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from lifecast.color import srgb_to_linear

#: ``cv2.remap`` refuses destination images of 32767 or more pixels a side: lookups are laid out in rows of this.
_REMAP_ROW = 4096

#: A pyramid stops once its smallest level is below this many pixels a side.
_MIN_LEVEL_SIZE = 4


@lru_cache(maxsize=2)
def _decode_table(levels: int) -> NDArray[np.float32]:
    """``(levels,) float32`` linear value of each integer sRGB code ``0 .. levels - 1``."""
    return np.asarray(srgb_to_linear(np.arange(levels, dtype=np.float64) / (levels - 1)), np.float32)


def decode_srgb(image: NDArray[np.generic]) -> NDArray[np.float32]:
    """An sRGB-encoded image to linear light.

    Parameters
    ----------
    image
        ``(h, w, 3)`` (or ``(h, w)``) ``uint8``, ``uint16`` or float in ``[0, 1]`` sRGB-encoded values.

    Returns
    -------
    NDArray[np.float32]
        ``(h, w, 3)`` linear values (grey images repeated into three channels; alpha dropped).
    """
    pixels: NDArray[Any] = np.asarray(image)
    if pixels.ndim == 2:
        pixels = pixels[:, :, None].repeat(3, axis=2)
    if pixels.ndim != 3 or pixels.shape[2] < 3:
        raise ValueError(f"expected an (h, w, 3) image, got {pixels.shape}")
    pixels = pixels[:, :, :3]
    if pixels.dtype == np.uint8:
        return _decode_table(256)[pixels]
    if pixels.dtype == np.uint16:
        return _decode_table(65536)[pixels]
    return np.asarray(srgb_to_linear(pixels.astype(np.float32)), np.float32)


def bilinear(image: NDArray[np.float32], x: NDArray[np.floating], y: NDArray[np.floating]) -> NDArray[np.float32]:
    """Bilinear lookups at array positions (pixel centres at integers), edges clamped.

    Parameters
    ----------
    image
        ``(h, w, c)`` or ``(h, w)`` float32 image.
    x, y
        ``(n,)`` column and row positions; ``(0, 0)`` is the centre of the first pixel.

    Returns
    -------
    NDArray[np.float32]
        ``(n, c)`` (or ``(n,)`` for a 2D image) interpolated values.
    """
    n = len(x)
    xy = np.empty((n, 2), np.float32)
    xy[:, 0] = x
    xy[:, 1] = y
    return remap_points(image, xy)


def remap_points(image: NDArray[np.float32], xy: NDArray[np.float32]) -> NDArray[np.float32]:
    """:func:`bilinear` at array positions given as ``(n, 2) float32`` rows ``(x, y)``.

    Returns
    -------
    NDArray[np.float32]
        ``(n, c)`` (or ``(n,)`` for a 2D image) interpolated values (a view of OpenCV's output).
    """
    image = np.ascontiguousarray(image, np.float32)
    n = len(xy)
    channels = image.shape[2] if image.ndim == 3 else 0
    if n == 0:
        return np.empty((0, channels) if channels else (0,), np.float32)
    rows = -(-n // _REMAP_ROW)
    padded = rows * _REMAP_ROW
    if padded == n and xy.dtype == np.float32 and xy.flags.c_contiguous:
        points = xy
    else:
        points = np.zeros((padded, 2), np.float32)
        points[:n] = xy
    # One interleaved (x, y) map and no second one: None (OpenCV's stubs want an array, but an empty array is
    # read as a map of garbage).
    sampled = cv2.remap(  # type: ignore[call-overload]
        image,
        points.reshape(rows, _REMAP_ROW, 2),
        None,
        interpolation=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_REPLICATE,
    )
    return sampled.reshape(padded, -1)[:n] if channels else sampled.reshape(padded)[:n]


#: The binomial kernel each level is blurred with before it is halved: with the 2x2 average that follows, a
#: smooth low-pass (a 2x2 average alone lets much of the next octave through, and the views' low bands, read
#: from coarse levels, would then disagree on the detail they let through).
_BINOMIAL = np.array([1.0, 4.0, 6.0, 4.0, 1.0], np.float32) / 16.0


def _half(image: NDArray[np.float32]) -> NDArray[np.float32]:
    """Binomial blur, then 2x2 average (odd sizes padded by repeating the last row / column); pixel centres stay
    aligned: output pixel ``j`` is centred on input position ``2 j + 1`` (corner convention)."""
    blurred: NDArray[Any] = cv2.sepFilter2D(image, -1, _BINOMIAL, _BINOMIAL, borderType=cv2.BORDER_REPLICATE)
    h, w = blurred.shape[:2]
    if h % 2 or w % 2:
        blurred = cv2.copyMakeBorder(blurred, 0, h % 2, 0, w % 2, cv2.BORDER_REPLICATE)
        h, w = blurred.shape[:2]
    return np.asarray(cv2.resize(blurred, (w // 2, h // 2), interpolation=cv2.INTER_AREA), np.float32)


class Pyramid:
    """A photo and its 2x2 box-filtered reductions, sampled trilinearly.

    Parameters
    ----------
    image
        ``(h, w, 3) float32`` linear photo (kept, not copied).
    max_levels
        Most levels kept, the photo included.
    """

    def __init__(self, image: NDArray[np.float32], max_levels: int = 12) -> None:
        self.levels: list[NDArray[np.float32]] = [np.ascontiguousarray(image, np.float32)]
        while len(self.levels) < max_levels and min(self.levels[-1].shape[:2]) >= 2 * _MIN_LEVEL_SIZE:
            self.levels.append(_half(self.levels[-1]))

    @property
    def nbytes(self) -> int:
        """Bytes held by all levels."""
        return sum(level.nbytes for level in self.levels)

    def sample(self, xy: NDArray[np.floating], level: NDArray[np.floating]) -> NDArray[np.float32]:
        """Colours at photo pixel positions, each blurred to its (fractional) pyramid level.

        Parameters
        ----------
        xy
            ``(n, 2)`` pixel positions (top-left image corner at ``(0, 0)``).
        level
            ``(n,)`` pyramid level: 0 is the photo, ``k`` its ``2^k``-fold reduction; fractional levels
            blend the two nearest (trilinear filtering); clamped to the levels there are.

        Returns
        -------
        NDArray[np.float32]
            ``(n, 3)`` linear colours.
        """
        top = len(self.levels) - 1
        n = len(xy)
        lev = np.clip(np.asarray(level, np.float32), 0.0, float(top))
        if top == 0:
            return self._at(0, xy, slice(None))
        base = np.minimum(lev.astype(np.int32), top - 1)  # floor: the levels are not negative
        frac = lev - base
        counts = np.bincount(base, minlength=top)
        out = np.empty((n, 3), np.float32)
        for k in np.flatnonzero(counts):
            pick: NDArray[np.int64] | slice = slice(None) if counts[k] == n else np.flatnonzero(base == k)
            fine = self._at(int(k), xy, pick)
            coarse = self._at(int(k) + 1, xy, pick)
            coarse -= fine
            coarse *= frac[pick, None]
            coarse += fine
            out[pick] = coarse
        return out

    def _at(self, k: int, xy: NDArray[np.floating], pick: NDArray[np.int64] | slice) -> NDArray[np.float32]:
        """Bilinear reads of level ``k`` at the photo positions ``xy[pick]`` (a new array)."""
        points = np.asarray(xy[pick], np.float32) * np.float32(1.0 / (1 << k))
        points -= np.float32(0.5)
        return np.array(remap_points(self.levels[k], points))

"""Pictures for the QA report: baked maps shown for the eye, thumbnails, PNG data URIs."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lifecast.color import linear_to_srgb

__all__ = [
    "DisplayImage",
    "acescg_to_srgb",
    "covered_range",
    "display_map",
    "png_bytes",
    "png_data_uri",
    "read_map",
    "thumbnail",
]

#: Linear ACEScg (AP1) to linear Rec.709 / sRGB primaries, Bradford-adapted D60 -> D65.
AP1_TO_REC709 = np.array(
    [
        [1.70505, -0.62179, -0.08326],
        [-0.13026, 1.14080, -0.01055],
        [-0.02400, -0.12897, 1.15297],
    ]
)


@dataclass(frozen=True)
class DisplayImage:
    """A map made viewable: ``rgb (h, w, 3) uint8`` sRGB, and what was done to show it (``note``)."""

    rgb: NDArray[np.uint8]
    note: str


def read_map(path: Path) -> NDArray[np.generic]:
    """The pixels of a baked map as stored: PNG ``uint8``/``uint16`` (RGB order), EXR ``float16``/``float32``.

    Returns ``(h, w)`` for one channel, ``(h, w, 3)`` for colour.
    """
    import cv2

    if path.suffix.lower() == ".exr":
        from lifecast.bake.images import read_exr

        return read_exr(path, as_float32=False)
    pixels = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if pixels is None:
        raise OSError(f"cannot read image {path}")
    if pixels.ndim == 3 and pixels.shape[2] >= 3:
        pixels = cv2.cvtColor(pixels[:, :, :3], cv2.COLOR_BGR2RGB)
    return np.asarray(pixels)


def thumbnail(image: NDArray[np.generic], size: int) -> NDArray[np.generic]:
    """``image`` scaled (area average) so its longer side is at most ``size`` pixels; dtype kept."""
    import cv2

    h, w = image.shape[:2]
    scale = size / max(h, w)
    if scale >= 1.0:
        return image
    dims = (max(1, round(w * scale)), max(1, round(h * scale)))
    src: NDArray[Any] = image.astype(np.float32) if image.dtype == np.float16 else np.asarray(image)
    return np.asarray(cv2.resize(src, dims, interpolation=cv2.INTER_AREA))


def display_map(
    pixels: NDArray[np.generic],
    channel: str,
    value_range: tuple[float, float, float] | None = None,
    units: str = "",
) -> DisplayImage:
    """A baked map as an 8-bit sRGB picture an artist can read.

    Parameters
    ----------
    pixels
        ``(h, w)`` or ``(h, w, 3)`` as stored (:func:`read_map`), usually a thumbnail of it.
    channel
        ``albedo``, ``normal``, ``object_normal``, ``displacement``, ``ao``, ``cavity``, ``mask``...
    value_range
        ``(lo, hi, reach)`` of a data map's values where the bake covered (:func:`covered_range`); by
        default measured on ``pixels``.
    units
        Length units of displacement values, for the note.

    Returns
    -------
    DisplayImage
        Colour maps as they are (16-bit scaled to 8, ACEScg EXR albedo to sRGB), normal maps as they are,
        float data maps (displacement) normalised about zero: mid grey is 0, white and black are
        ``+reach`` and ``-reach`` (the 99th percentile of the magnitude, so a few spikes do not flatten
        the picture); the full range is in ``note``.
    """
    p = np.asarray(pixels)
    if channel == "displacement" or (p.dtype.kind == "f" and channel != "albedo"):
        values = p.astype(np.float64)
        if values.ndim == 3:
            values = values[..., 0]
        lo, hi, reach = value_range if value_range is not None else covered_range(values, None)
        reach = reach or 1.0
        grey = np.clip(0.5 + 0.5 * np.nan_to_num(values) / reach, 0.0, 1.0)
        rgb = np.repeat(_to_uint8(grey)[..., None], 3, axis=2)
        unit = f" {units}" if units else ""
        note = f"range {lo:+.3g} \u2026 {hi:+.3g}{unit}; shown \u00b1{reach:.3g}{unit} (mid grey 0)"
        return DisplayImage(rgb, note)
    if p.dtype.kind == "f":  # ACEScg half-float albedo
        return DisplayImage(_to_uint8(acescg_to_srgb(p)), "ACEScg, shown as sRGB")
    note = ""
    if p.dtype == np.uint16:
        p = (p.astype(np.float64) / 65535.0 * 255.0).round().astype(np.uint8)
        note = "16-bit, shown as 8"
    elif p.dtype != np.uint8:
        p = np.clip(p, 0, 255).astype(np.uint8)
    if p.ndim == 2:
        p = np.repeat(p[..., None], 3, axis=2)
    if channel in ("normal", "object_normal"):
        note = ", ".join(filter(None, ["as stored", note]))
    return DisplayImage(np.ascontiguousarray(p[..., :3]), note)


def covered_range(values: NDArray[np.generic], mask: NDArray[np.bool_] | None) -> tuple[float, float, float]:
    """``(min, max, reach)`` of the finite ``(h, w)`` values where ``mask`` is set (everywhere without one).

    ``reach`` is the 99th percentile of their magnitude (what :func:`display_map` shows as white).
    """
    v = np.asarray(values)
    if v.ndim == 3:
        v = v[..., 0]
    inside = v[mask] if mask is not None and mask.shape == v.shape and mask.any() else v.reshape(-1)
    finite = inside[np.isfinite(inside)].astype(np.float32)
    if not finite.size:
        return 0.0, 0.0, 0.0
    sample = np.abs(finite[:: max(1, finite.size // 1_000_000)])  # a percentile of a million is plenty
    return float(finite.min()), float(finite.max()), float(np.percentile(sample, 99))


def acescg_to_srgb(rgb: NDArray[np.floating]) -> NDArray[np.float32]:
    """``(..., 3)`` linear ACEScg to sRGB-encoded values in [0, 1]."""
    return np.asarray(linear_to_srgb(np.clip(np.asarray(rgb, np.float64) @ AP1_TO_REC709.T, 0.0, 1.0)), np.float32)


def png_bytes(image: NDArray[np.uint8]) -> bytes:
    """An 8-bit ``(h, w)`` grey or ``(h, w, 3)`` RGB image encoded as PNG."""
    import cv2

    pixels: NDArray[Any] = np.ascontiguousarray(image, np.uint8)
    if pixels.ndim == 3:
        pixels = cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR)
    ok, buffer = cv2.imencode(".png", pixels, [cv2.IMWRITE_PNG_COMPRESSION, 6])
    if not ok:
        raise ValueError(f"cannot encode a {image.shape} image as PNG")
    return bytes(buffer)


def png_data_uri(image: NDArray[np.uint8]) -> str:
    """``data:image/png;base64,...`` of ``image`` (see :func:`png_bytes`), for an ``<img src>``."""
    return "data:image/png;base64," + base64.b64encode(png_bytes(image)).decode("ascii")


def _to_uint8(values: NDArray[np.floating]) -> NDArray[np.uint8]:
    return np.round(np.clip(values, 0.0, 1.0) * 255.0).astype(np.uint8)

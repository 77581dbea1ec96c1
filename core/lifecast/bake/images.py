"""Writing texture images: PNG and OpenEXR, atomically (no reader ever sees half a file)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lifecast.pipeline.atomic import atomic_path


def write_png(path: Path, image: NDArray[np.uint8] | NDArray[np.uint16]) -> None:
    """Write an 8- or 16-bit PNG through a temporary file in the same folder, then rename it.

    Parameters
    ----------
    path
        Destination ``.png`` path; parent folders are created.
    image
        ``(h, w)`` grey, ``(h, w, 3)`` RGB or ``(h, w, 4)`` RGBA, ``uint8`` or ``uint16``.
    """
    import cv2

    pixels: NDArray[Any] = np.ascontiguousarray(image)
    if pixels.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"PNG images must be uint8 or uint16, got {pixels.dtype}")
    if pixels.ndim == 3 and pixels.shape[2] == 3:
        pixels = cv2.cvtColor(pixels, cv2.COLOR_RGB2BGR)
    elif pixels.ndim == 3 and pixels.shape[2] == 4:
        pixels = cv2.cvtColor(pixels, cv2.COLOR_RGBA2BGRA)
    elif pixels.ndim != 2:
        raise ValueError(f"image must be (h, w), (h, w, 3) or (h, w, 4), got {pixels.shape}")
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"write_png writes .png files, got {path.name}")
    with atomic_path(path) as tmp:
        if not cv2.imwrite(str(tmp), pixels):
            raise OSError(f"could not write {path}")


def write_exr(
    path: Path,
    image: NDArray[np.floating],
    *,
    half: bool = False,
    attributes: dict[str, Any] | None = None,
) -> None:
    """Write an OpenEXR (ZIP-compressed scanlines) atomically; pixels are written as given (no colour transform).

    Parameters
    ----------
    path
        Destination ``.exr`` path; parent folders are created.
    image
        ``(h, w)`` single channel (written as ``Y``) or ``(h, w, 3)`` (written as ``R``, ``G``, ``B``).
    half
        Store 16-bit half floats instead of 32-bit floats.
    attributes
        Extra header attributes, e.g. ``{"chromaticities": (rx, ry, gx, gy, bx, by, wx, wy)}``.
    """
    try:
        import OpenEXR
    except ImportError as exc:  # pragma: no cover - a core dependency, guarded for partial installs
        from lifecast.errors import MissingDependencyError

        raise MissingDependencyError("openexr", "writing EXR maps") from exc

    pixels = np.ascontiguousarray(image, np.float16 if half else np.float32)
    if pixels.ndim == 2:
        channels = {"Y": pixels}
    elif pixels.ndim == 3 and pixels.shape[2] == 3:
        channels = {"RGB": pixels}
    else:
        raise ValueError(f"EXR images must be (h, w) or (h, w, 3), got {pixels.shape}")
    path = Path(path)
    if path.suffix.lower() != ".exr":
        raise ValueError(f"write_exr writes .exr files, got {path.name}")
    header = {"compression": OpenEXR.ZIP_COMPRESSION, "type": OpenEXR.scanlineimage, **(attributes or {})}
    with atomic_path(path) as tmp, OpenEXR.File(header, channels, num_threads=os.cpu_count() or 1) as exr:
        exr.write(str(tmp))


def read_exr(path: Path, *, as_float32: bool = True) -> NDArray[np.floating]:
    """Read an EXR written by :func:`write_exr`: ``(h, w)`` for ``Y``, ``(h, w, 3)`` for RGB.

    ``as_float32=False`` keeps the stored pixel type (``float16`` for half-float files).
    """
    import OpenEXR

    with OpenEXR.File(str(path)) as exr:
        channels = exr.channels()
        key = "Y" if "Y" in channels else "RGB"
        pixels = np.asarray(channels[key].pixels)
    return pixels.astype(np.float32) if as_float32 else pixels


def read_exr_header(path: Path) -> dict[str, Any]:
    """The header attributes of an EXR file (``chromaticities``, ``compression``, ...), without its pixels."""
    import OpenEXR

    with OpenEXR.File(str(path), header_only=True) as exr:
        return dict(exr.header())

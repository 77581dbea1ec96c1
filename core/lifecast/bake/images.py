"""Writing texture images: PNG and OpenEXR, atomically (no reader ever sees half a file)."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lifecast.pipeline.atomic import atomic_path
from lifecast.threads import available_cpus


def write_png(path: Path, image: NDArray[np.uint8] | NDArray[np.uint16]) -> None:
    """Write an 8- or 16-bit PNG through a temporary file in the same folder, then rename it.

    Encoded here (:func:`encode_png`): every row "Up"-filtered, one deflate stream at the fastest level.

    Parameters
    ----------
    path
        Destination ``.png`` path; parent folders are created.
    image
        ``(h, w)`` grey, ``(h, w, 3)`` RGB or ``(h, w, 4)`` RGBA, ``uint8`` or ``uint16``.
    """
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise ValueError(f"write_png writes .png files, got {path.name}")
    data = encode_png(image)
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


#: PNG colour type by channel count: grey, RGB, RGBA.
_PNG_COLOR_TYPE = {1: 0, 3: 2, 4: 6}

#: Largest IDAT chunk written (the format allows 2^31 - 1 bytes).
_PNG_IDAT_BYTES = 1 << 30


def encode_png(image: NDArray[np.uint8] | NDArray[np.uint16]) -> bytes:
    """The bytes of a PNG file holding ``image`` (``(h, w)``, ``(h, w, 3)`` or ``(h, w, 4)``, uint8 or uint16).

    Every row uses the "Up" filter (the difference from the row above, which suits smooth maps), and the
    rows are deflated at the fastest level: by ISA-L (the ``isal`` package) when it is installed, about
    five times faster than zlib at a similar size (0.05 s against 0.24 s for a 2K 16-bit RGB normal map,
    where OpenCV's writer took 0.22 s), otherwise by the standard library's zlib with its run-length
    strategy (OpenCV's default). Both release the GIL while compressing.
    """
    pixels: NDArray[Any] = np.asarray(image)
    if pixels.dtype not in (np.uint8, np.uint16):
        raise ValueError(f"PNG images must be uint8 or uint16, got {pixels.dtype}")
    channels = 1 if pixels.ndim == 2 else pixels.shape[2] if pixels.ndim == 3 else 0
    if channels not in _PNG_COLOR_TYPE or min(pixels.shape[:2], default=0) < 1:
        raise ValueError(f"image must be (h, w), (h, w, 3) or (h, w, 4), got {pixels.shape}")
    h, w = pixels.shape[:2]
    depth = 8 * pixels.dtype.itemsize
    # PNG stores 16-bit samples big-endian; each row is prefixed by its filter type byte (2 = Up).
    rows = np.ascontiguousarray(pixels, pixels.dtype.newbyteorder(">")).reshape(h, -1).view(np.uint8)
    filtered = np.empty((h, rows.shape[1] + 1), np.uint8)
    filtered[:, 0] = 2
    filtered[0, 1:] = rows[0]
    np.subtract(rows[1:], rows[:-1], out=filtered[1:, 1:])
    del rows
    stream = _deflate(filtered.reshape(-1).data)
    del filtered
    header = struct.pack(">IIBBBBB", w, h, depth, _PNG_COLOR_TYPE[channels], 0, 0, 0)
    parts = [b"\x89PNG\r\n\x1a\n", _png_chunk(b"IHDR", header)]
    view = memoryview(stream)
    parts += [_png_chunk(b"IDAT", view[i : i + _PNG_IDAT_BYTES]) for i in range(0, len(view), _PNG_IDAT_BYTES)]
    parts.append(_png_chunk(b"IEND", b""))
    return b"".join(parts)


def _deflate(data: memoryview) -> bytes:
    """A zlib stream of ``data`` at the fastest level (ISA-L when installed, else zlib run-length)."""
    try:
        from isal import isal_zlib
    except ImportError:
        compressor = zlib.compressobj(1, zlib.DEFLATED, 15, 9, zlib.Z_RLE)
        return compressor.compress(data) + compressor.flush()
    return bytes(isal_zlib.compress(data, 1))


def _png_chunk(kind: bytes, payload: bytes | memoryview) -> bytes:
    crc = zlib.crc32(payload, zlib.crc32(kind))
    return b"".join((struct.pack(">I", len(payload)), kind, payload, struct.pack(">I", crc)))


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
    with atomic_path(path) as tmp, OpenEXR.File(header, channels, num_threads=available_cpus()) as exr:
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

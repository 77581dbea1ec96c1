"""Texture sets on disk for the texture commands: ``<UDIM>`` patterns, checks against a mesh's tiles, and writes
that leave nothing behind on failure.

A pattern holds ``<UDIM>`` (``head_albedo.<UDIM>.png``) for a set of tiles, or names one file for tile 1001.
8/16-bit PNG, JPEG and TIFF are read as sRGB-encoded; EXR as linear.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

import cv2
import numpy as np
from numpy.typing import NDArray

from lifecast.color import linear_to_srgb, srgb_to_linear
from lifecast.errors import InputError
from lifecast.interrupts import held_back

UDIM_TOKEN = "<UDIM>"


def tile_path(pattern: Path, udim: int) -> Path:
    """The file of tile ``udim`` in ``pattern``."""
    return Path(str(pattern).replace(UDIM_TOKEN, str(udim)))


def check_pattern(pattern: Path, tiles: Sequence[int], what: str) -> None:
    """:class:`InputError` when ``pattern`` names one file but the mesh uses more tiles than 1001."""
    if UDIM_TOKEN not in str(pattern) and list(tiles) != [1001]:
        raise InputError(
            f"the mesh's UVs use UDIM tiles {', '.join(map(str, tiles))}: give the {what} as a pattern with "
            f"{UDIM_TOKEN} (e.g. head_albedo.{UDIM_TOKEN}.png)"
        )


def read_linear(path: Path, what: str = "texture") -> NDArray[np.float32]:
    """``(h, w, 3) float32`` linear colour of an image file (sRGB-decoded unless EXR)."""
    if not path.is_file():
        raise InputError(f"{what} not found: {path}", path)
    if path.suffix.lower() == ".exr":
        from lifecast.bake.images import read_exr

        try:
            data = np.asarray(read_exr(path), np.float32)
        except Exception as exc:  # OpenEXR raises plain exceptions on bad files
            raise InputError(f"{what} {path.name} is not a readable EXR image: {exc}", path) from None
        channels = np.repeat(data[..., None], 3, axis=2) if data.ndim == 2 else data[..., :3]
        return np.ascontiguousarray(channels, dtype=np.float32)
    raw: NDArray[np.generic] | None = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    if raw is None:
        raise InputError(f"{what} {path.name} is not an image OpenCV can read", path)
    if raw.ndim == 2:
        raw = np.repeat(raw[..., None], 3, axis=2)
    rgb: NDArray[np.generic] = raw[..., :3][..., ::-1]
    scale = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}.get(rgb.dtype)
    if scale is None:
        raise InputError(f"{what} {path.name} has an unsupported pixel type {rgb.dtype}", path)
    return srgb_to_linear(np.ascontiguousarray(rgb, dtype=np.float32) / np.float32(scale))


def read_mask(path: Path, size: int) -> NDArray[np.bool_]:
    """``(size, size) bool``: white (above mid-grey) texels of a mask image, resized to ``size`` if needed."""
    if not path.is_file():
        raise InputError(f"mask not found: {path}", path)
    raw = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if raw is None:
        raise InputError(f"mask {path.name} is not an image OpenCV can read", path)
    if raw.shape[0] != raw.shape[1]:
        raise InputError(f"mask {path.name} is {raw.shape[1]}x{raw.shape[0]}: UV tiles are square", path)
    if raw.shape[0] != size:
        raw = cv2.resize(raw, (size, size), interpolation=cv2.INTER_NEAREST)
    return np.asarray(raw > 127)


def read_texture_set(pattern: Path, tiles: Sequence[int], what: str = "texture") -> list[NDArray[np.float32]]:
    """Every tile's texture, linear; all square and the same size, or :class:`InputError`."""
    check_pattern(pattern, tiles, what)
    images: list[NDArray[np.float32]] = []
    for udim in tiles:
        path = tile_path(pattern, udim)
        if not path.is_file():
            raise InputError(f"{what} for UDIM {udim} not found: {path} (the mesh's UVs use this tile)", path)
        image = read_linear(path, what)
        h, w = image.shape[:2]
        if h != w:
            raise InputError(f"{what} {path.name} is {w}x{h}: a UV tile's texture is square", path)
        if images and h != images[0].shape[0]:
            raise InputError(f"{what} tiles differ in size: {path.name} is {w}px, the first is {images[0].shape[0]}px")
        images.append(image)
    return images


def encode_for(path: Path, linear: NDArray[np.floating]) -> NDArray[np.generic]:
    """What goes into ``path``: 8-bit sRGB for PNG/JPEG/TIFF, half-float linear for EXR."""
    if path.suffix.lower() == ".exr":
        return np.asarray(linear, np.float16)
    srgb = linear_to_srgb(np.clip(np.asarray(linear, np.float32), 0.0, 1.0))
    return np.round(srgb * 255.0).astype(np.uint8)


def write_image(path: Path, pixels: NDArray[np.generic]) -> None:
    """Write ``(h, w, 3)`` RGB pixels (uint8 PNG/JPEG/TIFF or float EXR) to ``path``."""
    if path.suffix.lower() == ".exr":
        from lifecast.bake.images import write_exr

        write_exr(path, np.asarray(pixels, np.float32))
        return
    if path.suffix.lower() == ".png":
        from lifecast.bake.images import write_png

        write_png(path, np.asarray(pixels))
        return
    if not cv2.imwrite(str(path), np.ascontiguousarray(np.asarray(pixels)[..., ::-1])):
        raise InputError(f"cannot write {path}: unknown image type {path.suffix}", path)


@contextlib.contextmanager
def staged_outputs(paths: Sequence[Path]) -> Iterator[list[Path]]:
    """Temporary paths beside ``paths``; renamed onto them only when the block ends without an error (else
    removed), so a failed command leaves nothing behind."""
    for p in paths:
        if not p.parent.is_dir():
            raise InputError(f"output folder does not exist: {p.parent}", p)
    temps: list[Path] = []
    try:
        for p in paths:
            # A cancel between creating a file and noting its name would leave it behind.
            with held_back():
                fd, name = tempfile.mkstemp(prefix=f".{p.stem}.", suffix=p.suffix, dir=p.parent)
                temps.append(Path(name))
                os.close(fd)
        yield temps
        for tmp, p in zip(temps, paths, strict=True):
            tmp.replace(p)
    finally:
        for tmp in temps:
            tmp.unlink(missing_ok=True)


__all__ = [
    "UDIM_TOKEN",
    "check_pattern",
    "encode_for",
    "read_linear",
    "read_mask",
    "read_texture_set",
    "staged_outputs",
    "tile_path",
    "write_image",
]

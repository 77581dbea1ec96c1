"""How each baked map is stored: its image dtype, the encoding of its values, its file type and colour space.

==================  ==============================================  ==================================
channel             values as baked                                 stored
==================  ==============================================  ==================================
``albedo``          sRGB colour in [0, 1]                           sRGB ``uint8`` / ``uint16`` PNG, or
                                                                    ACEScg ``float16`` EXR (AP1 header)
``normal``,         unit vectors                                    ``(v * 0.5 + 0.5) * 65535``,
``object_normal``                                                   ``uint16`` PNG
``displacement``    signed distances                                ``float32`` EXR, one channel
``ao``, ``cavity``  fractions in [0, 1]                             ``uint8`` PNG
``holes``           1 where the scan was not reached, else 0        ``uint8`` PNG (255 / 0)
==================  ==============================================  ==================================
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lifecast.bake.images import write_exr, write_png
from lifecast.bake.padding import FillTransform
from lifecast.bake.vectors import unit_vectors
from lifecast.color import ACESCG_INTEROP_ID, AP1_CHROMATICITIES, COLOR_SPACES, AlbedoColorspace, srgb_to_acescg


@dataclass(frozen=True)
class MapEncoding:
    """How each channel is stored: dtype and depth of its image, value encoding, file type, colour space."""

    albedo_bits: int
    albedo_colorspace: AlbedoColorspace

    def images(self, size: int, channels: Sequence[str]) -> dict[str, NDArray[Any]]:
        """Zeroed full-size images of one tile, ``(size, size)`` or ``(size, size, 3)`` in each channel's dtype."""
        return {ch: np.zeros((size, size, *self._shape(ch)), self._dtype(ch)) for ch in channels}

    def _shape(self, channel: str) -> tuple[int, ...]:
        return () if channel in ("displacement", "ao", "cavity", "holes") else (3,)

    def _dtype(self, channel: str) -> type[np.generic]:
        if channel == "albedo":
            if self.albedo_colorspace == "acescg":
                return np.float16
            return np.uint16 if self.albedo_bits == 16 else np.uint8
        if channel in ("normal", "object_normal"):
            return np.uint16
        return np.float32 if channel == "displacement" else np.uint8

    def encode(self, channel: str, values: NDArray[np.float32]) -> NDArray[Any]:
        """Values as computed (colours in [0, 1], unit vectors, distances, open fraction) to the stored dtype."""
        if channel == "albedo":
            if self.albedo_colorspace == "acescg":
                return srgb_to_acescg(values).astype(np.float16)
            return _quantize(values, 65535.0 if self.albedo_bits == 16 else 255.0, self._dtype(channel))
        if channel in ("normal", "object_normal"):
            return _quantize(values * 0.5 + 0.5, 65535.0, np.uint16)
        if channel in ("ao", "cavity", "holes"):
            return _quantize(values, 255.0, np.uint8)
        return values.astype(np.float32, copy=False)

    def fill_transform(self, channel: str) -> FillTransform | None:
        """For vectors: renormalise the padding (averages of unit vectors are shorter)."""
        return _renormalize_encoded if channel in ("normal", "object_normal") else None

    def suffix(self, channel: str) -> str:
        """The file's extension, ``".png"`` or ``".exr"``."""
        if channel == "displacement" or (channel == "albedo" and self.albedo_colorspace == "acescg"):
            return ".exr"
        return ".png"

    def color_space(self, channel: str) -> str:
        """``"srgb"``, ``"acescg"`` or ``"raw"`` (:data:`lifecast.color.COLOR_SPACES`)."""
        return self.albedo_colorspace if channel == "albedo" else COLOR_SPACES[channel]

    def write(self, path: Path, channel: str, image: NDArray[Any]) -> None:
        """Write one encoded image (an ACEScg EXR with its AP1 header)."""
        if channel == "displacement":
            write_exr(path, image)
        elif path.suffix == ".exr":
            attributes = {"chromaticities": AP1_CHROMATICITIES, "colorInteropID": ACESCG_INTEROP_ID}
            write_exr(path, image, half=True, attributes=attributes)
        else:
            write_png(path, image)


def _quantize(values: NDArray[np.float32], scale: float, dtype: type[np.generic]) -> NDArray[Any]:
    """``values * scale`` clipped to ``[0, scale]`` and rounded to the nearest integer of ``dtype``."""
    scaled = values * np.float32(scale)
    np.clip(scaled, 0.0, scale, out=scaled)
    return np.rint(scaled, out=scaled).astype(dtype)


def _renormalize_encoded(encoded: NDArray[np.float32]) -> NDArray[np.float32]:
    """``(h, w, 3)`` vectors encoded as ``(v * 0.5 + 0.5) * 65535`` -> the same encoding of unit vectors."""
    v = encoded * np.float32(2.0 / 65535.0)
    v -= 1.0
    unit_vectors(v, out=v)
    v += 1.0
    v *= np.float32(65535.0 / 2.0)
    return v

"""Colour: the sRGB transfer function both ways, and sRGB texture values to linear ACEScg through OpenColorIO.

:func:`srgb_to_linear` and :func:`linear_to_srgb` are the IEC 61966-2-1
transfer function (scanners, PLY and 8-bit textures store sRGB-encoded values;
glTF ``COLOR_0`` and USD ``displayColor`` are linear). The DCC plugins keep
their own copies: they must not import lifecast.

The ACEScg conversion of baked albedo uses OpenColorIO's built-in CG config (no file, no download;
:data:`OCIO_CONFIG`), from its sRGB texture space (the sRGB transfer function
on Rec.709 primaries, D65) to ``ACEScg`` (linear, AP1 primaries, the ACES white
point; Bradford chromatic adaptation as the config defines it). ``$OCIO`` is
not read: the conversion is fixed by the two colour spaces, so a studio config
could only give the same numbers or wrong ones.

Other colour metadata the baker records (see :data:`COLOR_SPACES`): albedo is
``"srgb"`` (8/16-bit PNG, sRGB-encoded) or ``"acescg"`` (half-float EXR, linear
AP1); normal, displacement, AO and mask maps are ``"raw"`` data.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray

from lifecast.errors import LifecastError, MissingDependencyError

FloatDType = type[np.float32] | type[np.float64]

AlbedoColorspace = Literal["srgb", "acescg"]

#: Albedo colour spaces :func:`lifecast.bake.bake_maps` writes.
ALBEDO_COLORSPACES: tuple[AlbedoColorspace, ...] = ("srgb", "acescg")

#: OpenColorIO built-in configs tried in order (the first ships with OCIO 2.3, the second is the newest default).
OCIO_CONFIG = ("ocio://cg-config-v2.1.0_aces-v1.3_ocio-v2.3", "ocio://default")

#: The source and destination colour space names in those configs.
OCIO_SRGB = "sRGB - Texture"
OCIO_ACESCG = "ACEScg"

#: ACEScg (AP1) chromaticities as the EXR ``chromaticities`` attribute: red, green, blue, white (x, y).
AP1_CHROMATICITIES = (0.713, 0.293, 0.165, 0.830, 0.128, 0.044, 0.32168, 0.33767)

#: The Color Interop Forum identifier of linear ACEScg, written as the EXR ``colorInteropID`` attribute.
ACESCG_INTEROP_ID = "lin_ap1_scene"

#: What each written channel holds: ``"srgb"`` / ``"acescg"`` colour, or ``"raw"`` data (no colour transform).
COLOR_SPACES = {
    channel: "raw" for channel in ("normal", "object_normal", "displacement", "ao", "cavity", "holes", "mask")
}


def srgb_to_linear(values: NDArray[np.floating], dtype: FloatDType = np.float32) -> NDArray[np.floating]:
    """Decode sRGB-encoded values to linear light (IEC 61966-2-1 transfer function).

    Parameters
    ----------
    values
        Float sRGB values of any shape (e.g. ``(n, 3)`` colours); clipped to ``[0, 1]`` first.
    dtype
        The returned dtype; the arithmetic is float64 either way.

    Returns
    -------
    Linear values, same shape, ``dtype``.
    """
    c = np.clip(np.asarray(values, dtype=np.float64), 0.0, 1.0)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4).astype(dtype)


def linear_to_srgb(values: NDArray[np.floating], dtype: FloatDType = np.float32) -> NDArray[np.floating]:
    """Encode linear values with the sRGB transfer function (IEC 61966-2-1).

    Parameters
    ----------
    values
        Float linear values of any shape (e.g. ``(n, 3)`` colours); clipped to ``[0, 1]`` first.
    dtype
        The returned dtype; the arithmetic is float64 either way.

    Returns
    -------
    sRGB-encoded values, same shape, ``dtype``.
    """
    c = np.clip(np.asarray(values, dtype=np.float64), 0.0, 1.0)
    return np.where(c <= 0.0031308, 12.92 * c, 1.055 * np.power(c, 1.0 / 2.4) - 0.055).astype(dtype)


@lru_cache(maxsize=1)
def _srgb_to_acescg() -> Any:
    """The OCIO CPU processor from sRGB texture to ACEScg (float32, cached)."""
    try:
        import PyOpenColorIO as ocio  # noqa: N813 - the name OCIO's own documentation uses
    except ImportError as exc:
        raise MissingDependencyError("opencolorio", "ACEScg albedo", extra="color") from exc
    errors = []
    for name in OCIO_CONFIG:
        try:
            config = ocio.Config.CreateFromFile(name)
            processor = config.getProcessor(OCIO_SRGB, OCIO_ACESCG)
        except Exception as exc:
            errors.append(f"{name}: {exc}")
            continue
        return processor.getOptimizedCPUProcessor(ocio.BIT_DEPTH_F32, ocio.BIT_DEPTH_F32, ocio.OPTIMIZATION_DEFAULT)
    raise LifecastError(f"OpenColorIO has no sRGB to ACEScg transform in its built-in configs: {'; '.join(errors)}")


def check_colorspace_support(colorspace: str) -> None:
    """Fail early (before any baking) when ``colorspace`` needs OpenColorIO and it is missing."""
    if colorspace == "acescg":
        _srgb_to_acescg()


def srgb_to_acescg(rgb: NDArray[np.floating]) -> NDArray[np.float32]:
    """``(q, 3)`` sRGB-encoded values in ``[0, 1]`` to linear ACEScg, through OpenColorIO.

    Parameters
    ----------
    rgb
        ``(q, 3)`` float sRGB texture values (the transfer function applied), as stored in 8-bit images.

    Returns
    -------
    NDArray[np.float32]
        ``(q, 3)`` linear AP1 values (white ``(1, 1, 1)`` stays about 1).
    """
    out = np.ascontiguousarray(rgb, np.float32).copy()
    if len(out):
        _srgb_to_acescg().applyRGB(out)
    return out

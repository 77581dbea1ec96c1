"""Image quality over a region: PSNR and SSIM, as the evaluation reports them.

Both compare sRGB-encoded values in ``[0, 1]`` (what an artist sees). :func:`gain_aligned` first scales the
estimate per channel by the least-squares gain onto the truth: a delit texture's overall exposure and white
balance are the capture's, unknowable from the texture alone, so every method is scored on the shading it
removed, not on a global colour it could not know (the scale-invariant error of intrinsic-image work,
Grosse et al., ICCV 2009).
"""

from __future__ import annotations

import cv2
import numpy as np
from numpy.typing import NDArray

from lifecast.color import linear_to_srgb


def gain_aligned(
    estimate: NDArray[np.floating], truth: NDArray[np.floating], mask: NDArray[np.bool_]
) -> NDArray[np.float32]:
    """``estimate (h, w, 3)`` linear, scaled per channel by ``sum(e t) / sum(e e)`` over ``mask (h, w)``."""
    e = np.asarray(estimate, np.float64)[mask]
    t = np.asarray(truth, np.float64)[mask]
    gain = (e * t).sum(axis=0) / np.maximum((e * e).sum(axis=0), 1e-12)
    return (np.asarray(estimate, np.float32) * gain.astype(np.float32)[None, None, :]).astype(np.float32)


def psnr(a: NDArray[np.floating], b: NDArray[np.floating], mask: NDArray[np.bool_]) -> float:
    """PSNR in dB of two ``(h, w, c)`` images in ``[0, 1]`` over ``mask (h, w)``."""
    d = np.asarray(a, np.float64)[mask] - np.asarray(b, np.float64)[mask]
    mse = float((d * d).mean())
    return float("inf") if mse == 0 else float(10.0 * np.log10(1.0 / mse))


def ssim(a: NDArray[np.floating], b: NDArray[np.floating], mask: NDArray[np.bool_]) -> float:
    """Mean SSIM (Wang et al. 2004: 11-tap Gaussian window, sigma 1.5, K1 0.01, K2 0.03) of the luminance of two
    ``(h, w, 3)`` images in ``[0, 1]``, averaged over ``mask``."""
    weights = np.array([0.2126, 0.7152, 0.0722])
    x = (np.asarray(a, np.float64) @ weights).astype(np.float64)
    y = (np.asarray(b, np.float64) @ weights).astype(np.float64)

    def blur(v: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.asarray(cv2.GaussianBlur(v, (11, 11), 1.5), np.float64)

    c1, c2 = 0.01**2, 0.03**2
    mx, my = blur(x), blur(y)
    sxx = blur(x * x) - mx * mx
    syy = blur(y * y) - my * my
    sxy = blur(x * y) - mx * my
    s = ((2 * mx * my + c1) * (2 * sxy + c2)) / ((mx * mx + my * my + c1) * (sxx + syy + c2))
    return float(s[mask].mean())


def albedo_scores(
    estimate: NDArray[np.floating], truth: NDArray[np.floating], mask: NDArray[np.bool_]
) -> dict[str, float]:
    """``{"psnr": dB, "ssim": ...}`` of a linear albedo estimate against the truth over ``mask``, gain-aligned
    (:func:`gain_aligned`) and compared in sRGB. The mask is eroded by 2 texels so SSIM's window stays on the
    surface."""
    inner = cv2.erode(mask.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    aligned = np.clip(gain_aligned(estimate, truth, inner), 0.0, 1.0)
    a = linear_to_srgb(aligned)
    b = linear_to_srgb(np.clip(np.asarray(truth, np.float32), 0.0, 1.0))
    return {"psnr": round(psnr(a, b, inner), 3), "ssim": round(ssim(a, b, inner), 4)}


__all__ = ["albedo_scores", "gain_aligned", "psnr", "ssim"]

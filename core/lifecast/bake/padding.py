"""Edge padding: fill the texels no chart covers so mip-maps never bleed background.

The default is *push-pull*: covered texels are averaged down an image pyramid
(push), then every uncovered texel takes the value of the coarsest-needed
level above it (pull). Every texel gets filled, texels near a chart get colours
from that chart, and the cost is linear in the image size.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray


def pad_edges(
    image: NDArray[np.generic], mask: NDArray[np.bool_], *, iterations: int | None = None
) -> NDArray[np.generic]:
    """Fill uncovered texels from the covered ones around them.

    Parameters
    ----------
    image
        ``(h, w)`` or ``(h, w, c)`` image of any real dtype.
    mask
        ``(h, w) bool``: True where ``image`` holds real (covered) texels.
    iterations
        ``None`` fills every uncovered texel (push-pull). An integer ``k``
        fills only the ``k`` rings of texels around the covered ones, each
        ring by averaging its covered 8-neighbours (iterative dilation), and
        leaves texels farther out as they are.

    Returns
    -------
    NDArray
        A new image of ``image``'s shape and dtype; covered texels are unchanged.
        With no covered texel at all, the image is returned unchanged.
    """
    image = np.asarray(image)
    mask = np.asarray(mask, dtype=bool)
    if mask.shape != image.shape[:2]:
        raise ValueError(f"mask must be {image.shape[:2]}, got {mask.shape}")
    if not mask.any():
        return image.copy()
    values = image.reshape(*image.shape[:2], -1)
    if iterations is None:
        filled = _push_pull(values, mask)
    else:
        filled = _cast_like(_dilate(values.astype(np.float32), mask, int(iterations)), image.dtype)
        filled[mask] = values[mask]
    return filled.reshape(image.shape)


def _push_pull(values: NDArray[np.generic], mask: NDArray[np.bool_]) -> NDArray[np.generic]:
    """Push-pull fill of ``(h, w, c)`` values where ``mask`` is False; covered texels are copied as they are."""
    zero = np.zeros((), values.dtype)
    colour = _downsample(np.where(mask[..., None], values, zero))
    cover = _downsample(mask)
    pyramid = [(colour, cover)]
    while max(cover.shape) > 1:
        colour, cover = _downsample(colour), _downsample(cover)
        pyramid.append((colour, cover))

    # Pull: from the coarsest level down, fill each level's empty texels from the one above.
    filled = colour / np.maximum(cover, 1e-12)[..., None]
    for colour, cover in reversed(pyramid[:-1]):
        filled = _fill_from_coarser(colour / np.maximum(cover, 1e-12)[..., None], cover > 0, filled)
    return _fill_from_coarser(values.copy(), mask, _cast_like(filled, values.dtype))


def _fill_from_coarser(level: NDArray[Any], known: NDArray[np.bool_], coarser: NDArray[Any]) -> NDArray[Any]:
    """Set ``level``'s texels where ``known`` is False to their parent texel in ``coarser`` (in place)."""
    empty = ~known
    for dy in (0, 1):
        for dx in (0, 1):
            target = level[dy::2, dx::2]
            h, w = target.shape[:2]
            np.copyto(target, coarser[:h, :w], where=empty[dy::2, dx::2, None] if level.ndim == 3 else empty)
    return level


def _downsample(a: NDArray[Any]) -> NDArray[np.float32]:
    """Sum 2x2 blocks of ``(h, w, ...)`` as float32, padding odd sizes with zeros."""
    h, w = a.shape[:2]
    if h % 2 or w % 2:
        pad = [(0, h % 2), (0, w % 2)] + [(0, 0)] * (a.ndim - 2)
        a = np.pad(a, pad)
    total = a[0::2, 0::2].astype(np.float32)
    total += a[1::2, 0::2]
    total += a[0::2, 1::2]
    total += a[1::2, 1::2]
    return total


def _dilate(values: NDArray[np.float32], mask: NDArray[np.bool_], rings: int) -> NDArray[np.float32]:
    """Grow the covered region by ``rings`` texels, each new texel the mean of its covered neighbours."""
    import cv2

    values = values.copy()
    known = mask.copy()
    for _ in range(rings):
        weight = known.astype(np.float32)
        total = cv2.boxFilter(weight, -1, (3, 3), normalize=False, borderType=cv2.BORDER_CONSTANT)
        grow = (~known) & (total > 0)
        if not grow.any():
            break
        for ch in range(values.shape[2]):
            summed = cv2.boxFilter(
                values[..., ch] * weight, -1, (3, 3), normalize=False, borderType=cv2.BORDER_CONSTANT
            )
            values[..., ch][grow] = summed[grow] / total[grow]
        known |= grow
    return values


def _cast_like(values: NDArray[np.float32], dtype: np.dtype[Any]) -> NDArray[Any]:
    """Round and clip to an integer dtype's range, or cast to a float dtype."""
    if np.issubdtype(dtype, np.integer):
        info = np.iinfo(dtype)
        return np.clip(np.rint(values), info.min, info.max).astype(dtype)
    return values.astype(dtype)

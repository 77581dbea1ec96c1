"""Edge padding: fill the texels no chart covers so mip-maps never bleed background.

The default is *push-pull*: covered texels are averaged down an image pyramid
(push), then every uncovered texel takes the value of the coarsest-needed
level above it (pull). Every texel gets filled, texels near a chart get colours
from that chart, and the cost is linear in the image size.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from numpy.typing import NDArray

#: A transform of filled-in float values ``(h, w, c) -> (h, w, c)`` applied before they are stored.
FillTransform = Callable[[NDArray[np.float32]], NDArray[np.float32]]


def pad_edges(
    image: NDArray[np.generic],
    mask: NDArray[np.bool_],
    *,
    iterations: int | None = None,
    fill_transform: FillTransform | None = None,
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
    fill_transform
        Push-pull only: applied to the float values the uncovered texels
        receive (at half resolution, before they are cast to ``image``'s
        dtype and copied in), e.g. to renormalise encoded normal vectors that
        averaging shortened.

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
        filled = _push_pull(values, mask, fill_transform)
    else:
        filled = _cast_like(_dilate(values.astype(np.float32), mask, int(iterations)), image.dtype)
        filled[mask] = values[mask]
    return filled.reshape(image.shape)


def _push_pull(
    values: NDArray[np.generic], mask: NDArray[np.bool_], fill_transform: FillTransform | None = None
) -> NDArray[np.generic]:
    """Push-pull fill of ``(h, w, c)`` values where ``mask`` is False; covered texels are copied as they are.

    Masking, the float32 pyramid and the fills from parent texels run through OpenCV where it handles the
    dtype (several times numpy's speed); the first 2x2 sums of integer images stay in numpy (exact).
    """
    colour = _downsample(_masked(values, mask))
    cover = _downsample(mask)
    pyramid = [(colour, cover)]
    while max(cover.shape) > 1:
        colour, cover = _downsample(colour), _downsample(cover)
        pyramid.append((colour, cover))

    # Pull: from the coarsest level down, fill each level's empty texels from the one above.
    filled = colour / np.maximum(cover, 1e-12)[..., None]
    for colour, cover in reversed(pyramid[:-1]):
        filled = _fill_from_parent(colour / np.maximum(cover, 1e-12)[..., None], cover > 0, filled)
    if fill_transform is not None:
        filled = fill_transform(filled)
    return _fill_from_parent(values.copy(), mask, _cast_like(filled, values.dtype))


#: Dtypes OpenCV's ``copyTo`` and nearest ``resize`` take.
_CV2_DTYPES = (np.dtype(np.uint8), np.dtype(np.uint16), np.dtype(np.int16), np.dtype(np.float32), np.dtype(np.float64))


def _masked(values: NDArray[Any], mask: NDArray[np.bool_]) -> NDArray[Any]:
    """``values`` with the uncovered texels zeroed (a new array)."""
    if values.dtype in _CV2_DTYPES:
        import cv2

        out = np.zeros_like(values)
        cv2.copyTo(values, mask.view(np.uint8), out)
        return out.reshape(values.shape)
    return np.where(mask[..., None], values, np.zeros((), values.dtype))


def _fill_from_parent(level: NDArray[Any], known: NDArray[np.bool_], parent: NDArray[Any]) -> NDArray[Any]:
    """Set ``level``'s texels where ``known`` is False to their parent texel in ``parent`` (in place)."""
    if level.dtype not in _CV2_DTYPES or level.dtype != parent.dtype:
        return _fill_from_coarser(level, known, parent)
    import cv2

    h, w = level.shape[:2]
    ph, pw = parent.shape[:2]
    # Nearest-neighbour 2x: texel (y, x) reads parent (y // 2, x // 2), as _fill_from_coarser does.
    up = cv2.resize(parent, (2 * pw, 2 * ph), interpolation=cv2.INTER_NEAREST)
    up = up.reshape(2 * ph, 2 * pw, -1)[:h, :w]
    empty = np.logical_not(known).view(np.uint8)
    target = level.reshape(h, w, -1)
    cv2.copyTo(np.ascontiguousarray(up), empty, target)
    return level


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
    """Sum 2x2 blocks of ``(h, w, ...)`` as float32, padding odd sizes with zeros.

    float32 input goes through OpenCV's area resize (the block mean, times 4: exact up to rounding).
    """
    h, w = a.shape[:2]
    if h % 2 or w % 2:
        pad = [(0, h % 2), (0, w % 2)] + [(0, 0)] * (a.ndim - 2)
        a = np.pad(a, pad)
    if a.dtype == np.float32 and a.ndim <= 3 and h > 1 and w > 1:
        import cv2

        mean = cv2.resize(a, (a.shape[1] // 2, a.shape[0] // 2), interpolation=cv2.INTER_AREA)
        total: NDArray[np.float32] = np.asarray(mean, np.float32).reshape(
            a.shape[0] // 2, a.shape[1] // 2, *a.shape[2:]
        )
        total *= np.float32(4.0)
        return total
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

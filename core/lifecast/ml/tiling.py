"""Running a convolutional model over a map of any size in constant memory, with no tile seams.

Each tile reads a margin of :data:`lifecast.ml.unet.RECEPTIVE_RADIUS` texels (rounded up to the model's pooling
step) around the texels it writes, so every written texel saw exactly what it would have seen in one pass over the
whole map: tiles agree where they meet, to float rounding, and there is nothing to blend. Tile origins sit on the
pooling grid, so the pooled features line up too.
"""

from __future__ import annotations

import numpy as np
import torch
from numpy.typing import NDArray

from lifecast.ml.unet import RECEPTIVE_RADIUS

#: Texels each tile writes along a side (its input is this plus two margins).
TILE = 256
#: Pooling step of the model (two 2x2 poolings).
_STEP = 4


def margin() -> int:
    """The context read around each tile: the receptive radius rounded up to the pooling step."""
    return -(-RECEPTIVE_RADIUS // _STEP) * _STEP


@torch.no_grad()
def run_tiled(
    model: torch.nn.Module, inputs: NDArray[np.float32], *, device: str = "cpu", tile: int = TILE
) -> NDArray[np.float32]:
    """``(cout, h, w) float32``: ``model`` over ``inputs (cin, h, w)`` tile by tile (zeros read beyond the map).

    Parameters
    ----------
    model
        A fully convolutional model with ``cout`` outputs (an attribute), pooling step 4.
    inputs
        The whole map's features.
    device
        Where the model runs; tiles go there one at a time.
    tile
        Texels written per tile side (a multiple of 4).
    """
    if tile % _STEP:
        raise ValueError(f"tile must be a multiple of {_STEP}, got {tile}")
    cin, h, w = inputs.shape
    m = margin()
    cout = int(vars(model)["cout"])  # a plain attribute of the model (UNet.cout), not a parameter
    out = np.zeros((cout, h, w), np.float32)
    window = tile + 2 * m
    buf = np.zeros((cin, window, window), np.float32)
    for y0 in range(0, h, tile):
        for x0 in range(0, w, tile):
            buf[:] = 0.0
            ys, ye = max(y0 - m, 0), min(y0 + tile + m, h)
            xs, xe = max(x0 - m, 0), min(x0 + tile + m, w)
            buf[:, ys - (y0 - m) : ye - (y0 - m), xs - (x0 - m) : xe - (x0 - m)] = inputs[:, ys:ye, xs:xe]
            pred = model(torch.from_numpy(buf)[None].to(device))[0].float().cpu().numpy()
            th, tw = min(tile, h - y0), min(tile, w - x0)
            out[:, y0 : y0 + th, x0 : x0 + tw] = pred[:, m : m + th, m : m + tw]
    return out


__all__ = ["TILE", "margin", "run_tiled"]

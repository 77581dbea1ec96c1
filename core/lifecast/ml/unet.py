"""A small U-Net for UV-space maps: few channels, three scales, runs on any device it is given.

Convolutions are zero-padded, so a map is processed in overlapping tiles with the same result in each tile's
interior as on the whole map (:mod:`lifecast.ml.tiling`); :data:`RECEPTIVE_RADIUS` says how far a texel sees.
"""

from __future__ import annotations

import torch
from torch import nn

#: Texels a prediction depends on, either side (two 3x3 convs per level, three levels, plus the bottleneck).
RECEPTIVE_RADIUS = 44


def _block(cin: int, cout: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3, padding=1),
        nn.LeakyReLU(0.1),
        nn.Conv2d(cout, cout, 3, padding=1),
        nn.LeakyReLU(0.1),
    )


class UNet(nn.Module):
    """``(b, cin, h, w) -> (b, cout, h, w)``; ``h`` and ``w`` multiples of 4.

    Parameters
    ----------
    cin, cout
        Input and output channels.
    width
        Channels at full resolution (doubled at each coarser scale).
    min_shading
        For a delight model: the least shading its output may stand for, relative to the surface's mean (the most
        it brightens a texel is ``1 / min_shading``; :func:`lifecast.ml.delight.limit_shading`). A property of
        the release, recorded in its weights.
    """

    def __init__(self, cin: int, cout: int, width: int = 24, min_shading: float = 0.2) -> None:
        super().__init__()
        w = width
        self.cin, self.cout, self.width, self.min_shading = cin, cout, width, min_shading
        self.enc0 = _block(cin, w)
        self.enc1 = _block(w, 2 * w)
        self.mid = _block(2 * w, 4 * w)
        self.dec1 = _block(4 * w + 2 * w, 2 * w)
        self.dec0 = _block(2 * w + w, w)
        self.head = nn.Conv2d(w, cout, 1)
        # Start from "no correction": an untrained model returns its input fit unchanged.
        nn.init.zeros_(self.head.weight)
        assert self.head.bias is not None
        nn.init.zeros_(self.head.bias)
        self.pool = nn.AvgPool2d(2)
        self.up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        e0 = self.enc0(x)
        e1 = self.enc1(self.pool(e0))
        m = self.mid(self.pool(e1))
        d1 = self.dec1(torch.cat([self.up(m), e1], dim=1))
        d0 = self.dec0(torch.cat([self.up(d1), e0], dim=1))
        out: torch.Tensor = self.head(d0)
        return out


__all__ = ["RECEPTIVE_RADIUS", "UNet"]

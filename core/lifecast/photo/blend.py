"""Two-band blending of the photos that see each texel, accumulated one photo at a time.

Each photo's colour at a texel is split, in the photo, into a *low band* (the photo blurred over
``split_texels`` texels, read from a coarser pyramid level) and the *detail* (full colour minus low band),
as Meshroom's multi-band texturing does:

- the low band is the weighted mean over every photo that sees the texel (weights from
  :mod:`lifecast.photo.weights`): overlapping photos average out their residual colour differences and
  no seam can appear in it where the best photo changes;
- the detail is a mean weighted by ``weight ** high_power`` (8 by default): in practice the best photo or
  two, so small misregistrations between photos do not blur or ghost the detail.

Only running sums are kept per texel (about 38 bytes), so memory grows with the maps, not the photos.
The high-power sums are kept relative to the texel's largest weight so far (log-sum-exp), exact for any
power without overflow or underflow; plain weighted sums (power 1) need no rescaling (the weights are at
most 1) and are kept as they are.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

#: Default exponent of the detail band's weights.
HIGH_POWER = 8.0


class BandAccumulator:
    """Running sums of both bands for ``n`` texels.

    Parameters
    ----------
    n
        Number of texels.
    high_power
        Exponent of the weights of the detail band (``inf``: the single best photo).
    low_power
        Exponent of the weights of the low band (1: a plain weighted mean; ``inf``: the best photo,
        which is one photo per texel as in view-selection texturing).
    """

    def __init__(self, n: int, *, high_power: float = HIGH_POWER, low_power: float = 1.0) -> None:
        self.n = n
        self.high_power = float(high_power)
        self.low_power = float(low_power)
        self.log_max = np.full(n, -np.inf, np.float32)  # log of the largest weight seen
        self.low_weight = np.zeros(n, np.float32)
        self.low_sum = np.zeros((n, 3), np.float32)
        self.high_weight = np.zeros(n, np.float32)
        self.high_sum = np.zeros((n, 3), np.float32)
        self.best = np.full(n, -1, np.int16)

    @property
    def nbytes(self) -> int:
        """Bytes held by the sums."""
        arrays = (self.log_max, self.low_weight, self.low_sum, self.high_weight, self.high_sum, self.best)
        return sum(a.nbytes for a in arrays)

    def add(
        self,
        photo: int,
        index: NDArray[np.integer],
        weight: NDArray[np.floating],
        low: NDArray[np.floating],
        full: NDArray[np.floating],
    ) -> None:
        """Add one photo's (corrected) colours at some texels.

        Parameters
        ----------
        photo
            The photo's index (recorded where it is the best so far).
        index
            ``(k,)`` texel positions, each at most once.
        weight
            ``(k,)`` positive weights.
        low
            ``(k, 3)`` low-band colours.
        full
            ``(k, 3)`` full colours (the detail is ``full - low``).
        """
        logw = np.log(np.maximum(np.asarray(weight, np.float32), 1e-30))
        old = self.log_max[index]
        new = np.maximum(old, logw)
        better = logw > old
        self.best[index[better]] = photo
        self.log_max[index] = new
        if self.low_power == 1.0:  # plain sums: weights are at most 1, no overflow, nothing to rescale
            w = np.asarray(weight, np.float32)
            self.low_weight[index] += w
            self.low_sum[index] += w[:, None] * low
        else:
            self._accumulate(self.low_weight, self.low_sum, index, old, new, logw, self.low_power, low)
        self._accumulate(self.high_weight, self.high_sum, index, old, new, logw, self.high_power, full - low)

    @staticmethod
    def _accumulate(
        weights: NDArray[np.float32],
        sums: NDArray[np.float32],
        index: NDArray[np.integer],
        old: NDArray[np.float32],
        new: NDArray[np.float32],
        logw: NDArray[np.float32],
        power: float,
        values: NDArray[np.floating],
    ) -> None:
        """Sums of ``w^power`` and ``w^power * values``, both relative to ``exp(power * new)``."""
        if np.isinf(power):
            rescale = (new == old).astype(np.float32)
            term = (logw >= new).astype(np.float32)
        else:
            rescale = np.exp(np.float32(power) * (old - new))  # 0 where old is -inf (no weight yet)
            term = np.exp(np.float32(power) * (logw - new))
        w = weights[index] * rescale + term
        s = sums[index] * rescale[:, None] + term[:, None] * values
        if np.isinf(power):  # ties keep the first photo alone
            s[(rescale > 0) & (term > 0)] = sums[index][(rescale > 0) & (term > 0)]
            w[(rescale > 0) & (term > 0)] = 1.0
        weights[index] = w
        sums[index] = s

    def result(self) -> tuple[NDArray[np.float32], NDArray[np.bool_]]:
        """``(n, 3) float32`` blended linear colours (0 where no photo contributed, negatives clipped) and
        ``(n,) bool`` which texels some photo saw."""
        covered = self.low_weight > 0
        colour = np.zeros((self.n, 3), np.float32)
        colour[covered] = self.low_sum[covered] / self.low_weight[covered, None]
        detail = self.high_weight > 0
        colour[detail] += self.high_sum[detail] / self.high_weight[detail, None]
        np.maximum(colour, 0.0, out=colour)
        return colour, covered

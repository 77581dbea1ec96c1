"""Float32 unit vectors in the two layouts the baker's per-texel loops use: ``(..., 3)`` and coordinate rows
``(3, q)`` (x, y and z each contiguous, :data:`lifecast.geometry.measure.Rows`).

Both are the fast float32 forms (a few passes over contiguous arrays, no ``np.linalg.norm`` over a last axis of
3, which is several times slower); the mesh-wide float64 normals are in :mod:`lifecast.geometry.measure`.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from lifecast.geometry.measure import inverse_lengths

#: Lengths below this are taken as this, so zero vectors stay zero.
_MIN_LENGTH = 1e-12


def unit_vectors(a: NDArray[np.floating], out: NDArray[np.float32] | None = None) -> NDArray[np.float32]:
    """``(..., 3) float32`` vectors scaled to unit length (zero vectors stay zero).

    Parameters
    ----------
    a
        ``(..., 3)`` vectors (converted to float32).
    out
        Where to write the result; may be ``a`` itself (float32) to normalise in place.
    """
    a = np.asarray(a, np.float32)
    length = np.sqrt(np.einsum("...c,...c->...", a, a))
    np.maximum(length, _MIN_LENGTH, out=length)
    return np.divide(a, length[..., None], out=out)


def unit_rows(rows: NDArray[np.float32]) -> NDArray[np.float32]:
    """Vectors given as rows ``(3, q)`` float32 scaled to unit length in place (zero vectors stay zero)."""
    rows *= inverse_lengths(rows, _MIN_LENGTH)
    return rows

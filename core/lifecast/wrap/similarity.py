"""Similarity transforms (rotation, uniform scale, translation) from point pairs."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True)
class Similarity:
    """``x -> scale * rotation @ x + translation``.

    Attributes
    ----------
    rotation
        ``(3, 3) float64`` proper rotation.
    translation
        ``(3,) float64``.
    scale
        Uniform scale factor.
    """

    rotation: NDArray[np.float64]
    translation: NDArray[np.float64]
    scale: float = 1.0

    @classmethod
    def identity(cls) -> Similarity:
        return cls(np.eye(3), np.zeros(3), 1.0)

    def apply(self, points: NDArray[np.floating]) -> NDArray[np.float64]:
        """Transform ``(n, 3)`` points."""
        return self.scale * (np.asarray(points, np.float64) @ self.rotation.T) + self.translation

    def then(self, other: Similarity) -> Similarity:
        """The transform applying ``self`` first, then ``other``."""
        return Similarity(
            other.rotation @ self.rotation,
            other.scale * (other.rotation @ self.translation) + other.translation,
            other.scale * self.scale,
        )

    def inverse(self) -> Similarity:
        rt = self.rotation.T
        return Similarity(rt, -(rt @ self.translation) / self.scale, 1.0 / self.scale)


def umeyama(
    source: NDArray[np.floating],
    target: NDArray[np.floating],
    *,
    weights: NDArray[np.floating] | None = None,
    with_scale: bool = True,
) -> Similarity:
    """Least-squares similarity mapping ``source`` onto ``target`` (Umeyama 1991).

    Parameters
    ----------
    source, target
        ``(k, 3)`` corresponding points, ``k >= 3`` not all collinear.
    weights
        ``(k,)`` non-negative weights, default all 1.
    with_scale
        Solve for a uniform scale; otherwise a rigid transform.
    """
    src = np.asarray(source, np.float64)
    dst = np.asarray(target, np.float64)
    w = np.ones(len(src)) if weights is None else np.asarray(weights, np.float64)
    w = w / w.sum()
    mu_s = w @ src
    mu_d = w @ dst
    xs = src - mu_s
    xd = dst - mu_d
    cov = (xd * w[:, None]).T @ xs
    u, sig, vt = np.linalg.svd(cov)
    d = np.ones(3)
    if np.linalg.det(u) * np.linalg.det(vt) < 0:
        d[2] = -1.0
    rotation = u @ np.diag(d) @ vt
    scale = 1.0
    if with_scale:
        var_s = float(w @ (xs * xs).sum(1))
        scale = float((sig * d).sum() / var_s) if var_s > 0 else 1.0
    translation = mu_d - scale * rotation @ mu_s
    return Similarity(rotation, translation, scale)

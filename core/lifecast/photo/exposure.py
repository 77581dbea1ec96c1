"""Exposure, white balance and levelling: per-photo colour corrections solved where photos overlap.

Every photo ``i`` is modelled as seeing the albedo ``A`` through a smooth per-photo factor::

    observed_i(t) = A(t) * exp(sum_f theta[i, c, f] * phi_f(t))        (per channel c)

so in log space ``y = log observed = x_t + theta_i . phi``, with one unknown ``x_t = log A(t)`` per
texel. The features ``phi`` are:

- ``"gain"``: 1 -- the photo's RGB gain (exposure and white balance);
- ``"r2"``, ``"r4"``: the squared and fourth power of the point's distance from the principal point
  (1 at the photo's corner): vignetting, which darkens every photo towards its corners;
- ``"x"``, ``"y"``, ``"z"``: the point's position in the mesh's bounding box (-1 to 1): a smooth
  per-photo colour ramp over the surface, as a light nearer one side of the subject gives. These are
  the *levelling* terms: what a per-photo constant cannot match between overlapping photos, in the
  spirit of Waechter et al. 2014's seam levelling (smooth per-view colour corrections that make the views
  agree where the texture passes from one to the next), solved over all overlaps instead of only at
  seams, with a few smooth functions per photo instead of one value per vertex.

The texels of a sparse random subset are observed in every photo that sees them (weighted like the
blend, :mod:`lifecast.photo.weights`), and the weighted least-squares problem over all ``theta`` and
``x`` is solved with the ``x`` eliminated (each texel's ``x`` is the weighted mean of its views'
corrected values, a Schur complement): a small dense system in the ``theta`` alone, one right-hand
side per channel. Outliers (specular highlights, misregistered detail) are down-weighted by three rounds
of iteratively reweighted least squares with a Huber loss. The ``"gain"`` terms are only defined up to
a common factor (brighter photos of a darker subject look the same): that gauge is fixed by setting the
gains' geometric mean to 1 in each channel. A small ridge keeps photos that overlap no other at no
correction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from scipy.sparse import csr_matrix as sparse_matrix

#: Every feature a colour model may use, in order.
ALL_FEATURES = ("gain", "r2", "r4", "x", "y", "z")
#: The features of exposure matching alone, and of exposure plus levelling.
GAIN_FEATURES = ("gain",)
LEVELLING_FEATURES = ("r2", "r4", "x", "y", "z")

#: Huber threshold of the IRLS rounds, in log units (about 5 %).
HUBER_LOG = 0.05
#: IRLS rounds.
IRLS_ROUNDS = 3
#: Ridge on each kind of term, relative to the mean data weight per photo.
RIDGE = {"gain": 1e-4, "r2": 1e-5, "r4": 1e-5, "x": 1e-2, "y": 1e-2, "z": 1e-2}
#: Observations darker than this (linear) or brighter than this (clipped) are not used.
DARKEST = 2e-3
BRIGHTEST = 0.97


def feature_matrix(
    features: Sequence[str], r2: NDArray[np.floating], position: NDArray[np.floating]
) -> NDArray[np.float64]:
    """``(n, F) float64`` feature values of ``n`` observations.

    Parameters
    ----------
    features
        Names from :data:`ALL_FEATURES`.
    r2
        ``(n,)`` squared distance from the principal point, 1 at the photo's farthest corner.
    position
        ``(n, 3)`` point positions scaled into ``[-1, 1]`` by the mesh's bounding box.
    """
    r2 = np.asarray(r2, np.float64)
    columns = {
        "gain": lambda: np.ones(len(r2)),
        "r2": lambda: r2,
        "r4": lambda: r2 * r2,
        "x": lambda: np.asarray(position[:, 0], np.float64),
        "y": lambda: np.asarray(position[:, 1], np.float64),
        "z": lambda: np.asarray(position[:, 2], np.float64),
    }
    if not features:
        return np.zeros((len(r2), 0))
    return np.stack([columns[name]() for name in features], axis=1)


@dataclass(frozen=True)
class ColorModel:
    """The solved per-photo corrections.

    Attributes
    ----------
    features
        The feature names, in the order of the last axis of ``theta``.
    theta
        ``(P, 3, F) float64`` log-space coefficients of each photo and channel.
    observations
        Observations the solve used (0 when nothing was solved).
    """

    features: tuple[str, ...]
    theta: NDArray[np.float64]
    observations: int = 0

    @classmethod
    def identity(cls, photos: int) -> ColorModel:
        """No correction for ``photos`` photos."""
        return cls((), np.zeros((photos, 3, 0)))

    def gains(self) -> NDArray[np.float64]:
        """``(P, 3)`` each photo's RGB gain (1 without the ``"gain"`` feature)."""
        if "gain" not in self.features:
            return np.ones(self.theta.shape[:2])
        return np.exp(self.theta[:, :, self.features.index("gain")])

    def factor(self, photo: int, r2: NDArray[np.floating], position: NDArray[np.floating]) -> NDArray[np.float32]:
        """``(n, 3) float32`` how much brighter photo ``photo`` shows the albedo at these points.

        Divide the photo's colours by it to correct them (``r2`` and ``position`` as in :func:`feature_matrix`).
        """
        if not self.features:
            return np.ones((len(r2), 3), np.float32)
        if self.features == ("gain",):
            return np.broadcast_to(np.exp(self.theta[photo, :, 0]).astype(np.float32), (len(r2), 3))
        # In float32, a feature column at a time (no (n, F) float64 feature matrix).
        theta = self.theta[photo].astype(np.float32)  # (3, F)
        r2 = np.asarray(r2, np.float32)
        columns = {
            "r2": lambda: r2,
            "r4": lambda: r2 * r2,
            "x": lambda: np.asarray(position[:, 0], np.float32),
            "y": lambda: np.asarray(position[:, 1], np.float32),
            "z": lambda: np.asarray(position[:, 2], np.float32),
        }
        log = np.zeros((len(r2), 3), np.float32)
        for f, name in enumerate(self.features):
            if name == "gain":
                log += theta[:, f]
            else:
                log += columns[name]()[:, None] * theta[:, f]
        return np.exp(log, out=log)


@dataclass
class Observations:
    """Colours of the subset texels as each photo saw them, gathered photo by photo for :func:`solve`.

    Memory: about 30 bytes per observation; the subset is sized by the caller so that the total stays
    bounded whatever the number of photos.
    """

    photo: list[NDArray[np.int32]] = field(default_factory=list)
    texel: list[NDArray[np.int32]] = field(default_factory=list)
    weight: list[NDArray[np.float32]] = field(default_factory=list)
    log_colour: list[NDArray[np.float32]] = field(default_factory=list)
    r2: list[NDArray[np.float32]] = field(default_factory=list)

    def add(
        self,
        photo: int,
        texel: NDArray[np.integer],
        weight: NDArray[np.floating],
        colour: NDArray[np.floating],
        r2: NDArray[np.floating],
    ) -> int:
        """Record one photo's view of some subset texels; returns how many were kept.

        Parameters
        ----------
        photo
            The photo's index.
        texel
            ``(k,)`` subset positions of the texels it sees.
        weight
            ``(k,)`` its weights there.
        colour
            ``(k, 3)`` linear colours it shows there (uncorrected).
        r2
            ``(k,)`` squared normalised distance from the principal point.
        """
        colour = np.asarray(colour, np.float32)
        keep = (weight > 0) & (colour.min(axis=1) > DARKEST) & (colour.max(axis=1) < BRIGHTEST)
        if not keep.any():
            return 0
        self.photo.append(np.full(int(keep.sum()), photo, np.int32))
        self.texel.append(np.asarray(texel, np.int32)[keep])
        self.weight.append(np.asarray(weight, np.float32)[keep])
        self.log_colour.append(np.log(colour[keep]))
        self.r2.append(np.asarray(r2, np.float32)[keep])
        return int(keep.sum())

    def __len__(self) -> int:
        return sum(len(p) for p in self.photo)


def solve(
    observations: Observations,
    position: NDArray[np.floating],
    photos: int,
    features: Sequence[str],
) -> ColorModel:
    """Solve the per-photo corrections on the overlaps (see the module docstring).

    Parameters
    ----------
    observations
        What each photo showed at the subset texels.
    position
        ``(S, 3)`` the subset texels' positions scaled into ``[-1, 1]``.
    photos
        Number of photos ``P`` (indices in ``observations`` are below it).
    features
        Feature names from :data:`ALL_FEATURES`; empty gives the identity.

    Returns
    -------
    ColorModel
    """
    from scipy import sparse

    features = tuple(features)
    if not features or len(observations) == 0:
        return ColorModel(features, np.zeros((photos, 3, len(features))))
    photo = np.concatenate(observations.photo)
    texel = np.concatenate(observations.texel)
    weight = np.concatenate(observations.weight).astype(np.float64)
    y = np.concatenate(observations.log_colour).astype(np.float64)
    r2 = np.concatenate(observations.r2)
    # Each texel couples the photos that see it: its MAX_VIEWS_PER_TEXEL best views only, so the reduced system
    # (one block per pair of photos sharing a texel) stays bounded however many photos overlap there.
    best = np.lexsort((-weight, texel))
    first = np.searchsorted(texel[best], texel[best], side="left")
    keep = np.zeros(len(texel), bool)
    keep[best[np.arange(len(best)) - first < MAX_VIEWS_PER_TEXEL]] = True
    photo, texel, weight, y, r2 = photo[keep], texel[keep], weight[keep], y[keep], r2[keep]
    # Texels seen only once say nothing about the photos' differences.
    counts = np.bincount(texel, minlength=len(position))
    shared = counts[texel] >= 2
    photo, texel, weight, y, r2 = photo[shared], texel[shared], weight[shared], y[shared], r2[shared]
    if len(photo) == 0:
        return ColorModel(features, np.zeros((photos, 3, len(features))))
    order = np.argsort(texel, kind="stable")  # observations grouped by texel, for the chunked elimination
    photo, texel, weight, y, r2 = photo[order], texel[order], weight[order], y[order], r2[order]
    used, column = np.unique(texel, return_inverse=True)
    phi = feature_matrix(features, r2, np.asarray(position, np.float64)[used[column]])
    n_obs, n_feat = phi.shape
    cols = (photo[:, None].astype(np.int64) * n_feat + np.arange(n_feat)).ravel()
    a_theta = sparse.csr_matrix((phi.ravel(), cols, np.arange(0, n_obs * n_feat + 1, n_feat)),
                                shape=(n_obs, photos * n_feat))  # fmt: skip
    ridge = _ridge(features, photo, weight, photos)
    robust = np.ones(n_obs)
    theta = np.zeros((photos * n_feat, 3))
    for _ in range(IRLS_ROUNDS):
        w = weight * robust
        s = np.bincount(column, weights=w, minlength=len(used)).astype(np.float64)
        m, b = _normal_equations(phi, photo, column, w, y, s, photos)
        theta = _solve_symmetric(m + sparse.diags(ridge), b)
        fitted = a_theta @ theta
        x = np.stack([np.bincount(column, weights=w * (y[:, k] - fitted[:, k]), minlength=len(used))
                      for k in range(3)], axis=1) / np.maximum(s, 1e-30)[:, None]  # fmt: skip
        residual = y - fitted - x[column]
        size = np.sqrt((residual**2).mean(axis=1))
        robust = np.minimum(1.0, HUBER_LOG / np.maximum(size, 1e-12))
    theta3 = theta.reshape(photos, n_feat, 3).transpose(0, 2, 1).copy()
    if "gain" in features:
        seen = np.unique(photo)
        g = features.index("gain")
        theta3[seen, :, g] -= theta3[seen, :, g].mean(axis=0)  # the gauge: geometric mean of the gains = 1
    return ColorModel(features, theta3, int(n_obs))


#: Views of one subset texel the solve uses at most (the best-weighted): bounds the photo pairs it couples.
MAX_VIEWS_PER_TEXEL = 12

#: Observations per chunk of the elimination (bounds the sparse products' memory).
_CHUNK = 1 << 15
#: Unknowns up to which the reduced system is solved dense (``P F`` of 40 photos with every correction is 240).
_DENSE_UNKNOWNS = 2048


def _solve_symmetric(m: sparse_matrix, b: NDArray[np.float64]) -> NDArray[np.float64]:
    """``m^-1 b`` for the ``(P F, P F)`` reduced system: dense while small, else a sparse LU.

    Two photos are coupled only where they see a texel in common, so ``m`` is mostly zero for a capture round a
    head: held dense it would grow with the square of the photo count (46 MB for 400 photos with every
    correction, 1.2 GB for 2,000, and the solver's copies of it), sparse it grows with the overlaps.
    """
    from scipy.sparse.linalg import splu

    if m.shape[0] <= _DENSE_UNKNOWNS:
        return np.asarray(np.linalg.solve(m.toarray(), b), np.float64)
    return np.asarray(splu(m.tocsc()).solve(np.asarray(b, np.float64)), np.float64)


def _normal_equations(
    phi: NDArray[np.float64],
    photo: NDArray[np.int32],
    column: NDArray[np.int64],
    w: NDArray[np.float64],
    y: NDArray[np.float64],
    s: NDArray[np.float64],
    photos: int,
) -> tuple[sparse_matrix, NDArray[np.float64]]:
    """The reduced normal equations ``M theta = b`` with every texel's ``x`` eliminated (Schur complement).

    ``M = A^T W A - C S^-1 C^T`` and ``b = A^T W y - C S^-1 X^T W y``, where ``A`` is the ``(n, P F)``
    design of the theta terms, ``X`` the ``(n, S)`` texel indicator, ``C = A^T W X`` and ``S = X^T W X``
    (diagonal: ``s``). Observations are sorted by texel and taken in chunks that hold whole texels.

    Returns
    -------
    m
        ``(P F, P F)`` sparse (CSR): photos that share no texel are not coupled.
    b
        ``(P F, 3)``.
    """
    from scipy import sparse

    n_obs, n_feat = phi.shape
    size = photos * n_feat
    m = sparse.csr_matrix((size, size))
    b = np.zeros((size, 3))
    start = 0
    while start < n_obs:
        stop = min(start + _CHUNK, n_obs)
        if stop < n_obs:  # end the chunk on a texel boundary
            boundary = int(np.searchsorted(column, column[stop], side="left"))
            stop = boundary if boundary > start else int(np.searchsorted(column, column[stop], side="right"))
        part = slice(start, stop)
        rows = stop - start
        first = int(column[start])
        cols = (photo[part, None].astype(np.int64) * n_feat + np.arange(n_feat)).ravel()
        indptr = np.arange(0, rows * n_feat + 1, n_feat)
        a = sparse.csr_matrix((phi[part].ravel(), cols, indptr), shape=(rows, size))
        wa = sparse.csr_matrix(((phi[part] * w[part, None]).ravel(), cols, indptr), shape=(rows, size))
        local = column[part] - first
        texels = int(local[-1]) + 1
        x = sparse.csr_matrix((np.ones(rows), local, np.arange(rows + 1)), shape=(rows, texels))
        c = (wa.T @ x).tocsr()  # (P F, texels)
        inv_s = sparse.diags(1.0 / np.maximum(s[first : first + texels], 1e-30))
        m = m + (a.T @ wa) - (c @ inv_s @ c.T)
        wy = w[part, None] * y[part]
        b += wa.T @ y[part] - c @ (inv_s @ (x.T @ wy))
        start = stop
    return m, b


def _ridge(
    features: tuple[str, ...], photo: NDArray[np.int32], weight: NDArray[np.float64], photos: int
) -> NDArray[np.float64]:
    """``(P F,)`` ridge on each unknown: :data:`RIDGE` times the mean data weight per photo."""
    per_photo = np.bincount(photo, weights=weight, minlength=photos)
    scale = float(per_photo[per_photo > 0].mean()) if (per_photo > 0).any() else 1.0
    return np.tile(np.array([RIDGE[f] for f in features]) * scale, photos)

"""Initial alignment of a template to a scan: from landmarks, or automatic.

The automatic start needs no landmarks and no knowledge of the scan's units or
pose: principal axes give 24 candidate orientations (every axis permutation
and sign with determinant +1), each is refined by a short trimmed similarity
ICP on a subsample, and the one that ends closest to the scan wins. The winner
is then refined by a trimmed point-to-plane similarity ICP: point-to-point ICP
crawls along a round head (a face turned 2 degrees on the skull costs it almost
nothing per step), point-to-plane slides there in a few steps.
"""

from __future__ import annotations

import itertools

import numpy as np
from numpy.typing import NDArray

from lifecast.geometry.measure import area_samples
from lifecast.pipeline.stage import ProgressFn, no_progress
from lifecast.wrap.correspond import ScanSurface
from lifecast.wrap.similarity import Similarity, umeyama

SAMPLES = 3000
KEEP = 0.8
#: Share of matches the point-to-plane refinement keeps (the closest ones).
PLANE_KEEP = 0.8


def principal_frame(points: NDArray[np.float64]) -> tuple[NDArray[np.float64], NDArray[np.float64], float]:
    """Centroid, ``(3, 3)`` principal axes (rows, largest first) and RMS radius of ``points``."""
    c = points.mean(0)
    x = points - c
    w, vecs = np.linalg.eigh(x.T @ x / len(x))
    axes = vecs[:, ::-1].T
    if np.linalg.det(axes) < 0:
        axes[2] *= -1
    return c, axes, float(np.sqrt(w.sum()))


def candidate_rotations() -> list[NDArray[np.float64]]:
    """The 24 proper rotations that permute and flip coordinate axes."""
    out = []
    for perm in itertools.permutations(range(3)):
        for signs in itertools.product((1.0, -1.0), repeat=3):
            m = np.zeros((3, 3))
            m[np.arange(3), perm] = signs
            if np.linalg.det(m) > 0:
                out.append(m)
    return out


def similarity_icp(
    source: NDArray[np.float64],
    surface: ScanSurface,
    start: Similarity,
    iterations: int,
    *,
    keep: float = KEEP,
) -> tuple[Similarity, float]:
    """Trimmed similarity ICP of ``source`` points onto ``surface``; returns the transform and its trimmed RMS."""
    current = start
    rms = float("inf")
    for _ in range(iterations):
        moved = current.apply(source)
        m = surface.closest(moved)
        cut = np.quantile(m.distances, keep)
        sel = m.distances <= cut
        rms = float(np.sqrt(np.mean(m.distances[sel] ** 2)))
        step = umeyama(moved[sel], m.points[sel])
        current = current.then(step)
    return current, rms


def similarity_icp_plane(
    source: NDArray[np.float64],
    surface: ScanSurface,
    start: Similarity,
    iterations: int,
    *,
    keep: float | None = None,
    pairs: tuple[NDArray[np.float64], NDArray[np.float64], float] | None = None,
    tol: float = 1e-7,
) -> tuple[Similarity, float]:
    """Trimmed point-to-plane similarity ICP of ``source`` points onto ``surface``.

    Each step solves the linearised problem ``min sum (n_i . (x_i + s c_i + w x c_i + t - p_i))^2``
    over a small scale change ``s``, rotation ``w`` and translation ``t`` (``c_i = x_i - centroid``),
    with a little point-to-point share so that it stays well posed on flat or symmetric parts.
    Matches over an open boundary of the scan (a hole) are not used.

    Parameters
    ----------
    pairs
        Optional ``(a, b, weight)``: ``(k, 3)`` points moved with ``source`` that should land on ``(k, 3)``
        targets ``b`` (landmarks), each pair weighted like ``weight`` surface points.

    Returns the transform and the trimmed RMS point-to-point distance.
    """
    current = start
    rms = float("inf")
    for _ in range(iterations):
        moved = current.apply(source)
        m = surface.closest(moved)
        finite = np.asarray(np.isfinite(m.normals).all(1), bool)
        over = finite & ~m.on_boundary if (finite & ~m.on_boundary).sum() >= 10 else finite
        sel = over & (m.distances <= float(np.quantile(m.distances[over], PLANE_KEEP if keep is None else keep)))
        rms = float(np.sqrt(np.mean(m.distances[sel] ** 2)))
        x, p, n = moved[sel], m.points[sel], m.normals[sel]
        centre = x.mean(0)
        radius = float(np.sqrt(np.mean(np.sum((x - centre) ** 2, 1)))) or 1.0
        c = (x - centre) / radius
        # Rows: d/d(s, w, t) of the residual, plane part and a 0.1-weighted point part per axis.
        plane = np.concatenate([(n * c).sum(1, keepdims=True), np.cross(c, n), n / radius], axis=1)
        rows, rhs = [plane], [-((n * (x - p)).sum(1)) / radius]
        point_rows, point_rhs = _point_rows(c, (x - p) / radius, radius)
        rows.append(0.1 * point_rows)
        rhs.append(0.1 * point_rhs)
        if pairs is not None and len(pairs[0]):
            a_moved = current.apply(pairs[0])
            pair_rows, pair_rhs = _point_rows((a_moved - centre) / radius, (a_moved - pairs[1]) / radius, radius)
            rows.append(np.sqrt(pairs[2]) * pair_rows)
            rhs.append(np.sqrt(pairs[2]) * pair_rhs)
        sol = np.linalg.lstsq(np.concatenate(rows), np.concatenate(rhs), rcond=None)[0]
        ds, w, dt = sol[0], sol[1:4], sol[4:7]
        step = Similarity(_rotation(w), np.zeros(3), 1.0 + ds)
        # x -> centre + (1 + ds) R (x - centre) + dt
        step = Similarity(step.rotation, centre + dt - step.scale * step.rotation @ centre, step.scale)
        current = current.then(step)
        if abs(ds) + float(np.linalg.norm(w)) + float(np.linalg.norm(dt)) / radius < tol:
            break
    return current, rms


def _point_rows(
    c: NDArray[np.float64], r: NDArray[np.float64], radius: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Point-to-point rows (3 per point) of the linearised similarity step and their right-hand sides."""
    rows, rhs = [], []
    for k in range(3):
        e = np.zeros(3)
        e[k] = 1.0
        rows.append(np.concatenate([c[:, k : k + 1], np.cross(c, e), np.tile(e / radius, (len(c), 1))], axis=1))
        rhs.append(-r[:, k])
    return np.concatenate(rows), np.concatenate(rhs)


def _rotation(w: NDArray[np.float64]) -> NDArray[np.float64]:
    """Rotation by the axis-angle vector ``w`` (Rodrigues)."""
    angle = float(np.linalg.norm(w))
    if angle < 1e-15:
        return np.eye(3)
    k = w / angle
    kx = np.array([[0.0, -k[2], k[1]], [k[2], 0.0, -k[0]], [-k[1], k[0], 0.0]])
    return np.eye(3) + np.sin(angle) * kx + (1.0 - np.cos(angle)) * kx @ kx


def automatic_alignment(
    template_vertices: NDArray[np.floating],
    template_faces: NDArray[np.integer],
    surface: ScanSurface,
    *,
    progress: ProgressFn = no_progress,
) -> tuple[Similarity, float]:
    """Align a template to a scan with no landmarks.

    Returns the template-to-scan similarity and its trimmed RMS distance
    relative to the template's RMS radius (a confidence figure: small is good).
    """
    src = area_samples(template_vertices, template_faces, SAMPLES, seed=1)
    dst = area_samples(surface.vertices, surface.faces, SAMPLES, seed=2)
    c_src, a_src, r_src = principal_frame(src)
    c_dst, a_dst, r_dst = principal_frame(dst)
    scale = r_dst / r_src
    best: tuple[float, Similarity] | None = None
    candidates = candidate_rotations()
    for k, flip in enumerate(candidates):
        rotation = a_dst.T @ flip @ a_src
        start = Similarity(rotation, c_dst - scale * rotation @ c_src, scale)
        sim, rms = similarity_icp(src[::4], surface, start, 8)
        if best is None or rms < best[0]:
            best = (rms, sim)
        progress((k + 1) / (len(candidates) + 1), "automatic alignment")
    assert best is not None
    sim, _ = similarity_icp(src, surface, best[1], 10)
    sim, rms = similarity_icp_plane(src, surface, sim, 30)
    progress(1.0, "automatic alignment")
    return sim, rms / (r_src * sim.scale)

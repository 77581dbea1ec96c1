"""Non-rigid refinement: a template pulled onto a scan under a stiffness schedule.

The energy, over the positions ``X`` of the template's fitted vertices, is::

    E(X) = sum_i w_i [ (n_i . (x_i - p_i))^2 + gamma |x_i - p_i|^2 ]        point-to-plane (+ a little point-to-point)
         + alpha * sum_(i,j) in edges |(x_i - v_i) - (x_j - v_j)|^2      membrane on the displacement from V
         + lam * sum_l |B_l X - q_l|^2                                    landmarks (barycentric points)
         + eps * |X - X_prev|^2                                          keeps every solve well posed

with ``p_i`` the closest scan point of ``x_i`` and ``n_i`` the scan normal there,
``w_i`` zero where the match was dropped (scan hole, normal mismatch, outlier:
see :mod:`lifecast.wrap.correspond`), so holes are filled by the regulariser.
As in optimal-step NICP (Amberg et al. 2007) the stiffness ``alpha`` goes from
stiff to supple, a few correspondence updates per level; with the matches fixed
``E`` is quadratic, and each step is one sparse SPD solve, done with
block-Jacobi preconditioned conjugate gradients in torch on the given device.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from numpy.typing import NDArray

from lifecast.pipeline.stage import ProgressFn, no_progress
from lifecast.wrap.correspond import ScanSurface, match_filter, vertex_normals


@dataclass(frozen=True)
class RefineSettings:
    """The stiffness schedule and robustness parameters.

    Attributes
    ----------
    stiffness
        Membrane weights ``alpha``, stiff to supple.
    steps_per_level
        Correspondence updates (and solves) per stiffness level.
    landmark_weight
        Landmark weight ``lam`` at the first and the last level (geometric in between);
        ends low because clicked landmarks are noisy.
    point_weight
        ``gamma``, the point-to-point share of the data term.
    trim
        Matches farther than ``trim`` times the median match distance are dropped
        (never closer than ``min_trim_edges`` mean template edge lengths).
    max_normal_angle
        Degrees between template and scan normals above which a match is dropped.
    cg_iterations
        Conjugate-gradient iterations per solve (warm started).
    """

    stiffness: Sequence[float] = (100.0, 30.0, 10.0, 3.0, 1.0)
    steps_per_level: int = 3
    landmark_weight: tuple[float, float] = (10.0, 0.1)
    point_weight: float = 0.1
    trim: float = 3.0
    min_trim_edges: float = 2.0
    max_normal_angle: float = 60.0
    cg_iterations: int = 100


DEFAULT_SETTINGS = RefineSettings()


@dataclass(frozen=True)
class LandmarkTerm:
    """Landmarks as rows of barycentric weights over template vertices.

    Attributes
    ----------
    indices
        ``(k, 3) int64`` template vertex indices.
    weights
        ``(k, 3) float64`` barycentric weights.
    targets
        ``(k, 3) float64`` scan positions.
    """

    indices: NDArray[np.int64]
    weights: NDArray[np.float64]
    targets: NDArray[np.float64]


def refine_nonrigid(
    vertices: NDArray[np.floating],
    faces: NDArray[np.integer],
    fit_mask: NDArray[np.bool_],
    surface: ScanSurface,
    *,
    landmarks: LandmarkTerm | None = None,
    settings: RefineSettings = DEFAULT_SETTINGS,
    device: str = "cpu",
    progress: ProgressFn = no_progress,
) -> NDArray[np.float64]:
    """Pull the fitted vertices of a roughly aligned template onto the scan.

    Parameters
    ----------
    vertices
        ``(n, 3)`` template positions, already aligned to the scan (same units).
    faces
        ``(m, 3)`` template triangles.
    fit_mask
        ``(n,) bool``: vertices to fit; the others are returned unchanged.
    surface
        The scan.
    landmarks
        Optional landmark constraints (landmarks touching unfitted vertices are ignored).

    Returns
    -------
    ``(n, 3) float64`` refined positions.
    """
    v_all = np.asarray(vertices, np.float64)
    f = np.asarray(faces, np.int64)
    fit = np.flatnonzero(fit_mask)
    if len(fit) == 0:
        return v_all.copy()
    local = np.full(len(v_all), -1, np.int64)
    local[fit] = np.arange(len(fit))
    dev = torch.device(device)
    dtype = torch.float64 if dev.type == "cpu" else torch.float32
    origin = v_all[fit].mean(0)

    def t(a: NDArray[np.generic]) -> torch.Tensor:
        return torch.as_tensor(np.asarray(a), dtype=dtype, device=dev)

    adjacency, degree, edge_len = _adjacency(f, local, len(fit), dev, dtype, v_all)
    lm = _landmark_matrix(landmarks, local, len(fit), dev, dtype, origin)
    v_rest = t(v_all[fit] - origin)
    lap_rest = degree[:, None] * v_rest - torch.sparse.mm(adjacency, v_rest)
    x = v_rest.clone()
    full = v_all.copy()
    levels = list(settings.stiffness)
    total = len(levels) * settings.steps_per_level
    min_trim = settings.min_trim_edges * edge_len
    lam0, lam1 = settings.landmark_weight
    step = 0
    for level, alpha in enumerate(levels):
        lam = lam0 * (lam1 / lam0) ** (level / max(len(levels) - 1, 1)) if lm is not None else 0.0
        for _ in range(settings.steps_per_level):
            full[fit] = x.detach().cpu().numpy().astype(np.float64) + origin
            normals_t = vertex_normals(full, f)[fit]
            matches = surface.closest(full[fit])
            near = matches.distances[~matches.on_boundary]
            median = float(np.median(near)) if len(near) else float(np.median(matches.distances))
            keep = match_filter(
                matches,
                normals_t,
                max_distance=max(settings.trim * median, min_trim),
                max_normal_angle=settings.max_normal_angle,
            )
            x = _solve_step(
                x,
                data_weight=t(keep.astype(np.float64)),
                targets=t(matches.points - origin),
                normals=t(matches.normals),
                adjacency=adjacency,
                degree=degree,
                lap_rest=lap_rest,
                alpha=float(alpha),
                lam=lam,
                lm=lm,
                settings=settings,
            )
            step += 1
            progress(step / total, f"stiffness {alpha:g}: {int(keep.sum()):,} of {len(fit):,} vertices matched")
    full[fit] = x.detach().cpu().numpy().astype(np.float64) + origin
    return full


@dataclass
class _LandmarkMatrix:
    b: torch.Tensor  # (k, n_fit) sparse
    bt: torch.Tensor  # (n_fit, k) sparse
    targets: torch.Tensor  # (k, 3)
    diag: torch.Tensor  # (n_fit,) diagonal of B^T B


def _landmark_matrix(
    landmarks: LandmarkTerm | None,
    local: NDArray[np.int64],
    n_fit: int,
    dev: torch.device,
    dtype: torch.dtype,
    origin: NDArray[np.float64],
) -> _LandmarkMatrix | None:
    if landmarks is None or len(landmarks.indices) == 0:
        return None
    li = local[landmarks.indices]
    ok = np.all((li >= 0) | (landmarks.weights == 0), axis=1)
    if not ok.any():
        return None
    li, w = np.maximum(li[ok], 0), landmarks.weights[ok]
    rows = np.repeat(np.arange(len(li)), 3)
    idx = torch.as_tensor(np.stack([rows, li.ravel()]), device=dev)
    vals = torch.as_tensor(w.ravel(), dtype=dtype, device=dev)
    b = torch.sparse_coo_tensor(idx, vals, (len(li), n_fit), check_invariants=False).coalesce()
    diag = np.zeros(n_fit)
    np.add.at(diag, li.ravel(), w.ravel() ** 2)
    return _LandmarkMatrix(
        b=b,
        bt=b.t().coalesce(),
        targets=torch.as_tensor(landmarks.targets[ok] - origin, dtype=dtype, device=dev),
        diag=torch.as_tensor(diag, dtype=dtype, device=dev),
    )


def _adjacency(
    faces: NDArray[np.int64],
    local: NDArray[np.int64],
    n_fit: int,
    dev: torch.device,
    dtype: torch.dtype,
    vertices: NDArray[np.float64],
) -> tuple[torch.Tensor, torch.Tensor, float]:
    """Symmetric 0/1 adjacency of fitted vertices (sparse), their degrees and the mean edge length."""
    e = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    e = np.sort(e, axis=1)
    e = np.unique(e, axis=0)
    edge_len = float(np.linalg.norm(vertices[e[:, 0]] - vertices[e[:, 1]], axis=1).mean()) if len(e) else 0.0
    le = local[e]
    le = le[(le >= 0).all(1)]
    both = np.concatenate([le, le[:, ::-1]])
    idx = torch.as_tensor(both.T.copy(), device=dev)
    vals = torch.ones(len(both), dtype=dtype, device=dev)
    coo = torch.sparse_coo_tensor(idx, vals, (n_fit, n_fit), check_invariants=False).coalesce()
    with warnings.catch_warnings():  # "sparse CSR support is in beta"
        warnings.simplefilter("ignore", UserWarning)
        adjacency = coo.to_sparse_csr()
    degree = torch.as_tensor(np.bincount(le.ravel(), minlength=n_fit).astype(np.float64), dtype=dtype, device=dev)
    return adjacency, degree, edge_len


def _solve_step(
    x0: torch.Tensor,
    *,
    data_weight: torch.Tensor,
    targets: torch.Tensor,
    normals: torch.Tensor,
    adjacency: torch.Tensor,
    degree: torch.Tensor,
    lap_rest: torch.Tensor,
    alpha: float,
    lam: float,
    lm: _LandmarkMatrix | None,
    settings: RefineSettings,
) -> torch.Tensor:
    """One quadratic solve with fixed matches: preconditioned CG warm started at ``x0``."""
    gamma = settings.point_weight
    eps = 1e-3
    w = data_weight[:, None]

    def apply(x: torch.Tensor) -> torch.Tensor:
        y = w * (gamma * x + normals * (normals * x).sum(1, keepdim=True)) + eps * x
        y = y + alpha * (degree[:, None] * x - torch.sparse.mm(adjacency, x))
        if lm is not None and lam > 0:
            y = y + lam * torch.sparse.mm(lm.bt, torch.sparse.mm(lm.b, x))
        return y

    rhs = w * (gamma * targets + normals * (normals * targets).sum(1, keepdim=True)) + eps * x0 + alpha * lap_rest
    diag_a = data_weight * gamma + eps + alpha * degree
    if lm is not None and lam > 0:
        rhs = rhs + lam * torch.sparse.mm(lm.bt, lm.targets)
        diag_a = diag_a + lam * lm.diag
    shrink = (data_weight / (diag_a + data_weight))[:, None]

    def precondition(r: torch.Tensor) -> torch.Tensor:
        return (r - shrink * normals * (normals * r).sum(1, keepdim=True)) / diag_a[:, None]

    return conjugate_gradients(apply, rhs, x0, precondition, settings.cg_iterations)


def conjugate_gradients(
    apply: Callable[[torch.Tensor], torch.Tensor],
    rhs: torch.Tensor,
    x0: torch.Tensor,
    precondition: Callable[[torch.Tensor], torch.Tensor],
    iterations: int,
    tol: float = 1e-6,
) -> torch.Tensor:
    """Preconditioned CG for an SPD operator on ``(n, 3)`` tensors (Frobenius inner product).

    ``apply(x)`` is the operator and ``precondition(r)`` an SPD approximation of its inverse.
    """
    x = x0.clone()
    r = rhs - apply(x)
    z = precondition(r)
    p = z.clone()
    rz = (r * z).sum()
    stop = tol * tol * float((rhs * rhs).sum())
    for k in range(iterations):
        ap = apply(p)
        curvature = (p * ap).sum()
        if not float(curvature) > 0.0:  # converged exactly (or lost definiteness): stop before dividing by 0
            break
        step = rz / curvature
        x = x + step * p
        r = r - step * ap
        if k % 10 == 9 and float((r * r).sum()) < stop:
            break
        z = precondition(r)
        rz_new = (r * z).sum()
        p = z + (rz_new / rz) * p
        rz = rz_new
    return x

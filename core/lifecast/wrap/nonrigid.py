"""Non-rigid refinement: a template pulled onto a scan under a stiffness schedule.

The energy, over the positions ``X`` of the template's fitted vertices, is::

    E(X) = sum_i w_i [ (n_i . (x_i - p_i))^2 + gamma |x_i - p_i|^2 ]     template -> scan, point-to-plane
         + beta sum_j u_j [ (m_j . (S_j X - s_j))^2 + gamma |S_j X - s_j|^2 ]   scan -> template (optional)
         + alpha * R(X - V)                                                regulariser on the displacement
         + lam * sum_l |B_l X - q_l|^2                                     landmarks (barycentric points)
         + eps * |X - X_prev|^2                                            keeps every solve well posed

with ``p_i`` the closest scan point of ``x_i`` and ``n_i`` the (smoothed) scan
normal there, ``w_i`` zero where the match was dropped (scan hole, normal
mismatch, outlier: see :mod:`lifecast.wrap.correspond`), so holes are filled
by the regulariser. The optional reverse term matches scan points ``s_j`` to
their closest template points ``S_j X`` (barycentric rows). The regulariser is
either the membrane ``sum_edges |d_i - d_j|^2`` (``D - A``, the graph
Laplacian) or the bending energy ``|L d|^2`` with the umbrella operator
``L = I - D^-1 A`` weighted by degree (``(D - A) D^-1 (D - A)``): the membrane
resists any stretch of the template, bending only resists changes of the
stretch, so a face that is longer than the template everywhere is not pulled
back towards the template's proportions.

As in optimal-step NICP (Amberg et al. 2007) the stiffness ``alpha`` goes from
stiff to supple, a few correspondence updates per level, and the landmark
weight decays with it (clicked landmarks are noisy: they place the template,
the scan's surface finishes it). With the matches fixed ``E`` is quadratic and
each step is one sparse SPD solve, done with 3x3 block-Jacobi preconditioned
conjugate gradients in torch on the given device.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from numpy.typing import NDArray

from lifecast.pipeline.stage import ProgressFn, no_progress
from lifecast.wrap.correspond import ScanSurface, match_filter, vertex_normals

Regulariser = Literal["membrane", "bending"]


@dataclass(frozen=True)
class RefineSettings:
    """The stiffness schedule and robustness parameters.

    Attributes
    ----------
    stiffness
        Regulariser weights ``alpha``, stiff to supple.
    steps_per_level
        Correspondence updates (and solves) per stiffness level.
    regulariser
        ``"membrane"`` or ``"bending"`` (see the module docstring).
    membrane_share
        With ``"bending"``: a membrane term of this weight relative to bending is added.
    landmark_weight
        Landmark weight ``lam`` at the first and the last level (geometric in between);
        ends low because clicked landmarks are noisy.
    point_weight
        ``gamma``, the point-to-point share of the data terms.
    reverse_weight
        ``beta``, the weight of the scan -> template matches (0: off).
    reverse_samples
        How many scan vertices (at most) are matched back to the template.
    trim
        Matches farther than ``trim`` times the median match distance are dropped
        (never closer than ``min_trim_edges`` mean template edge lengths).
    max_normal_angle
        Degrees between template and scan normals above which a match is dropped.
    cg_iterations
        Conjugate-gradient iterations per solve (warm started).
    proximal_weight
        ``eps``: how strongly each solve stays near the previous positions.
    """

    stiffness: Sequence[float] = (100.0, 30.0, 10.0, 3.0, 1.0)
    steps_per_level: int = 3
    regulariser: Regulariser = "membrane"
    membrane_share: float = 0.0
    landmark_weight: tuple[float, float] = (10.0, 0.1)
    point_weight: float = 0.1
    reverse_weight: float = 0.0
    reverse_samples: int = 30_000
    trim: float = 3.0
    min_trim_edges: float = 2.0
    max_normal_angle: float = 60.0
    cg_iterations: int = 100
    proximal_weight: float = 1e-3
    incremental: bool = False


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
    fit_faces = local[f[fit_mask[f].all(1)]]
    dev = torch.device(device)
    dtype = torch.float64 if dev.type == "cpu" else torch.float32
    origin = v_all[fit].mean(0)

    def t(a: NDArray[np.generic]) -> torch.Tensor:
        return torch.as_tensor(np.asarray(a), dtype=dtype, device=dev)

    graph = _Graph.build(f, local, len(fit), dev, dtype, v_all)
    if settings.regulariser == "bending":
        share = settings.membrane_share

        def regulariser(x: torch.Tensor) -> torch.Tensor:
            out = graph.bending(x)
            return out + share * graph.membrane(x) if share > 0 else out

        reg_diag = graph.bending_diag + share * graph.degree
    else:
        regulariser = graph.membrane
        reg_diag = graph.degree
    lm = _landmark_matrix(landmarks, local, len(fit), dev, dtype, origin)
    v_rest = t(v_all[fit] - origin)
    reg_rest = regulariser(v_rest)
    x = v_rest.clone()
    full = v_all.copy()
    levels = list(settings.stiffness)
    total = len(levels) * settings.steps_per_level
    min_trim = settings.min_trim_edges * graph.edge_len
    lam0, lam1 = settings.landmark_weight
    samples = _reverse_samples(surface, settings.reverse_samples) if settings.reverse_weight > 0 else None
    step = 0
    for level, alpha in enumerate(levels):
        if settings.incremental and level > 0:
            reg_rest = regulariser(x)
        lam = lam0 * (lam1 / lam0) ** (level / max(len(levels) - 1, 1)) if lm is not None and lam0 > 0 else 0.0
        for _ in range(settings.steps_per_level):
            current = x.detach().cpu().numpy().astype(np.float64) + origin
            full[fit] = current
            normals_t = vertex_normals(full, f)[fit]
            matches = surface.closest(current)
            keep = match_filter(
                matches,
                normals_t,
                max_distance=_trim_distance(matches.distances, matches.on_boundary, settings.trim, min_trim),
                max_normal_angle=settings.max_normal_angle,
            )
            reverse = None
            if samples is not None:
                reverse = _reverse_term(
                    samples, current, fit_faces, settings, min_trim, dev, dtype, origin, settings.reverse_weight
                )
            x = _solve_step(
                x,
                data=_DataTerm(
                    weight=t(keep.astype(np.float64)),
                    targets=t(matches.points - origin),
                    normals=t(matches.normals),
                ),
                reverse=reverse,
                regulariser=regulariser,
                reg_diag=reg_diag,
                reg_rest=reg_rest,
                alpha=float(alpha),
                lam=lam,
                lm=lm,
                settings=settings,
            )
            step += 1
            progress(step / total, f"stiffness {alpha:g}: {int(keep.sum()):,} of {len(fit):,} vertices matched")
    full[fit] = x.detach().cpu().numpy().astype(np.float64) + origin
    return full


def _trim_distance(distances: NDArray[np.float64], on_boundary: NDArray[np.bool_], trim: float, floor: float) -> float:
    near = distances[~on_boundary]
    median = float(np.median(near)) if len(near) else float(np.median(distances))
    return max(trim * median, floor)


@dataclass
class _DataTerm:
    """Point-to-plane (+ point-to-point) pulls of each fitted vertex: ``(n_fit,)`` weights, ``(n_fit, 3)`` rest."""

    weight: torch.Tensor
    targets: torch.Tensor
    normals: torch.Tensor


@dataclass
class _ReverseTerm:
    """Scan points pulling barycentric points of the template: ``s`` is ``(q, n_fit)`` sparse."""

    s: torch.Tensor
    st: torch.Tensor
    weight: torch.Tensor  # (q,)
    targets: torch.Tensor  # (q, 3)
    normals: torch.Tensor  # (q, 3)
    block_diag: torch.Tensor  # (n_fit, 3, 3) diagonal blocks of S^T W (gamma I + m m^T) S


@dataclass
class _Graph:
    """Edges of the fitted vertices as torch operators."""

    adjacency: torch.Tensor  # (n_fit, n_fit) sparse CSR, 0/1
    degree: torch.Tensor  # (n_fit,)
    bending_diag: torch.Tensor  # (n_fit,) diagonal of (D - A) D^-1 (D - A)
    edge_len: float

    def membrane(self, x: torch.Tensor) -> torch.Tensor:
        """``(D - A) x``."""
        return self.degree[:, None] * x - torch.sparse.mm(self.adjacency, x)

    def bending(self, x: torch.Tensor) -> torch.Tensor:
        """``(D - A) D^-1 (D - A) x``: degree-weighted squared umbrella operator."""
        return self.membrane(self.membrane(x) / self.degree.clamp(min=1.0)[:, None])

    @classmethod
    def build(
        cls,
        faces: NDArray[np.int64],
        local: NDArray[np.int64],
        n_fit: int,
        dev: torch.device,
        dtype: torch.dtype,
        vertices: NDArray[np.float64],
    ) -> _Graph:
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
        deg = np.bincount(le.ravel(), minlength=n_fit).astype(np.float64)
        inv = 1.0 / np.maximum(deg, 1.0)
        bend = deg * deg * inv + np.bincount(both[:, 0], weights=inv[both[:, 1]], minlength=n_fit)
        return cls(
            adjacency=adjacency,
            degree=torch.as_tensor(deg, dtype=dtype, device=dev),
            bending_diag=torch.as_tensor(bend, dtype=dtype, device=dev),
            edge_len=edge_len,
        )


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
    b, bt = _rows(li, w, n_fit, dev, dtype)
    diag = np.zeros(n_fit)
    np.add.at(diag, li.ravel(), w.ravel() ** 2)
    return _LandmarkMatrix(
        b=b,
        bt=bt,
        targets=torch.as_tensor(landmarks.targets[ok] - origin, dtype=dtype, device=dev),
        diag=torch.as_tensor(diag, dtype=dtype, device=dev),
    )


def _rows(
    indices: NDArray[np.int64], weights: NDArray[np.float64], n_fit: int, dev: torch.device, dtype: torch.dtype
) -> tuple[torch.Tensor, torch.Tensor]:
    """A ``(k, n_fit)`` sparse matrix of barycentric rows and its transpose."""
    rows = np.repeat(np.arange(len(indices)), indices.shape[1])
    idx = torch.as_tensor(np.stack([rows, indices.ravel()]), device=dev)
    vals = torch.as_tensor(weights.ravel(), dtype=dtype, device=dev)
    b = torch.sparse_coo_tensor(idx, vals, (len(indices), n_fit), check_invariants=False).coalesce()
    with warnings.catch_warnings():  # "sparse CSR support is in beta"
        warnings.simplefilter("ignore", UserWarning)
        return b.to_sparse_csr(), b.t().coalesce().to_sparse_csr()


def _reverse_samples(surface: ScanSurface, count: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Scan vertices (not on a boundary) and their normals, at most ``count``, evenly strided."""
    used = np.zeros(len(surface.vertices), bool)
    used[surface.faces.ravel()] = True
    idx = np.flatnonzero(used)
    stride = max(1, int(np.ceil(len(idx) / max(count, 1))))
    idx = idx[::stride]
    return surface.vertices[idx], surface.vertex_normals[idx]


def _reverse_term(
    samples: tuple[NDArray[np.float64], NDArray[np.float64]],
    current: NDArray[np.float64],
    fit_faces: NDArray[np.int64],
    settings: RefineSettings,
    min_trim: float,
    dev: torch.device,
    dtype: torch.dtype,
    origin: NDArray[np.float64],
    beta: float,
) -> _ReverseTerm | None:
    """Scan samples matched to their closest points on the current template."""
    import open3d as o3d

    points, normals = samples
    scene = o3d.t.geometry.RaycastingScene()
    scene.add_triangles(
        o3d.core.Tensor.from_numpy(np.ascontiguousarray(current, np.float32)),
        o3d.core.Tensor.from_numpy(np.ascontiguousarray(fit_faces, np.uint32)),
    )
    res = scene.compute_closest_points(o3d.core.Tensor.from_numpy(np.ascontiguousarray(points, np.float32)))
    tri = res["primitive_ids"].numpy().astype(np.int64)
    uv = res["primitive_uvs"].numpy().astype(np.float64)
    bary = np.stack([1.0 - uv[:, 0] - uv[:, 1], uv[:, 0], uv[:, 1]], axis=1)
    corners = fit_faces[tri]
    on_template = np.einsum("qk,qkd->qd", bary, current[corners])
    template_normals = vertex_normals(current, fit_faces)
    tn = np.einsum("qk,qkd->qd", bary, template_normals[corners])
    tn /= np.maximum(np.linalg.norm(tn, axis=1, keepdims=True), 1e-20)
    dist = np.linalg.norm(points - on_template, axis=1)
    edge = (bary < 1e-4).any(1) & _on_open_boundary(fit_faces, len(current), corners, bary)
    cos_ok = np.einsum("qd,qd->q", normals, tn) > np.cos(np.radians(settings.max_normal_angle))
    keep = cos_ok & ~edge
    keep &= dist <= _trim_distance(dist, edge, settings.trim, min_trim)
    if not keep.any():
        return None
    idx, w, p, m = corners[keep], bary[keep], points[keep], normals[keep]
    s, st = _rows(idx, w, len(current), dev, dtype)
    gamma = settings.point_weight
    mm = m[:, :, None] * m[:, None, :] + gamma * np.eye(3)
    blocks = np.zeros((len(current), 9))
    for k in range(3):
        contribution = (w[:, k] ** 2)[:, None] * mm.reshape(-1, 9)
        for c in range(9):
            blocks[:, c] += np.bincount(idx[:, k], weights=contribution[:, c], minlength=len(current))
    blocks3 = blocks.reshape(-1, 3, 3)
    return _ReverseTerm(
        s=s,
        st=st,
        weight=torch.full((len(idx),), beta, dtype=dtype, device=dev),
        targets=torch.as_tensor(p - origin, dtype=dtype, device=dev),
        normals=torch.as_tensor(m, dtype=dtype, device=dev),
        block_diag=torch.as_tensor(beta * blocks3, dtype=dtype, device=dev),
    )


def _on_open_boundary(
    faces: NDArray[np.int64], n: int, corners: NDArray[np.int64], bary: NDArray[np.float64]
) -> NDArray[np.bool_]:
    """``(q,) bool``: the barycentric point lies on an open boundary edge of ``faces``."""
    edges = np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]])
    keys = np.minimum(edges[:, 0], edges[:, 1]) * n + np.maximum(edges[:, 0], edges[:, 1])
    uniq, counts = np.unique(keys, return_counts=True)
    boundary = uniq[counts == 1]
    out = np.zeros(len(corners), bool)
    if len(boundary) == 0:
        return out
    for k, (a, b) in enumerate(((1, 2), (2, 0), (0, 1))):
        near = bary[:, k] < 1e-4
        lo = np.minimum(corners[near, a], corners[near, b])
        hi = np.maximum(corners[near, a], corners[near, b])
        pos = np.minimum(np.searchsorted(boundary, lo * n + hi), len(boundary) - 1)
        out[np.flatnonzero(near)] |= boundary[pos] == lo * n + hi
    return out


def _plane_pull(normals: torch.Tensor, x: torch.Tensor, gamma: float) -> torch.Tensor:
    """``(gamma I + n n^T) x`` row by row."""
    return gamma * x + normals * (normals * x).sum(1, keepdim=True)


def _solve_step(
    x0: torch.Tensor,
    *,
    data: _DataTerm,
    reverse: _ReverseTerm | None,
    regulariser: Callable[[torch.Tensor], torch.Tensor],
    reg_diag: torch.Tensor,
    reg_rest: torch.Tensor,
    alpha: float,
    lam: float,
    lm: _LandmarkMatrix | None,
    settings: RefineSettings,
) -> torch.Tensor:
    """One quadratic solve with fixed matches: preconditioned CG warm started at ``x0``."""
    gamma = settings.point_weight
    eps = settings.proximal_weight
    w = data.weight[:, None]
    use_lm = lm is not None and lam > 0

    def apply(x: torch.Tensor) -> torch.Tensor:
        y = w * _plane_pull(data.normals, x, gamma) + eps * x + alpha * regulariser(x)
        if reverse is not None:
            sx = torch.sparse.mm(reverse.s, x)
            y = y + torch.sparse.mm(reverse.st, reverse.weight[:, None] * _plane_pull(reverse.normals, sx, gamma))
        if use_lm:
            assert lm is not None
            y = y + lam * torch.sparse.mm(lm.bt, torch.sparse.mm(lm.b, x))
        return y

    rhs = w * _plane_pull(data.normals, data.targets, gamma) + eps * x0 + alpha * reg_rest
    scalar = eps + alpha * reg_diag
    if reverse is not None:
        pulled = reverse.weight[:, None] * _plane_pull(reverse.normals, reverse.targets, gamma)
        rhs = rhs + torch.sparse.mm(reverse.st, pulled)
    if use_lm:
        assert lm is not None
        rhs = rhs + lam * torch.sparse.mm(lm.bt, lm.targets)
        scalar = scalar + lam * lm.diag
    eye = torch.eye(3, dtype=x0.dtype, device=x0.device)
    blocks = scalar[:, None, None] * eye + data.weight[:, None, None] * (
        gamma * eye + data.normals[:, :, None] * data.normals[:, None, :]
    )
    if reverse is not None:
        blocks = blocks + reverse.block_diag
    inverse = torch.linalg.inv(blocks)

    def precondition(r: torch.Tensor) -> torch.Tensor:
        return torch.bmm(inverse, r[:, :, None])[:, :, 0]

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

"""anny's phenotype model and its fit to a scan, in torch on a given device.

An anny template (:mod:`lifecast.wrap.anny_template`) carries its shape model:
``rest(p) = T + (w(p) @ P) @ B`` with ``p`` anny's phenotype parameters (gender,
age, muscle, weight, height, proportions, cupsize, firmness, african, asian,
caucasian, each in [0, 1]), ``w`` anny's piecewise-multilinear blend weights
(``anny.models.phenotype.phenotype_blendshape_weights``), ``P`` the compact
projection and ``B`` the blendshape basis restricted to the template's vertices.

:func:`fit_phenotype` fits ``p`` together with a similarity correction to a scan,
starting from the landmark or automatic alignment: a few rounds of closest
points (with the boundary, normal and distance filters of
:mod:`lifecast.wrap.correspond`) and L-BFGS on the point-to-plane energy plus the
landmark term, with a weak pull of ``p`` towards 0.5. The non-rigid refinement
then starts from (and regularises towards) the fitted shape instead of anny's
average one.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from numpy.typing import NDArray

from lifecast.errors import InputError
from lifecast.pipeline.stage import ProgressFn, no_progress
from lifecast.threads import torch_threads
from lifecast.wrap.correspond import ScanSurface, match_filter, vertex_normals
from lifecast.wrap.nonrigid import LandmarkTerm
from lifecast.wrap.similarity import Similarity


@dataclass(frozen=True)
class PhenotypeSettings:
    """Schedule and weights of the phenotype fit.

    Attributes
    ----------
    rounds
        Closest-point updates.
    iterations
        Levenberg-Marquardt iterations per round (the matches fixed).
    point_weight
        Point-to-point share of the data term (the rest is point-to-plane).
    landmark_weight
        Weight of one landmark relative to one matched vertex, at the first and the last round
        (geometric in between): landmarks place the start, the scan decides the shape.
    prior_weight
        Pull of each phenotype parameter towards 0.5, relative to the data term.
    trim
        Matches farther than ``trim`` times the median distance are dropped.
    max_normal_angle
        Degrees between template and scan normals above which a match is dropped.
    max_points
        At most this many matched vertices (evenly spread over the template's order) enter a round:
        some twenty parameters need no more, and the cost grows with them.
    """

    rounds: int = 10
    iterations: int = 2
    point_weight: float = 0.1
    landmark_weight: tuple[float, float] = (10.0, 1.0)
    prior_weight: float = 1e-5
    trim: float = 3.0
    max_normal_angle: float = 60.0
    max_points: int = 1000


DEFAULT_PHENOTYPE_SETTINGS = PhenotypeSettings()


class PhenotypeModel:
    """anny's phenotype -> rest-shape map for one template's vertices.

    Parameters
    ----------
    template_vertices
        ``(n, 3)`` anny's template before the phenotype blendshapes (metres).
    basis
        ``(r, n, 3)`` compact blendshape basis.
    projection
        ``(C, r)`` from anny's ``C`` variation weights to the basis.
    variation_mask
        ``(C, L)`` anny's stacked phenotype variation mask.
    labels
        The ``L'`` phenotype parameter names (anny's ``phenotypes="all"`` order).
    """

    def __init__(
        self,
        template_vertices: NDArray[np.floating],
        basis: NDArray[np.floating],
        projection: NDArray[np.floating],
        variation_mask: NDArray[np.floating],
        labels: tuple[str, ...],
    ) -> None:
        self.template_vertices = np.asarray(template_vertices, np.float64)
        self.basis = np.asarray(basis, np.float32)
        self.projection = np.asarray(projection, np.float64)
        self.variation_mask = np.asarray(variation_mask, np.float64)
        self.labels = tuple(labels)
        self._device_cache: dict[tuple[str, torch.dtype], tuple[torch.Tensor, ...]] = {}

    @classmethod
    def load(cls, path: Path) -> PhenotypeModel:
        """Read a ``*_shape.npz`` written by :func:`lifecast.wrap.anny_template.write_template`."""
        try:
            with np.load(path) as data:
                return cls(
                    data["template_vertices"],
                    data["basis"],
                    data["projection"],
                    data["variation_mask"],
                    tuple(str(x) for x in data["labels"]),
                )
        except (OSError, KeyError, ValueError) as exc:
            raise InputError(f"not a template shape model: {exc}", path) from None

    @property
    def vertex_count(self) -> int:
        return len(self.template_vertices)

    def default(self) -> dict[str, float]:
        """anny's default phenotype: 0.5 for every parameter."""
        return {label: 0.5 for label in self.labels}

    def _tensors(self, device: torch.device, dtype: torch.dtype) -> tuple[torch.Tensor, ...]:
        key = (str(device), dtype)
        if key not in self._device_cache:
            self._device_cache[key] = (
                torch.as_tensor(self.template_vertices, dtype=dtype, device=device),
                torch.as_tensor(self.basis, dtype=dtype, device=device),
                torch.as_tensor(self.projection, dtype=dtype, device=device),
                torch.as_tensor(self.variation_mask, dtype=dtype, device=device),
            )
        return self._device_cache[key]

    def coefficients(self, params: torch.Tensor) -> torch.Tensor:
        """``(B, r)`` basis coefficients of ``(B, L)`` phenotype parameters in [0, 1]."""
        try:
            from anny.models.phenotype import make_phenotype_anchors, phenotype_blendshape_weights
        except ImportError:
            raise InputError(
                "fitting an anny template's phenotype needs the anny package: pip install -c constraints.txt "
                "-e '.[wrap]'"
            ) from None
        _, _, projection, mask = self._tensors(params.device, params.dtype)
        anchors = make_phenotype_anchors(params.dtype, params.device)
        weights = phenotype_blendshape_weights(params, list(self.labels), anchors, mask, False)
        return weights @ projection

    def linear_part(
        self, device: torch.device, dtype: torch.dtype, index: NDArray[np.int64] | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(k, 3)`` template vertices and ``(r, k, 3)`` basis (of the ``index`` vertices, default all)."""
        base, basis, _, _ = self._tensors(device, dtype)
        if index is None:
            return base, basis
        idx = torch.as_tensor(index, device=device)
        return base[idx], basis[:, idx]

    def vertices(self, params: torch.Tensor) -> torch.Tensor:
        """``(n, 3)`` rest shape for ``(L,)`` phenotype parameters in [0, 1], ``(B, n, 3)`` for ``(B, L)``."""
        batch = params.reshape(-1, len(self.labels))
        base, basis = self.linear_part(params.device, params.dtype)
        out = base + (self.coefficients(batch) @ basis.reshape(len(basis), -1)).reshape(len(batch), -1, 3)
        return out if params.dim() == 2 else out[0]

    def vertices_numpy(self, phenotype: dict[str, float] | None = None) -> NDArray[np.float64]:
        """``(n, 3) float64`` rest shape of a phenotype given by name (missing names: 0.5)."""
        values = self.default() | (phenotype or {})
        unknown = sorted(set(values) - set(self.labels))
        if unknown:
            raise InputError(f"unknown phenotype parameter(s) {', '.join(unknown)}: one of {', '.join(self.labels)}")
        p = torch.tensor([values[k] for k in self.labels], dtype=torch.float64)
        with torch.no_grad():
            return self.vertices(p).numpy()


@dataclass(frozen=True)
class PhenotypeFit:
    """The result of :func:`fit_phenotype`.

    Attributes
    ----------
    vertices
        ``(n, 3) float64`` the fitted shape in the scan's frame and units.
    alignment
        The refined similarity from the model's frame to the scan (``vertices = alignment.apply(rest(p))``).
    phenotype
        The fitted parameters by name.
    rms_before, rms_after
        Trimmed RMS distance of the fitted vertices to the scan (scan units) at the start and at the end.
    """

    vertices: NDArray[np.float64]
    alignment: Similarity
    phenotype: dict[str, float]
    rms_before: float
    rms_after: float


def _rotation(omega: torch.Tensor) -> torch.Tensor:
    """Rodrigues: the ``(3, 3)`` rotation of an axis-angle vector."""
    theta = float(torch.linalg.vector_norm(omega))
    k = torch.zeros(3, 3, dtype=omega.dtype, device=omega.device)
    k[0, 1], k[0, 2], k[1, 2] = -omega[2], omega[1], -omega[0]
    k = k - k.T
    eye = torch.eye(3, dtype=omega.dtype, device=omega.device)
    if theta < 1e-12:
        return eye + k
    return eye + (np.sin(theta) / theta) * k + ((1.0 - np.cos(theta)) / theta**2) * (k @ k)


@dataclass
class _State:
    """Where the fit is: phenotype logits and the similarity correction ``y = s R (x - c) + c + t``."""

    logits: torch.Tensor
    rotation: torch.Tensor
    translation: torch.Tensor
    scale: float


def fit_phenotype(
    model: PhenotypeModel,
    faces: NDArray[np.integer],
    fit_mask: NDArray[np.bool_],
    surface: ScanSurface,
    start: Similarity,
    *,
    landmarks: LandmarkTerm | None = None,
    settings: PhenotypeSettings = DEFAULT_PHENOTYPE_SETTINGS,
    device: str = "cpu",
    progress: ProgressFn = no_progress,
) -> PhenotypeFit:
    """Fit anny's phenotype and a similarity correction of the template to a scan.

    Levenberg-Marquardt over the phenotype parameters (through a sigmoid, so
    they stay in (0, 1)) and an incremental rotation, translation and scale
    about the template's centre. The shape is linear in the blendshape
    coefficients, so the Jacobian is analytic except for the coefficients'
    derivative by the phenotype (central differences: anny's phenotype map is
    piecewise linear). Each round pairs points both ways, with fresh, filtered
    closest points: template vertices to the scan, and scan samples to the
    template's surface. The second direction keeps the template from covering
    only part of the scan (a neck that ends short of the scan's, a face too
    small, sliding along the surface), a minimum the first direction alone
    cannot see; samples whose closest template point lies on the template's
    open boundary (scan parts the template does not model: shoulders, hair)
    are left out.

    Parameters
    ----------
    model
        The template's phenotype model (``n`` vertices).
    faces
        ``(m, 3)`` template triangles.
    fit_mask
        ``(n,) bool`` vertices matched to the scan.
    surface
        The scan.
    start
        Template-to-scan similarity from the landmark or automatic alignment.
    landmarks
        Landmark constraints in the scan's frame, if any.
    device
        Torch device (float64 on the CPU, float32 elsewhere). On the CPU the fit runs on one torch thread:
        its operations are small (two threads measured no faster on a quiet machine, 0.44 s against 0.46 s
        on an anny head) and, on a machine busy with other work, threads waiting on each other made the
        same fit 3.4 s.

    Returns
    -------
    :class:`PhenotypeFit`
    """
    with torch_threads(1) if torch.device(device).type == "cpu" else nullcontext():
        return _fit_phenotype(model, faces, fit_mask, surface, start, landmarks, settings, device, progress)


def _fit_phenotype(
    model: PhenotypeModel,
    faces: NDArray[np.integer],
    fit_mask: NDArray[np.bool_],
    surface: ScanSurface,
    start: Similarity,
    landmarks: LandmarkTerm | None,
    settings: PhenotypeSettings,
    device: str,
    progress: ProgressFn,
) -> PhenotypeFit:
    dev = torch.device(device)
    dtype = torch.float64 if dev.type == "cpu" else torch.float32
    f = np.asarray(faces, np.int64)
    fit = np.flatnonzero(fit_mask)
    fit_faces = f[fit_mask[f].all(1)]
    edge_of_template = np.zeros(len(fit_mask), bool)
    edge_of_template[_boundary_vertices(fit_faces)] = True
    n_labels = len(model.labels)
    aligned0 = start.apply(model.vertices_numpy())
    centre_np = aligned0[fit].mean(0)
    size = float(np.sqrt(np.mean(np.sum((aligned0[fit] - centre_np) ** 2, 1))))
    r0 = torch.as_tensor(start.rotation, dtype=dtype, device=dev)
    t0 = torch.as_tensor(start.translation, dtype=dtype, device=dev)
    centre = torch.as_tensor(centre_np, dtype=dtype, device=dev)
    samples = np.linspace(0, len(surface.vertices) - 1, min(len(surface.vertices), settings.max_points))
    sample_idx = samples.round().astype(np.int64)
    scan_points = surface.vertices[sample_idx]
    scan_normals = vertex_normals(surface.vertices, surface.faces)[sample_idx]

    def t(a: NDArray[np.generic], *, index: bool = False) -> torch.Tensor:
        return torch.as_tensor(a, device=dev) if index else torch.as_tensor(a, dtype=dtype, device=dev)

    def prepared(index: NDArray[np.int64] | None) -> tuple[torch.Tensor, torch.Tensor]:
        """The start similarity folded into the linear model: ``(k, 3)`` base about the centre, ``(r, k, 3)`` basis."""
        base, basis = model.linear_part(dev, dtype, index)
        return start.scale * base @ r0.T + t0 - centre, start.scale * basis @ r0.T

    def place(state: _State, linear: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
        """``(k, 3)`` the template's vertices in the scan's frame."""
        base, basis = linear
        coeffs = model.coefficients(torch.sigmoid(state.logits)[None])[0]
        x = base + torch.einsum("r,rkd->kd", coeffs, basis)
        return state.scale * x @ state.rotation.T + centre + state.translation

    def pairs(x: NDArray[np.float64]) -> list[_Pairs]:
        """This round's point pairs: template vertices -> scan, scan samples -> template."""
        matches = surface.closest(x[fit])
        limit = settings.trim * float(np.median(matches.distances)) + 1e-6 * size
        keep = match_filter(
            matches, vertex_normals(x, f)[fit], max_distance=limit, max_normal_angle=settings.max_normal_angle
        )
        keep &= _spread(keep, settings.max_points)
        ones = np.zeros((int(keep.sum()), 3))
        ones[:, 0] = 1.0
        forward = _Pairs(np.repeat(fit[keep][:, None], 3, 1), ones, matches.points[keep], matches.normals[keep])
        tri, bary, dist = _closest_on_mesh(x, fit_faces, scan_points)
        corners = fit_faces[tri]
        face_n = np.cross(x[corners[:, 1]] - x[corners[:, 0]], x[corners[:, 2]] - x[corners[:, 0]])
        face_n /= np.maximum(np.linalg.norm(face_n, axis=1, keepdims=True), 1e-20)
        cos_ok = np.einsum("qd,qd->q", face_n, scan_normals) > np.cos(np.radians(settings.max_normal_angle))
        back = (~edge_of_template[corners].any(1)) & cos_ok
        back &= dist <= settings.trim * float(np.median(dist[back])) + 1e-6 * size if back.any() else back
        reverse = _Pairs(corners[back], bary[back], scan_points[back], scan_normals[back])
        return [p for p in (forward, reverse) if len(p.targets)]

    state = _State(
        torch.zeros(n_labels, dtype=dtype, device=dev),  # phenotype = sigmoid(0) = 0.5
        torch.eye(3, dtype=dtype, device=dev),
        torch.zeros(3, dtype=dtype, device=dev),
        1.0,
    )
    rms_before = trimmed_rms(surface, aligned0[fit])
    rounds = max(1, settings.rounds)
    everything = prepared(None)
    with torch.no_grad():
        for step in range(rounds):
            found = pairs(place(state, everything).cpu().numpy().astype(np.float64))
            if not found or len(found[0].targets) < 3:
                break
            lm_idx = landmarks.indices if landmarks is not None else np.zeros((0, 3), np.int64)
            used = np.unique(np.concatenate([p.indices.ravel() for p in found] + [lm_idx.ravel()]))
            count = len(found[0].targets)
            terms = [
                _Term(
                    t(np.searchsorted(used, p.indices), index=True),
                    t(p.weights),
                    t(p.targets),
                    t(p.normals),
                    float(np.sqrt(count / len(p.targets))),
                )
                for p in found
            ]
            if landmarks is not None and len(landmarks.targets):
                w0, w1 = settings.landmark_weight
                weight = w0 * (w1 / w0) ** (step / max(rounds - 1, 1)) if w0 > 0 else 0.0
                terms.append(
                    _Term(
                        t(np.searchsorted(used, landmarks.indices), index=True),
                        t(landmarks.weights),
                        t(landmarks.targets),
                        None,
                        float(np.sqrt(weight)),
                    )
                )
            problem = _Problem(
                model,
                prepared(used.astype(np.int64)),
                terms,
                centre,
                size,
                settings,
                np.sqrt(settings.prior_weight * count),
            )
            state = problem.solve(state, place)
            progress((step + 1) / rounds, f"phenotype fit {step + 1}/{rounds}")
        fitted = place(state, everything).cpu().numpy().astype(np.float64)
    params = torch.sigmoid(state.logits).cpu().numpy().astype(np.float64)
    rot = state.rotation.cpu().numpy().astype(np.float64)
    correction = Similarity(
        rot, centre_np - state.scale * rot @ centre_np + state.translation.cpu().numpy().astype(np.float64), state.scale
    )
    return PhenotypeFit(
        vertices=fitted,
        alignment=start.then(correction),
        phenotype={label: float(v) for label, v in zip(model.labels, params, strict=True)},
        rms_before=rms_before,
        rms_after=trimmed_rms(surface, fitted[fit]),
    )


def trimmed_rms(surface: ScanSurface, points: NDArray[np.float64], keep: float = 0.9) -> float:
    """RMS distance of the ``keep`` share of ``(k, 3)`` points closest to the scan."""
    d = surface.closest(points).distances
    return float(np.sqrt(np.mean(d[d <= np.quantile(d, keep)] ** 2)))


@dataclass(frozen=True)
class _Term:
    """Residuals of template points ``sum(weights * y[index])`` against targets (point-to-plane with normals)."""

    index: torch.Tensor
    weights: torch.Tensor
    targets: torch.Tensor
    normals: torch.Tensor | None
    weight: float


class _Problem:
    """One round's least-squares problem, the matches fixed; residuals in units of the template's size."""

    def __init__(
        self,
        model: PhenotypeModel,
        linear: tuple[torch.Tensor, torch.Tensor],
        terms: list[_Term],
        centre: torch.Tensor,
        size: float,
        settings: PhenotypeSettings,
        prior: float,
    ) -> None:
        self.model, self.linear, self.terms = model, linear, terms
        self.centre, self.size, self.settings, self.prior = centre, size, settings, prior

    def residuals(self, state: _State, y: torch.Tensor) -> torch.Tensor:
        parts = []
        for term in self.terms:
            d = ((y[term.index] * term.weights[..., None]).sum(1) - term.targets) / self.size
            if term.normals is not None:
                parts.append(term.weight * (d * term.normals).sum(1))
                parts.append(term.weight * np.sqrt(self.settings.point_weight) * d.reshape(-1))
            else:
                parts.append(term.weight * d.reshape(-1))
        parts.append(self.prior * (torch.sigmoid(state.logits) - 0.5))
        return torch.cat(parts)

    def jacobian(self, state: _State, y: torch.Tensor) -> torch.Tensor:
        """``(R, L + 7)``: by the phenotype logits, then the incremental rotation, translation (x size), log scale."""
        n_labels = len(state.logits)
        h = 1e-3
        probe = torch.cat(
            [
                state.logits + h * torch.eye(n_labels, dtype=y.dtype, device=y.device),
                state.logits - h * torch.eye(n_labels, dtype=y.dtype, device=y.device),
            ]
        )
        coeffs = self.model.coefficients(torch.sigmoid(probe))
        dcoeffs = (coeffs[:n_labels] - coeffs[n_labels:]) / (2 * h)  # (L, r)
        _, basis = self.linear
        # dy/dlogit: the rotated, scaled basis combination, (k, 3, L)
        dy_dz = state.scale * torch.einsum("lr,rkd->kdl", dcoeffs, basis)
        dy_dz = torch.einsum("ed,kdl->kel", state.rotation, dy_dz)
        rel = y - self.centre
        k = len(y)
        dy = torch.zeros(k, 3, n_labels + 7, dtype=y.dtype, device=y.device)
        dy[:, :, :n_labels] = dy_dz
        # d(omega x rel)/d omega = -[rel]x
        dy[:, 0, n_labels + 1], dy[:, 0, n_labels + 2] = rel[:, 2], -rel[:, 1]
        dy[:, 1, n_labels + 0], dy[:, 1, n_labels + 2] = -rel[:, 2], rel[:, 0]
        dy[:, 2, n_labels + 0], dy[:, 2, n_labels + 1] = rel[:, 1], -rel[:, 0]
        for axis in range(3):
            dy[:, axis, n_labels + 3 + axis] = self.size
        dy[:, :, n_labels + 6] = rel
        rows = []
        for term in self.terms:
            dp = (dy[term.index] * term.weights[..., None, None]).sum(1) / self.size  # (q, 3, P)
            if term.normals is not None:
                rows.append(term.weight * (dp * term.normals[..., None]).sum(1))
                rows.append(term.weight * np.sqrt(self.settings.point_weight) * dp.reshape(-1, dp.shape[-1]))
            else:
                rows.append(term.weight * dp.reshape(-1, dp.shape[-1]))
        sig = torch.sigmoid(state.logits)
        prior = torch.zeros(n_labels, n_labels + 7, dtype=y.dtype, device=y.device)
        prior[:, :n_labels] = self.prior * torch.diag(sig * (1.0 - sig))
        rows.append(prior)
        return torch.cat(rows)

    @staticmethod
    def step(state: _State, delta: torch.Tensor, size: float) -> _State:
        n_labels = len(state.logits)
        rot = _rotation(delta[n_labels : n_labels + 3])
        grow = float(np.exp(float(delta[-1])))
        return _State(
            state.logits + delta[:n_labels],
            rot @ state.rotation,
            grow * state.translation @ rot.T + delta[n_labels + 3 : n_labels + 6] * size,
            grow * state.scale,
        )

    def solve(
        self, state: _State, place: Callable[[_State, tuple[torch.Tensor, torch.Tensor]], torch.Tensor]
    ) -> _State:
        """A few Levenberg-Marquardt steps."""
        damping = 1e-3
        for _ in range(self.settings.iterations):
            y = place(state, self.linear)
            r = self.residuals(state, y)
            jac = self.jacobian(state, y)
            jtj, jtr = jac.T @ jac, jac.T @ r
            cost = float(r @ r)
            eye = torch.eye(len(jtj), dtype=jtj.dtype, device=jtj.device)
            for _attempt in range(6):
                lhs = jtj + damping * (torch.diag(torch.diagonal(jtj)) + 1e-9 * eye)
                candidate = self.step(state, -torch.linalg.solve(lhs, jtr), self.size)
                new = self.residuals(candidate, place(candidate, self.linear))
                if float(new @ new) < cost:
                    state, damping = candidate, max(damping / 3.0, 1e-7)
                    break
                damping *= 10.0
            else:
                return state
        return state


@dataclass(frozen=True)
class _Pairs:
    """Template points (barycentric over ``(k, 3)`` vertex indices) paired with scan points and scan normals."""

    indices: NDArray[np.int64]
    weights: NDArray[np.float64]
    targets: NDArray[np.float64]
    normals: NDArray[np.float64]


def _spread(keep: NDArray[np.bool_], most: int) -> NDArray[np.bool_]:
    """At most ``most`` of the True entries of ``keep``, evenly spread over its order."""
    kept = np.flatnonzero(keep)
    if len(kept) <= most:
        return keep
    out = np.zeros_like(keep)
    out[kept[np.linspace(0, len(kept) - 1, most).round().astype(np.int64)]] = True
    return out


def _boundary_vertices(faces: NDArray[np.int64]) -> NDArray[np.int64]:
    """Vertices on open edges (edges used by one triangle) of ``faces``."""
    edges = np.sort(np.concatenate([faces[:, [0, 1]], faces[:, [1, 2]], faces[:, [2, 0]]]), axis=1)
    unique, counts = np.unique(edges, axis=0, return_counts=True)
    return np.unique(unique[counts == 1])


def _closest_on_mesh(
    vertices: NDArray[np.float64], faces: NDArray[np.int64], queries: NDArray[np.float64]
) -> tuple[NDArray[np.int64], NDArray[np.float64], NDArray[np.float64]]:
    """Closest points of ``(q, 3)`` queries on a triangle mesh: ``(q,)`` triangle, ``(q, 3)`` barycentrics, distance."""
    import open3d as o3d

    scene = o3d.t.geometry.RaycastingScene()
    scene.add_triangles(
        o3d.core.Tensor.from_numpy(np.ascontiguousarray(vertices, np.float32)),
        o3d.core.Tensor.from_numpy(np.ascontiguousarray(faces, np.uint32)),
    )
    res = scene.compute_closest_points(o3d.core.Tensor.from_numpy(np.ascontiguousarray(queries, np.float32)))
    tri = res["primitive_ids"].numpy().astype(np.int64)
    uv = res["primitive_uvs"].numpy().astype(np.float64)
    bary = np.stack([1.0 - uv[:, 0] - uv[:, 1], uv[:, 0], uv[:, 1]], axis=1)
    points = np.einsum("qk,qkd->qd", bary, vertices[faces[tri]])
    return tri, bary, np.linalg.norm(points - queries, axis=1)

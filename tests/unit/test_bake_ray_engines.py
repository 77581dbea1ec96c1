"""Warp's ray kernels against open3d's Embree, on the CPU.

The CUDA baking path runs these same Warp kernels; with no GPU in CI, checking
them on Warp's CPU device against an independent ray tracer is what keeps them
honest here. (The CPU/CUDA agreement itself is tested where a GPU is present.)
"""

from __future__ import annotations

import numpy as np
import pytest

from lifecast.bake.correspond import make_ray_engine
from tests.conftest import icosphere, require_optional

require_optional("warp", "the Warp ray engine needs the 'gpu' extra (warp-lang)")


@pytest.fixture(scope="module")
def engines():  # type: ignore[no-untyped-def]
    mesh = icosphere(3)
    return (
        mesh,
        make_ray_engine(mesh.vertices, mesh.faces, backend="open3d"),
        make_ray_engine(mesh.vertices, mesh.faces, backend="warp", device="cpu"),
    )


def _hit_points(mesh, hits):  # type: ignore[no-untyped-def]
    ok = hits.face >= 0
    corners = mesh.vertices[mesh.faces[hits.face[ok]]]
    return ok, np.einsum("qk,qkd->qd", hits.bary[ok], corners)


def test_ray_casts_agree(engines) -> None:  # type: ignore[no-untyped-def]
    mesh, o3d_rays, warp_rays = engines
    rng = np.random.default_rng(0)
    origins = rng.uniform(-0.4, 0.4, (2000, 3)).astype(np.float32)
    directions = rng.normal(size=(2000, 3)).astype(np.float32)
    directions /= np.linalg.norm(directions, axis=1, keepdims=True)
    a = o3d_rays.cast(origins, directions, t_max=0.8)
    b = warp_rays.cast(origins, directions, t_max=0.8)
    np.testing.assert_array_equal(a.face >= 0, b.face >= 0)
    hit = a.face >= 0
    assert 0.2 < hit.mean() < 0.95, "the test must have both hits and misses within t_max"
    # Measured 1.8e-7 (t), 1.2e-7 (points), 2.4e-7 (distances below) at most: a float32 ulp or two; bounds ~4 ulps.
    np.testing.assert_allclose(a.t[hit], b.t[hit], rtol=0, atol=1e-6)
    _, pa = _hit_points(mesh, a)
    _, pb = _hit_points(mesh, b)
    np.testing.assert_allclose(pa, pb, rtol=0, atol=1e-6)
    np.testing.assert_array_equal(
        o3d_rays.occluded(origins, directions, 0.8), warp_rays.occluded(origins, directions, 0.8)
    )


def test_closest_points_agree(engines) -> None:  # type: ignore[no-untyped-def]
    mesh, o3d_rays, warp_rays = engines
    rng = np.random.default_rng(1)
    points = rng.uniform(-1.5, 1.5, (2000, 3)).astype(np.float32)
    fa, ba = o3d_rays.closest(points)
    fb, bb = warp_rays.closest(points)
    pa = np.einsum("qk,qkd->qd", ba, mesh.vertices[mesh.faces[fa]])
    pb = np.einsum("qk,qkd->qd", bb, mesh.vertices[mesh.faces[fb]])
    # The distance is unique; the point is not where two faces are (nearly) equally close.
    da, db = np.linalg.norm(points - pa, axis=1), np.linalg.norm(points - pb, axis=1)
    np.testing.assert_allclose(da, db, rtol=0, atol=1e-6)  # measured 2.4e-7
    same = np.linalg.norm(pa - pb, axis=1) < 1e-5
    assert same.mean() > 0.99

"""Deep shadow (lifecast.ml.deep_shadow): texels too dark to divide take their albedo from the lit surface around
them, on the surface (never from a chart that only lies close in UV); the division is kept where it is trusted,
and albedo x shading stays the texture."""

from __future__ import annotations

import numpy as np
import pytest

from lifecast.color import srgb_to_linear
from lifecast.ml.deep_shadow import TRUST_FACTOR, blend, fill_from_trusted, refill_deep_shadows, shadow_trust
from lifecast.ml.delight import apply_shading, delight_arrays
from lifecast.ml.geometry_maps import geometry_maps
from lifecast.ml.metrics import albedo_scores
from lifecast.ml.weights import load_delight_model
from tests.ml_helpers import lit_sphere, quad_mesh, square, uv_sphere

RED = np.array([0.8, 0.05, 0.05], np.float32)
BLUE = np.array([0.05, 0.05, 0.8], np.float32)


def test_trust_is_zero_at_the_limit_and_one_from_twice_it() -> None:
    limit = 0.1
    grey = np.array([[0.05, 0.1, 0.15, 0.2, 0.5, 1.0]], np.float32)
    log_s = np.repeat(np.log(grey)[..., None], 3, axis=-1)
    covered = np.ones(grey.shape, bool)
    trust = shadow_trust(log_s, covered, limit)
    assert np.allclose(trust, [[0.0, 0.0, 0.5, 1.0, 1.0, 1.0]], atol=1e-6)
    assert TRUST_FACTOR == 2.0
    # Outside the surface the nearest covered texel's trust, so the upsampled trust has no step at a chart edge.
    covered[0, 0] = False
    padded = shadow_trust(log_s, covered, limit)
    assert padded[0, 0] == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError, match="min_shading"):
        shadow_trust(log_s, covered, 1.5)


def test_blend_keeps_the_division_where_trusted_bit_for_bit() -> None:
    rng = np.random.default_rng(0)
    divided = rng.random((8, 8, 3)).astype(np.float32)
    fill = rng.random((8, 8, 3)).astype(np.float32)
    trust = np.ones((8, 8), np.float32)
    trust[2:4] = 0.0
    trust[5] = 0.25
    out = blend(divided, fill, trust)
    assert np.array_equal(out[trust == 1.0], divided[trust == 1.0])
    assert np.array_equal(out[2:4], fill[2:4])
    assert np.allclose(out[5], 0.25 * divided[5] + 0.75 * fill[5])


def test_nothing_to_fill_and_nothing_to_fill_from_return_none() -> None:
    (g,) = geometry_maps(uv_sphere(16, 8), 32, ao_samples=0, cavity=False)
    albedo = np.full((32, 32, 3), 0.5, np.float32)
    assert fill_from_trusted([albedo], [np.ones((32, 32), np.float32)], [g]) is None
    assert fill_from_trusted([albedo], [np.zeros((32, 32), np.float32)], [g]) is None


def test_a_deep_shadow_takes_colour_from_its_own_chart_not_a_near_one_in_uv() -> None:
    # Two squares 10 units apart in 3D, 3 texels apart in UV: red on the left chart, blue on the right; the left
    # chart's last 8 columns (touching the UV gap) are in deep shadow, their division noise.
    mesh = quad_mesh([(square(0.0), (0.05, 0.1, 0.48, 0.9)), (square(10.0), (0.52, 0.1, 0.95, 0.9))])
    (g,) = geometry_maps(mesh, 64, ao_samples=0, cavity=False)
    left = g.covered & (np.arange(64)[None, :] < 32)
    cols = np.flatnonzero(left.any(axis=0))
    deep = left & (np.arange(64)[None, :] > cols[-1] - 8)
    assert deep.sum() > 100
    rng = np.random.default_rng(1)
    albedo = np.where(left[..., None], RED, BLUE).astype(np.float32)
    albedo[deep] = rng.random((int(deep.sum()), 3)).astype(np.float32)  # 8-bit codes lifted tenfold
    grey = np.where(deep, 0.05, 1.0).astype(np.float32)
    trust = shadow_trust(np.repeat(np.log(grey)[..., None], 3, axis=-1), g.covered, 0.1)
    filled = fill_from_trusted([albedo], [trust], [g])
    assert filled is not None
    out = blend(albedo, filled[0], trust)
    blue_share = out[deep][:, 2] / out[deep].sum(axis=1)
    assert blue_share.max() < 0.1  # red's own share is 0.0556
    assert np.abs(out[deep] - RED).max() < 0.05
    assert np.array_equal(out[g.covered & ~deep], albedo[g.covered & ~deep])


def test_apply_shading_blends_the_fill_and_keeps_albedo_times_shading_the_texture() -> None:
    rng = np.random.default_rng(2)
    size, work = 64, 16
    lit = (0.3 + 0.4 * rng.random((size, size, 3))).astype(np.float32)
    log_s = np.zeros((work, work, 3), np.float32)
    trust = np.ones((work, work), np.float32)
    trust[4:8, 4:8] = 0.0
    fill = np.full((work, work, 3), 0.2, np.float32)
    plain, plain_s = apply_shading(lit, log_s)
    albedo, shading = apply_shading(lit, log_s, fill=fill, trust=trust)
    inside = np.zeros((size, size), bool)
    inside[18:30, 18:30] = True  # well inside the untrusted block once upsampled 4x
    far = np.zeros((size, size), bool)
    far[44:, 44:] = True
    assert np.allclose(albedo[inside], 0.2)
    assert np.array_equal(albedo[far], plain[far])
    assert np.array_equal(shading[far], plain_s[far])
    product = albedo * shading.astype(np.float32)
    assert np.abs(product - lit).max() < 2e-3  # float16 shading
    with pytest.raises(ValueError, match="both"):
        apply_shading(lit, log_s, fill=fill)


def test_the_dark_side_of_a_hard_lit_sphere_is_filled_from_its_lit_side() -> None:
    """A key light with no fill: the far side of the sphere gets 1 % of the light and 8-bit codes. The shipped
    model's division lifts those codes to its limit; with the fill the far side reads as the skin of the lit side."""
    g, albedo, shading = lit_sphere(0.01, seed=3)
    cov = g.covered
    codes = np.round(np.clip(albedo * shading[..., None], 0.0, 1.0) ** (1 / 2.2) * 255.0) / 255.0
    lit = np.asarray(srgb_to_linear(codes.astype(np.float32)), np.float32)
    model, _ = load_delight_model()
    (plain,) = delight_arrays(model, [lit], [g], fill_shadows=False)
    (filled,) = delight_arrays(model, [lit], [g])
    dark = cov & (shading < 0.05)
    assert dark.mean() > 0.2
    assert filled.shadow_filled > 0.2  # measured 0.51 of the working texels; 0.47 under 5 % of the light
    plain_score = albedo_scores(plain.albedo, albedo, cov)["psnr"]
    filled_score = albedo_scores(filled.albedo, albedo, cov)["psnr"]
    assert filled_score > plain_score + 3.0, (plain_score, filled_score)  # measured 22.0 -> 29.2 dB
    assert plain.shadow_filled == 0.0


def test_refill_scores_a_baseline_with_the_same_rule() -> None:
    """The evaluation's fill of any delighter's albedo: a texel the capture clipped to black reads as deepest
    shadow and is filled; the rest is kept."""
    (g,) = geometry_maps(uv_sphere(32, 16), 64, ao_samples=0, cavity=False)
    cov = g.covered
    albedo = np.where(cov[..., None], np.full(3, 0.4, np.float32), 0.0).astype(np.float32)
    lit = albedo.copy()
    black = cov & (np.arange(64)[:, None] < 24)
    lit[black] = 0.0
    estimate = lit.copy()  # a method that divides black by anything gives black
    out = refill_deep_shadows(estimate, lit, g, 0.1)
    assert np.allclose(out[black], 0.4, atol=1e-3)
    assert np.array_equal(out[cov & ~black], estimate[cov & ~black])

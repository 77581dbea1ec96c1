"""The parts of photo projection on small arrays: sampling, blending sums, the exposure solve, framing,
file lookup."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lifecast.color import srgb_to_linear
from lifecast.io.cameras.model import Distortion
from lifecast.photo.blend import BandAccumulator
from lifecast.photo.exposure import ALL_FEATURES, Observations, solve
from lifecast.photo.photos import find_file
from lifecast.photo.sampling import Pyramid, bilinear, decode_srgb
from lifecast.photo.synthetic import look_at
from lifecast.photo.visibility import field_radius, frame
from lifecast.photo.weights import pyramid_levels, view_weights


def test_decode_srgb_matches_the_transfer_function() -> None:
    codes = np.arange(256, dtype=np.uint8).reshape(16, 16, 1).repeat(3, axis=2)
    expected = srgb_to_linear(codes / 255.0)
    assert np.allclose(decode_srgb(codes), expected, atol=1e-7)
    assert np.allclose(decode_srgb(codes.astype(np.float32) / 255.0), expected, atol=1e-6)
    assert decode_srgb(codes[:, :, 0]).shape == (16, 16, 3)


def test_bilinear_reads_pixel_centres_and_interpolates_between() -> None:
    rng = np.random.default_rng(0)
    image = rng.random((40, 50, 3)).astype(np.float32)
    rows, cols = np.meshgrid(np.arange(40), np.arange(50), indexing="ij")
    assert np.allclose(bilinear(image, cols.ravel(), rows.ravel()), image.reshape(-1, 3), atol=1e-6)
    mid = bilinear(image, np.array([10.5]), np.array([20.0]))
    assert np.allclose(mid, 0.5 * (image[20, 10] + image[20, 11]), atol=1e-3)  # remap's 1/32 px weights
    many = rng.random(10_000) * 49  # more lookups than one remap row holds
    assert np.allclose(bilinear(image, many, np.full(10_000, 7.0)), bilinear(image[7:8], many, np.zeros(10_000)))


def test_pyramid_levels_stay_centred_on_the_photo() -> None:
    """A linear ramp is kept by every level (symmetric filters, centres aligned), away from the border."""
    h, w = 96, 128
    rows, cols = np.meshgrid(np.arange(h) + 0.5, np.arange(w) + 0.5, indexing="ij")
    ramp = np.stack([cols / w, rows / h, 0.5 * np.ones_like(rows)], axis=2).astype(np.float32)
    pyramid = Pyramid(ramp)
    assert len(pyramid.levels) == 5  # 128x96 down to 8x6
    rng = np.random.default_rng(1)
    xy = np.stack([rng.uniform(40, 88, 500), rng.uniform(30, 66, 500)], axis=1)
    for level in (0.0, 1.0, 1.5, 2.0, 2.7):
        got = pyramid.sample(xy, np.full(500, level, np.float32))
        assert np.abs(got[:, 0] - xy[:, 0] / w).max() < 2e-3, level
        assert np.abs(got[:, 1] - xy[:, 1] / h).max() < 2e-3, level


def test_pyramid_levels_follow_resolution() -> None:
    full, low = pyramid_levels(np.array([0.5, 1.0, 4.0], np.float32), 8.0)
    assert np.allclose(full, [0.0, 0.0, 2.0])
    assert np.allclose(low, [2.0, 3.0, 5.0])


def test_view_weights_prefer_frontal_sharp_views_away_from_edges() -> None:
    w = view_weights(
        np.array([1.0, 0.5, 0.1, 1.0, 1.0, 1.0]),
        np.array([2.0, 2.0, 2.0, 1.0, 2.0, 2.0]),
        np.array([50.0, 50.0, 50.0, 50.0, 2.5, 0.0]),
        min_cos=0.1,
        feather_px=5.0,
    )
    assert w[0] == pytest.approx(1.0)
    assert w[0] > w[1] > w[2] == 0.0
    assert w[3] == pytest.approx(0.25)  # half the resolution, a quarter of the weight
    assert w[4] == pytest.approx(0.5) and w[5] == 0.0


@settings(max_examples=30, deadline=None)
@given(st.integers(1, 6), st.sampled_from([1.0, 3.0, 8.0, np.inf]), st.integers(0, 2**31 - 1))
def test_band_sums_equal_the_direct_formula(views: int, power: float, seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 20
    weights = rng.uniform(0.01, 1.0, (views, n)).astype(np.float32)
    low = rng.random((views, n, 3)).astype(np.float32)
    full = rng.random((views, n, 3)).astype(np.float32)
    acc = BandAccumulator(n, high_power=power)
    for v in range(views):
        acc.add(v, np.arange(n), weights[v], low[v], full[v])
    colour, covered = acc.result()
    assert covered.all()
    expected_low = (weights[:, :, None] * low).sum(0) / weights.sum(0)[:, None]
    best = weights.argmax(axis=0)
    if np.isinf(power):
        expected_high = (full - low)[best, np.arange(n)]
    else:
        wp = (weights / weights.max(axis=0)) ** power
        expected_high = (wp[:, :, None] * (full - low)).sum(0) / wp.sum(0)[:, None]
    assert np.allclose(colour, np.maximum(expected_low + expected_high, 0), atol=2e-5)
    assert (acc.best == best).all()


def _observations(
    gains: np.ndarray, *, texels: int, outliers: float, vignetting: np.ndarray | None, seed: int
) -> tuple[Observations, np.ndarray]:
    """Each texel of a random albedo seen by a random half of the photos, through their gains (and vignetting)."""
    rng = np.random.default_rng(seed)
    albedo = rng.uniform(0.05, 0.6, (texels, 3))
    position = rng.uniform(-1, 1, (texels, 3))
    obs = Observations()
    for p, gain in enumerate(gains):
        seen = np.flatnonzero(rng.random(texels) < 0.5)
        r2 = rng.uniform(0, 1, len(seen))
        colour = albedo[seen] * gain
        if vignetting is not None:
            colour = colour / (1 + vignetting[p] * r2[:, None]) ** 2
        bad = rng.random(len(seen)) < outliers
        colour[bad] *= rng.uniform(1.5, 3.0, (int(bad.sum()), 1))  # highlights
        colour *= np.exp(rng.normal(0, 0.01, colour.shape))  # noise
        obs.add(p, seen, rng.uniform(0.2, 1.0, len(seen)), np.minimum(colour, 0.96), r2)
    return obs, position


def test_exposure_solve_recovers_gains_despite_highlights() -> None:
    rng = np.random.default_rng(3)
    gains = np.exp(rng.normal(0, 0.2, (8, 3)))
    gains /= np.exp(np.log(gains).mean(axis=0))  # the gauge
    obs, position = _observations(gains, texels=3000, outliers=0.05, vignetting=None, seed=4)
    model = solve(obs, position, 8, ("gain",))
    # Measured 0.44 % at most with 5 % of the observations 1.5-3x too bright.
    assert np.abs(model.gains() / gains - 1).max() < 0.009
    assert np.allclose(np.log(model.gains()).mean(axis=0), 0.0, atol=1e-9)


def test_levelling_solve_recovers_vignetting() -> None:
    rng = np.random.default_rng(5)
    gains = np.exp(rng.normal(0, 0.1, (6, 3)))
    gains /= np.exp(np.log(gains).mean(axis=0))
    strength = rng.uniform(0.1, 0.3, 6)
    obs, position = _observations(gains, texels=3000, outliers=0.0, vignetting=strength, seed=6)
    model = solve(obs, position, 6, ALL_FEATURES)
    r2 = np.linspace(0, 1, 5)
    for p in range(6):
        fitted = model.factor(p, r2, np.zeros((5, 3))) / model.gains()[p]
        true = 1 / (1 + strength[p] * r2[:, None]) ** 2
        assert np.abs(fitted / true - 1).max() < 0.006  # measured 0.28 %
    assert np.abs(model.gains() / gains - 1).max() < 0.004  # measured 0.17 %


def test_many_photos_solve_sparse_as_few_solve_dense(monkeypatch: pytest.MonkeyPatch) -> None:
    """The reduced system is sparse past a size (memory grows with the overlaps, not the photo count squared):
    the same corrections as the dense solve."""
    from lifecast.photo import exposure

    rng = np.random.default_rng(7)
    gains = np.exp(rng.normal(0, 0.15, (12, 3)))
    obs, position = _observations(gains, texels=2000, outliers=0.02, vignetting=rng.uniform(0.1, 0.2, 12), seed=8)
    dense = solve(obs, position, 12, ALL_FEATURES)
    monkeypatch.setattr(exposure, "_DENSE_UNKNOWNS", 0)
    sparse = solve(obs, position, 12, ALL_FEATURES)
    np.testing.assert_allclose(sparse.theta, dense.theta, rtol=1e-7, atol=1e-10)


def test_no_observation_solves_to_no_correction() -> None:
    model = solve(Observations(), np.zeros((0, 3)), 4, ("gain", "r2"))
    assert np.allclose(model.gains(), 1.0)
    assert np.allclose(model.factor(0, np.ones(3), np.zeros((3, 3))), 1.0)


def test_framing_refuses_points_behind_outside_or_folded_back_by_the_lens() -> None:
    lens = Distortion("opencv", (-0.2, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0))  # turns back beyond r = 1.29
    cam = look_at("c.jpg", np.array([0.0, 0.0, -10.0]), np.zeros(3), np.array([0.0, -1.0, 0.0]), 400, 300,
                  300.0, lens)  # fmt: skip
    points = np.array(
        [[0.0, 0.0, 0.0],  # in front, centre
         [0.0, 0.0, -20.0],  # behind
         [18.0, 0.0, 0.0],  # far outside the field (r = 1.8), where the polynomial folds back into the photo
         [8.0, 0.0, 0.0]],  # just outside the photo (r = 0.8, 409 px)
        np.float32,
    )  # fmt: skip
    facing = np.tile(np.array([[0.0, 0.0, -1.0]], np.float32), (4, 1))
    folded, _ = cam.project(points[2:3])
    assert 0 <= folded[0, 0] < 400  # the lens model alone would put it inside the photo
    framed = frame(cam, points, facing, 0.1, field_radius(cam))
    assert framed.index.tolist() == [0]
    assert np.allclose(framed.xy[0], [200.0, 150.0])


def test_find_file_tries_the_folder_the_name_and_the_stem(tmp_path: Path) -> None:
    (tmp_path / "IMG_1.JPG").write_bytes(b"x")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "IMG_2.png").write_bytes(b"x")
    assert find_file(tmp_path, "IMG_1.JPG") == tmp_path / "IMG_1.JPG"
    assert find_file(tmp_path, "photos\\IMG_1.JPG") == tmp_path / "IMG_1.JPG"
    assert find_file(tmp_path, "IMG_1.tif") == tmp_path / "IMG_1.JPG"
    assert find_file(tmp_path, "sub/IMG_2.png") == tmp_path / "sub" / "IMG_2.png"
    assert find_file(tmp_path, "IMG_3.jpg") is None

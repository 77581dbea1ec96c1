"""Procedural skin albedo (lifecast.ml.skin) and the 3D noise under it (lifecast.ml.noise)."""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray

from lifecast.ml.noise import band_weight, fbm, ridge_lines, spots, value_noise, value_noise_fields, zero_density
from lifecast.ml.skin import (
    ALBEDO_MAX,
    ALBEDO_MIN,
    FaceFrame,
    SkinParams,
    chromophore_albedo,
    random_skin_params,
    skin_albedo,
)

# A head-sized ellipsoid (metres) with a lower-face bulge, facing +z, and landmarks on it.
_A, _B, _C = 0.075, 0.11, 0.095


def _surface_z(x: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.float64]:
    egg = _C * np.sqrt(np.clip(1 - (x / _A) ** 2 - (y / _B) ** 2, 0, 1))
    return egg + 0.04 * np.exp(-((x / 0.04) ** 2) - ((y + 0.07) / 0.04) ** 2)


def _on_head(x: float, y: float, dz: float = 0.0) -> NDArray[np.float64]:
    return np.array([x, y, float(_surface_z(np.array(x), np.array(y))) + dz])


def _head_points(xy: NDArray[np.float64]) -> NDArray[np.float32]:
    """``(n, 2)`` x, y to ``(n, 3)`` points on the head surface."""
    return np.column_stack([xy, _surface_z(xy[:, 0], xy[:, 1])]).astype(np.float32)


FACE = FaceFrame(
    {
        "nasion": _on_head(0, 0.03),
        "nose_tip": _on_head(0, -0.01, 0.025),
        "upper_lip": _on_head(0, -0.038),
        "lower_lip": _on_head(0, -0.056),
        "mouth_corner_left": _on_head(0.025, -0.047),
        "mouth_corner_right": _on_head(-0.025, -0.047),
        "chin": _on_head(0, -0.09),
        "eye_inner_left": _on_head(0.016, 0.022),
        "eye_inner_right": _on_head(-0.016, 0.022),
        "eye_outer_left": _on_head(0.045, 0.024),
        "eye_outer_right": _on_head(-0.045, 0.024),
        "ear_left": np.array([0.075, 0.0, 0.0]),
        "ear_right": np.array([-0.075, 0.0, 0.0]),
        "head_top": np.array([0.0, 0.11, 0.0]),
    }
)


def _plane(n: int, spacing: float, seed: int = 0) -> NDArray[np.float32]:
    """``(n * n, 3)`` points of an obliquely oriented square grid with the given spacing (metres)."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.normal(size=(3, 3)))
    u = (np.arange(n) - n / 2) * spacing
    gu, gv = np.meshgrid(u, u, indexing="ij")
    origin = rng.uniform(-0.1, 0.1, size=3)
    return (origin + gu.reshape(-1, 1) * q[:, 0] + gv.reshape(-1, 1) * q[:, 1]).astype(np.float32)


def _luminance(rgb: NDArray[np.floating]) -> NDArray[np.float64]:
    return np.asarray(rgb, np.float64) @ np.array([0.2126, 0.7152, 0.0722])


def _lab(rgb: NDArray[np.floating]) -> NDArray[np.float64]:
    """Linear Rec.709 ``(n, 3)`` to CIELAB (D65), ``(n, 3)``."""
    m = np.array([[0.4124, 0.3576, 0.1805], [0.2126, 0.7152, 0.0722], [0.0193, 0.1192, 0.9505]])
    xyz = np.asarray(rgb, np.float64) @ m.T / m.sum(axis=1)
    f = np.where(xyz > 216 / 24389, np.cbrt(xyz), (24389 / 27 * xyz + 16) / 116)
    return np.column_stack([116 * f[:, 1] - 16, 500 * (f[:, 0] - f[:, 1]), 200 * (f[:, 1] - f[:, 2])])


FULL = SkinParams(seed=11, melanin=0.3, freckle_strength=0.8, stubble_strength=0.8, vein_strength=0.9)


# --- noise -------------------------------------------------------------------------------------------------------


def test_value_noise_is_bounded_centred_and_seeded() -> None:
    p = np.random.default_rng(0).uniform(-500, 500, size=(20000, 3)).astype(np.float32)
    a, b = value_noise(p, 1), value_noise(p, 2)
    assert a.dtype == np.float32 and a.shape == (20000,)
    assert np.all(np.abs(a) <= 1.0)
    assert abs(float(a.mean())) < 0.02 and 0.25 < float(a.std()) < 0.55
    np.testing.assert_array_equal(a, value_noise(p, 1))
    assert abs(float(np.corrcoef(a, b)[0, 1])) < 0.05
    fields = value_noise_fields(p, 1, 4)
    assert fields.shape == (4, 20000)
    assert np.all(np.abs(np.corrcoef(fields) - np.eye(4)) < 0.05)


def test_value_noise_agrees_at_lattice_points_from_both_sides() -> None:
    # A lattice point is the corner of 8 cells: approaching it from any side gives the same value.
    corner = np.array([[3.0, -7.0, 12.0]], np.float32)
    sides = corner + np.array([[s * 1e-4, t * 1e-4, u * 1e-4] for s in (-1, 1) for t in (-1, 1) for u in (-1, 1)])
    v = value_noise(sides.astype(np.float32), 5)
    assert np.ptp(v) < 1e-3


def test_band_weight_fades_between_two_and_four_texels() -> None:
    assert band_weight(2e-3, 1e-3) == 0.0
    assert band_weight(4e-3, 1e-3) == 1.0
    assert 0.0 < band_weight(3e-3, 1e-3) < 1.0
    assert band_weight(1e-9, 0.0) == 1.0


def _high_freq(img: NDArray[np.floating], shortest: float = 8.0) -> float:
    """Energy of ``(n, n)`` ``img`` at wavelengths under ``shortest`` samples."""
    n = img.shape[0]
    window = np.outer(np.hanning(n), np.hanning(n))  # no leakage from the patch's edges
    spec = np.abs(np.fft.fft2((img - img.mean()) * window)) ** 2
    f = np.fft.fftfreq(n)
    radius = np.hypot(*np.meshgrid(f, f, indexing="ij"))
    return float(spec[radius > 1.0 / shortest].sum())


def test_fbm_drops_octaves_finer_than_the_texel() -> None:
    p = _plane(128, 2e-4)
    full = fbm(p, 3, wavelength=0.02, octaves=7, texel_size=0.0).reshape(128, 128)
    coarse = fbm(p, 3, wavelength=0.02, octaves=7, texel_size=1e-3).reshape(128, 128)
    # Texels of 1 mm keep nothing under 2 mm (10 samples): that band is empty, the coarse octaves are unchanged.
    assert _high_freq(coarse, 10.0) < 0.01 * _high_freq(full, 10.0)
    assert coarse.var() < full.var()
    assert np.corrcoef(coarse.reshape(-1), full.reshape(-1))[0, 1] > 0.9


def test_spots_mean_matches_the_mean_band_limiting_fades_to() -> None:
    p = np.random.default_rng(1).uniform(-0.05, 0.05, size=(200000, 3)).astype(np.float32)

    def dots(texel: float) -> NDArray[np.float32]:
        return spots(p, 9, cell=1e-3, radius=(0.15, 0.45), probability=0.6, intensity_jitter=0.5, texel_size=texel)

    sharp, faded = dots(0.0), dots(1e-2)
    assert float(np.ptp(faded)) == 0.0
    assert sharp.min() == 0.0 and sharp.max() > 0.9
    assert float(faded[0]) == pytest.approx(float(sharp.mean()), rel=0.12)


def test_ridge_lines_mean_matches_the_mean_band_limiting_fades_to() -> None:
    p = np.random.default_rng(2).uniform(-0.2, 0.2, size=(200000, 3)).astype(np.float32)
    sharp = ridge_lines(p, 4, wavelength=5e-3, width=0.1, texel_size=0.0)
    faded = ridge_lines(p, 4, wavelength=5e-3, width=0.1, texel_size=1.0)
    widened = ridge_lines(p, 4, wavelength=5e-3, width=0.1, texel_size=1.6e-3)  # lines widened and dimmed
    assert float(faded[0]) == pytest.approx(zero_density() * 0.1)
    assert float(sharp.mean()) == pytest.approx(float(faded[0]), rel=0.15)
    assert float(widened.mean()) == pytest.approx(float(faded[0]), rel=0.15)
    assert widened.max() < 0.7 * sharp.max()


# --- skin: contract -----------------------------------------------------------------------------------------------


def test_albedo_shape_dtype_and_range_over_random_people() -> None:
    rng = np.random.default_rng(0)
    xy = np.column_stack([rng.uniform(-0.06, 0.06, 3000), rng.uniform(-0.1, 0.06, 3000)])
    p = _head_points(xy)
    for _ in range(12):
        params = random_skin_params(rng)
        for face in (None, FACE):
            out = skin_albedo(p, params, face, texel_size=float(rng.choice([0.0, 1e-4, 5e-4, 2e-3])))
            assert out.shape == (3000, 3) and out.dtype == np.float32
            assert np.all(np.isfinite(out))
            assert out.min() >= ALBEDO_MIN and out.max() <= ALBEDO_MAX


def test_same_seed_same_albedo_other_seed_different() -> None:
    p = _plane(64, 2e-4)
    a = skin_albedo(p, FULL, FACE, texel_size=2e-4)
    np.testing.assert_array_equal(a, skin_albedo(p, FULL, FACE, texel_size=2e-4))
    other = SkinParams(**{**FULL.__dict__, "seed": FULL.seed + 1})
    b = skin_albedo(p, other, FACE, texel_size=2e-4)
    assert np.abs(a - b).mean() > 0.005
    # Same tone parameters: the seed changes the pattern, not the overall colour.
    np.testing.assert_allclose(a.mean(axis=0), b.mean(axis=0), rtol=0.15)


def test_any_subset_and_any_order_gives_the_same_values() -> None:
    # Evaluation is point-wise: a random subset (crossing the internal chunks) equals the full evaluation.
    rng = np.random.default_rng(3)
    xy = np.column_stack([rng.uniform(-0.06, 0.06, 70000), rng.uniform(-0.1, 0.06, 70000)])
    p = _head_points(xy)
    full = skin_albedo(p, FULL, FACE, texel_size=1e-4)
    idx = rng.permutation(len(p))[:5000]
    np.testing.assert_array_equal(skin_albedo(p[idx], FULL, FACE, texel_size=1e-4), full[idx])


def test_bad_arguments_are_rejected() -> None:
    with pytest.raises(ValueError, match="position"):
        skin_albedo(np.zeros((4, 2), np.float32), FULL)
    with pytest.raises(ValueError, match="texel_size"):
        skin_albedo(np.zeros((4, 3), np.float32), FULL, texel_size=-1.0)
    with pytest.raises(ValueError, match="melanin"):
        SkinParams(seed=0, melanin=1.5)
    with pytest.raises(ValueError, match="pore_size"):
        SkinParams(seed=0, melanin=0.5, pore_size=0.0)
    assert skin_albedo(np.zeros((0, 3), np.float32), FULL).shape == (0, 3)


# --- skin: tone -------------------------------------------------------------------------------------------------


def test_chromophore_model_spans_measured_skin_colour() -> None:
    # Del Bino & Bernerd 2013: very light skin has ITA > 55 deg, dark skin ITA < -30 deg; L* spans about 25-75.
    lab = _lab(chromophore_albedo(np.array([0.0, 1.0], np.float32), np.array([0.5, 0.5], np.float32)))
    ita = np.degrees(np.arctan2(lab[:, 0] - 50, lab[:, 2]))
    assert 68 <= lab[0, 0] <= 78 and ita[0] > 55
    assert 22 <= lab[1, 0] <= 33 and ita[1] < -30
    assert np.all((lab[:, 1] > 3) & (lab[:, 1] < 20) & (lab[:, 2] > 3) & (lab[:, 2] < 30))  # reddish-yellow
    # More melanin is darker; more blood is redder (higher a*) at the same melanin.
    m = np.linspace(0, 1, 11, dtype=np.float32)
    assert np.all(np.diff(_luminance(chromophore_albedo(m, np.full(11, 0.5, np.float32)))) < 0)
    blood = _lab(chromophore_albedo(np.full(3, 0.2, np.float32), np.array([0.1, 0.5, 1.0], np.float32)))
    assert np.all(np.diff(blood[:, 1]) > 1.0)


def test_random_people_span_very_light_to_very_dark_roughly_uniformly() -> None:
    rng = np.random.default_rng(7)
    p = _plane(12, 5e-3)
    lightness = []
    freckled = stubbled = 0
    for _ in range(240):
        params = random_skin_params(rng)
        lightness.append(_lab(skin_albedo(p, params, texel_size=5e-3).mean(axis=0, keepdims=True))[0, 0])
        freckled += params.freckle_strength > 0
        stubbled += params.stubble_strength > 0
    lstar = np.array(lightness)
    assert lstar.max() > 66 and lstar.min() < 34  # very light (Fitzpatrick I) to very dark (VI)
    counts, _ = np.histogram(lstar, bins=4, range=(27, 73))
    assert counts.min() >= 0.12 * len(lstar)  # every quarter of the range well populated
    assert 0.15 * 240 < freckled < 0.7 * 240 and 0.35 * 240 < stubbled < 0.7 * 240


def test_drawing_a_person_uses_the_generator_as_the_first_release_did() -> None:
    # The evaluation's captures draw the skin and then the light from one generator: the skin's later additions
    # (more stubble, beards down the neck, albedo patches) come from a child generator, so every held-out light,
    # and so the published scores, stay what they were. Values: the next draw after the first release's
    # random_skin_params (lifecast 2026-12-07, before delight_base_v2).
    expected = {
        2000001000: 0.47219181304804825,
        2000001001: 0.9311850621303177,
        2000001005: 0.40566435554883873,
        2000000003: 0.4591130457506163,
        12345: 0.6974534998820221,
    }
    for seed, after in expected.items():
        rng = np.random.default_rng(seed)
        random_skin_params(rng)
        assert rng.uniform() == after


def test_albedo_patches_change_the_tone_in_large_soft_regions_only() -> None:
    p = _plane(160, 2e-3)  # 32 cm square
    plain = SkinParams(seed=5, melanin=0.4)
    darker = SkinParams(seed=5, melanin=0.4, patch_strength=1.0)
    lighter = SkinParams(seed=5, melanin=0.4, patch_strength=-1.0)
    a, d, li = (skin_albedo(p, s, texel_size=2e-3).mean(axis=1) for s in (plain, darker, lighter))
    changed = np.abs(d - a) > 0.01 * a
    assert 0.03 < changed.mean() < 0.7  # patches, not the whole skin
    assert np.all(d <= a + 1e-6) and np.all(li >= a - 1e-6)  # melanin added darkens, removed lightens
    # Large: a texel 1 cm from a changed one is mostly changed too (no speckle).
    grid = changed.reshape(160, 160)
    assert (grid[:, :-5] & grid[:, 5:]).sum() > 0.7 * grid[:, :-5].sum()
    with pytest.raises(ValueError, match="patch_strength"):
        SkinParams(seed=1, melanin=0.3, patch_strength=1.5)


# --- skin: continuity and band-limiting ---------------------------------------------------------------------------


@pytest.mark.parametrize("face", [None, FACE])
def test_albedo_is_continuous_so_seams_do_not_show(face: FaceFrame | None) -> None:
    # Pairs of points 1 micrometre apart (a UV seam puts the same surface point in two charts) differ by
    # about gradient * 1 um: tiny, while any jump in the field would show up as a large difference.
    rng = np.random.default_rng(5)
    xy = np.column_stack([rng.uniform(-0.06, 0.06, 40000), rng.uniform(-0.1, 0.06, 40000)])
    p = _head_points(xy)
    step = rng.normal(size=p.shape)
    step *= 1e-6 / np.linalg.norm(step, axis=1, keepdims=True)
    a = skin_albedo(p, FULL, face, texel_size=1e-4)
    b = skin_albedo((p + step).astype(np.float32), FULL, face, texel_size=1e-4)
    far = skin_albedo((p + 300 * step).astype(np.float32), FULL, face, texel_size=1e-4)
    assert np.abs(a - b).max() < 0.01
    assert np.abs(a - far).max() > 10 * np.abs(a - b).max()  # the tolerance is not too loose to see a change


def test_coarser_texels_remove_high_frequencies_and_keep_the_mean() -> None:
    n, spacing = 192, 1e-4
    p = _plane(n, spacing, seed=4)
    fine = _luminance(skin_albedo(p, FULL, texel_size=spacing)).reshape(n, n)
    coarse = _luminance(skin_albedo(p, FULL, texel_size=8 * spacing)).reshape(n, n)
    assert _high_freq(coarse) < 0.25 * _high_freq(fine)
    assert coarse.mean() == pytest.approx(fine.mean(), rel=0.05)


# --- skin: face features ------------------------------------------------------------------------------------------


def _redness(rgb: NDArray[np.floating]) -> float:
    return float(np.mean(rgb[:, 0] / rgb[:, 1]))


def _patch(
    rng: np.random.Generator, x: float, y: float, half_x: float, half_y: float, n: int = 2000
) -> NDArray[np.float32]:
    xy = np.column_stack([rng.uniform(x - half_x, x + half_x, n), rng.uniform(y - half_y, y + half_y, n)])
    return _head_points(xy)


def test_lips_are_redder_and_darker_than_cheeks_with_a_face_frame() -> None:
    rng = np.random.default_rng(8)
    lips = _patch(rng, 0.0, -0.047, 0.012, 0.004)
    cheeks = np.concatenate([_patch(rng, 0.045, -0.02, 0.008, 0.008), _patch(rng, -0.045, -0.02, 0.008, 0.008)])
    for melanin in (0.05, 0.5, 0.95):
        params = SkinParams(seed=2, melanin=melanin, lip_strength=0.7)
        lip_rgb, cheek_rgb = skin_albedo(lips, params, FACE), skin_albedo(cheeks, params, FACE)
        assert _redness(lip_rgb) > 1.1 * _redness(cheek_rgb)
        assert _luminance(lip_rgb).mean() < _luminance(cheek_rgb).mean()
    # Without landmarks there are no lips: the mouth area is as red as the cheeks.
    params = SkinParams(seed=2, melanin=0.3, redness=0.0)
    assert _redness(skin_albedo(lips, params)) == pytest.approx(_redness(skin_albedo(cheeks, params)), rel=0.05)


def test_stubble_darkens_the_beard_area_only_for_people_with_stubble() -> None:
    rng = np.random.default_rng(9)
    jaw = np.concatenate([_patch(rng, 0.0, -0.08, 0.01, 0.008), _patch(rng, 0.05, -0.06, 0.006, 0.008)])
    forehead = _patch(rng, 0.0, 0.07, 0.02, 0.008)
    shaved = SkinParams(seed=4, melanin=0.2, stubble_strength=0.0)
    bearded = SkinParams(seed=4, melanin=0.2, stubble_strength=0.9)
    jaw_ratio = skin_albedo(jaw, bearded, FACE) / skin_albedo(jaw, shaved, FACE)
    assert jaw_ratio.mean() < 0.8
    assert jaw_ratio[:, 2].mean() > jaw_ratio[:, 0].mean()  # blue-grey: the blue channel darkens least
    np.testing.assert_array_equal(skin_albedo(forehead, bearded, FACE), skin_albedo(forehead, shaved, FACE))
    np.testing.assert_array_equal(skin_albedo(jaw, bearded), skin_albedo(jaw, shaved))  # needs a face frame


def test_freckles_darken_only_people_with_freckles() -> None:
    p = _plane(96, 3e-4, seed=6)
    plain = SkinParams(seed=6, melanin=0.1, freckle_strength=0.0, freckle_density=0.8)
    freckled = SkinParams(seed=6, melanin=0.1, freckle_strength=1.0, freckle_density=0.8)
    ratio = _luminance(skin_albedo(p, freckled)) / _luminance(skin_albedo(p, plain))
    assert ratio.max() <= 1.0 + 1e-6
    assert 0.01 < np.mean(ratio < 0.9) < 0.6  # sparse dark spots, not a uniform darkening


def test_missing_landmarks_leave_features_out_without_failing() -> None:
    p = _patch(np.random.default_rng(10), 0.0, -0.04, 0.05, 0.05)
    plain = skin_albedo(p, FULL)
    np.testing.assert_array_equal(skin_albedo(p, FULL, FaceFrame({})), plain)
    only_mouth = FaceFrame({k: FACE.landmarks[k] for k in ("upper_lip", "lower_lip", "chin", "nasion")})
    np.testing.assert_array_equal(skin_albedo(p, FULL, only_mouth), plain)  # no across-face pair: no frame
    partial = FaceFrame({k: v for k, v in FACE.landmarks.items() if not k.startswith("ear")})
    out = skin_albedo(p, FULL, partial)
    assert np.all(np.isfinite(out)) and np.abs(out - plain).max() > 0.01

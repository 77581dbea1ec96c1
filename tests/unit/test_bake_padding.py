"""lifecast.bake.padding: every uncovered texel is filled, covered ones are left alone."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lifecast.bake import pad_edges


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 10_000), h=st.integers(1, 40), w=st.integers(1, 40))
def test_push_pull_fills_all_and_keeps_covered(seed: int, h: int, w: int) -> None:
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, (h, w, 3)).astype(np.uint8)
    mask = rng.random((h, w)) < 0.2
    mask.flat[rng.integers(0, h * w)] = True
    background = image.copy()
    background[~mask] = 0
    out = pad_edges(background, mask)
    assert out.dtype == np.uint8 and out.shape == image.shape
    np.testing.assert_array_equal(out[mask], background[mask])
    # Filled values are convex combinations of covered ones: within their range per channel.
    lo, hi = background[mask].min(axis=0), background[mask].max(axis=0)
    assert ((out >= lo) & (out <= hi)).all()


def test_fill_takes_the_nearby_chart_colour() -> None:
    image = np.zeros((64, 64, 3), np.uint8)
    mask = np.zeros((64, 64), bool)
    mask[4:20, 4:20] = True
    image[mask] = (200, 10, 10)
    mask[40:60, 40:60] = True
    image[40:60, 40:60] = (10, 10, 200)
    out = pad_edges(image, mask)
    np.testing.assert_array_equal(out[21, 10], (200, 10, 10))
    np.testing.assert_array_equal(out[38, 50], (10, 10, 200))


def test_dilation_fills_only_the_requested_rings() -> None:
    image = np.zeros((21, 21), np.float32)
    mask = np.zeros((21, 21), bool)
    mask[10, 10] = True
    image[10, 10] = 7.0
    out = pad_edges(image, mask, iterations=2)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out[8:13, 8:13], np.full((5, 5), 7.0, np.float32))
    assert out[7, 10] == 0.0 and out[10, 13] == 0.0


def test_no_coverage_returns_the_image() -> None:
    image = np.full((4, 4, 3), 9, np.uint8)
    np.testing.assert_array_equal(pad_edges(image, np.zeros((4, 4), bool)), image)


def test_mask_shape_must_match() -> None:
    with pytest.raises(ValueError):
        pad_edges(np.zeros((4, 4, 3), np.uint8), np.zeros((4, 5), bool))


def _reference_push_pull(image: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The plain numpy push-pull (2x2 sums, parent-texel fills) the OpenCV path must reproduce."""

    def down(a: np.ndarray) -> np.ndarray:
        a = np.pad(a, [(0, a.shape[0] % 2), (0, a.shape[1] % 2)] + [(0, 0)] * (a.ndim - 2)).astype(np.float64)
        return a[0::2, 0::2] + a[1::2, 0::2] + a[0::2, 1::2] + a[1::2, 1::2]

    def fill(level: np.ndarray, known: np.ndarray, coarse: np.ndarray) -> np.ndarray:
        rows, cols = np.indices(known.shape)
        out = level.copy()
        out[~known] = coarse[rows // 2, cols // 2][~known]
        return out

    colour, cover = down(np.where(mask[..., None], image, 0)), down(mask)
    pyramid = [(colour, cover)]
    while max(cover.shape) > 1:
        colour, cover = down(colour), down(cover)
        pyramid.append((colour, cover))
    filled = colour / np.maximum(cover, 1e-12)[..., None]
    for colour, cover in reversed(pyramid[:-1]):
        filled = fill(colour / np.maximum(cover, 1e-12)[..., None], cover > 0, filled)
    return fill(image.astype(np.float64), mask, filled)


@pytest.mark.parametrize("dtype", [np.uint16, np.float32, np.float16])
@pytest.mark.parametrize("shape", [(37, 53), (64, 64)])
def test_push_pull_matches_the_plain_numpy_reference(dtype: type, shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(5)
    mask = rng.random(shape) < 0.1
    image = np.zeros((*shape, 3), dtype)
    image[mask] = rng.uniform(100, 60000, (int(mask.sum()), 3)).astype(dtype)
    out = pad_edges(image, mask)
    assert out.dtype == dtype
    expected = _reference_push_pull(image, mask)
    tolerance = {np.uint16: 0.5, np.float32: 0.05, np.float16: 64.0}[dtype]  # rounding / float16 spacing at 6e4
    np.testing.assert_allclose(out.astype(np.float64), expected, atol=tolerance, rtol=1e-5)


def test_fill_transform_renormalises_padded_vectors() -> None:
    rng = np.random.default_rng(2)
    mask = rng.random((32, 32)) < 0.3
    vectors = rng.normal(size=(32, 32, 3))
    vectors /= np.linalg.norm(vectors, axis=2, keepdims=True)
    image = np.where(mask[..., None], vectors, 0.0).astype(np.float32)

    def unit(v: np.ndarray) -> np.ndarray:
        return v / np.linalg.norm(v, axis=-1, keepdims=True)

    plain = pad_edges(image, mask)
    renormalised = pad_edges(image, mask, fill_transform=unit)
    assert np.linalg.norm(plain[~mask], axis=1).min() < 0.9  # averaging random directions shortens them
    np.testing.assert_allclose(np.linalg.norm(renormalised[~mask], axis=1), 1.0, atol=1e-5)
    np.testing.assert_array_equal(renormalised[mask], image[mask])

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

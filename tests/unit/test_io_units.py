"""Units and up-axis parsing and guessing."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from lifecast.io.units import (
    bounding_box_extent,
    guess_units,
    parse_units,
    parse_up_axis,
    plausibility_note,
    size_problem,
)
from lifecast.mesh import METERS_PER_UNIT


@pytest.mark.parametrize(
    ("word", "units"), [("mm", "mm"), ("Millimetres", "mm"), ("cm", "cm"), ("meters", "m"), ("M", "m"), ("ft", None)]
)
def test_parse_units(word: str, units: str | None) -> None:
    assert parse_units(word) == units


@pytest.mark.parametrize(("word", "up"), [("y", "y"), ("+Z", "z"), ("z_up", "z"), ("Y-up", "y"), ("x", None)])
def test_parse_up_axis(word: str, up: str | None) -> None:
    assert parse_up_axis(word) == up


@pytest.mark.parametrize(
    ("extent", "units"), [(250.0, "mm"), (1800.0, "mm"), (25.0, "cm"), (180.0, "mm"), (0.25, "m"), (1.8, "m")]
)
def test_guess_units_for_heads_and_bodies(extent: float, units: str) -> None:
    assert guess_units(extent) == units


@given(st.floats(min_value=0.2, max_value=2.5), st.sampled_from(["mm", "cm", "m"]))
def test_a_person_in_any_units_is_guessed_to_a_person_sized_scan(meters: float, units: str) -> None:
    extent = meters / METERS_PER_UNIT[units]
    guessed = guess_units(extent)
    assert 0.05 <= extent * METERS_PER_UNIT[guessed] <= 30.0
    assert size_problem(extent, guessed) is None


@given(st.floats(min_value=1e-3, max_value=1e7, allow_nan=False))
def test_guess_is_monotonic_in_size(extent: float) -> None:
    order = {"m": 0, "cm": 1, "mm": 2}
    assert order[guess_units(extent)] <= order[guess_units(extent * 2.0)]


def test_size_limits_and_plausibility() -> None:
    assert size_problem(2e6, "mm") is not None  # 2 km
    assert size_problem(5e-4, "mm") is not None  # 0.5 micrometre
    assert size_problem(300.0, "mm") is None
    assert plausibility_note(0.3, "m") is None
    assert plausibility_note(8.5, "m") is not None


def test_bounding_box_extent_ignores_non_finite_rows() -> None:
    v = np.array([[0, 0, 0], [2, 1, 0], [np.nan, 100, 0], [np.inf, 0, 0]], np.float32)
    assert bounding_box_extent(v) == 2.0
    assert bounding_box_extent(np.full((2, 3), np.nan)) == 0.0

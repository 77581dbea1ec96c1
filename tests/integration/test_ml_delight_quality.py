"""The shipped delight weights against the baselines on held-out captures (docs/ml.md has the full table).

Held out: the Lee Perry-Smith head (never a training mesh) with its real colour map as the albedo, and
ICT-FaceKit's face with skins and lights of seeds training never draws, both lit by the project's generator.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lifecast.ml.evaluate import evaluate
from lifecast.ml.weights import load_delight_model

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def scores(shared_scans: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    model, _ = load_delight_model()
    cache = tmp_path_factory.mktemp("ml_cache")
    return evaluate(model, cache, captures=2, meshes=("ict-neutral",))


@pytest.mark.parametrize("held_out", ["lee-perry-smith", "procedural"])
def test_delight_beats_the_lit_input_and_the_baselines(scores: dict, held_out: str) -> None:
    rows = scores["sets"][held_out]
    model = rows["lifecast delight"]
    lit = rows["lit input"]
    best = max(rows["divide by AO"]["psnr"], rows["Unity-style SH + AO"]["psnr"])
    assert model["psnr"] >= lit["psnr"] + 3.0, rows
    assert model["psnr"] >= best + MARGIN[held_out], rows
    assert model["ssim"] >= lit["ssim"], rows


@pytest.mark.parametrize("held_out", ["lee-perry-smith", "procedural"])
def test_the_model_leads_without_the_shadow_fill_and_against_a_baseline_given_it(scores: dict, held_out: str) -> None:
    """The deep-shadow fill (lifecast.ml.deep_shadow) is a large share of the lead: the model must still lead the
    Unity-style fit without it, and lead that fit when both get the fill."""
    rows = scores["sets"][held_out]
    unity = rows["Unity-style SH + AO"]["psnr"]
    assert rows["lifecast delight, no shadow fill"]["psnr"] >= unity + MODEL_MARGIN[held_out], rows
    assert rows["lifecast delight"]["psnr"] >= rows["Unity-style SH + AO + shadow fill"]["psnr"] + 1.0, rows
    assert rows["lifecast delight"]["psnr"] > rows["lifecast delight, no shadow fill"]["psnr"], rows


@pytest.mark.parametrize("held_out", ["lee-perry-smith", "procedural"])
def test_delight_hands_an_unlit_texture_back_nearly_unchanged(scores: dict, held_out: str) -> None:
    """With no light in the texture, the model removes far less than the fits do (they always divide a fit out)."""
    rows = scores["unlit"][held_out]
    model = rows["lifecast delight"]["psnr"]
    assert model >= max(rows["Unity-style SH + AO"]["psnr"], rows["SH fit per channel"]["psnr"]) + 4.0, rows
    assert model >= 26.0, rows  # measured (release 2): Lee Perry-Smith 28.59; the ICT face 33.22 (the fit 27.68)


@pytest.mark.parametrize("held_out", ["lee-perry-smith", "procedural"])
def test_no_method_scores_above_the_true_shading_ceiling(scores: dict, held_out: str) -> None:
    """The capture divided by its own true shading is the most a delighter can hand back; a method above it would
    mean the ceiling (or the metric) is wrong."""
    rows = scores["sets"][held_out]
    ceiling = rows["true shading (ceiling)"]["psnr"]
    for method, row in rows.items():
        assert row["psnr"] <= ceiling + 0.01, (method, rows)
    assert ceiling < 80.0, rows  # not the truth itself (measured 66.1 / 45.2 dB with the shadow fill)


#: The margin over the better baseline (the Unity-style fit) each set must keep: on these two captures each, release
#: 2 with the shadow fill scores lee-perry-smith 29.62 against 24.59 dB (+5.03), procedural 37.35 against 34.34 dB
#: (+3.01); against the fit given the same fill 26.04 and 35.03 dB (+3.58, +2.32). The model card's six captures per
#: set give +3.77 and +9.85 (+1.14 and +5.06 against the filled fit): the Lee Perry-Smith gain varies with the light.
MARGIN = {"lee-perry-smith": 2.5, "procedural": 1.5}
#: The model's own margin over the fit without the fill, about half the measurement: lee-perry-smith 26.93 against
#: 24.59 dB (+2.34; release 1 26.37, +1.78), procedural 36.16 against 34.34 dB (+1.82; release 1 +1.18).
MODEL_MARGIN = {"lee-perry-smith": 1.2, "procedural": 0.9}

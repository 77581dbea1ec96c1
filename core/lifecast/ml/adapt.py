"""``lifecast ml adapt`` and ``lifecast ml eval --subject``: a per-subject adapter learnt from that subject's
corrections only, and its held-out error.

Training (:func:`train_adapter`) makes the delight, run as in use (the lighting fit of the whole texture, the base
model plus the adapter, :func:`lifecast.ml.delight.limit_shading`, the division), reproduce the artist's fix: the
loss is the mean absolute difference in sRGB between ``clip(lit / shading, 0, 1)`` and the fix, over every texel
the scan reached (changed or not: the unchanged ones teach what to leave alone), on random crops of the working-size
maps of the training corrections. The fix is compared as it is, not gain-aligned: the artist's colour is the
target, and the delight keeps the capture's overall colour, so a fix's colour shift is learnable.

The held-out error (:func:`correction_error`) is the same difference at the texture's full resolution over the
scanned texels of the oldest corrections, which training never sees: the delight's albedo, from the base model with
and without the adapter, against the artist's fix.

Consent: both commands need a valid ``texture-training`` consent of the subject (exit 3 otherwise, nothing read
or trained); training, refusals and results go into the audit log. The base weights are read, never written.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

import numpy as np
import torch
from numpy.typing import NDArray

from lifecast.errors import InputError
from lifecast.ml.adapters import ADAPTER_USE, AdaptedUNet, AdapterInfo, apply_adapter, latest_adapter, models_dir
from lifecast.ml.corrections import Correction, CorrectionData, corrections_dir, list_corrections, load_correction
from lifecast.ml.delight import MAX_SHADING_TINT, SHADING_RANGE, downsample_covered, fit_surface, tile_features
from lifecast.ml.unet import UNet
from lifecast.pipeline.stage import ProgressFn, no_progress

PROJECT_ENV = "LIFECAST_PROJECT"
#: Least fraction of a training crop on the scanned surface.
MIN_CROP_COVERAGE = 0.3


@dataclass(frozen=True)
class AdaptSettings:
    """One adaptation's settings (all recorded in the adapter's card).

    ``held_out``: the oldest corrections kept for evaluation (``None``: a quarter, at least one).
    """

    steps: int = 100
    batch: int = 8
    crop: int = 64
    lr: float = 5e-3
    rank: int = 4
    seed: int = 0
    held_out: int | None = None
    device: str = "cpu"
    threads: int | None = 1


@contextlib.contextmanager
def torch_threads(n: int | None) -> Iterator[None]:
    """Run the block with ``n`` intra-op torch threads (``None``: as set), then restore the setting.

    Adaptation's convolutions are small (16-64 channels on 64-texel crops): extra threads gain little and, on
    cores other work shares, cost much (measured on a busy 2-core machine: 0.18 s a training step on one thread,
    0.5-4 s on two).
    """
    before = torch.get_num_threads()
    if n is not None:
        torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@dataclass(frozen=True)
class TrainTile:
    """One correction tile at the working size, as the model sees it in use.

    ``features (FEATURES, s, s)``, ``log_fit (3, s, s)``, ``lit`` and ``fix`` ``(3, s, s)`` linear, ``weight (s, s)``
    1 on the scanned surface.
    """

    features: NDArray[np.float32]
    log_fit: NDArray[np.float32]
    lit: NDArray[np.float32]
    fix: NDArray[np.float32]
    weight: NDArray[np.float32]


def training_tiles(data: CorrectionData) -> list[TrainTile]:
    """The correction's tiles at the working size: the features of one lighting fit over all of them (as
    :func:`lifecast.ml.delight.predict_log_shading` makes it), the colour and the fix averaged down over the
    covered texels."""
    import cv2

    small_lit, small_fix, weights = [], [], []
    for lit, fix, scored, g in zip(data.lit, data.fix, data.scored, data.geometry, strict=True):
        size = lit.shape[0]
        covered_full = cv2.resize(g.covered.astype(np.uint8), (size, size), interpolation=cv2.INTER_NEAREST) > 0
        small_lit.append(downsample_covered(lit, covered_full, g.size))
        small_fix.append(downsample_covered(fix, covered_full, g.size))
        w = downsample_covered(scored.astype(np.float32)[..., None], covered_full, g.size)[..., 0]
        weights.append(((w > 0.999) & g.covered).astype(np.float32))
    summary = fit_surface(small_lit, data.geometry)
    out = []
    for lt, fx, w, g in zip(small_lit, small_fix, weights, data.geometry, strict=True):
        feats, log_fit = tile_features(lt, g, summary)
        out.append(
            TrainTile(
                feats,
                log_fit,
                np.ascontiguousarray(lt.transpose(2, 0, 1)),
                np.ascontiguousarray(np.clip(fx, 0.0, 1.0).transpose(2, 0, 1)),
                w,
            )
        )
    return out


def limit_shading_torch(log_s: torch.Tensor, min_shading: float = SHADING_RANGE[0]) -> torch.Tensor:
    """:func:`lifecast.ml.delight.limit_shading` on ``(b, 3, h, w)`` tensors (the same clamps, differentiable
    inside them)."""
    lo, hi = float(np.log(min_shading)), float(np.log(SHADING_RANGE[1]))
    grey = log_s.mean(dim=1, keepdim=True)
    tint = (log_s - grey).clamp(-MAX_SHADING_TINT, MAX_SHADING_TINT)
    return (grey.clamp(lo, hi) + tint).clamp(lo, hi)


def srgb_torch(x: torch.Tensor) -> torch.Tensor:
    """The sRGB encoding of linear values clipped to ``[0, 1]`` (:func:`lifecast.color.linear_to_srgb`)."""
    x = x.clamp(0.0, 1.0)
    return torch.where(x <= 0.0031308, 12.92 * x, 1.055 * x.clamp(min=1e-6) ** (1 / 2.4) - 0.055)


def _crops(tiles: Sequence[TrainTile], rng: np.random.Generator, batch: int, crop: int) -> tuple[torch.Tensor, ...]:
    columns: tuple[list[NDArray[np.float32]], ...] = ([], [], [], [], [])
    for _ in range(batch):
        t = tiles[int(rng.integers(len(tiles)))]
        s = t.weight.shape[0]
        c = min(crop, s)
        for _ in range(50):
            y, x = (int(v) for v in rng.integers(0, s - c + 1, size=2))
            if t.weight[y : y + c, x : x + c].mean() >= MIN_CROP_COVERAGE:
                break
        window = (slice(None), slice(y, y + c), slice(x, x + c))
        arrays = [t.features[window], t.log_fit[window], t.lit[window], t.fix[window], t.weight[y : y + c, x : x + c]]
        turns = int(rng.integers(4))
        arrays = [np.rot90(a, turns, axes=(-2, -1)) for a in arrays]
        if rng.integers(2):
            arrays = [a[..., ::-1] for a in arrays]
        for dst, a in zip(columns, arrays, strict=True):
            dst.append(np.ascontiguousarray(a))
    return tuple(torch.from_numpy(np.stack(c)) for c in columns)


@dataclass
class TrainResult:
    """The trained adapter, its loss curve and its time."""

    model: AdaptedUNet
    losses: list[float] = field(default_factory=list)
    seconds: float = 0.0


def train_adapter(
    base: UNet,
    tiles: Sequence[TrainTile],
    settings: AdaptSettings = AdaptSettings(),
    *,
    progress: ProgressFn = no_progress,
) -> TrainResult:
    """Train an adapter of ``base`` (not modified) on ``tiles`` (see the module docstring for the loss)."""
    if not tiles:
        raise ValueError("no training tiles")
    t0 = time.perf_counter()
    torch.manual_seed(settings.seed)
    rng = np.random.default_rng(settings.seed)
    model = AdaptedUNet(base, rank=settings.rank).to(settings.device).train()
    opt = torch.optim.Adam(model.adapter_parameters(), lr=settings.lr)
    losses: list[float] = []
    with torch_threads(settings.threads):
        for step in range(settings.steps):
            batch = _crops(tiles, rng, settings.batch, settings.crop)
            x, log_fit, lit, fix, w = (a.to(settings.device) for a in batch)
            log_s = limit_shading_torch(log_fit + model(x), model.min_shading)
            albedo = lit / torch.exp(log_s)
            err = (srgb_torch(albedo) - srgb_torch(fix)).abs().sum(dim=1) * w
            loss = err.sum() / (3.0 * w.sum().clamp(min=1.0))
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
            if step % 10 == 0 or step == settings.steps - 1:
                progress((step + 1) / settings.steps, f"step {step + 1}/{settings.steps} loss {losses[-1]:.5f}")
    return TrainResult(model.eval(), losses, time.perf_counter() - t0)


def correction_error(model: torch.nn.Module, data: CorrectionData, *, device: str = "cpu") -> float:
    """Mean absolute sRGB difference between the delight's albedo of the correction's input and the artist's fix,
    over the scanned texels of every tile (values in ``[0, 1]``).

    The division alone, without the deep-shadow fill (:mod:`lifecast.ml.deep_shadow`): an adapter learns the
    shading, and the fill, which takes a texel's albedo from the surface around it, needs surface points a stored
    correction does not keep."""
    from lifecast.color import linear_to_srgb
    from lifecast.ml.run_delight import delight_texture_set

    delit = delight_texture_set(model, data.lit, data.geometry, device=device, fill_shadows=False)
    total, count = 0.0, 0
    for tile, fix, scored in zip(delit.tiles, data.fix, data.scored, strict=True):
        a = linear_to_srgb(np.clip(tile.albedo, 0.0, 1.0))[scored]
        b = linear_to_srgb(np.clip(fix, 0.0, 1.0))[scored]
        total += float(np.abs(a.astype(np.float64) - b).sum()) / 3.0
        count += int(scored.sum())
    return total / max(count, 1)


# ---------------------------------------------------------------------------------------------------- per subject


def _registry(show: Any, clock: Any = None, actor: str | None = None) -> Any:
    from lifecast.consent.registry import Registry

    if show is None:
        raise InputError("adapters need a show with a registry: pass --show DIR or set LIFECAST_SHOW")
    if not show.has_registry():
        raise InputError("this show has no registry yet (create it with `lifecast subject add`)", show.root)
    return Registry.for_show(show, clock=clock, actor=actor)


def _project(project: str | None, corrections: Sequence[Correction]) -> str | None:
    chosen = project or os.environ.get(PROJECT_ENV) or None
    if chosen:
        return chosen
    projects = sorted({c.project for c in corrections if c.project})
    return projects[0] if len(projects) == 1 else None


def _require_training_consent(registry: Any, subject_id: str, project: str | None, what: str) -> Any:
    from lifecast.consent.policy import ConsentError, require_consent

    try:
        return require_consent(registry, subject_id, project, ADAPTER_USE)
    except ConsentError as exc:
        registry.record(
            "refused", subject_id, {"use": ADAPTER_USE, "project": project, "action": what, "reason": exc.message}
        )
        raise


def held_out_count(n: int, requested: int | None) -> int:
    """How many of ``n`` corrections are held out: ``requested``, else a quarter (at least one)."""
    return requested if requested is not None else max(1, n // 4)


@dataclass(frozen=True)
class AdaptResult:
    """A trained and saved adapter, with its held-out errors."""

    info: AdapterInfo
    base_error: float
    adapted_error: float
    held_out: list[str]
    trained_on: list[str]
    seconds: float


def adapt_subject(
    show: Any,
    subject_id: str,
    *,
    project: str | None = None,
    settings: AdaptSettings = AdaptSettings(),
    clock: Any = None,
    actor: str | None = None,
    progress: ProgressFn = no_progress,
    log: Callable[[str], Any] = lambda m: None,
) -> AdaptResult:
    """Train, evaluate and save ``subject_id``'s adapter from their corrections (see the module docstring).

    Raises
    ------
    ConsentError
        No valid ``texture-training`` consent for the project (nothing read or trained; the refusal is audited).
    InputError
        No show registry, an unknown subject, no corrections, or too few to hold any out.
    """
    from lifecast.ml.weights import load_delight_model, shipped_weights_sha256

    t0 = time.perf_counter()
    with _registry(show, clock, actor) as registry:
        registry.require_subject(subject_id)
        corrections = list_corrections(corrections_dir(show, subject_id))
        n = len(corrections)
        if n == 0:
            raise InputError(f"subject {subject_id!r} has no corrections (lifecast correct submit ... --subject)")
        held = held_out_count(n, settings.held_out)
        if held < 1 or n - held < 1:
            raise InputError(
                f"subject {subject_id!r} has {n} correction(s): adapting needs at least {max(held, 1) + 1} "
                f"({max(held, 1)} held out for evaluation, the rest to train on)"
            )
        record = _require_training_consent(registry, subject_id, _project(project, corrections), "adapt")
        held_out, train = corrections[:held], corrections[held:]
        base_sha = shipped_weights_sha256()
        base, _ = load_delight_model(device=settings.device)
        log(f"training on {len(train)} correction(s), holding out the oldest {held}")
        tiles = [t for c in train for t in training_tiles(load_correction(c))]
        progress(0.05, f"{len(tiles)} training tile(s) ready")
        result = train_adapter(base, tiles, settings, progress=lambda f, m: progress(0.05 + 0.75 * f, m))
        adapted = result.model.merged().to(settings.device)
        base_errors, adapted_errors = [], []
        with torch_threads(settings.threads):
            for i, c in enumerate(held_out):
                data = load_correction(c)
                base_errors.append(correction_error(base, data, device=settings.device))
                adapted_errors.append(correction_error(adapted, data, device=settings.device))
                progress(0.8 + 0.2 * (i + 1) / len(held_out), f"held-out correction {c.id} scored")
        base_error, adapted_error = float(np.mean(base_errors)), float(np.mean(adapted_errors))
        now = registry.clock()
        path = models_dir(show, subject_id) / f"adapter-{now.astimezone(UTC):%Y%m%dT%H%M%S%f}Z.safetensors"
        card = {
            "subject_id": subject_id,
            "project": record.project,
            "consent_id": record.id,
            "base_sha256": base_sha,
            "created_at": now.isoformat(timespec="seconds"),
            "actor": registry.actor,
            "corrections": [c.id for c in train],
            "held_out": [c.id for c in held_out],
            "settings": {
                k: getattr(settings, k) for k in ("steps", "batch", "crop", "lr", "rank", "seed", "device", "threads")
            },
            "train_seconds": round(result.seconds, 2),
            "seconds": round(time.perf_counter() - t0, 2),
            "final_loss": round(float(np.mean(result.losses[-10:])), 6),
            "metric": "mean |delit albedo - fix| in sRGB [0, 1] over scanned texels, full resolution",
            "metrics": {
                "base_error": round(base_error, 6),
                "adapted_error": round(adapted_error, 6),
                "held_out": len(held_out),
                "per_correction": {
                    c.id: {"base_error": round(b, 6), "adapted_error": round(a, 6)}
                    for c, b, a in zip(held_out, base_errors, adapted_errors, strict=True)
                },
            },
            "machine": _machine(),
        }
        from lifecast.ml.adapters import save_adapter

        info = save_adapter(result.model, path, card)
        registry.record(
            "adapter-trained",
            subject_id,
            {
                "adapter_sha256": info.sha256,
                "base_sha256": base_sha,
                "consent_id": record.id,
                "corrections": card["corrections"],
                "held_out": card["held_out"],
                "base_error": card["metrics"]["base_error"],  # type: ignore[index]
                "adapted_error": card["metrics"]["adapted_error"],  # type: ignore[index]
            },
        )
    progress(1.0, "adapter saved")
    return AdaptResult(info, base_error, adapted_error, card["held_out"], card["corrections"], result.seconds)  # type: ignore[arg-type]


def _machine() -> str:
    from lifecast.ml.base_training import machine

    return machine()


def eval_subject(
    show: Any,
    subject_id: str,
    *,
    device: str = "cpu",
    threads: int | None = 1,
    clock: Any = None,
    progress: ProgressFn = no_progress,
) -> dict[str, Any]:
    """The held-out error of ``subject_id``'s newest adapter, with and without it (recomputed now).

    Returns ``{"subject_id", "adapter", "adapter_sha256", "held_out", "base_error", "adapted_error",
    "improvement", "metric", "corrections": {id: {"base_error", "adapted_error"}}}``.

    Raises
    ------
    ConsentError
        No valid ``texture-training`` consent for the adapter's project.
    InputError
        No registry, unknown subject, no adapter, a changed adapter, other base weights, or held-out corrections
        missing.
    """
    from lifecast.ml.weights import load_delight_model, released_base

    with _registry(show, clock) as registry:
        registry.require_subject(subject_id)
        info = latest_adapter(show, subject_id)
        if info is None:
            raise InputError(f"subject {subject_id!r} has no adapter yet (lifecast ml adapt --subject {subject_id})")
        _require_training_consent(registry, subject_id, info.project, "eval")
        # On the base it was trained on: an older release after an upgrade.
        base, _ = load_delight_model(released_base(info.base_sha256), device=device)
        adapted = apply_adapter(base, info, base_sha256=info.base_sha256)
        by_id = {c.id: c for c in list_corrections(corrections_dir(show, subject_id))}
        missing = [i for i in info.card.get("held_out", []) if i not in by_id]
        if missing or not info.card.get("held_out"):
            raise InputError(f"the adapter's held-out corrections are gone ({', '.join(missing) or 'none recorded'})")
        rows: dict[str, dict[str, float]] = {}
        with torch_threads(threads):
            for k, cid in enumerate(info.card["held_out"]):
                data = load_correction(by_id[cid])
                rows[cid] = {
                    "base_error": round(correction_error(base, data, device=device), 6),
                    "adapted_error": round(correction_error(adapted, data, device=device), 6),
                }
                progress((k + 1) / len(info.card["held_out"]), f"held-out correction {cid} scored")
        base_error = float(np.mean([r["base_error"] for r in rows.values()]))
        adapted_error = float(np.mean([r["adapted_error"] for r in rows.values()]))
        registry.record(
            "adapter-eval",
            subject_id,
            {
                "adapter_sha256": info.sha256,
                "base_error": round(base_error, 6),
                "adapted_error": round(adapted_error, 6),
            },
        )
    return {
        "subject_id": subject_id,
        "adapter": info.path.name,
        "adapter_sha256": info.sha256,
        "held_out": len(rows),
        "base_error": round(base_error, 6),
        "adapted_error": round(adapted_error, 6),
        "improvement": round(1.0 - adapted_error / base_error, 4) if base_error > 0 else 0.0,
        "metric": str(info.card.get("metric", "")),
        "corrections": rows,
    }


__all__ = [
    "AdaptResult",
    "AdaptSettings",
    "TrainResult",
    "TrainTile",
    "adapt_subject",
    "correction_error",
    "eval_subject",
    "held_out_count",
    "limit_shading_torch",
    "srgb_torch",
    "torch_threads",
    "train_adapter",
    "training_tiles",
]

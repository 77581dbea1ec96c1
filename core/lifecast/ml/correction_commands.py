"""The artist correction loop on the command line: ``lifecast correct``, ``lifecast ml adapt``,
``lifecast ml eval --subject`` and the adapter options of ``lifecast delight``.

Examples::

    lifecast correct submit SHOW/subjects/lps01/assets/head head_albedo_fixed.<UDIM>.png --subject lps01
    lifecast correct list --subject lps01
    lifecast ml adapt --subject lps01             # needs texture-training consent (exit 3 otherwise)
    lifecast ml eval --subject lps01 --json       # held-out error with and without the adapter
    lifecast delight head.obj head_albedo.<UDIM>.png -o delit/head.<UDIM>.png --subject lps01 [--no-adapter]

The show is ``--show DIR`` or ``$LIFECAST_SHOW`` (``correct submit`` also finds the show an asset lies in).
Imports stay inside the handlers so ``lifecast --help`` stays fast.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lifecast.errors import EXIT_OK, InputError
from lifecast.worker.events import Event, EventSink, progress_event

if TYPE_CHECKING:
    import torch

    from lifecast.cli import Handler
    from lifecast.ml.adapters import AdapterChoice


def _progress(sink: EventSink, stage: str) -> Any:
    def report(fraction: float, message: str = "") -> None:
        sink.emit(progress_event(stage, fraction, message))

    return report


def _show_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument("--show", type=Path, help="show folder holding lifecast.db (default: $LIFECAST_SHOW)")


def add_commands(subparsers: Any) -> dict[str, Handler]:
    """Add ``correct`` (``submit``, ``list``) to the CLI's subparsers."""
    p = subparsers.add_parser("correct", help="record artists' corrections of delit textures, per subject")
    sub = p.add_subparsers(dest="correct_command", required=True, metavar="ACTION")
    s = sub.add_parser(
        "submit",
        help="record a corrected albedo of a lifecast asset against its subject",
        description="Record FIXED, the artist's corrected LOD0 albedo of the asset in ASSET_DIR (one file or a "
        "<UDIM> pattern, the asset's tiles and size), with the model's inputs and output and the changed region, "
        "under SHOW/subjects/<S>/corrections/ (without a show registry: under ASSET_DIR/.lifecast/corrections/).",
    )
    s.add_argument("asset", type=Path, help="the asset folder (made by lifecast process, delight on)")
    s.add_argument("fixed", type=Path, help="the corrected albedo: PNG/TIFF (sRGB) or EXR (linear)")
    s.add_argument("--subject", required=True, help="the scanned person (the asset's subject)")
    _show_arg(s)
    s.add_argument("--device", default="cpu", help="where the geometry maps' rays run (cpu or cuda)")
    s.add_argument("--json", action="store_true", help="print the JSON-lines event stream")
    ls = sub.add_parser("list", help="a subject's corrections, oldest first")
    ls.add_argument("--subject", required=True)
    _show_arg(ls)
    ls.add_argument("--json", action="store_true", help="print JSON instead of text")
    return {"correct": cmd_correct}


def cmd_correct(args: argparse.Namespace, sink: EventSink) -> int:
    """``lifecast correct submit | list``."""
    if args.correct_command == "list":
        return _list(args)
    from lifecast.ml.corrections import find_show, submit_correction

    t0 = time.perf_counter()
    if not args.asset.is_dir():
        raise InputError("asset folder not found", args.asset)
    sink.emit(Event("run_start", {"command": "correct submit", "asset": str(args.asset), "fixed": str(args.fixed)}))
    show = find_show(args.asset, args.show)
    result = submit_correction(args.asset, args.fixed, args.subject, show=show, device=args.device)
    c = result.correction
    seconds = round(time.perf_counter() - t0, 3)
    sink.emit(Event("artifact", {"stage": "correct", "path": str(c.path), "kind": "correction"}))
    if result.local:
        sink.emit(Event("warning", {"stage": "correct", "message": _LOCAL_NOTE}))
    summary = {"correction_id": c.id, "tiles": c.tiles, "changed_fraction": round(result.changed_fraction, 6)}
    sink.emit(Event("stage_end", {"stage": "correct", "seconds": seconds, "cached": False, "summary": summary}))
    sink.emit(Event("done", {"ok": True, "seconds": seconds, "outputs": {"correction": str(c.path)}}))
    if not args.json:
        print(
            f"recorded correction {c.id} of subject {args.subject}: {100 * result.changed_fraction:.1f} % of the "
            f"texels changed, in {c.path}"
        )
        if result.local:
            print(_LOCAL_NOTE)
    return EXIT_OK


_LOCAL_NOTE = (
    "note: no show registry, so the correction is kept with the asset; adapters need a show "
    "(--show DIR or LIFECAST_SHOW, with the subject registered): submit it there to train on it"
)


def _list(args: argparse.Namespace) -> int:
    from lifecast.consent.registry import Registry
    from lifecast.consent.show import resolve_show
    from lifecast.ml.corrections import corrections_dir, list_corrections

    show = resolve_show(args.show)
    if show is None:
        raise InputError("no show: pass --show DIR or set LIFECAST_SHOW")
    with Registry.for_show(show) as registry:
        registry.require_subject(args.subject)
    rows = [
        {
            "id": c.id,
            "created_at": c.created_at,
            "actor": c.meta.get("actor"),
            "tiles": c.tiles,
            "changed_fraction": c.meta.get("changed_fraction"),
        }
        for c in list_corrections(corrections_dir(show, args.subject))
    ]
    if args.json:
        print(json.dumps(rows, indent=1))
    else:
        print("\n".join(f"{r['id']}  {r['created_at']}  {r['actor']}  tiles {r['tiles']}" for r in rows) or "none")
    return EXIT_OK


# ---------------------------------------------------------------------------------------------------- ml adapt


#: :class:`lifecast.ml.adapt.AdaptSettings`' defaults, for the help text (that module imports torch; the parser
#: is built on every start).
ADAPT_DEFAULTS = {"steps": 100, "rank": 4, "seed": 0, "threads": 1}


def add_adapt_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``lifecast ml adapt``."""
    d = argparse.Namespace(**ADAPT_DEFAULTS)
    p.add_argument("--subject", required=True, help="whose corrections to learn from (theirs only)")
    _show_arg(p)
    p.add_argument("--project", help="the consent's project (default: $LIFECAST_PROJECT, else the corrections')")
    p.add_argument("--steps", type=int, default=d.steps, help=f"training steps (default {d.steps})")
    p.add_argument("--held-out", type=int, help="oldest corrections kept for evaluation (default: a quarter, >= 1)")
    p.add_argument("--rank", type=int, default=d.rank, help=f"rank of each convolution's correction ({d.rank})")
    p.add_argument("--seed", type=int, default=d.seed, help="training seed (default 0)")
    p.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    p.add_argument(
        "--threads", type=int, default=d.threads, help=f"torch threads (default {d.threads}: best on shared cores)"
    )
    p.add_argument("--json", action="store_true", help="print the JSON-lines event stream")


def cmd_adapt(args: argparse.Namespace, sink: EventSink) -> int:
    """``lifecast ml adapt --subject S``: train, evaluate and save the subject's adapter."""
    from lifecast.consent.show import resolve_show
    from lifecast.ml.adapt import AdaptSettings, adapt_subject

    if min(args.steps, args.rank, args.threads) < 1 or (args.held_out is not None and args.held_out < 1):
        raise InputError("--steps, --rank, --threads and --held-out must be at least 1")
    show = resolve_show(args.show)
    if show is None:
        raise InputError("adapters need a show with a registry: pass --show DIR or set LIFECAST_SHOW")
    settings = AdaptSettings(
        steps=args.steps,
        rank=args.rank,
        seed=args.seed,
        held_out=args.held_out,
        device=args.device,
        threads=args.threads,
    )
    t0 = time.perf_counter()
    sink.emit(Event("run_start", {"command": "ml adapt", "subject": args.subject}))
    result = adapt_subject(
        show,
        args.subject,
        project=args.project,
        settings=settings,
        progress=_progress(sink, "adapt"),
        log=lambda m: None if args.json else print(m, file=sys.stderr, flush=True),
    )
    seconds = round(time.perf_counter() - t0, 3)
    summary = {
        "adapter_sha256": result.info.sha256,
        "base_error": round(result.base_error, 6),
        "adapted_error": round(result.adapted_error, 6),
        "held_out": len(result.held_out),
        "trained_on": len(result.trained_on),
        "train_seconds": round(result.seconds, 2),
    }
    sink.emit(Event("artifact", {"stage": "adapt", "path": str(result.info.path), "kind": "adapter"}))
    sink.emit(Event("stage_end", {"stage": "adapt", "seconds": seconds, "cached": False, "summary": summary}))
    outputs = {"adapter": str(result.info.path), "card": str(result.info.card_path)}
    sink.emit(Event("done", {"ok": True, "seconds": seconds, "outputs": outputs}))
    if not args.json:
        print(
            f"adapter {result.info.path.name} for {args.subject}: trained on {len(result.trained_on)} correction(s) "
            f"in {result.seconds:.0f} s; held-out error {result.base_error:.4f} -> {result.adapted_error:.4f} "
            f"({len(result.held_out)} held out); card {result.info.card_path}"
        )
    return EXIT_OK


# ---------------------------------------------------------------------------------------------------- ml eval --subject


def add_eval_subject_arguments(p: argparse.ArgumentParser) -> None:
    """``--subject`` and ``--show`` for ``lifecast ml eval`` (its ``--json`` is shared)."""
    p.add_argument("--subject", help="score this subject's adapter on their held-out corrections instead")
    _show_arg(p)


def cmd_eval_subject(args: argparse.Namespace, sink: EventSink) -> int:
    """``lifecast ml eval --subject S [--json]``: held-out error with and without the subject's adapter."""
    from lifecast.consent.show import resolve_show
    from lifecast.ml.adapt import eval_subject

    show = resolve_show(args.show)
    if show is None:
        raise InputError("adapters need a show with a registry: pass --show DIR or set LIFECAST_SHOW")
    json_mode = bool(getattr(args, "json", False))
    progress = (lambda f, m="": None) if json_mode else _progress(sink, "eval")
    result = eval_subject(show, args.subject, device=getattr(args, "device", "cpu"), progress=progress)
    if json_mode:
        print(json.dumps(result))
    else:
        print(
            f"{args.subject}: adapter {result['adapter']} on {result['held_out']} held-out correction(s)\n"
            f"  base     {result['base_error']:.5f}\n  adapted  {result['adapted_error']:.5f}  "
            f"({100 * result['improvement']:.1f} % lower)\n  ({result['metric']})"
        )
    return EXIT_OK


# ---------------------------------------------------------------------------------------------------- delight


def add_delight_adapter_arguments(p: argparse.ArgumentParser) -> None:
    """``--subject``, ``--show`` and ``--no-adapter`` for ``lifecast delight``."""
    p.add_argument("--subject", help="the scanned person: their adapter is applied when one is usable")
    _show_arg(p)
    p.add_argument("--no-adapter", action="store_true", help="never apply the subject's adapter")


def delight_model_for(
    model: torch.nn.Module, args: argparse.Namespace, sink: EventSink
) -> tuple[torch.nn.Module, AdapterChoice]:
    """The model ``lifecast delight`` runs: ``model`` with the subject's adapter when one is usable, else
    ``model`` itself; says which (a ``log`` event, and on stderr in text mode).

    With ``--weights``, only an adapter trained on those weights is usable; without, an adapter trained on any
    released base is, and runs on that base (an older release after an upgrade), loaded on ``args.device``."""
    from lifecast.consent.show import resolve_show
    from lifecast.ml.adapters import AdapterChoice, apply_adapter, choose_adapter
    from lifecast.ml.weights import load_delight_model, released_base, sha256_file, shipped_weights_sha256

    subject = getattr(args, "subject", None)
    if not subject:
        return model, AdapterChoice(None, "")
    show = resolve_show(getattr(args, "show", None))
    weights = getattr(args, "weights", None)
    base_sha = sha256_file(weights) if weights is not None else None
    if show is None:
        choice = AdapterChoice(None, f"no show (--show or LIFECAST_SHOW): no adapter for subject {subject}")
    else:
        choice = choose_adapter(show, subject, use=not args.no_adapter, base_sha256=base_sha)
    if choice.note:
        sink.emit(Event("log", {"stage": "delight", "message": choice.note}))
        if not getattr(args, "json", False):
            print(choice.note, file=sys.stderr)
    if choice.info is None:
        return model, choice
    if base_sha is None and choice.info.base_sha256 != shipped_weights_sha256():
        model, _ = load_delight_model(released_base(choice.info.base_sha256), device=getattr(args, "device", "cpu"))
    return apply_adapter(model, choice.info, base_sha256=base_sha or choice.info.base_sha256), choice


__all__ = [
    "add_adapt_arguments",
    "add_commands",
    "add_delight_adapter_arguments",
    "add_eval_subject_arguments",
    "cmd_adapt",
    "cmd_correct",
    "cmd_eval_subject",
    "delight_model_for",
]

"""The texture model commands: ``lifecast delight``, ``lifecast inpaint`` and ``lifecast ml train-base | eval``.

Listed in :data:`lifecast.cli.COMMAND_GROUPS`; imports nothing heavy at module level.

Examples::

    lifecast delight head.obj head_albedo.<UDIM>.png -o delit/head_albedo.<UDIM>.png
    lifecast inpaint head.obj delit/head_albedo.<UDIM>.png --mask holes.<UDIM>.png -o filled/head_albedo.<UDIM>.png
    lifecast ml train-base --out retrained/   # reproduces the newest base weights (under an hour on 2 CPU cores)
    lifecast ml eval --json           # the held-out scores of the shipped weights and the baselines
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lifecast.errors import EXIT_OK, InputError
from lifecast.ml.correction_commands import (
    add_adapt_arguments,
    add_delight_adapter_arguments,
    add_eval_subject_arguments,
)
from lifecast.ml.release import DEFAULT_CROP, DEFAULT_MIN_SHADING, DEFAULT_PEOPLE, DEFAULT_STEPS, DEFAULT_WIDTH
from lifecast.worker.events import Event, EventSink, progress_event

if TYPE_CHECKING:
    from lifecast.cli import Handler


def add_commands(subparsers: Any) -> dict[str, Handler]:
    """Add ``delight``, ``inpaint`` and ``ml`` to the CLI's subparsers."""
    p = subparsers.add_parser(
        "delight",
        help="remove the lighting from a texture, given the mesh whose UVs it is in",
        description="Predict the albedo of a lit texture from the texture and the geometry of the same UVs "
        "(normals, ambient occlusion, cavity, computed from MESH), and write it with the shading removed "
        "(<OUT stem>_shading.<UDIM>.exr). TEXTURE and OUT may be <UDIM> patterns.",
    )
    p.add_argument("mesh", type=Path, help="the mesh with UVs: .obj, .ply, .glb/.gltf or .usd/.usda/.usdc")
    p.add_argument("texture", type=Path, help="its lit colour texture (PNG/JPEG/TIFF sRGB, or EXR linear)")
    p.add_argument("-o", "--out", type=Path, required=True, help="the delit albedo (.png: 8-bit sRGB; .exr: linear)")
    p.add_argument("--mask", type=Path, help="white = texels the lighting fit ignores (hair, eyes, holes)")
    p.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    p.add_argument(
        "--work-size", type=int, default=1024, help="texels per tile side the shading is predicted at (default 1024)"
    )
    p.add_argument(
        "--no-shadow-fill",
        action="store_true",
        help="divide deep shadows like the rest (default: their albedo is taken from the lit skin around them)",
    )
    p.add_argument("--weights", type=Path, help="model weights (default: the shipped base weights)")
    p.add_argument("--json", action="store_true", help="print the JSON-lines event stream")
    add_delight_adapter_arguments(p)

    p = subparsers.add_parser(
        "inpaint",
        help="fill a texture's holes from their neighbours on the surface (chart- and seam-aware)",
        description="Fill the texels white in MASK (without --mask: the texels no face of MESH covers) from "
        "what lies next to them on the surface: the same chart, or across a UV seam or a UDIM border; never "
        "from an unrelated chart that happens to be close in UV space.",
    )
    p.add_argument("mesh", type=Path, help="the mesh with UVs")
    p.add_argument("texture", type=Path, help="the texture (PNG/JPEG/TIFF sRGB, or EXR linear)")
    p.add_argument("-o", "--out", type=Path, required=True, help="the filled texture")
    p.add_argument("--mask", type=Path, help="white = texels to fill (a <UDIM> pattern for a tile set)")
    p.add_argument("--json", action="store_true", help="print the JSON-lines event stream")

    p = subparsers.add_parser("ml", help="train and evaluate the texture models")
    sub = p.add_subparsers(dest="ml_command", required=True)
    t = sub.add_parser(
        "train-base",
        help="train the delight model's base weights on generated data (no download, no real texture)",
    )
    t.add_argument(
        "--out",
        type=Path,
        help="folder for the weights and MODEL_CARD.md (default: the shipped folder, which refuses to overwrite a "
        "released base: released weights never change)",
    )
    t.add_argument("--steps", type=int, default=DEFAULT_STEPS, help=f"training steps (default {DEFAULT_STEPS})")
    t.add_argument("--seed", type=int, default=0, help="training seed (default 0)")
    t.add_argument("--width", type=int, default=DEFAULT_WIDTH, help=f"U-Net channels (default {DEFAULT_WIDTH})")
    t.add_argument("--crop", type=int, default=DEFAULT_CROP, help=f"training crop, texels (default {DEFAULT_CROP})")
    t.add_argument(
        "--people", type=int, default=DEFAULT_PEOPLE, help=f"procedural people painted (default {DEFAULT_PEOPLE})"
    )
    t.add_argument(
        "--min-shading",
        type=float,
        default=DEFAULT_MIN_SHADING,
        help=f"least shading the model removes, recorded in the weights (default {DEFAULT_MIN_SHADING}: at most 10x "
        "brighter)",
    )
    t.add_argument("--captures", type=int, default=6, help="held-out captures per evaluation set (default 6)")
    t.add_argument("--cache", type=Path, help="where the training meshes' maps are cached")
    t.add_argument("--json", action="store_true", help="print the JSON-lines event stream")
    e = sub.add_parser("eval", help="held-out scores of the weights and the baselines")
    e.add_argument("--weights", type=Path, help="weights to score (default: the shipped base weights)")
    e.add_argument("--captures", type=int, default=6, help="held-out captures per set (default 6)")
    e.add_argument("--cache", type=Path, help="where the meshes' maps are cached")
    e.add_argument("--json", action="store_true", help="print the scores as JSON")
    add_eval_subject_arguments(e)
    add_adapt_arguments(sub.add_parser("adapt", help="train a subject's adapter on their corrections only"))
    return {"delight": cmd_delight, "inpaint": cmd_inpaint, "ml": cmd_ml}


def _progress(sink: EventSink, stage: str) -> Any:
    def report(fraction: float, message: str = "") -> None:
        sink.emit(progress_event(stage, fraction, message))

    return report


def _check_device(device: str) -> None:
    if device not in ("cpu", "cuda") and not device.startswith("cuda:"):
        raise InputError(f"--device must be cpu or cuda, got {device!r}")
    if device != "cpu":
        import torch

        if not torch.cuda.is_available():
            raise InputError(f"--device {device}: this machine has no CUDA device torch can use")


def cmd_delight(args: argparse.Namespace, sink: EventSink) -> int:
    """``lifecast delight``: read, check, delight, write (all files at the end, or none)."""
    from lifecast.ml.geometry_maps import geometry_maps, mesh_tiles
    from lifecast.ml.mesh_input import read_uv_mesh
    from lifecast.ml.run_delight import delight_texture_set, output_paths
    from lifecast.ml.texture_files import check_pattern, read_texture_set
    from lifecast.ml.weights import load_delight_model

    _check_device(args.device)
    if not 64 <= args.work_size <= 8192:
        raise InputError(f"--work-size must lie between 64 and 8192, got {args.work_size}")
    t0 = time.perf_counter()
    sink.emit(Event("run_start", {"command": "delight", "mesh": str(args.mesh), "texture": str(args.texture)}))
    sink.emit(Event("stage_start", {"stage": "delight", "message": "reading"}))
    from lifecast.ml.correction_commands import delight_model_for

    base, _ = load_delight_model(args.weights, device=args.device)
    model, adapter = delight_model_for(base, args, sink)
    mesh = read_uv_mesh(args.mesh)
    tiles = mesh_tiles(mesh)
    check_pattern(args.out, tiles, "output")
    textures = read_texture_set(args.texture, tiles)
    size = textures[0].shape[0]
    work = min(args.work_size, size)
    geometry = geometry_maps(mesh, work, progress=_progress(sink, "delight"), device=args.device)
    result = delight_texture_set(
        model,
        textures,
        geometry,
        mask=args.mask,
        device=args.device,
        fill_shadows=not args.no_shadow_fill,
        progress=_progress(sink, "delight"),
    )
    written = result.write(output_paths(args.out, tiles))
    for path in written:
        sink.emit(
            Event(
                "artifact", {"path": str(path), "kind": "map:albedo" if "_shading" not in path.name else "map:shading"}
            )
        )
    seconds = round(time.perf_counter() - t0, 3)
    summary = {
        "tiles": tiles,
        "size": size,
        "work_size": work,
        "adapter": adapter.info.sha256 if adapter.info else "",
        **result.summary,
    }
    sink.emit(Event("stage_end", {"stage": "delight", "seconds": seconds, "cached": False, "summary": summary}))
    sink.emit(Event("done", {"ok": True, "seconds": seconds, "outputs": {p.name: str(p) for p in written}}))
    if not args.json:
        print(f"delit {len(tiles)} tile(s) at {size}px in {seconds:.1f} s: " + ", ".join(str(p) for p in written))
    return EXIT_OK


def cmd_inpaint(args: argparse.Namespace, sink: EventSink) -> int:
    """``lifecast inpaint``: fill holes chart-aware; all files at the end, or none."""
    from lifecast.ml.mesh_input import read_uv_mesh
    from lifecast.ml.run_inpaint import inpaint_texture_set

    t0 = time.perf_counter()
    sink.emit(Event("run_start", {"command": "inpaint", "mesh": str(args.mesh), "texture": str(args.texture)}))
    sink.emit(Event("stage_start", {"stage": "inpaint", "message": "reading"}))
    mesh = read_uv_mesh(args.mesh)
    written, summary = inpaint_texture_set(mesh, args.texture, args.out, args.mask, progress=_progress(sink, "inpaint"))
    for path in written:
        sink.emit(Event("artifact", {"path": str(path), "kind": "map:albedo"}))
    seconds = round(time.perf_counter() - t0, 3)
    sink.emit(Event("stage_end", {"stage": "inpaint", "seconds": seconds, "cached": False, "summary": summary}))
    sink.emit(Event("done", {"ok": True, "seconds": seconds, "outputs": {p.name: str(p) for p in written}}))
    if not args.json:
        print(f"filled {summary['filled_texels']:,} texels in {seconds:.1f} s: " + ", ".join(str(p) for p in written))
    return EXIT_OK


def cmd_ml(args: argparse.Namespace, sink: EventSink) -> int:
    """``lifecast ml train-base`` / ``adapt`` / ``eval [--subject S]``."""
    if args.ml_command == "adapt":
        from lifecast.ml.correction_commands import cmd_adapt

        return cmd_adapt(args, sink)
    if args.ml_command == "eval" and getattr(args, "subject", None):
        from lifecast.ml.correction_commands import cmd_eval_subject

        return cmd_eval_subject(args, sink)
    if args.ml_command == "train-base":
        from lifecast.ml.base_training import train_base

        card = train_base(
            out_dir=args.out,
            steps=args.steps,
            seed=args.seed,
            width=args.width,
            crop=args.crop,
            people=args.people,
            min_shading=args.min_shading,
            captures=args.captures,
            cache_dir=args.cache,
            progress=_progress(sink, "train-base"),
            log=lambda m: print(m, file=sys.stderr, flush=True) if not args.json else None,
        )
        sink.emit(Event("done", {"ok": True, "seconds": 0.0, "outputs": {"card": str(card)}}))
        if not args.json:
            print(f"weights and model card written: {card}")
        return EXIT_OK
    from lifecast.ml.base_training import default_cache
    from lifecast.ml.evaluate import evaluate, format_table, format_unlit
    from lifecast.ml.weights import load_delight_model

    model, _ = load_delight_model(args.weights)
    scores = evaluate(model, args.cache or default_cache(), captures=args.captures, progress=_progress(sink, "eval"))
    if args.json:
        print(json.dumps({k: scores[k] for k in ("sets", "seeds", "unlit")}, indent=2))
    else:
        print(format_table(scores))
        print()
        print(format_unlit(scores))
    return EXIT_OK


__all__ = ["add_commands", "cmd_delight", "cmd_inpaint", "cmd_ml"]

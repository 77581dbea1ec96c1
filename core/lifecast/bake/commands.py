"""The ``lifecast bake`` command: bake maps from a high-poly scan into a low-poly mesh's UVs.

Listed in :data:`lifecast.cli.COMMAND_GROUPS`; imports nothing heavy at module level.

Example::

    lifecast bake scan.ply head_lod0.obj -o maps/ --maps albedo,normal,displacement,ao --size 4096 --name head
    lifecast bake scan.ply head_lod0.obj -o maps/ --maps albedo --albedo-colorspace acescg
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lifecast.errors import EXIT_OK, InputError
from lifecast.worker.events import Event, EventSink, progress_event

if TYPE_CHECKING:
    from lifecast.cli import Handler

DEFAULT_MAPS = "albedo,normal,displacement,ao"


def add_commands(subparsers: Any) -> dict[str, Handler]:
    """Add ``bake`` to the CLI's subparsers; returns ``{"bake": handler}``."""
    p = subparsers.add_parser(
        "bake",
        help="bake albedo / normal / displacement / AO / cavity maps from a scan into a mesh's UVs",
        description="Bake maps from HIGH (the dense scan) into the UV tiles of LOW (the production mesh). "
        "Files are named <name>_<channel>.<UDIM>.<ext>.",
    )
    p.add_argument("high", type=Path, help="the detailed mesh (scan): .ply, .obj, .glb/.gltf")
    p.add_argument("low", type=Path, help="the production mesh, with UVs")
    p.add_argument("-o", "--out", type=Path, required=True, help="output folder for the maps")
    p.add_argument(
        "--maps",
        default=DEFAULT_MAPS,
        help="comma-separated: albedo, normal, object_normal, displacement, ao, cavity (default %(default)s); "
        "a coverage mask is always written",
    )
    p.add_argument("--size", type=int, default=4096, help="texels per tile side (default 4096)")
    p.add_argument(
        "--udims",
        help="'auto' (every tile the UVs use) or a comma list such as 1001,1002; without it the UVs must lie in 0-1",
    )
    p.add_argument("--cage", type=float, help="largest search distance along the normal, in mesh units (default: auto)")
    p.add_argument("--name", help="file name prefix (default: the low mesh's file name)")
    p.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    p.add_argument("--ao-samples", type=int, default=16, help="hemisphere rays per texel for ao (default 16)")
    p.add_argument(
        "--cavity-radius",
        type=float,
        help="neighbourhood a scan vertex is compared with for cavity, in mesh units (default 3 mean scan edges)",
    )
    p.add_argument(
        "--cavity-depth",
        type=float,
        help="pit depth shown black in cavity, in mesh units (default: the scan's 99th percentile; "
        "give one to compare scans)",
    )
    p.add_argument("--albedo-bits", type=int, choices=(8, 16), default=8, help="albedo PNG bit depth (default 8)")
    p.add_argument(
        "--albedo-colorspace",
        choices=("srgb", "acescg"),
        default="srgb",
        help="srgb: sRGB-encoded PNG (default); acescg: linear ACEScg half-float EXR through OpenColorIO "
        "(needs the 'color' extra)",
    )
    p.add_argument("--high-texture", type=Path, help="colour image for a HIGH mesh whose file names none")
    p.add_argument("--allow-overlapping-uvs", action="store_true", help="bake even where low triangles overlap in UV")
    p.add_argument("--json", action="store_true", help="print the JSON-lines event stream instead of progress bars")
    p.add_argument("-v", "--verbose", action="store_true", help="show log lines as well as warnings")
    return {"bake": cmd_bake}


def parse_udims(text: str | None) -> list[int] | str | None:
    """``None``, ``"auto"`` or a list of UDIM numbers from the ``--udims`` text."""
    if text is None or text.strip().lower() == "auto":
        return None if text is None else "auto"
    try:
        tiles = [int(t) for t in text.split(",") if t.strip()]
    except ValueError as exc:
        raise InputError(f"--udims must be 'auto' or numbers like 1001,1002, got {text!r}") from exc
    bad = [t for t in tiles if not 1001 <= t <= 1100]
    if bad or not tiles:
        raise InputError(f"UDIM numbers run from 1001 to 1100, got {text!r}")
    return tiles


def cmd_bake(args: argparse.Namespace, sink: EventSink) -> int:
    """Run one bake; emits stage events (stage ``bake``), artifacts and ``done``; progress bars unless ``--json``."""
    maps = [m.strip() for m in str(args.maps).split(",") if m.strip()]
    udims = parse_udims(args.udims)
    if args.device not in ("cpu", "cuda") and not str(args.device).startswith("cuda:"):
        raise InputError(f"--device must be cpu or cuda, got {args.device!r}")
    if args.json:
        return _bake(args, sink, maps, udims)
    from lifecast.console import RichProgressSink

    bars = RichProgressSink(verbose=bool(args.verbose))
    try:
        return _bake(args, bars, maps, udims)
    finally:
        bars.stop()


def _bake(args: argparse.Namespace, sink: EventSink, maps: list[str], udims: list[int] | str | None) -> int:
    """The bake itself, reporting to ``sink``."""
    from lifecast.bake.engine import bake_maps
    from lifecast.io import read_scan

    t0 = time.perf_counter()
    sink.emit(Event("run_start", {"command": "bake", "high": str(args.high), "low": str(args.low)}))
    sink.emit(Event("stage_start", {"stage": "bake", "message": "reading meshes"}))
    high = read_scan(args.high, texture=args.high_texture).mesh
    low = read_scan(args.low).mesh
    if low.uvs is None:
        raise InputError("the low mesh has no UVs to bake into: unwrap it first", args.low)

    def progress(fraction: float, message: str = "") -> None:
        sink.emit(progress_event("bake", fraction, message))

    result = bake_maps(
        high,
        low,
        maps=maps,
        size=args.size,
        out_dir=args.out,
        name=args.name or args.low.stem,
        cage=args.cage,
        udims=udims,  # type: ignore[arg-type]
        device=args.device,
        ao_samples=args.ao_samples,
        cavity_radius=args.cavity_radius,
        cavity_depth=args.cavity_depth,
        albedo_bits=args.albedo_bits,
        albedo_colorspace=args.albedo_colorspace,
        allow_overlapping_uvs=args.allow_overlapping_uvs,
        progress=progress,
    )
    for channel, tiles in result.paths.items():
        for path in tiles.values():
            sink.emit(Event("artifact", {"path": str(path), "kind": f"map:{channel}"}))
    coverage = {str(u): round(c * 100.0, 2) for u, c in result.coverage.items()}
    summary = {
        "coverage_percent": coverage,
        "covered_texels": result.covered_texels,
        "cage": round(result.cage, 6),
        "cage_misses": result.cage_misses,
        "overlapping_uv_texels": result.overlap_texels,
        "cavity_depth": None if result.cavity_depth is None else round(result.cavity_depth, 6),
        "color_spaces": result.color_spaces,
        "seconds": {k: round(v, 3) for k, v in result.seconds.items()},
    }
    seconds = time.perf_counter() - t0
    sink.emit(Event("stage_end", {"stage": "bake", "seconds": round(seconds, 3), "cached": False, "summary": summary}))
    outputs = {f"{ch}.{u}": str(p) for ch, tiles in result.paths.items() for u, p in tiles.items()}
    sink.emit(Event("done", {"ok": True, "seconds": round(seconds, 3), "outputs": outputs}))
    if not args.json:
        _print_summary(result, seconds)
    return EXIT_OK


def _print_summary(result: Any, seconds: float) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title="bake", show_edge=False)
    table.add_column("step")
    table.add_column("seconds", justify="right")
    for step, value in result.seconds.items():
        table.add_row(step, f"{value:.2f}")
    table.add_row("[bold]total", f"[bold]{seconds:.2f}")
    console.print(table)
    tiles = ", ".join(f"{u}: {c:.1%}" for u, c in result.coverage.items())
    console.print(
        f"coverage {tiles}; cage {result.cage:.4g}; cage misses {result.cage_misses:,}; "
        f"overlapping UV texels {result.overlap_texels:,}"
        + ("" if result.cavity_depth is None else f"; cavity depth {result.cavity_depth:.4g}")
    )
    for channel, paths in result.paths.items():
        for path in paths.values():
            console.print(f"[dim]{channel}[/] {path}")

"""The ``lifecast project`` command: project a photogrammetry session's calibrated photos onto a mesh's UVs.

For :data:`lifecast.cli.COMMAND_GROUPS`; imports nothing heavy at module level.

Example::

    lifecast project head.obj --cameras session/sparse/0 --images session/images -o maps/ --size 4096
    lifecast project head.obj --cameras cams.xml --images photos/ --masks masks/ -o maps/ --udims auto --name head
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


def add_commands(subparsers: Any) -> dict[str, Handler]:
    """Add ``project`` to the CLI's subparsers; returns ``{"project": handler}``."""
    p = subparsers.add_parser(
        "project",
        help="texture a mesh's UVs from a photogrammetry session's calibrated photos",
        description="Project the photos of a calibrated camera rig onto MESH's UV tiles (exposure matched, "
        "blended, seams levelled). Files: <name>_albedo.<UDIM>.png (sRGB), <name>_mask.<UDIM>.png (texels some "
        "photo saw; the others are padded, for an inpainting step to fill) and <name>_photos.json (per photo: "
        "gain, texels used, or why it was skipped).",
    )
    p.add_argument("mesh", type=Path, help="the mesh to texture, with UVs, in the cameras' frame: .obj, .ply, .glb")
    p.add_argument(
        "--cameras",
        type=Path,
        required=True,
        help="the rig: a COLMAP model folder, Metashape .xml, AliceVision .sfm/.json or a folder of photos "
        "with RealityCapture .xmp sidecars",
    )
    p.add_argument("--images", type=Path, required=True, help="folder of the photos the cameras name")
    p.add_argument("-o", "--out", type=Path, required=True, help="output folder")
    p.add_argument("--masks", type=Path, help="folder of masks named like the photos (white: usable)")
    p.add_argument("--occluder", type=Path, help="the scan that hides things from the cameras (default: MESH)")
    p.add_argument("--size", type=int, default=4096, help="texels per tile side (default 4096)")
    p.add_argument(
        "--udims",
        help="'auto' (every tile the UVs use) or a comma list such as 1001,1002; without it the UVs must lie in 0-1",
    )
    p.add_argument("--name", help="file name prefix (default: the mesh's file name)")
    p.add_argument("--no-exposure", action="store_true", help="do not match the photos' exposure and white balance")
    p.add_argument("--no-levelling", action="store_true", help="do not solve vignetting and per-photo colour ramps")
    p.add_argument(
        "--blend",
        choices=("two_band", "best"),
        default="two_band",
        help="two_band: low frequencies averaged, detail from the best photos (default); best: one photo per texel",
    )
    p.add_argument("--json", action="store_true", help="print the JSON-lines event stream instead of progress bars")
    p.add_argument("-v", "--verbose", action="store_true", help="show log lines as well as warnings")
    return {"project": cmd_project}


def cmd_project(args: argparse.Namespace, sink: EventSink) -> int:
    """Run one projection; emits stage events (stage ``project``), warnings, artifacts and ``done``."""
    from lifecast.bake.commands import parse_udims

    udims = parse_udims(args.udims)
    if args.size < 16:
        raise InputError(f"--size must be at least 16 texels, got {args.size}")
    if not args.images.is_dir():
        raise InputError("the images folder does not exist or is not a folder", args.images)
    if args.masks is not None and not args.masks.is_dir():
        raise InputError("the masks folder does not exist or is not a folder", args.masks)
    if args.json:
        return _project(args, sink, udims)
    from lifecast.console import RichProgressSink

    bars = RichProgressSink(verbose=bool(args.verbose))
    try:
        return _project(args, bars, udims)
    finally:
        bars.stop()


def _project(args: argparse.Namespace, sink: EventSink, udims: list[int] | str | None) -> int:
    """The projection itself, reporting to ``sink``."""
    from lifecast.io import read_scan
    from lifecast.io.cameras import read_cameras
    from lifecast.photo.output import write_projection
    from lifecast.photo.project import ProjectionSettings, project_photos

    t0 = time.perf_counter()
    sink.emit(Event("run_start", {"command": "project", "mesh": str(args.mesh), "cameras": str(args.cameras)}))
    sink.emit(Event("stage_start", {"stage": "project", "message": "reading the mesh and the cameras"}))
    mesh = read_scan(args.mesh).mesh
    if mesh.uvs is None:
        raise InputError("the mesh has no UVs to project photos into: unwrap it first", args.mesh)
    occluder = read_scan(args.occluder).mesh if args.occluder is not None else None
    rig = read_cameras(args.cameras)
    for note in rig.notes:
        sink.emit(Event("log", {"stage": "project", "message": f"cameras: {note}"}))

    def progress(fraction: float, message: str = "") -> None:
        sink.emit(progress_event("project", fraction, message))

    settings = ProjectionSettings(exposure=not args.no_exposure, levelling=not args.no_levelling, blend=args.blend)
    result = project_photos(
        mesh,
        rig,
        args.images,
        size=args.size,
        udims=udims,  # type: ignore[arg-type]
        masks=args.masks,
        occluder=occluder,
        settings=settings,
        progress=progress,
    )
    for line in result.warnings:
        sink.emit(Event("warning", {"stage": "project", "message": line}))
    paths = write_projection(result, args.out, args.name or args.mesh.stem)
    for kind, files in paths.items():
        for path in files.values():
            sink.emit(Event("artifact", {"stage": "project", "path": str(path), "kind": f"photo:{kind}"}))
    report = result.report()
    summary = {k: report[k] for k in ("coverage_percent", "photos_used", "photos_skipped", "seconds")}
    seconds = time.perf_counter() - t0
    sink.emit(Event("stage_end", {"stage": "project", "seconds": round(seconds, 3), "cached": False,
                                  "summary": summary}))  # fmt: skip
    outputs = {f"{kind}.{key}": str(path) for kind, files in paths.items() for key, path in files.items()}
    sink.emit(Event("done", {"ok": True, "seconds": round(seconds, 3), "outputs": outputs}))
    if not args.json:
        _print_summary(result, seconds)
    return EXIT_OK


def _print_summary(result: Any, seconds: float) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title="project", show_edge=False)
    for column in ("photo", "used", "gain r/g/b", "texels", "best", "note"):
        table.add_column(column, justify="right" if column in ("texels", "best") else "left")
    for photo in result.photos:
        gain = "/".join(f"{g:.2f}" for g in photo.gain)
        note = photo.reason or "; ".join(photo.notes)
        table.add_row(photo.name, "yes" if photo.used else "[red]no", gain, f"{photo.texels:,}",
                      f"{photo.best_texels:,}", note)  # fmt: skip
    console.print(table)
    tiles = ", ".join(f"{u}: {m.mean():.1%}" for u, m in result.coverage.items())
    console.print(f"coverage {tiles}; {seconds:.1f} s")

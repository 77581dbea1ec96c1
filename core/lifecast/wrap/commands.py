"""The ``lifecast wrap`` command: a template wrapped onto a scan, keeping the template's topology and UVs.

Add ``"lifecast.wrap.commands"`` to :data:`lifecast.cli.COMMAND_GROUPS`; imports nothing heavy at module level.

Example::

    lifecast wrap scan.ply --template anny-head --landmarks clicks.json -o wrapped.obj
    lifecast wrap scan.ply --template head.obj --template-landmarks head.json --landmarks clicks.json -o wrapped.obj
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lifecast.errors import EXIT_OK, InputError
from lifecast.worker.events import Event, EventSink

if TYPE_CHECKING:
    from lifecast.cli import Handler


def add_commands(subparsers: Any) -> dict[str, Handler]:
    """Add ``wrap`` to the CLI's subparsers; returns ``{"wrap": handler}``."""
    p = subparsers.add_parser(
        "wrap",
        help="wrap a template onto a scan: one topology and UV layout for every scan",
        description="Wrap TEMPLATE onto SCAN: vertex i of the output is vertex i of the template, with its UVs. "
        "Without --landmarks the alignment is automatic. The built-in anny templates also fit anny's "
        "phenotype to the scan before the non-rigid refinement. Writes OUT (.obj keeps the template's polygons, "
        "or .ply), OUT's name + _fit.json (the residual report) and _fit_distance.npy (per-vertex distance).",
    )
    p.add_argument("scan", type=Path, help="the scan: .ply, .obj, .glb/.gltf")
    p.add_argument(
        "--template", required=True, help="anny-head, anny-body (built in, need the 'wrap' extra) or a mesh with UVs"
    )
    p.add_argument("--template-landmarks", type=Path, help="the template's markup JSON: landmarks, exclude, rigid")
    p.add_argument(
        "--landmarks",
        type=Path,
        help='scan landmarks JSON: {"nose_tip": [x, y, z]} in the scan file\'s units, or {"nose_tip": {"vertex": i}}',
    )
    p.add_argument("--no-shape-fit", action="store_true", help="skip the anny phenotype fit (anny templates)")
    p.add_argument("-o", "--out", type=Path, required=True, help="the wrapped mesh, .obj or .ply")
    p.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    p.add_argument("--json", action="store_true", help="print the JSON-lines event stream")
    return {"wrap": cmd_wrap}


def cmd_wrap(args: argparse.Namespace, sink: EventSink) -> int:
    """Run one wrap; emits stage events (stage ``wrap``), artifacts and ``done``."""
    from lifecast.io import read_scan
    from lifecast.wrap.builtin import resolve_template, template_identity
    from lifecast.wrap.landmarks import read_landmark_file, resolve_landmarks
    from lifecast.wrap.wrap import wrap_scan

    if args.out.suffix.lower() not in (".obj", ".ply"):
        raise InputError("the output is written as .obj or .ply", args.out)
    template_identity(args.template, args.template_landmarks)  # clear errors before any work
    if args.device not in ("cpu", "cuda") and not str(args.device).startswith("cuda:"):
        raise InputError(f"--device must be cpu or cuda, got {args.device!r}")
    t0 = time.perf_counter()
    sink.emit(Event("run_start", {"command": "wrap", "scan": str(args.scan), "template": str(args.template)}))
    sink.emit(Event("stage_start", {"stage": "wrap", "message": "reading"}))

    def progress(fraction: float, message: str = "") -> None:
        frac = round(min(max(float(fraction), 0.0), 1.0), 4)
        sink.emit(Event("progress", {"stage": "wrap", "fraction": frac, "message": message}))

    specs = read_landmark_file(args.landmarks) if args.landmarks else None
    template = resolve_template(args.template, args.template_landmarks, progress=progress)
    scan = read_scan(args.scan).mesh
    landmarks = resolve_landmarks(specs, scan.vertices, source=args.landmarks) if specs else None
    result = wrap_scan(
        scan,
        template,
        scan_landmarks=landmarks,
        device=args.device,
        fit_shape=not args.no_shape_fit,
        progress=progress,
    )
    import numpy as np

    args.out.parent.mkdir(parents=True, exist_ok=True)
    result.write(args.out)
    report_path = args.out.with_name(args.out.stem + "_fit.json")
    distance_path = args.out.with_name(args.out.stem + "_fit_distance.npy")
    report = result.report.as_dict()
    report["template"] = template.name
    if result.phenotype is not None:
        report["phenotype"] = {k: round(v, 4) for k, v in result.phenotype.items()}
    report_path.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    np.save(distance_path, result.fit_distance)
    for path, kind in ((args.out, "mesh"), (report_path, "report"), (distance_path, "fit_distance")):
        sink.emit(Event("artifact", {"path": str(path), "kind": f"wrap:{kind}"}))
    if report["confidence"] == "low":
        sink.emit(Event("warning", {"message": "low confidence: " + "; ".join(result.report.reasons)}))
    seconds = round(time.perf_counter() - t0, 3)
    sink.emit(Event("stage_end", {"stage": "wrap", "seconds": seconds, "cached": False, "summary": report}))
    sink.emit(Event("done", {"ok": True, "seconds": seconds, "outputs": {"mesh": str(args.out)}}))
    if not args.json:
        print(json.dumps({k: v for k, v in report.items() if k != "landmark_residuals"}, indent=2))
    return EXIT_OK

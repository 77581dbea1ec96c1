"""``lifecast batch`` and ``lifecast farm {bundle,task}``: registered through ``cli.COMMAND_GROUPS``.

Nothing heavy is imported here; each handler imports what it needs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lifecast.worker.events import Event, EventSink

if TYPE_CHECKING:
    from lifecast.cli import Handler

_FARM_STAGES = ("ingest", "clean", "lod", "uv", "texture", "photos", "delight", "inpaint", "export")


def add_commands(subparsers: Any) -> dict[str, Handler]:
    """Add ``batch`` and ``farm`` to the CLI's subparsers; return their handlers by command name."""
    p = subparsers.add_parser(
        "batch",
        help="process every scan of a manifest on this machine",
        description="Process the scans of a TOML/YAML manifest with a pool sized to the cores and memory.",
    )
    p.add_argument("manifest", type=Path, help="batch manifest (.toml, .yaml)")
    p.add_argument("-o", "--out", type=Path, required=True, help="output root: one asset folder per scan")
    p.add_argument("--cache", type=Path, help="stage cache (default OUTROOT/.lifecast/cache; share it across runs)")
    p.add_argument("-j", "--jobs", type=int, help="scans at once (default: from cores and free memory)")
    p.add_argument("--json", action="store_true", help="JSON-lines events; the report is on the final done event")

    farm = subparsers.add_parser("farm", help="render-farm jobs (Open Job Description, OpenCue)")
    farm_sub = farm.add_subparsers(dest="farm_command", required=True, metavar="FARM_COMMAND")
    b = farm_sub.add_parser("bundle", help="write an OpenJD job bundle (and an OpenCue outline) for a manifest")
    b.add_argument("manifest", type=Path, help="batch manifest (.toml, .yaml)")
    b.add_argument("-o", "--out", type=Path, required=True, help="bundle folder to write")
    b.add_argument("--output-root", type=Path, required=True, help="where the workers publish the assets")
    b.add_argument("--cache", type=Path, required=True, help="stage cache on shared storage")
    b.add_argument("--lifecast", default="lifecast", help="lifecast executable on the workers")
    b.add_argument("--name", help="job name")
    b.add_argument("--gpu-texture", action="store_true", help="texture step asks for a GPU (amount.worker.gpu)")
    b.add_argument(
        "--engine",
        choices=("openjd", "opencue"),
        default="openjd",
        help="openjd: the OpenJD bundle (Deadline Cloud, openjd run); opencue: the same bundle plus an OpenCue "
        "outline and job spec in BUNDLE/opencue/ (the farm extra's opencue-pyoutline)",
    )

    t = farm_sub.add_parser("task", help="run one farm task (what a bundle's steps call)")
    t.add_argument("table", type=Path, help="the bundle's tasks.json")
    t.add_argument("--index", type=int, required=True, help="row of the task table")
    t.add_argument("--out-root", type=Path, required=True)
    t.add_argument("--cache", type=Path, required=True)
    t.add_argument("--stop-after", choices=_FARM_STAGES, help="last stage to run (export publishes)")
    return {"batch": cmd_batch, "farm": cmd_farm}


def cmd_batch(args: argparse.Namespace, sink: EventSink) -> int:
    from lifecast.farm.batch import ScanResult, run_batch
    from lifecast.farm.manifest import load_manifest

    manifest = load_manifest(args.manifest)

    def line(result: ScanResult, done: int, total: int) -> None:
        message = f"[{done}/{total}] {result.out}: {result.status} (exit {result.exit_code})"
        sink.emit(Event("log", {"stage": None, "message": message}))
        if not args.json:
            why = f"  {result.message}" if result.message and result.exit_code else ""
            print(
                f"[{done}/{total}] {result.status:<11} {result.out:<24} exit {result.exit_code:<3} "
                f"{result.seconds:7.1f} s {result.peak_rss_mib:7.0f} MiB{why}",
                flush=True,
            )

    report = run_batch(manifest, args.out, cache=args.cache, jobs=args.jobs, on_result=line)
    if args.json:
        # The stream stays one event per line: the report rides on the final done event.
        path = str(Path(report.out_root) / ".lifecast" / "batch_report.json")
        sink.emit(
            Event(
                "done",
                {"ok": report.ok, "seconds": report.seconds, "outputs": {"report": path}, "report": report.to_json()},
            )
        )
    else:
        _print_summary(report)
    return report.exit_code()


def _print_summary(report: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"lifecast batch: {len(report.results)} scans, {report.jobs} at a time")
    for col in ("scan", "status", "exit", "seconds", "peak MiB", "cached stages", "message"):
        table.add_column(col, justify="right" if col in ("exit", "seconds", "peak MiB", "cached stages") else "left")
    for r in report.results:
        table.add_row(
            r.out,
            r.status,
            str(r.exit_code),
            f"{r.seconds:.1f}",
            f"{r.peak_rss_mib:.0f}",
            str(r.stages_cached),
            r.message or "",
        )
    console = Console()
    console.print(table)
    ok = sum(1 for r in report.results if r.exit_code == 0)
    console.print(
        f"{ok}/{len(report.results)} ok in {report.seconds:.1f} s; report {report.out_root}/.lifecast/batch_report.json"
    )


def cmd_farm(args: argparse.Namespace, sink: EventSink) -> int:
    if args.farm_command == "bundle":
        from lifecast.farm.manifest import load_manifest
        from lifecast.farm.openjd import write_bundle

        manifest = load_manifest(args.manifest)
        job = {
            "out_root": args.output_root,
            "cache_dir": args.cache,
            "lifecast_command": args.lifecast,
            "name": args.name,
            "gpu_texture": args.gpu_texture,
        }
        template = write_bundle(manifest, args.out, **job)
        print(f"lifecast: wrote {template} ({len(manifest.scans)} scans)", file=sys.stderr)
        print(f"  run here:  openjd run {template} --step export --run-dependencies ...", file=sys.stderr)
        print(f"  submit:    deadline bundle submit {template.parent}", file=sys.stderr)
        if args.engine == "opencue":
            from lifecast.farm.opencue import write_outline

            script = write_outline(manifest, template.parent, **job)
            print(f"lifecast: wrote {script} and {script.parent / 'job.xml'} (OpenCue)", file=sys.stderr)
            print("  submit:    see docs/farm.md, 'OpenCue'", file=sys.stderr)
        return 0
    from lifecast.farm.tasks import run_task

    return run_task(args.table, args.index, args.out_root.resolve(), args.cache.resolve(), args.stop_after)

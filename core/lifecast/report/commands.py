"""``lifecast qa report`` and ``lifecast qa render``: registered through ``cli.COMMAND_GROUPS``.

Nothing heavy is imported here; each handler imports what it needs.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lifecast.worker.events import Event, EventSink

if TYPE_CHECKING:
    from lifecast.cli import Handler


def add_commands(subparsers: Any) -> dict[str, Handler]:
    """Add ``qa`` to the CLI's subparsers; return its handler by command name."""
    qa = subparsers.add_parser("qa", help="the visual QA report of a published asset")
    qa_sub = qa.add_subparsers(dest="qa_command", required=True, metavar="QA_COMMAND")
    r = qa_sub.add_parser("report", help="(re)write ASSET_DIR/qa_report.html from the asset and its qa_report.json")
    r.add_argument("asset_dir", type=Path, help="a published asset folder (asset.usda, maps/, qa_report.json)")
    b = qa_sub.add_parser(
        "render",
        help="render the asset in Blender (Cycles CPU, three angles) into ASSET_DIR/qa/ and rewrite the report",
    )
    b.add_argument("asset_dir", type=Path, help="a published asset folder")
    b.add_argument(
        "--blender-python",
        type=Path,
        default=Path(".venv-blender") / "bin" / "python",
        help="a Python that imports bpy (default .venv-blender/bin/python; make setup-blender builds it)",
    )
    b.add_argument("--samples", type=int, default=8, help="Cycles samples per pixel (default 8)")
    b.add_argument("--size", type=int, default=384, help="image size in pixels (default 384)")
    b.add_argument("--script", type=Path, help="the Blender-side script (default: the add-on's qa_render.py)")
    b.add_argument("--json", action="store_true", help="JSON-lines events instead of text")
    r.add_argument("--json", action="store_true", help="JSON-lines events instead of text")
    return {"qa": cmd_qa}


def cmd_qa(args: argparse.Namespace, sink: EventSink) -> int:
    from lifecast.errors import InputError
    from lifecast.report import REPORT_NAME, write_qa_report

    asset_dir: Path = args.asset_dir
    qa_json = asset_dir / "qa_report.json"
    if not qa_json.is_file():
        raise InputError("not a published asset folder: no qa_report.json", asset_dir)
    outputs: dict[str, str] = {}
    if args.qa_command == "render":
        from lifecast.report.renders import render_in_blender

        if not 1 <= args.samples <= 4096 or not 16 <= args.size <= 4096:
            raise InputError("--samples must be 1-4096 and --size 16-4096")
        summary = render_in_blender(
            asset_dir, args.blender_python, script=args.script, samples=args.samples, size=args.size
        )
        for path in summary["renders"]:
            sink.emit(Event("artifact", {"stage": None, "path": path, "kind": "render"}))
            outputs[Path(path).name] = path
        if not args.json:
            print(f"lifecast: rendered {len(summary['renders'])} views in {summary['seconds']} s", file=sys.stderr)
    page = write_qa_report(asset_dir, asset_dir / REPORT_NAME, json.loads(qa_json.read_text()))
    sink.emit(Event("artifact", {"stage": None, "path": str(page), "kind": "report"}))
    outputs[REPORT_NAME] = str(page)
    if args.json:
        sink.emit(Event("done", {"ok": True, "outputs": outputs}))
    else:
        print(page)
    return 0

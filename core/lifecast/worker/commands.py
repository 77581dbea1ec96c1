"""``lifecast worker`` and ``lifecast panel``: registered through ``cli.COMMAND_GROUPS``.

``lifecast worker`` is what the DCC panels start (QProcess in Maya and Houdini,
``subprocess`` in Blender): it reads one job (JSON, from ``--job FILE`` or
stdin; see :mod:`lifecast.worker.jobs`), streams JSON-lines events on stdout
and exits with the CLI's codes (0 ok, 1 bug, 2 bad input, 3 no consent, 130
on SIGTERM with temporary files removed). The events always go to stdout, the
same protocol as ``lifecast process --json``.

``lifecast panel`` opens the shared artist panel in a window of its own (the
``ui`` extra); it runs in a child interpreter so the CLI never imports Qt.

Nothing heavy is imported here; each handler imports what it needs.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lifecast.errors import InputError
from lifecast.worker.events import EventSink

if TYPE_CHECKING:
    from lifecast.cli import Handler


def add_commands(subparsers: Any) -> dict[str, Handler]:
    """Add ``worker`` and ``panel`` to the CLI's subparsers; return their handlers by command name."""
    p = subparsers.add_parser(
        "worker",
        help="run one job for a DCC panel, streaming JSON-lines events",
        description="Read a job (JSON: command process|inspect|preview|template and options) and stream its events.",
    )
    p.add_argument("--job", type=Path, help="the job as a JSON file (default: read it from stdin)")
    # The worker always speaks the event protocol: main() picks the JSON-lines sink from this flag.
    p.set_defaults(json=True)

    p = subparsers.add_parser("panel", help="open the artist panel in its own window (needs the 'ui' extra)")
    p.add_argument("--worker-python", help="Python of the venv that runs `lifecast worker` (default: this one)")
    return {"worker": cmd_worker, "panel": cmd_panel}


def cmd_worker(args: argparse.Namespace, sink: EventSink) -> int:
    from lifecast.worker.jobs import load_job, run_job

    if args.job is not None:
        if not args.job.is_file():
            raise InputError("job file not found", args.job)
        text, origin = args.job.read_text(encoding="utf-8"), str(args.job)
    else:
        text, origin = sys.stdin.read(), "stdin"
    return run_job(load_job(text, origin), sink)


def cmd_panel(args: argparse.Namespace, sink: EventSink) -> int:
    import importlib.util

    if importlib.util.find_spec("lifecast_panel") is None or importlib.util.find_spec("PySide6") is None:
        raise InputError("the panel needs the 'ui' extra: pip install -c constraints.txt -e '.[ui]'")
    command = [
        sys.executable,
        "-m",
        "lifecast_panel.standalone",
        "--worker-python",
        args.worker_python or sys.executable,
    ]
    return subprocess.call(command)

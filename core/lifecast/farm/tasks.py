"""Farm tasks: one scan, one or more stages, safe to kill and retry.

A batch or a farm job reads its scans from a *task table*, a JSON file written
from the manifest (:func:`write_task_table`): each row holds the scan's path,
its output folder name and its ``lifecast process`` arguments. A task is then
``lifecast farm task TABLE --index N --out-root DIR --cache DIR [--stop-after
STAGE]``, which runs ``lifecast process`` on row N (:func:`run_task`):

- under an exclusive lock on the output folder (:func:`~lifecast.farm.outputs.task_lock`),
  so two workers on the same task never interleave their publish;
- with the stages cached by content hash in the shared cache, so a retry after
  a kill redoes only the stage that was running, and an unchanged scan is never
  processed twice;
- writing ``OUTDIR/.lifecast/outputs.json`` (content hashes) once the asset is
  published.

Its stdout is the JSON-lines event stream of ``lifecast process --json``, and
its exit code is the farm's retry signal (0 done, 1 retry, 2 bad input, 130
interrupted).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from lifecast.errors import EXIT_OK, InputError
from lifecast.farm.manifest import Manifest
from lifecast.farm.sizing import estimate_memory_mib
from lifecast.pipeline.atomic import write_text_atomic

TABLE_VERSION = 1


def write_task_table(manifest: Manifest, path: Path) -> Path:
    """Write the manifest's scans as a task table (JSON, atomically); return ``path``."""
    rows = []
    for task in manifest.scans:
        row = task.to_json()
        row["memory_mib"] = estimate_memory_mib(task)
        rows.append(row)
    body = {"version": TABLE_VERSION, "manifest": str(manifest.path), "scans": rows}
    write_text_atomic(path, json.dumps(body, indent=1) + "\n")
    return path


def read_task_row(table: Path, index: int) -> dict[str, Any]:
    """Row ``index`` of a task table."""
    try:
        data = json.loads(Path(table).read_text())
        rows = data["scans"]
    except (OSError, json.JSONDecodeError, KeyError, TypeError) as exc:
        raise InputError(f"not a lifecast task table: {exc}", table) from None
    if not 0 <= index < len(rows):
        raise InputError(f"task index {index} is out of range (the table has {len(rows)} scans)", table)
    row: dict[str, Any] = rows[index]
    return row


def process_argv(row: dict[str, Any], out_root: Path, cache: Path, stop_after: str | None) -> list[str]:
    """The ``lifecast process`` command line for a task-table row."""
    argv = ["process", row["scan"], "-o", str(out_root / row["out"]), "--cache", str(cache), "--json"]
    if stop_after is not None and stop_after != "export":
        argv += ["--stop-after", stop_after]
    return argv + list(row["args"])


def run_task(table: Path, index: int, out_root: Path, cache: Path, stop_after: str | None = None) -> int:
    """Run one task in this process; returns its exit code.

    Parameters
    ----------
    table
        Task table written by :func:`write_task_table`.
    index
        Row of the table (the scan).
    out_root
        Output root; the asset goes to ``out_root / row["out"]``.
    cache
        Stage cache shared by every task (and every machine) of the job.
    stop_after
        Run the stages up to this one and publish nothing; ``None`` or
        ``"export"`` runs them all and publishes.
    """
    from lifecast import cli
    from lifecast.farm.outputs import task_lock, write_outputs_manifest
    from lifecast.pipeline.hashing import hash_file

    row = read_task_row(table, index)
    argv = process_argv(row, out_root, cache, stop_after)
    out_dir = out_root / row["out"]
    print("lifecast " + " ".join(argv), file=sys.stderr, flush=True)
    with task_lock(cache / "locks", out_dir):
        code = cli.main(argv)
        if code == EXIT_OK and (stop_after is None or stop_after == "export"):
            inputs = {"scan": {"file": Path(row["scan"]).name, "sha256": hash_file(row["scan"])}, "args": row["args"]}
            write_outputs_manifest(out_dir, inputs)
    return code

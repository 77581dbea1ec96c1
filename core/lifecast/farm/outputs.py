"""What a finished task published, by content hash, and a lock so one task runs at a time.

``OUTDIR/.lifecast/outputs.json`` lists every file of a published asset with
its SHA-256. It is written atomically after the asset, so its presence says
the asset is complete, and a retried or racing task can be checked against it
(:func:`verify_outputs`). It holds no time stamps: two runs that publish the
same bytes write the same manifest.

:func:`task_lock` serialises tasks on the same output folder (an exclusive
``fcntl.flock`` on a lock file in the cache). The second of two racing workers
waits, then finds every stage cached and republishes the same bytes.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from lifecast.pipeline.atomic import write_text_atomic
from lifecast.pipeline.hashing import hash_file

MANIFEST_NAME = "outputs.json"
MANIFEST_VERSION = 1


def asset_files(out_dir: Path) -> list[Path]:
    """The published files of an asset folder, sorted: no ``.lifecast/`` bookkeeping, no temp files."""
    files = []
    for p in sorted(out_dir.rglob("*")):
        rel = p.relative_to(out_dir)
        if not p.is_file() or rel.parts[0] == ".lifecast" or any(part.startswith(".") for part in rel.parts):
            continue
        files.append(p)
    return files


def hash_outputs(out_dir: Path) -> dict[str, str]:
    """Relative path (POSIX) -> SHA-256 of every published file under ``out_dir``."""
    return {p.relative_to(out_dir).as_posix(): hash_file(p) for p in asset_files(out_dir)}


def manifest_path(out_dir: Path) -> Path:
    return out_dir / ".lifecast" / MANIFEST_NAME


def write_outputs_manifest(out_dir: Path, inputs: dict[str, Any] | None = None) -> Path:
    """Hash the published asset and write ``OUTDIR/.lifecast/outputs.json`` atomically.

    Call it after :func:`lifecast.pipeline.publish.publish` returns.

    Parameters
    ----------
    out_dir
        The asset folder.
    inputs
        What produced it (scan path and hash, options), stored as given.
    """
    body = {"version": MANIFEST_VERSION, "inputs": inputs or {}, "files": hash_outputs(out_dir)}
    path = manifest_path(out_dir)
    write_text_atomic(path, json.dumps(body, indent=1, sort_keys=True) + "\n")
    return path


def read_outputs_manifest(out_dir: Path) -> dict[str, Any] | None:
    """The manifest's contents, or ``None`` when there is none (or it does not parse)."""
    try:
        data = json.loads(manifest_path(out_dir).read_text())
    except (OSError, json.JSONDecodeError):
        return None
    return data if isinstance(data, dict) else None


def verify_outputs(out_dir: Path) -> list[str]:
    """Problems with a published asset against its manifest; empty when every file matches.

    Reports a missing manifest, missing or changed files, and files the
    manifest does not list.
    """
    manifest = read_outputs_manifest(out_dir)
    if manifest is None:
        return [f"{manifest_path(out_dir)}: no outputs manifest"]
    expected: dict[str, str] = manifest.get("files", {})
    actual = hash_outputs(out_dir)
    problems = [f"missing: {rel}" for rel in sorted(set(expected) - set(actual))]
    problems += [f"not in the manifest: {rel}" for rel in sorted(set(actual) - set(expected))]
    problems += [f"changed: {rel}" for rel in sorted(set(expected) & set(actual)) if expected[rel] != actual[rel]]
    return problems


def lock_path(lock_dir: Path, out_dir: Path) -> Path:
    """The lock file for tasks writing ``out_dir``: named by a hash of its absolute path."""
    key = hashlib.sha256(str(Path(out_dir).resolve()).encode()).hexdigest()[:24]
    return lock_dir / f"{key}.lock"


@contextlib.contextmanager
def task_lock(lock_dir: Path, out_dir: Path) -> Iterator[Path]:
    """Hold an exclusive lock for tasks on ``out_dir`` (blocks until it is free).

    The kernel drops the lock when the holder dies, SIGKILL included, so a
    killed task never leaves a stale lock. On NFS this needs working ``lockd``
    (NFSv4 has it built in); see docs/farm.md.
    """
    path = lock_path(lock_dir, out_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield path
    finally:
        os.close(fd)  # closing the descriptor releases the lock

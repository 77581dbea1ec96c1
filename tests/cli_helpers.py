"""Running the real CLI in a subprocess, as artists, panels and farm tasks do."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from lifecast.worker.events import Event, parse_event
from tests.conftest import optional_required


def run_cli(*args: str | Path, timeout: float = 600, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``lifecast ARGS...`` with this interpreter; returns the finished process (text mode)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    env.pop("LIFECAST_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "lifecast.cli", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=cwd,
        env=env,
    )


def events_of(stdout: str) -> list[Event]:
    """The protocol events in a ``--json`` run's stdout."""
    return [e for e in (parse_event(line) for line in stdout.splitlines()) if e is not None]


def openjd_exe() -> str:
    """The `openjd` CLI (the `farm` extra); fails in CI (LIFECAST_REQUIRE_OPTIONAL) when missing, skips elsewhere."""
    exe = shutil.which("openjd", path=str(Path(sys.executable).parent)) or shutil.which("openjd")
    if exe is None:
        msg = "openjd-cli is not installed (pip install -c constraints.txt -e '.[farm]')"
        if optional_required():
            pytest.fail(msg + "; LIFECAST_REQUIRE_OPTIONAL=1 (CI) requires it", pytrace=False)
        pytest.skip(msg)
    return exe

"""Reading the worker's JSON-lines event stream, without lifecast's core.

This is a deliberate small duplicate of ``lifecast.worker.events.parse_event``:
the panel runs in a DCC's Python, which cannot import the core (it pulls numpy 2,
torch, open3d). The protocol is the contract: one JSON object per line, with
``"event"`` and ``"time"``; readers ignore unknown keys and unknown event types.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

__all__ = ["PROTOCOL_EVENTS", "LineBuffer", "WorkerEvent", "parse_line"]

PROTOCOL_EVENTS = (
    "run_start",
    "stage_start",
    "progress",
    "log",
    "warning",
    "artifact",
    "stage_end",
    "error",
    "done",
)


@dataclass(frozen=True)
class WorkerEvent:
    """One event of the stream: its type and the rest of its keys."""

    type: str
    data: dict[str, Any] = field(default_factory=dict)
    time: float = 0.0

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)


def parse_line(line: str) -> WorkerEvent | None:
    """One line of the stream as an event; ``None`` for blank lines and anything that is not an event."""
    line = line.strip()
    if not line.startswith("{"):
        return None
    try:
        obj = json.loads(line)
    except json.JSONDecodeError:
        return None
    if not isinstance(obj, dict) or "event" not in obj:
        return None
    kind = str(obj.pop("event"))
    try:
        stamp = float(obj.pop("time", time.time()))
    except (TypeError, ValueError):
        stamp = time.time()
    return WorkerEvent(kind, obj, stamp)


class LineBuffer:
    """Splits chunks of bytes as they arrive from a pipe into complete lines."""

    def __init__(self) -> None:
        self._pending = b""

    def feed(self, chunk: bytes) -> list[str]:
        """Add a chunk; return the lines it completed (decoded UTF-8, without newlines)."""
        data = self._pending + chunk
        *lines, self._pending = data.split(b"\n")
        return [line.decode("utf-8", errors="replace") for line in lines]

    def flush(self) -> list[str]:
        """The last line when the stream ended without a newline."""
        rest, self._pending = self._pending, b""
        return [rest.decode("utf-8", errors="replace")] if rest.strip() else []

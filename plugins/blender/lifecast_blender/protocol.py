"""Reading the worker's JSON-lines event stream inside Blender's Python. Stdlib only, no bpy.

A deliberate small copy of ``lifecast_panel.protocol.parse_line`` (itself a copy of
``lifecast.worker.events.parse_event``): a Blender extension must be self-contained
and Blender's Python can import neither lifecast's core (numpy 2, torch) nor the Qt
panel. The protocol is the contract: one JSON object per line with ``"event"`` and
``"time"``; readers ignore unknown keys and unknown event types. A unit test checks
that this copy and the panel's parse the same lines the same way.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Any

__all__ = ["PROTOCOL_EVENTS", "WorkerEvent", "parse_line"]

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
    """One event of the stream: its type (``event``), the rest of its keys, its ``time``."""

    type: str
    data: dict[str, Any] = field(default_factory=dict)
    time: float = 0.0

    def get(self, key: str, default: Any = None) -> Any:
        return self.data.get(key, default)


def parse_line(line: str | bytes) -> WorkerEvent | None:
    """One line of the stream as an event; ``None`` for blank lines and anything that is not an event."""
    if isinstance(line, bytes):
        line = line.decode("utf-8", errors="replace")
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

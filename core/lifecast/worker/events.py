"""Events: one protocol for the CLI's progress bars, panel workers and farm task logs.

Each event is one JSON object on one line (JSON Lines), written as the work
happens. Every event has ``"event"`` (its type) and ``"time"`` (seconds since
the epoch); the other keys depend on the type:

=============  ==============================================================
event          keys
=============  ==============================================================
run_start      ``command``, ``version``, ``stages`` (names, in order)
stage_start    ``stage``, ``cached`` (true when the result comes from cache)
progress       ``stage``, ``fraction`` (0..1), ``message``
log            ``stage`` (or null), ``message``
warning        ``stage`` (or null), ``message``
artifact       ``stage``, ``path``, ``kind`` (usd, texture, report, mesh)
stage_end      ``stage``, ``cached``, ``seconds``, ``summary`` (small dict)
error          ``stage`` (or null), ``message``, ``path`` (or null), ``exit_code``
done           ``ok`` (bool), ``seconds``, ``outputs`` (dict of paths)
=============  ==============================================================

A reader must ignore unknown keys and unknown event types, so the protocol
can grow without breaking older panels.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import IO, Any, Protocol

from lifecast.jsonable import json_default

PROTOCOL_VERSION = 1

EVENT_TYPES = (
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
class Event:
    """One protocol event: a type and its payload."""

    type: str
    data: dict[str, Any] = field(default_factory=dict)
    time: float = field(default_factory=time.time)

    def to_json(self) -> str:
        """The event as one line of JSON (no trailing newline)."""
        payload = {"event": self.type, "time": round(self.time, 3), **self.data}
        # numpy values and paths sneak into summaries; json_default keeps the stream valid JSON.
        return json.dumps(payload, separators=(",", ":"), default=json_default)


def progress_event(stage: str | None, fraction: float, message: str = "") -> Event:
    """A ``progress`` event, ``fraction`` clamped to [0, 1] and rounded to 4 places."""
    frac = min(max(float(fraction), 0.0), 1.0)
    return Event("progress", {"stage": stage, "fraction": round(frac, 4), "message": message})


def parse_event(line: str) -> Event | None:
    """Parse one line of the stream; ``None`` for blank or non-event lines."""
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
    stamp = float(obj.pop("time", time.time()))
    return Event(kind, obj, stamp)


class EventSink(Protocol):
    """Anything that receives events."""

    def emit(self, event: Event) -> None: ...


class NullSink:
    """Drops every event."""

    def emit(self, event: Event) -> None:
        pass


class CollectingSink:
    """Keeps every event in a list (tests, summaries)."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def emit(self, event: Event) -> None:
        self.events.append(event)

    def of_type(self, kind: str) -> list[Event]:
        return [e for e in self.events if e.type == kind]


class JsonLinesSink:
    """Writes each event as a line of JSON and flushes, so readers see it at once."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self._stream = stream if stream is not None else sys.stdout
        self._lock = threading.Lock()

    def emit(self, event: Event) -> None:
        with self._lock:
            self._stream.write(event.to_json() + "\n")
            self._stream.flush()


class MultiSink:
    """Sends each event to several sinks."""

    def __init__(self, *sinks: EventSink) -> None:
        self.sinks = list(sinks)

    def emit(self, event: Event) -> None:
        for sink in self.sinks:
            sink.emit(event)

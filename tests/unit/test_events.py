"""The JSON-lines event protocol."""

from __future__ import annotations

import io
import json

import numpy as np

from lifecast.worker.events import Event, JsonLinesSink, parse_event


def test_round_trip_through_a_stream() -> None:
    buf = io.StringIO()
    sink = JsonLinesSink(buf)
    sink.emit(Event("progress", {"stage": "clean", "fraction": 0.25, "message": "floaters"}))
    sink.emit(Event("stage_end", {"stage": "clean", "seconds": np.float64(1.5), "summary": {"n": np.int64(3)}}))
    lines = buf.getvalue().splitlines()
    assert len(lines) == 2
    first = json.loads(lines[0])
    assert first["event"] == "progress" and first["fraction"] == 0.25 and "time" in first
    back = parse_event(lines[1])
    assert back is not None
    assert back.type == "stage_end" and back.data["summary"] == {"n": 3} and back.data["seconds"] == 1.5


def test_parse_ignores_noise() -> None:
    assert parse_event("") is None
    assert parse_event("Warp 1.19 initialized") is None
    assert parse_event("{not json") is None
    assert parse_event('{"no_event": 1}') is None
    ev = parse_event('{"event": "future_kind", "time": 1.0, "extra": [1]}')
    assert ev is not None and ev.type == "future_kind" and ev.data == {"extra": [1]}

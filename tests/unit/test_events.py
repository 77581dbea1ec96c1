"""The JSON-lines event protocol."""

from __future__ import annotations

import io
import json

import numpy as np

from lifecast.worker.events import Event, JsonLinesSink, parse_event, progress_event


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


def test_arrays_and_numpy_scalars_in_a_payload_stay_valid_json() -> None:
    summary = {"faces": np.array([[1, 2], [3, 4]], np.int32), "mean": np.float32(0.5), "one": np.array([7])}
    back = parse_event(Event("stage_end", {"stage": "lod", "summary": summary}).to_json())
    assert back is not None
    assert back.data["summary"] == {"faces": [[1, 2], [3, 4]], "mean": 0.5, "one": [7]}


def test_progress_events_are_clamped_and_rounded() -> None:
    assert progress_event("uv", 1.7).data == {"stage": "uv", "fraction": 1.0, "message": ""}
    assert progress_event(None, -0.2, "start").data["fraction"] == 0.0
    assert progress_event("uv", np.float32(1) / 3, "LOD0").data == {
        "stage": "uv",
        "fraction": 0.3333,
        "message": "LOD0",
    }

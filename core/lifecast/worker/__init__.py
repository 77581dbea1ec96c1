"""The JSON-lines event protocol shared by the CLI, the DCC panels and farm tasks."""

from lifecast.worker.events import (
    CollectingSink,
    Event,
    EventSink,
    JsonLinesSink,
    MultiSink,
    NullSink,
    parse_event,
)

__all__ = ["CollectingSink", "Event", "EventSink", "JsonLinesSink", "MultiSink", "NullSink", "parse_event"]

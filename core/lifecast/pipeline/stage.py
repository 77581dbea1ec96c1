"""The stage contract: a pure function of its inputs and parameters.

A :class:`Stage` names its dependencies (other stages' names) and its
parameters. Its cache key is a hash of its name, its code ``version``, the
lifecast version, its parameters, an optional ``input_key`` (content hashes of
source files) and the keys of the stages it depends on. Equal keys mean equal
outputs, so a finished stage is never run twice.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lifecast.worker.events import Event, EventSink, progress_event


@dataclass(frozen=True)
class Stage:
    """One step of a pipeline.

    Attributes
    ----------
    name
        Unique within a pipeline; also the name of its events.
    fn
        ``fn(ctx) -> outputs``: reads ``ctx.inputs`` and ``ctx.params``, may
        write files under ``ctx.files_dir``, returns a mapping of outputs (see
        :mod:`lifecast.pipeline.store`).
    version
        Bump it whenever a change to ``fn`` changes its outputs.
    deps
        Names of the stages whose outputs ``fn`` reads.
    params
        JSON-able parameters; part of the cache key.
    input_key
        Extra key material, e.g. content hashes of the files the stage reads.
    resources
        Values ``fn`` reads that stay out of the key because ``input_key``
        already covers them, e.g. the paths of files whose content hashes are
        in ``input_key`` (a moved scan is still the same scan).
    """

    name: str
    fn: Callable[[StageContext], Mapping[str, Any]]
    version: str = "1"
    deps: tuple[str, ...] = ()
    params: Mapping[str, Any] = field(default_factory=dict)
    input_key: str = ""
    resources: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class StageContext:
    """What a running stage sees: its inputs, parameters, a place for files and a voice."""

    stage: str
    params: Mapping[str, Any]
    inputs: Mapping[str, Mapping[str, Any]]
    files_dir: Path
    events: EventSink
    resources: Mapping[str, Any] = field(default_factory=dict)

    def progress(self, fraction: float, message: str = "") -> None:
        """Report progress in [0, 1] within this stage."""
        self.events.emit(progress_event(self.stage, fraction, message))

    def log(self, message: str) -> None:
        self.events.emit(Event("log", {"stage": self.stage, "message": message}))

    def warn(self, message: str) -> None:
        self.events.emit(Event("warning", {"stage": self.stage, "message": message}))

    def input(self, stage: str, name: str) -> Any:
        """One output of a dependency."""
        return self.inputs[stage][name]


ProgressFn = Callable[[float, str], None]


def no_progress(fraction: float, message: str = "") -> None:
    """A progress callback that does nothing (the default for algorithms)."""


def scaled_progress(progress: ProgressFn, start: float, end: float, prefix: str = "") -> ProgressFn:
    """A callback mapping a sub-task's [0, 1] onto ``[start, end]`` of ``progress``.

    ``prefix`` is put before the sub-task's messages (e.g. ``"LOD1: "``).
    """

    def report(fraction: float, message: str = "") -> None:
        progress(start + (end - start) * fraction, f"{prefix}{message}" if message else prefix.rstrip(": "))

    return report

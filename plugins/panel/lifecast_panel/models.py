"""What a worker run looks like to the panel: per-stage progress, log lines, result, error. No Qt.

:class:`RunModel` folds the event stream into state the widgets draw; tests drive it
with hand-written events.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lifecast_panel.protocol import WorkerEvent

__all__ = ["ERROR_HEADLINES", "LogLine", "RunError", "RunModel", "StageState"]

#: Exit codes of ``lifecast worker``: a copy of ``lifecast.errors``' (the panel never imports the core), kept equal
#: to it by ``tests/hosts/test_plugin_imports.py``.
EXIT_OK, EXIT_INTERNAL, EXIT_BAD_INPUT, EXIT_NO_CONSENT, EXIT_INTERRUPTED = 0, 1, 2, 3, 130

#: The first words of a failed run's one-line message, by exit code (the Blender add-on shows the same).
ERROR_HEADLINES = {
    EXIT_BAD_INPUT: "Cannot use this input",
    EXIT_NO_CONSENT: "No valid consent",
    EXIT_INTERRUPTED: "Cancelled",
}
#: The headline of any other exit code.
FAILED_HEADLINE = "The worker failed"


@dataclass
class StageState:
    """One stage of a run: ``status`` is ``waiting``, ``running``, ``done``, ``cached`` or ``failed``."""

    name: str
    status: str = "waiting"
    fraction: float = 0.0
    message: str = ""
    seconds: float | None = None
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LogLine:
    level: str  #: ``log``, ``warning`` or ``error``
    stage: str | None
    message: str


@dataclass(frozen=True)
class RunError:
    """A failed run as an artist reads it: one line, and the details a click away."""

    message: str
    exit_code: int
    path: str | None = None
    details: str = ""

    @property
    def headline(self) -> str:
        return f"{ERROR_HEADLINES.get(self.exit_code, FAILED_HEADLINE)}: {self.message}"


class RunModel:
    """The state of the current worker run, built from its events."""

    def __init__(self) -> None:
        self.reset()

    def reset(self, command: str = "") -> None:
        self.command = command
        self.stages: dict[str, StageState] = {}
        self.log: list[LogLine] = []
        self.artifacts: list[tuple[str, str]] = []  # (kind, path)
        self.outputs: dict[str, str] = {}
        self.report: dict[str, Any] | None = None
        self.done: dict[str, Any] = {}  # every key of the ``done`` event (jobs such as ``template`` answer there)
        self.error: RunError | None = None
        self.running = False
        self.exit_code: int | None = None

    def apply(self, event: WorkerEvent) -> None:
        """Fold one event into the state; unknown event types are ignored."""
        stage = event.get("stage")
        if event.type == "run_start":
            self.running = True
            self.command = str(event.get("command", self.command))
            self.stages = {str(s): StageState(str(s)) for s in event.get("stages", [])}
        elif event.type == "stage_start" and stage:
            st = self._stage(stage)
            st.status = "running"
        elif event.type == "progress" and stage:
            st = self._stage(stage)
            st.fraction = max(0.0, min(1.0, float(event.get("fraction", 0.0))))
            st.message = str(event.get("message", "") or st.message)
        elif event.type in ("log", "warning"):
            self.log.append(LogLine(event.type, stage, str(event.get("message", ""))))
        elif event.type == "artifact":
            self.artifacts.append((str(event.get("kind", "")), str(event.get("path", ""))))
        elif event.type == "stage_end" and stage:
            st = self._stage(stage)
            st.status = "cached" if event.get("cached") else "done"
            st.fraction = 1.0
            st.seconds = event.get("seconds")
            st.summary = dict(event.get("summary") or {})
        elif event.type == "error":
            msg = str(event.get("message", "unknown error"))
            self.error = RunError(msg, int(event.get("exit_code", EXIT_INTERNAL)), event.get("path"))
            self.log.append(LogLine("error", stage, msg))
            for st in self.stages.values():
                if st.status == "running":
                    st.status = "failed"
        elif event.type == "done":
            self.done = dict(event.data)
            self.outputs = {str(k): str(v) for k, v in (event.get("outputs") or {}).items()}
            if isinstance(event.get("report"), dict):
                self.report = event.get("report")

    def finish(self, exit_code: int, stderr: str = "") -> None:
        """The worker process ended with ``exit_code``; ``stderr`` becomes the error's details."""
        self.running = False
        self.exit_code = exit_code
        if exit_code == EXIT_OK:
            return
        if self.error is None:
            message = (
                "cancelled; nothing half-written was left"
                if exit_code == EXIT_INTERRUPTED
                else (f"the worker exited with code {exit_code}")
            )
            self.error = RunError(message, exit_code, None, stderr)
        else:
            self.error = RunError(self.error.message, exit_code, self.error.path, stderr)
        for st in self.stages.values():
            if st.status == "running":
                st.status = "failed"

    def overall_fraction(self) -> float:
        """Progress over all stages of the run, in [0, 1]."""
        if not self.stages:
            return 0.0
        return sum(s.fraction for s in self.stages.values()) / len(self.stages)

    def _stage(self, name: str) -> StageState:
        return self.stages.setdefault(str(name), StageState(str(name)))

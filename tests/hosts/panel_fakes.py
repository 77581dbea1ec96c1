"""A fake host and a fake worker for the panel's controller: no DCC, no process, no window.

The fake host is the reference the host contract (``tests/hosts/host_contract.py``)
is written against; the real adapters must behave the same way.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.hosts.plugin_paths import add_plugin_paths

add_plugin_paths()

from lifecast_panel.controller import WorkerListener  # noqa: E402
from lifecast_panel.host import Host, MessageLevel, PointSelection, SelectedPoints, UsdImporter  # noqa: E402
from lifecast_panel.protocol import WorkerEvent  # noqa: E402

__all__ = ["FakeHost", "FakeWorker"]


class FakeHost(Host, UsdImporter, PointSelection):
    """Records messages and imports; ``selection`` is what ``selected_points`` answers."""

    name = "fake"

    def __init__(self) -> None:
        self.messages: list[tuple[str, str]] = []
        self.imported: list[Path] = []
        self.selection: SelectedPoints | None = None

    def main_window(self) -> Any:
        return None

    def report(self, message: str, level: MessageLevel = "info") -> None:
        self.messages.append((level, message))

    def import_usd(self, path: Path) -> str:
        if not Path(path).is_file():
            raise FileNotFoundError(path)
        self.imported.append(Path(path))
        return f"/{Path(path).parent.name}"

    def selected_points(self) -> SelectedPoints | None:
        return self.selection


class FakeWorker:
    """Records the jobs it is given; the test speaks for the worker with :meth:`say` and :meth:`exit`."""

    def __init__(self) -> None:
        self.jobs: list[dict[str, Any]] = []
        self.listener: WorkerListener | None = None
        self.cancelled = False

    def start(self, job: dict[str, Any], listener: WorkerListener) -> None:
        self.jobs.append(job)
        self.listener = listener

    def cancel(self) -> None:
        self.cancelled = True

    def is_running(self) -> bool:
        return self.listener is not None

    def say(self, kind: str, **data: Any) -> None:
        assert self.listener is not None
        self.listener.handle_event(WorkerEvent(kind, data))

    def exit(self, code: int, stderr: str = "") -> None:
        listener, self.listener = self.listener, None
        assert listener is not None
        listener.handle_finished(code, stderr)

    def answer_template(self, names: list[str], *, in_report: bool = False, **facts: Any) -> None:
        """Finish a running ``template`` job the way interfaces.md documents it."""
        info = {"template": self.jobs[-1].get("template"), "landmarks": names, **facts}
        self.say("run_start", command="template", stages=["template"])
        if in_report:
            self.say("done", ok=True, outputs={}, report=info)
        else:
            self.say("done", ok=True, outputs={}, **info)
        self.exit(0)

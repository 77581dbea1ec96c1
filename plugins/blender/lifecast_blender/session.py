"""One worker run as the Blender operators drive it: a client, its state, and a pump. No bpy.

The modal operator calls :meth:`RunSession.pump` from a window-manager timer
(``timeout=0``: never blocks the UI); the operator's ``execute`` (scripts,
``blender --background``) calls :meth:`RunSession.run_to_end`, which is the same
pump in a loop. Either way the events go through the same
:class:`~.worker_client.WorkerClient` and :class:`~.run_state.RunState`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from .run_state import RunState
from .worker_client import Finished, WorkerClient

__all__ = ["RunSession"]


class RunSession:
    """A job, the worker client running it and the state its events build.

    Parameters
    ----------
    job
        The worker job (``{"command": "process", ...}``).
    python
        The Python of the venv where lifecast is installed.
    kill_after
        Seconds between SIGTERM and SIGKILL on cancel.
    """

    def __init__(self, job: Mapping[str, Any], python: str, kill_after: float = 10.0) -> None:
        self.job = dict(job)
        self.client = WorkerClient(python, kill_after=kill_after)
        self.state = RunState(command=str(job.get("command", "")))

    def start(self) -> RunSession:
        self.state.running = True
        self.client.start(self.job)
        return self

    @property
    def finished(self) -> bool:
        return self.state.exit_code is not None

    def pump(self, timeout: float = 0.0) -> bool:
        """Fold the messages that arrived into the state (waiting up to ``timeout`` s for one); ``True`` if any did."""
        messages = self.client.get(timeout) if timeout > 0 else self.client.poll()
        for message in messages:
            if isinstance(message, Finished):
                self.state.finish(message.exit_code, message.stderr)
            else:
                self.state.apply(message)
        return bool(messages)

    def cancel(self) -> None:
        """Ask the worker to stop (SIGTERM, then SIGKILL after the grace period)."""
        self.client.cancel()

    def run_to_end(
        self, timeout: float | None = None, on_change: Callable[[RunState], None] | None = None, poll: float = 0.2
    ) -> RunState:
        """Pump until the worker has ended (cancelling it after ``timeout`` s); ``on_change`` sees each update."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self.finished:
            if deadline is not None and time.monotonic() > deadline and not self.client.cancel_requested:
                self.cancel()
            if self.pump(poll) and on_change is not None:
                on_change(self.state)
        return self.state

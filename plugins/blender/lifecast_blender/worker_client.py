"""``lifecast worker`` in a child process, read by a thread into a queue. No bpy.

Blender's UI thread must never block and must never import lifecast's core
(numpy 2, torch): :class:`WorkerClient` starts ``<worker python> -m lifecast.worker``
with :class:`subprocess.Popen`, writes the job on stdin, and a reader thread
turns each stdout line into a :class:`~.protocol.WorkerEvent` on a queue; a
second thread drains stderr (so a chatty worker never fills the pipe). When the
process ends a :class:`Finished` follows the last event. The UI drains the queue
from a timer (:meth:`WorkerClient.poll`), scripts and tests block on it
(:meth:`WorkerClient.get`).

Cancel sends SIGTERM (the worker removes its temporary files and exits 130)
and kills the process if it is still alive ``kill_after`` seconds later. On
Windows ``terminate`` is already a hard kill.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import IO, Any

from .protocol import WorkerEvent, parse_line
from .run_state import EXIT_INTERNAL, EXIT_INTERRUPTED

__all__ = ["Finished", "Message", "WorkerClient", "qt_panel_command", "worker_command"]


@dataclass(frozen=True)
class Finished:
    """The worker process ended: its exit code (130 when cancelled or killed) and everything it wrote on stderr."""

    exit_code: int
    stderr: str


Message = WorkerEvent | Finished


def worker_command(python: str) -> list[str]:
    """The command line that starts the worker with the lifecast venv's ``python``."""
    return [python, "-m", "lifecast.worker"]


def qt_panel_command(python: str) -> list[str]:
    """The command line that opens the shared Qt panel in its own window (``lifecast panel``; needs the ui extra)."""
    return [python, "-m", "lifecast_panel.standalone", "--worker-python", python]


def child_environment(base: Mapping[str, str] | None = None) -> dict[str, str]:
    """The worker's environment: the host's, unbuffered, without ``PYTHONHOME`` (it names the host's Python)."""
    env = dict(os.environ if base is None else base)
    env.pop("PYTHONHOME", None)
    env["PYTHONUNBUFFERED"] = "1"
    return env


class WorkerClient:
    """Runs one worker job in a child process; events arrive on a queue, read from any thread.

    Parameters
    ----------
    python
        The Python of the venv where lifecast is installed.
    kill_after
        Seconds between SIGTERM and SIGKILL when cancelling.
    """

    def __init__(self, python: str, kill_after: float = 10.0) -> None:
        self.python = python
        self.kill_after = kill_after
        self.process: subprocess.Popen[bytes] | None = None
        self.cancel_requested = False
        self._queue: queue.Queue[Message] = queue.Queue()
        self._stderr: list[bytes] = []
        self._threads: list[threading.Thread] = []
        self._kill_timer: threading.Timer | None = None
        self._finished: Finished | None = None

    # ------------------------------------------------------------------ control

    def start(self, job: Mapping[str, Any]) -> None:
        """Start the worker on ``job``. A worker that cannot start ends at once with a :class:`Finished` saying why."""
        if self.process is not None or self._finished is not None:
            raise RuntimeError("a WorkerClient runs one job; make a new one")
        try:
            self.process = subprocess.Popen(
                worker_command(self.python),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=child_environment(),
            )
        except OSError as exc:
            self._end(Finished(EXIT_INTERNAL, f"could not start the worker with {self.python!r}: {exc}"))
            return
        stdout, stderr = self.process.stdout, self.process.stderr
        assert stdout is not None and stderr is not None
        err = threading.Thread(target=self._drain_stderr, args=(stderr,), name="lifecast-worker-stderr", daemon=True)
        out = threading.Thread(target=self._read_stdout, args=(stdout, err), name="lifecast-worker-stdout", daemon=True)
        self._threads = [err, out]
        err.start()
        out.start()
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(json.dumps(dict(job)).encode("utf-8") + b"\n")
            self.process.stdin.close()
        except OSError:
            pass  # the worker died before reading its job: its exit code and stderr say why

    def cancel(self) -> None:
        """SIGTERM now (the worker cleans up and exits 130), SIGKILL after ``kill_after`` seconds if still alive."""
        process = self.process
        if process is None or process.poll() is not None:
            return
        self.cancel_requested = True
        process.terminate()
        if self._kill_timer is None:
            self._kill_timer = threading.Timer(self.kill_after, self._kill_if_alive)
            self._kill_timer.daemon = True
            self._kill_timer.start()

    def is_running(self) -> bool:
        """True from :meth:`start` until the process has ended and its :class:`Finished` is queued."""
        return self.process is not None and self._finished is None

    @property
    def finished(self) -> Finished | None:
        return self._finished

    # ------------------------------------------------------------------ reading

    def poll(self) -> list[Message]:
        """Every message queued so far, without waiting (for a UI timer)."""
        messages: list[Message] = []
        while True:
            try:
                messages.append(self._queue.get_nowait())
            except queue.Empty:
                return messages

    def get(self, timeout: float | None = None) -> list[Message]:
        """Wait up to ``timeout`` seconds for a message, then return it and any others queued (maybe none)."""
        try:
            first = self._queue.get(timeout=timeout)
        except queue.Empty:
            return []
        return [first, *self.poll()]

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the process has ended and its output is read; ``True`` if it has."""
        for thread in self._threads:
            thread.join(timeout)
        return self._finished is not None

    # ------------------------------------------------------------------ threads

    def _drain_stderr(self, stream: IO[bytes]) -> None:
        for chunk in iter(lambda: stream.read(65536), b""):
            self._stderr.append(chunk)
        stream.close()

    def _read_stdout(self, stream: IO[bytes], stderr_thread: threading.Thread) -> None:
        for raw in iter(stream.readline, b""):
            event = parse_line(raw)
            if event is not None:
                self._queue.put(event)
        stream.close()
        stderr_thread.join()
        assert self.process is not None
        code = self.process.wait()
        # Killed by a signal (POSIX: negative), or stopped by TerminateProcess after a cancel (Windows: 1):
        # ours reads as "cancelled", anything else as a crash.
        if code < 0 or (self.cancel_requested and code != 0):
            code = EXIT_INTERRUPTED if self.cancel_requested else EXIT_INTERNAL
        self._end(Finished(code, b"".join(self._stderr).decode("utf-8", errors="replace")))

    def _end(self, finished: Finished) -> None:
        if self._kill_timer is not None:
            self._kill_timer.cancel()
        self._finished = finished
        self._queue.put(finished)

    def _kill_if_alive(self) -> None:
        process = self.process
        if process is not None and process.poll() is None:
            process.kill()

"""``lifecast worker`` in a QProcess: the job goes in on stdin, events come back line by line.

The DCC's UI thread never blocks: QProcess reports output through the event loop.
Cancel sends SIGTERM (the worker removes its temporary files and exits 130), then
kills the process if it has not stopped after ``kill_after_ms``.
"""

from __future__ import annotations

import json
from typing import Any

from PySide6.QtCore import QObject, QProcess, QProcessEnvironment, QTimer

from lifecast_panel.controller import WorkerListener
from lifecast_panel.protocol import LineBuffer, parse_line

__all__ = ["QProcessWorker", "worker_command"]


def worker_command(python: str) -> tuple[str, list[str]]:
    """Program and arguments that start the worker with the venv's ``python``."""
    return python, ["-m", "lifecast.worker"]


class QProcessWorker(QObject):
    """Runs one worker job at a time in a child process (implements ``WorkerRunner``)."""

    def __init__(self, python: str, parent: QObject | None = None, kill_after_ms: int = 10_000) -> None:
        super().__init__(parent)
        self.python = python
        self.kill_after_ms = kill_after_ms
        self._process: QProcess | None = None
        self._listener: WorkerListener | None = None
        self._lines = LineBuffer()
        self._stderr = bytearray()

    def is_running(self) -> bool:
        return self._process is not None and self._process.state() != QProcess.ProcessState.NotRunning

    def start(self, job: dict[str, Any], listener: WorkerListener) -> None:
        if self.is_running():
            raise RuntimeError("the worker is already running a job")
        self._listener, self._lines, self._stderr = listener, LineBuffer(), bytearray()
        process = QProcess(self)
        env = QProcessEnvironment.systemEnvironment()
        env.insert("PYTHONUNBUFFERED", "1")
        process.setProcessEnvironment(env)
        process.readyReadStandardOutput.connect(self._read_stdout)
        process.readyReadStandardError.connect(self._read_stderr)
        process.finished.connect(self._finished)
        process.errorOccurred.connect(self._error)
        self._process = process
        program, args = worker_command(self.python)
        process.start(program, args)
        process.write(json.dumps(job).encode("utf-8") + b"\n")
        process.closeWriteChannel()

    def cancel(self) -> None:
        process = self._process
        if process is None or process.state() == QProcess.ProcessState.NotRunning:
            return
        process.terminate()  # SIGTERM: the worker cleans up and exits 130
        # The timer is the process's child: if the process (or the panel) is destroyed first, the timer goes
        # with it instead of firing into a deleted QProcess.
        timer = QTimer(process)
        timer.setSingleShot(True)
        timer.timeout.connect(lambda: self._kill_if_alive(process))
        timer.start(self.kill_after_ms)

    def wait(self, msecs: int) -> bool:
        """Block until the process ends (tests, shutting a DCC down); ``True`` if it did."""
        return self._process is None or self._process.waitForFinished(msecs)

    def _kill_if_alive(self, process: QProcess) -> None:
        if process is self._process and process.state() != QProcess.ProcessState.NotRunning:
            process.kill()

    def _read_stdout(self) -> None:
        assert self._process is not None
        self._dispatch(self._lines.feed(bytes(self._process.readAllStandardOutput().data())))

    def _read_stderr(self) -> None:
        assert self._process is not None
        self._stderr += bytes(self._process.readAllStandardError().data())

    def _dispatch(self, lines: list[str]) -> None:
        for line in lines:
            event = parse_line(line)
            if event is not None and self._listener is not None:
                self._listener.handle_event(event)

    def _finished(self, exit_code: int, status: QProcess.ExitStatus) -> None:
        self._read_stdout()
        self._read_stderr()
        self._dispatch(self._lines.flush())
        code = exit_code if status == QProcess.ExitStatus.NormalExit else 130
        listener, self._listener = self._listener, None
        if listener is not None:
            listener.handle_finished(code, self._stderr.decode("utf-8", errors="replace"))

    def _error(self, error: QProcess.ProcessError) -> None:
        if error == QProcess.ProcessError.FailedToStart and self._listener is not None:
            listener, self._listener = self._listener, None
            listener.handle_finished(1, f"could not start the worker with {self.python!r}: check the worker Python")

"""SIGTERM and Ctrl-C as exceptions, held back while a module is being imported.

A farm cancels a task with SIGTERM and an artist with Ctrl-C; the command line
turns both into exceptions so every ``atomic_path`` and ``atomic_dir`` on the
stack removes its temporary files on the way out. An exception raised in the
middle of an import is not always seen by the code that asked for the import:
USD's C++ module loader (``TfScriptModuleLoader``) catches what a Python
submodule raises, prints a warning and goes on, leaving ``pxr`` half
initialised. The job then runs on, fails later on a missing Boost.Python
converter and exits as an internal error (1) instead of as interrupted (130).

So an interrupt that arrives while any frame on the main thread's stack is
importlib's own is held back and delivered again, a few tens of milliseconds
later, once the import is over: the cancel waits for the import to finish,
which for most modules is a fraction of a second.

:func:`held_back` holds an interrupt the same way for a few statements of our
own: between creating a temporary file and entering the ``try`` that removes
it, a cancel would otherwise leave the file behind.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from types import FrameType

#: How long to wait before delivering a held-back interrupt again.
RETRY_SECONDS = 0.05

_IMPORT_MACHINERY = ("<frozen importlib._bootstrap>", "<frozen importlib._bootstrap_external>")


class Terminated(BaseException):
    """Raised on the main thread when the process receives SIGTERM.

    A ``BaseException``, like ``KeyboardInterrupt``, so ``except Exception``
    in a stage cannot swallow a cancel.
    """


def importing(frame: FrameType | None) -> bool:
    """True while ``frame`` or any frame that called it belongs to the import machinery."""
    while frame is not None:
        if frame.f_code.co_filename in _IMPORT_MACHINERY:
            return True
        frame = frame.f_back
    return False


#: How many :func:`held_back` blocks the main thread is in, and the signals that arrived meanwhile.
_hold_depth = 0
_held: list[int] = []


def _deliver_later(signum: int) -> None:
    timer = threading.Timer(RETRY_SECONDS, os.kill, (os.getpid(), signum))
    timer.daemon = True
    timer.start()


def _on_signal(signum: int, frame: FrameType | None) -> None:
    if _hold_depth:
        _held.append(signum)
        return
    if importing(frame):
        _deliver_later(signum)
        return
    raise _exception_for(signum)


def _exception_for(signum: int) -> BaseException:
    return KeyboardInterrupt() if signum == signal.SIGINT else Terminated()


@contextlib.contextmanager
def held_back() -> Iterator[None]:
    """Within the block, an interrupt waits; it is raised as the block ends (the first one, once).

    For the statements between creating something temporary and entering the
    ``try`` that cleans it up. Signal handlers run on the main thread only, so
    on any other thread this holds nothing (nothing is raised there anyway).
    Nestable; the interrupt is raised when the outermost block ends.
    """
    global _hold_depth
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    _hold_depth += 1
    try:
        yield
    finally:
        _hold_depth -= 1
        if not _hold_depth and _held:
            signum = _held[0]
            _held.clear()
            raise _exception_for(signum)


@contextlib.contextmanager
def as_exceptions() -> Iterator[None]:
    """Within the block, SIGTERM raises :class:`Terminated` and SIGINT ``KeyboardInterrupt``, held back during imports.

    Enter it on the main thread (signal handlers can only be set there). The
    handlers found on entry are put back on exit: a cancel that comes after
    the work is done and published then ends the process as a plain SIGTERM
    would, not as an exception with nothing left to catch it. SIGINT is left
    alone where the parent process told us to ignore it (a background job
    started with ``nohup`` or ``&``).
    """
    previous_term = signal.signal(signal.SIGTERM, _on_signal)
    previous_int = signal.getsignal(signal.SIGINT)
    if previous_int is signal.default_int_handler:
        signal.signal(signal.SIGINT, _on_signal)
    try:
        yield
    finally:
        # None: a handler set outside Python, which cannot be put back from here.
        signal.signal(signal.SIGTERM, signal.SIG_DFL if previous_term is None else previous_term)
        if previous_int is signal.default_int_handler:
            signal.signal(signal.SIGINT, previous_int)


__all__ = ["RETRY_SECONDS", "Terminated", "as_exceptions", "held_back", "importing"]

"""Exceptions that the CLI, the worker and farm tasks turn into exit codes.

Every error a user can cause by what they feed lifecast is an
:class:`InputError`: it carries the offending path and a one-line message,
and the CLI prints it without a traceback and exits with code 2.
"""

from __future__ import annotations

from pathlib import Path

#: Exit codes shared by the CLI, the worker and farm tasks.
EXIT_OK = 0
EXIT_INTERNAL = 1  #: a bug or a transient failure: a farm may retry.
EXIT_BAD_INPUT = 2  #: the input is wrong: retrying will not help.
EXIT_NO_CONSENT = 3  #: no valid consent for this use of a subject's data (lifecast.consent.policy): nothing was done.
EXIT_INTERRUPTED = 130


class LifecastError(Exception):
    """Base class of every error lifecast raises on purpose."""

    exit_code = EXIT_INTERNAL


class InputError(LifecastError):
    """A user-supplied file, option or directory cannot be used.

    Parameters
    ----------
    message
        What is wrong, in one sentence a scan artist can act on.
    path
        The file or directory the problem is in, when there is one.
    """

    exit_code = EXIT_BAD_INPUT

    def __init__(self, message: str, path: str | Path | None = None) -> None:
        self.message = message
        self.path = Path(path) if path is not None else None
        super().__init__(str(self))

    def __str__(self) -> str:
        if self.path is None:
            return self.message
        return f"{self.path}: {self.message}"


class MissingDependencyError(LifecastError):
    """An optional dependency is needed for this feature and is not installed."""

    def __init__(self, package: str, feature: str, extra: str | None = None) -> None:
        hint = f"pip install 'lifecast[{extra}]'" if extra else f"pip install {package}"
        super().__init__(f"{feature} needs the '{package}' package: {hint}")

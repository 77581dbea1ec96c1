"""Writes that no reader ever sees half done: write to a temp path, then rename."""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from lifecast.interrupts import held_back


@functools.cache
def _umask() -> int:
    """The process umask, read once (reading it means setting it, which would race with other threads)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(final: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``final``; rename it onto ``final`` on success.

    On an exception the temporary file is removed and ``final`` is left as it was.
    The temp path keeps ``final``'s suffix so writers that pick a format from
    the extension (PIL, cv2, USD) still work.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp: Path | None = None
    try:
        # A cancel that lands between creating the file and knowing its name would leave it behind.
        with held_back():
            fd, tmp_name = tempfile.mkstemp(prefix=f".{final.stem}.", suffix=f".tmp{final.suffix}", dir=final.parent)
            tmp = Path(tmp_name)
            os.close(fd)
        # mkstemp makes 0600 files; a renamed-into-place file must be readable like any other on a studio share.
        os.chmod(tmp, 0o666 & ~_umask())
        yield tmp
        os.replace(tmp, final)
    except BaseException:
        if tmp is not None:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
        raise


def write_text_atomic(final: str | Path, text: str) -> None:
    """Write a text file atomically."""
    with atomic_path(final) as tmp:
        tmp.write_text(text)


@contextlib.contextmanager
def atomic_dir(final: str | Path) -> Iterator[Path]:
    """Yield a fresh temporary directory beside ``final``; rename it to ``final`` on success.

    If ``final`` already exists (another worker finished first) the new
    directory is discarded: both hold the same content-addressed result.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp: Path | None = None
    try:
        # A cancel that lands between creating the directory and knowing its name would leave it behind.
        with held_back():
            tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent))
        os.chmod(tmp, 0o777 & ~_umask())
        yield tmp
        try:
            os.rename(tmp, final)
        except OSError:
            if final.is_dir():
                shutil.rmtree(tmp, ignore_errors=True)
            else:
                raise
    except BaseException:
        if tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        raise

"""What a process used: its peak resident memory."""

from __future__ import annotations

import resource
import sys


def peak_rss_mb(usage: resource.struct_rusage | None = None) -> float:
    """Peak resident memory in MiB.

    Parameters
    ----------
    usage
        A resource usage record, e.g. a child's from :func:`os.wait4`; by
        default this process's own (:func:`resource.getrusage`).

    Returns
    -------
    float
        ``ru_maxrss`` in MiB: Linux reports KiB, macOS bytes.
    """
    if usage is None:
        usage = resource.getrusage(resource.RUSAGE_SELF)
    kib = usage.ru_maxrss if sys.platform != "darwin" else usage.ru_maxrss / 1024.0
    return kib / 1024.0


__all__ = ["peak_rss_mb"]

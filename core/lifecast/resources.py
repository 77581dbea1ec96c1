"""Memory: what a process used (its peak resident memory) and what the machine can give now."""

from __future__ import annotations

import os
import resource
import sys
from pathlib import Path


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


def available_memory_mib() -> float:
    """Memory the OS can give new processes now (``MemAvailable`` on Linux), MiB."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**20


__all__ = ["available_memory_mib", "peak_rss_mb"]

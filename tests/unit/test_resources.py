"""Peak memory: one conversion for this process and for a child reaped with ``os.wait4``."""

from __future__ import annotations

import os
import resource
import subprocess
import sys

import numpy as np

from lifecast.resources import peak_rss_mb


def test_own_peak_grows_with_what_is_touched() -> None:
    before = peak_rss_mb()
    block = np.ones(64 * 2**20 // 8)  # 64 MiB, every page written
    assert block.sum() > 0
    assert peak_rss_mb() >= before and peak_rss_mb() >= 64


def test_a_child_usage_is_read_in_the_same_units() -> None:
    code = "import numpy as np; a = np.ones(96 * 2**20 // 8); print(a.sum())"
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    assert proc.returncode == 0
    child = peak_rss_mb(usage)
    assert 96 <= child < 4096
    assert child == peak_rss_mb(usage) and isinstance(usage, resource.struct_rusage)

"""Refuse a scan that cannot fit in memory before any of it is read, instead of being killed half-way.

The estimate is the farm's memory model (:func:`lifecast.farm.sizing.job_memory_mib`, fitted on whole runs from
0.2M to 29.7M triangles, above each by 2-30 %) from the scan's header: no headroom is added, so a scan
is refused only when even the model's own figure does not fit in what the machine can give now (``MemAvailable``,
swap not counted). ``LIFECAST_NO_MEMORY_CHECK=1`` skips the check (for a machine whose other jobs will end).
"""

from __future__ import annotations

import os

from lifecast.errors import InputError
from lifecast.pipeline.options import ProcessOptions
from lifecast.resources import available_memory_mib

#: The fewest bytes a triangle takes in any scan format lifecast reads (an ASCII PLY ``3 0 1 2`` line): a header
#: that claims more triangles than its file can hold is left to the reader to refuse as truncated.
MIN_BYTES_PER_FACE = 6


def check_fits_in_memory(opts: ProcessOptions) -> None:
    """Raise :class:`~lifecast.errors.InputError` (exit 2) when ``opts``' job needs more memory than is available.

    Parameters
    ----------
    opts
        The job: its scan (triangles from the header), LODs, texture size and UDIM tiles.
    """
    if os.environ.get("LIFECAST_NO_MEMORY_CHECK"):
        return
    from lifecast.farm.sizing import estimate_faces, job_memory_mib, texels_baked

    try:
        size = opts.scan.stat().st_size
    except OSError:
        return  # the reader says what is wrong with the file
    faces = min(estimate_faces(opts.scan), size // MIN_BYTES_PER_FACE)
    lod_count = 1 if opts.template else len(opts.lods)
    needed = job_memory_mib(faces, texels_baked(opts.texture_size, lod_count, opts.udims))
    available = available_memory_mib()
    if needed > available:
        raise InputError(
            f"this scan needs about {needed / 1024:.1f} GiB ({faces:,} triangles by its header, maps up to "
            f"{opts.texture_size} px) and {available / 1024:.1f} GiB is available now: free memory, decimate the scan, "
            "or lower --texture-size (LIFECAST_NO_MEMORY_CHECK=1 runs it anyway)",
            opts.scan,
        )

"""lifecast: photogrammetry scans of people to production digital doubles.

The core library is host-free: it never imports a DCC (maya, hou, bpy) or Qt.
Algorithms take numpy arrays and return numpy arrays; the pipeline wraps them
in cached, resumable stages (see :mod:`lifecast.pipeline`).
"""

__version__ = "0.1.0"

__all__ = ["__version__"]

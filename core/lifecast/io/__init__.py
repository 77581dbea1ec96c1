"""Scan and image readers.

:func:`read_scan` reads PLY, OBJ (+MTL), glTF/GLB and PCD files into a
:class:`lifecast.mesh.Scan` in the file's own units and up axis, and turns
every problem a user's file can have into an :class:`lifecast.errors.InputError`.
"""

from lifecast.io.images import read_image
from lifecast.io.scan import SUPPORTED_SUFFIXES, read_scan

__all__ = ["SUPPORTED_SUFFIXES", "read_image", "read_scan"]

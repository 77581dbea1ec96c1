"""Point Cloud Data (``.pcd``) reader via open3d.

PCD has no units field; by PCL's convention (the format's home, and every sensor driver that writes it) its
coordinates are metres, so the reader declares ``m``: an 8 m Kinect room is not taken for 8 cm of a person.
``units=`` still overrides it.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import open3d as o3d

from lifecast.errors import InputError
from lifecast.io.parsed import ParsedFile
from lifecast.mesh import TriMesh, Units, empty_faces

#: The units of a PCD file: metres, by PCL's convention (the format itself has no field for them).
PCD_UNITS: Units = "m"


def read_pcd(path: Path) -> ParsedFile:
    """Read a PCD point cloud (ASCII, binary or binary_compressed).

    Returns
    -------
    ParsedFile
        ``(n, 3) float32`` points, ``(0, 3)`` faces, colours in [0, 1] and unit
        normals when the file has them; units declared as metres (PCL's convention).

    Raises
    ------
    InputError
        When open3d reads no points (empty, truncated or not a PCD).
    """
    with o3d.utility.VerbosityContextManager(o3d.utility.VerbosityLevel.Error):
        cloud = o3d.io.read_point_cloud(str(path), format="pcd")  # type: ignore[arg-type]
    points = np.asarray(cloud.points, dtype=np.float32)
    if len(points) == 0:
        raise InputError("no points could be read from the PCD file (it is empty, truncated or corrupt)", path)
    colors = np.asarray(cloud.colors, dtype=np.float32) if cloud.has_colors() else None
    normals = np.asarray(cloud.normals, dtype=np.float32) if cloud.has_normals() else None
    mesh = TriMesh(vertices=points, faces=empty_faces(), vertex_colors=colors, vertex_normals=normals)
    return ParsedFile(mesh=mesh, units=PCD_UNITS, units_basis="metres by PCL's convention for PCD files")

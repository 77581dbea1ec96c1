"""Point Cloud Data (``.pcd``) reader via open3d.

PCD has no units field; by PCL's convention (the format's home, and every sensor driver that writes it) its
coordinates are metres, so the reader declares ``m``: an 8 m Kinect room is not taken for 8 cm of a person.
``units=`` still overrides it.
"""

from __future__ import annotations

import re
import struct
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
    check_pcd_header(path)
    with o3d.utility.VerbosityContextManager(o3d.utility.VerbosityLevel.Error):
        cloud = o3d.io.read_point_cloud(str(path), format="pcd")  # type: ignore[arg-type]
    points = np.asarray(cloud.points, dtype=np.float32)
    if len(points) == 0:
        raise InputError("no points could be read from the PCD file (it is empty, truncated or corrupt)", path)
    colors = None
    if cloud.has_colors():  # a float or mislabelled rgb field decodes to values outside [0, 1] or NaN
        colors = np.clip(np.nan_to_num(np.asarray(cloud.colors, dtype=np.float64)), 0.0, 1.0).astype(np.float32)
    normals = None
    if cloud.has_normals():  # non-finite normals (or beyond float32) are dropped: zero
        raw = np.asarray(cloud.normals, dtype=np.float64)
        normals = np.zeros(raw.shape, np.float32)
        ok = (np.abs(raw) < 1e30).all(axis=1)
        normals[ok] = raw[ok]
    mesh = TriMesh(vertices=points, faces=empty_faces(), vertex_colors=colors, vertex_normals=normals)
    return ParsedFile(mesh=mesh, units=PCD_UNITS, units_basis="metres by PCL's convention for PCD files")


#: Header bytes searched for the DATA line.
_MAX_HEADER_BYTES = 1 << 16
#: Above LZF's best compression (a 3-byte back-reference stands for at most 264 bytes).
_LZF_MAX_RATIO = 100


def check_pcd_header(path: Path) -> None:
    """Refuse a PCD header that is malformed or promises more data than the file holds.

    open3d trusts ``POINTS`` (and, for ``binary_compressed``, the stored sizes) and allocates before it
    reads: a header claiming 2**31 points in a small file would end in ``std::bad_alloc`` or worse.

    Raises
    ------
    InputError
        For a missing or malformed ``FIELDS``/``SIZE``/``TYPE``/``COUNT``/``POINTS``/``DATA`` line, or counts
        the data cannot hold.
    """
    with path.open("rb") as fh:
        head = fh.read(_MAX_HEADER_BYTES)
    match = re.search(rb"(?m)^DATA[ \t]+(\S+)[ \t]*\r?\n", head)
    if match is None:
        raise InputError("the PCD header has no DATA line (the file is truncated or corrupt)", path)
    kind = match.group(1).decode("latin-1")
    if kind not in ("ascii", "binary", "binary_compressed"):
        raise InputError(f"the PCD DATA line names no known encoding (got {kind!r})", path)
    fields: dict[str, list[str]] = {}
    for line in head[: match.start()].decode("latin-1").splitlines():
        words = line.split()
        if words and not words[0].startswith("#"):
            fields[words[0].upper()] = words[1:]
    try:
        names = fields["FIELDS"]
        sizes = [int(w) for w in fields["SIZE"]]
        types = fields["TYPE"]
        counts = [int(w) for w in fields.get("COUNT", ["1"] * len(names))]
        points = int(fields["POINTS"][0]) if "POINTS" in fields else int(fields["WIDTH"][0]) * int(fields["HEIGHT"][0])
    except (KeyError, IndexError, ValueError):
        raise InputError("the PCD header lacks or garbles a FIELDS, SIZE, TYPE, COUNT or POINTS line", path) from None
    if not names or not len(names) == len(sizes) == len(types) == len(counts):
        raise InputError("the PCD header's FIELDS, SIZE, TYPE and COUNT lines do not have one entry per field", path)
    for group in (("x", "y", "z"), ("normal_x", "normal_y", "normal_z")):
        present = [f for f in group if f in names]
        if present and len(present) < 3:  # open3d reads a partial normal group out of bounds (a segfault)
            missing = ", ".join(f for f in group if f not in names)
            raise InputError(f"the PCD FIELDS line has {', '.join(present)} but not {missing}", path)
    if any(s not in (1, 2, 4, 8) for s in sizes) or any(t not in ("I", "U", "F") for t in types):
        raise InputError("the PCD header has a SIZE other than 1, 2, 4, 8 or a TYPE other than I, U, F", path)
    if points < 0 or any(c < 1 for c in counts):
        raise InputError("the PCD header has a negative POINTS or a COUNT below 1", path)
    data_bytes = path.stat().st_size - match.end()
    row = sum(s * c for s, c in zip(sizes, counts, strict=True))
    if kind == "ascii":
        needed = points * 2 * sum(counts)  # at least one character and one separator per value
    elif kind == "binary":
        needed = points * row
    else:
        compressed, raw = struct.unpack("<II", head[match.end() : match.end() + 8].ljust(8, b"\0"))
        if raw != points * row or compressed > data_bytes - 8 or raw > _LZF_MAX_RATIO * compressed + 1024:
            raise InputError(
                f"the compressed PCD data sizes ({compressed} bytes holding {raw}) do not match its "
                f"{points} points of {row} bytes or the file's {data_bytes} bytes of data",
                path,
            )
        needed = 8 + compressed
    if needed > data_bytes:
        raise InputError(
            f"the PCD header promises {points} points ({needed} bytes of {kind} data at least) "
            f"but the file has {data_bytes} bytes; the header lies or the file is truncated",
            path,
        )
    if kind == "ascii":
        rows = _ascii_rows(path, match.end())
        if rows < points:  # open3d would read the missing rows from uninitialised memory (random points)
            raise InputError(
                f"the PCD header promises {points} points but the ascii data holds {rows} rows; "
                "the header lies or the file is truncated",
                path,
            )


def _ascii_rows(path: Path, start: int) -> int:
    """Non-blank lines of a file from byte ``start`` on, read in blocks."""
    rows = 0
    tail = b""
    with path.open("rb") as fh:
        fh.seek(start)
        for block in iter(lambda: fh.read(1 << 20), b""):
            lines = (tail + block).split(b"\n")
            tail = lines.pop()
            rows += sum(1 for line in lines if line.strip())
    return rows + (1 if tail.strip() else 0)

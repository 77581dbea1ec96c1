"""PLY reader: ASCII and binary, meshes and point clouds, colours, normals, vertex UVs.

The header is parsed here (to read ``comment units mm`` / ``comment up z``
lines and to catch truncated files with a clear message); the element data is
decoded by trimesh with ``process=False`` so vertices keep their order.
Extra elements (e.g. the ``range_grid`` of Stanford range scans) are skipped.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import trimesh
from numpy.typing import NDArray

from lifecast.errors import InputError
from lifecast.io.parsed import ParsedFile
from lifecast.io.units import parse_units, parse_up_axis
from lifecast.mesh import TriMesh, Units, UpAxis, empty_faces

#: Header bytes read before giving up on finding ``end_header``.
_MAX_HEADER_BYTES = 1 << 20

_PLY_SIZES: dict[str, int] = {
    "char": 1, "int8": 1, "uchar": 1, "uint8": 1,
    "short": 2, "int16": 2, "ushort": 2, "uint16": 2,
    "int": 4, "int32": 4, "uint": 4, "uint32": 4,
    "float": 4, "float32": 4, "double": 8, "float64": 8,
}  # fmt: skip

_COLOR_NAMES = (("red", "green", "blue"), ("r", "g", "b"), ("diffuse_red", "diffuse_green", "diffuse_blue"))
_UV_NAMES = (("s", "t"), ("u", "v"), ("texture_u", "texture_v"), ("texture_s", "texture_t"))
_UNITS_COMMENT = re.compile(r"^(?:unit_of_measure|units?)\b\s*[:=]?\s*(\S+)", re.IGNORECASE)
_UP_COMMENT = re.compile(r"^(?:up_axis|upaxis|up)\b\s*[:=]?\s*(\S+)", re.IGNORECASE)
_TEXTURE_COMMENT = re.compile(r"^texturefile\s+(.+)$", re.IGNORECASE)


@dataclass
class PlyElement:
    """One ``element`` of a PLY header: its name, count and ``(name, type)`` properties.

    List properties have type ``"list <count type> <item type>"``.
    """

    name: str
    count: int
    properties: list[tuple[str, str]] = field(default_factory=list)

    def fixed_row_bytes(self) -> int | None:
        """Bytes per row in a binary file, or None when a list property makes rows vary."""
        if any(t.startswith("list") for _, t in self.properties):
            return None
        return sum(_PLY_SIZES[t] for _, t in self.properties)

    def min_row_bytes(self) -> int:
        """A lower bound on bytes per binary row (lists of 3 items; a triangle)."""
        total = 0
        for _, t in self.properties:
            if t.startswith("list"):
                _, count_type, item_type = t.split()
                total += _PLY_SIZES[count_type] + 3 * _PLY_SIZES[item_type]
            else:
                total += _PLY_SIZES[t]
        return total


@dataclass
class PlyHeader:
    """A parsed PLY header: format, elements, comments and its length in bytes."""

    format: str
    elements: list[PlyElement]
    comments: list[str]
    size: int

    def element(self, name: str) -> PlyElement | None:
        return next((e for e in self.elements if e.name == name), None)


def read_ply_header(path: Path) -> PlyHeader:
    """Parse the header of a PLY file.

    Raises
    ------
    InputError
        When the magic word, format line or ``end_header`` is missing or a line is malformed.
    """
    with path.open("rb") as fh:
        head = fh.read(_MAX_HEADER_BYTES)
    if not head.startswith(b"ply"):
        raise InputError("not a PLY file: it does not start with the word 'ply'", path)
    end = re.search(rb"end_header[ \t]*\r?\n", head)
    if end is None:
        raise InputError("the PLY header has no 'end_header' line (the file is truncated or corrupt)", path)
    lines = head[: end.start()].decode("latin-1").splitlines()
    fmt = ""
    elements: list[PlyElement] = []
    comments: list[str] = []
    for number, line in enumerate(lines[1:], start=2):
        words = line.split()
        if not words:
            continue
        key = words[0]
        try:
            if key == "format":
                fmt = words[1]
            elif key == "element":
                elements.append(PlyElement(words[1], int(words[2])))
                if elements[-1].count < 0:
                    raise InputError(f"PLY header line {number} gives a negative count: {line.strip()!r}", path)
            elif key == "property":
                if words[1] == "list":
                    elements[-1].properties.append((words[4], f"list {words[2]} {words[3]}"))
                    _ = _PLY_SIZES[words[2]] + _PLY_SIZES[words[3]]
                else:
                    elements[-1].properties.append((words[2], words[1]))
                    _ = _PLY_SIZES[words[1]]
            elif key in ("comment", "obj_info"):
                comments.append(line.split(None, 1)[1].strip() if len(words) > 1 else "")
        except (IndexError, ValueError, KeyError):
            raise InputError(f"PLY header line {number} is malformed: {line.strip()!r}", path) from None
    if fmt not in ("ascii", "binary_little_endian", "binary_big_endian"):
        raise InputError(f"the PLY header names no known format (got {fmt or 'none'!r})", path)
    return PlyHeader(fmt, elements, comments, end.end())


def read_ply(path: Path) -> ParsedFile:
    """Read a PLY mesh or point cloud as stored.

    Parameters
    ----------
    path
        An ASCII or binary PLY file; CRLF line ends and extra elements are fine.

    Returns
    -------
    ParsedFile
        ``(n, 3) float32`` vertices, ``(m, 3) int32`` faces (``(0, 3)`` for a
        point cloud, polygons fan-triangulated by trimesh), sRGB colours in
        [0, 1], normals, per-vertex UVs (indexed with ``face_uvs = faces``), and
        the units / up axis / texture the header comments declare.

    Raises
    ------
    InputError
        For a malformed header, a truncated file or undecodable data.
    """
    header = read_ply_header(path)
    vertex = header.element("vertex")
    if vertex is None or vertex.count == 0:
        raise InputError("the PLY file has no vertices", path)
    if not {"x", "y", "z"} <= {name for name, _ in vertex.properties}:
        raise InputError("the PLY vertex element has no x, y, z properties", path)
    if header.format == "ascii":
        _check_ascii_rows(path, header)
    else:
        _check_binary_length(path, header)
    try:
        loaded: Any = trimesh.load(str(path), file_type="ply", process=False)
    except Exception as exc:  # trimesh raises many types for bad data
        raise InputError(
            f"the PLY data could not be decoded ({one_line(exc)}); the file is truncated or corrupt", path
        ) from exc
    raw = loaded.metadata.get("_ply_raw", {})
    vertex_data = _fields(raw.get("vertex", {}).get("data", {}))
    vertices = np.asarray(loaded.vertices, dtype=np.float32)
    if isinstance(loaded, trimesh.Trimesh):
        faces = np.asarray(loaded.faces, dtype=np.int64)
        if faces.size == 0:
            faces = faces.reshape(0, 3)
        elif faces.ndim != 2 or faces.shape[1] != 3:
            raise InputError(f"the PLY faces could not be read as polygons (got shape {faces.shape})", path)
    else:
        faces = empty_faces().astype(np.int64)
    lengths = {len(vertices), *(len(np.asarray(v).reshape(len(np.asarray(v)), -1)) for v in vertex_data.values())}
    if lengths != {vertex.count} or vertices.ndim != 2 or vertices.shape[1] != 3:
        raise InputError(
            f"the PLY vertex data does not match its header ({vertex.count} vertices declared, "
            f"{sorted(lengths)} read); the file is truncated or corrupt",
            path,
        )
    notes: list[str] = []
    colors = _vertex_colors(vertex_data, notes)
    normals = _vertex_normals(vertex_data)
    uv = _vertex_uvs(vertex_data)
    face = header.element("face")
    if face is not None and face.count and len(faces) == 0:
        notes.append(f"the PLY declares {face.count} faces but none could be read as polygons; read as a point cloud")
    if len(faces) and (faces.min() < 0 or faces.max() >= len(vertices)):
        bad = int(((faces < 0) | (faces >= len(vertices))).any(axis=1).sum())
        raise InputError(
            f"{bad} of {len(faces)} faces refer to vertices that do not exist (the file has {len(vertices)})", path
        )
    mesh = TriMesh(
        vertices=vertices,
        faces=faces.astype(np.int32),
        vertex_colors=colors,
        vertex_normals=normals,
        uvs=uv if uv is not None and len(faces) else None,
        face_uvs=faces.astype(np.int32) if uv is not None and len(faces) else None,
    )
    units, up, texture = _declared(header.comments, path, notes)
    return ParsedFile(mesh=mesh, units=units, up=up, texture_path=texture, notes=notes)


def one_line(exc: BaseException, limit: int = 200) -> str:
    """An exception's message on one line, shortened: third-party messages may span lines."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _check_ascii_rows(path: Path, header: PlyHeader) -> None:
    """Refuse an ASCII PLY whose data lines (one element per line) do not match its header's counts.

    Counted on the raw bytes before anything is parsed, so a header that claims 10**12 vertices costs nothing.
    """
    declared = sum(e.count for e in header.elements)
    with path.open("rb") as fh:
        fh.seek(header.size)
        rows = 0
        for line in fh:
            if line.strip():
                rows += 1
                if rows > declared:
                    break
    if rows != declared:
        what = "more" if rows > declared else f"only {rows}"
        raise InputError(
            f"the ASCII PLY header declares {declared} data rows ("
            + ", ".join(f"{e.count} {e.name}" for e in header.elements)
            + f") but the file has {what}; the header lies or the file is truncated",
            path,
        )


def _check_binary_length(path: Path, header: PlyHeader) -> None:
    """Refuse a binary PLY whose data is shorter than its header promises."""
    data_bytes = path.stat().st_size - header.size
    needed = 0
    exact = True
    for element in header.elements:
        row = element.fixed_row_bytes()
        if row is None:
            exact = False
            row = element.min_row_bytes()
        needed += row * element.count
    if data_bytes < needed:
        what = "" if exact else "at least "
        raise InputError(
            f"the binary PLY is truncated: its header promises {what}{needed} bytes of data "
            f"but the file has {data_bytes}",
            path,
        )


def _fields(data: Any) -> dict[str, NDArray[Any]]:
    """trimesh's raw PLY element data (a dict for ASCII, a structured array for binary) as a dict."""
    if isinstance(data, np.ndarray) and data.dtype.names:
        return {name: data[name] for name in data.dtype.names}
    return dict(data) if isinstance(data, dict) else {}


def _columns(data: dict[str, NDArray[Any]], names: tuple[str, ...]) -> list[NDArray[Any]] | None:
    if all(n in data for n in names):
        return [np.asarray(data[n]).reshape(-1) for n in names]
    return None


def _vertex_colors(data: dict[str, NDArray[Any]], notes: list[str]) -> NDArray[np.float32] | None:
    """``(n, 3) float32`` colours in [0, 1] from uchar 0-255, ushort or float 0-1 properties."""
    for names in _COLOR_NAMES:
        cols = _columns(data, names)
        if cols is None:
            continue
        rgb = np.stack(cols, axis=1)
        if np.issubdtype(rgb.dtype, np.integer):
            scale = 255.0 if rgb.dtype.itemsize == 1 else float(np.iinfo(rgb.dtype).max)
            return np.clip(rgb.astype(np.float32) / scale, 0.0, 1.0).astype(np.float32)  # signed types: < 0
        rgb = np.nan_to_num(rgb.astype(np.float32), nan=0.0, posinf=255.0, neginf=0.0)
        if len(rgb) and rgb.max() > 1.0:
            notes.append("float vertex colours exceed 1.0: read them as 0-255 values")
            rgb = rgb / 255.0
        return np.clip(rgb, 0.0, 1.0).astype(np.float32)
    return None


def _vertex_normals(data: dict[str, NDArray[Any]]) -> NDArray[np.float32] | None:
    """``(n, 3) float32`` unit normals from ``nx, ny, nz`` (zero and non-finite rows read as zero)."""
    cols = _columns(data, ("nx", "ny", "nz"))
    if cols is None:
        return None
    n = np.stack(cols, axis=1).astype(np.float64)
    n[~np.isfinite(n).all(axis=1)] = 0.0  # NaN or infinite normals are dropped (zero), like zero-length ones
    length = np.linalg.norm(n, axis=1, keepdims=True)
    return np.divide(n, length, out=np.zeros_like(n), where=length > 0).astype(np.float32)


def _vertex_uvs(data: dict[str, NDArray[Any]]) -> NDArray[np.float32] | None:
    for names in _UV_NAMES:
        cols = _columns(data, names)
        if cols is not None:
            return np.stack(cols, axis=1).astype(np.float32)
    return None


def _declared(comments: list[str], path: Path, notes: list[str]) -> tuple[Units | None, UpAxis | None, Path | None]:
    """Units, up axis and texture file named by header comments."""
    units: Units | None = None
    up: UpAxis | None = None
    texture: Path | None = None
    for comment in comments:
        if m := _UNITS_COMMENT.match(comment):
            units = parse_units(m.group(1))
            if units is None:
                notes.append(f"ignored the PLY comment {comment!r}: lifecast knows mm, cm and m")
        elif m := _UP_COMMENT.match(comment):
            up = parse_up_axis(m.group(1))
            if up is None:
                notes.append(f"ignored the PLY comment {comment!r}: lifecast knows up y and up z")
        elif m := _TEXTURE_COMMENT.match(comment):
            texture = path.parent / m.group(1).strip()
    return units, up, texture

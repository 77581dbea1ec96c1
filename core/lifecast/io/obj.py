"""Wavefront OBJ reader that keeps UVs indexed separately from positions.

trimesh and open3d split a vertex wherever a UV seam passes through it; this
reader keeps the file's positions as given and its per-corner ``vt`` indices
as ``face_uvs``, which is what :class:`lifecast.mesh.TriMesh` stores. Quads and
n-gons are fan-triangulated. ``mtllib`` / ``usemtl`` / ``map_Kd`` are followed
to find the colour texture, resolved relative to the MTL file.

Scanner exports (triangles in one corner format, positive indices, ASCII) are
tokenised a few MB at a time with numpy, with no Python object per vertex or
face (a 4.5M-triangle OBJ: 4.5 s and 0.5 GB instead of 35 s and 1.6 GB); any
other file is read line by line, which also names the line of an error.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lifecast.errors import InputError
from lifecast.io.parsed import ParsedFile
from lifecast.mesh import TriMesh

# Options of map_Kd and how many numeric arguments each takes (at most).
_MAP_OPTION_ARGS: dict[str, int] = {
    "-blendu": 1, "-blendv": 1, "-bm": 1, "-boost": 1, "-cc": 1, "-clamp": 1, "-imfchan": 1,
    "-mm": 2, "-o": 3, "-s": 3, "-t": 3, "-texres": 1, "-type": 1,
}  # fmt: skip


@dataclass
class ObjContents:
    """The parsed statements of an OBJ file, 0-based and fan-triangulated.

    Attributes
    ----------
    positions
        ``(n, 3) float64`` from ``v`` lines.
    colors
        ``(n, 3) float64`` from ``v x y z r g b`` lines, or None when any ``v`` lacks them.
    uvs
        ``(k, 2) float64`` from ``vt`` lines (a third ``w`` coordinate is dropped).
    faces
        ``(m, 3) int64`` position indices.
    face_uvs
        ``(m, 3) int64`` uv indices, -1 on corners that had none.
    mtllibs
        Material library file names, as written.
    materials_used
        ``usemtl`` names in order of first use.
    normal_count
        Number of ``vn`` lines (normals are not read).
    """

    positions: NDArray[np.float64]
    colors: NDArray[np.float64] | None
    uvs: NDArray[np.float64]
    faces: NDArray[np.int64]
    face_uvs: NDArray[np.int64]
    mtllibs: list[str] = field(default_factory=list)
    materials_used: list[str] = field(default_factory=list)
    normal_count: int = 0


def parse_obj(path: Path) -> ObjContents:
    """Parse the geometry statements of an OBJ file (``v``, ``vt``, ``f``, ``mtllib``, ``usemtl``).

    Raises
    ------
    InputError
        On a malformed number or face, naming the line.
    """
    bulk = _parse_obj_bulk(path)
    return bulk if bulk is not None else _parse_obj_lines(path)


#: Bytes the bulk OBJ reader takes at a time (cut at a line end).
_CHUNK_BYTES = 1 << 22
#: Whitespace inside a line, as ``str.split`` sees it in ASCII (the newline is handled apart).
_SPACE = np.zeros(256, bool)
_SPACE[[9, 13, 32]] = True
#: Bytes the bulk reader leaves to the line reader: non-ASCII (``str.split`` splits on Unicode spaces) and the
#: ASCII controls ``str.split`` counts as whitespace.
_HANDS_OVER = np.zeros(256, bool)
_HANDS_OVER[[11, 12, 28, 29, 30, 31]] = True
_HANDS_OVER[128:] = True
_MTLLIB = re.compile(rb"^mtllib(?=[ \t\r]|$)([^\n]*)$", re.M)
_USEMTL = re.compile(rb"^usemtl[ \t]+([^ \t\r\n]+)", re.M)
#: Triangle corner formats by (slashes, double slashes) in a corner: numbers per corner, and whether one is a vt.
_CORNERS = {(0, 0): (1, False), (1, 0): (2, True), (2, 1): (2, False), (2, 0): (3, True)}


class _Lines:
    """One chunk of an OBJ file (whole lines, ending in a newline) tokenised with numpy: no object per line.

    ``line`` (bytes,) is the line of each byte (a newline belongs to the line it ends); ``starts`` (l,) the
    first byte of each line; ``tokens`` (l,) how many whitespace-separated words each line has.
    """

    def __init__(self, chunk: bytes) -> None:
        self.bytes = np.frombuffer(chunk, np.uint8)
        newline = self.bytes == 10
        self.line = np.cumsum(newline, dtype=np.int32) - newline
        count = int(newline.sum())
        self.starts = np.concatenate([[0], np.flatnonzero(newline)[:-1] + 1])
        space = _SPACE[self.bytes] | newline
        self.token_start = ~space
        self.token_start[1:] &= space[:-1]
        self.tokens = np.bincount(self.line[self.token_start], minlength=count)
        padded = np.concatenate([self.bytes, np.full(3, 10, np.uint8)])
        self.first = [padded[self.starts + i] for i in range(3)]

    def keyword(self, key: bytes) -> NDArray[np.bool_]:
        """``(l,) bool``: lines whose first word is ``key`` (two bytes at most)."""
        hit = np.ones(len(self.starts), bool)
        for i, c in enumerate(key):
            hit &= self.first[i] == c
        after = self.first[len(key)]
        return hit & (_SPACE[after] | (after == 10))

    def numbers(self, lines: NDArray[np.bool_], skip: int, dtype: type[np.generic]) -> NDArray[Any] | None:
        """The numbers on ``lines`` after their ``skip``-byte keyword (slashes read as spaces), in order;
        None when a word is not a number."""
        text = self.bytes.copy()
        for i in range(skip):
            text[self.starts[lines] + i] = 32
        if dtype is np.int64:
            text[text == 47] = 32
        with warnings.catch_warnings():
            warnings.simplefilter("error", DeprecationWarning)
            try:
                return np.fromstring(text[lines[self.line]].tobytes(), dtype=dtype, sep=" ")  # type: ignore[call-overload, no-any-return]
            except (ValueError, DeprecationWarning):
                return None

    def corner_format(self, lines: NDArray[np.bool_]) -> tuple[int, int] | None:
        """(slashes, double slashes) shared by every corner of ``lines``; None when they differ."""
        slash = self.bytes == 47
        double = np.zeros_like(slash)
        double[:-1] = slash[:-1] & slash[1:]
        token = np.cumsum(self.token_start, dtype=np.int32) - 1
        tokens = int(self.token_start.sum())
        on_lines = lines[self.line] & self.token_start
        on_lines[self.starts[lines]] = False  # the keyword
        corners = token[on_lines]
        slashes = np.bincount(token[slash], minlength=tokens)[corners]
        doubles = np.bincount(token[double], minlength=tokens)[corners]
        if len(corners) == 0 or slashes.min() != slashes.max() or doubles.min() != doubles.max():
            return None
        return int(slashes[0]), int(doubles[0])


def _parse_obj_bulk(path: Path) -> ObjContents | None:
    """:func:`parse_obj` for the files scanners write, tokenised by the chunk with numpy (no object per element).

    Handles triangles with one corner format throughout, positive indices, ``v`` with three or six numbers,
    ``vt`` with two or three; returns None for anything else (quads, negative indices, a stray word, an indented
    statement, non-ASCII bytes), which the line-by-line reader then reads or refuses, naming the line.
    """
    parts: dict[str, list[NDArray[Any]]] = {"v": [], "vt": [], "f": []}
    mtllibs: list[str] = []
    used: list[str] = []
    normal_count = 0
    v_words: int | None = None
    vt_words: int | None = None
    corner: tuple[int, int] | None = None
    rest = b""
    with path.open("rb") as fh:
        while True:
            block = fh.read(_CHUNK_BYTES)
            data = rest + block
            cut = data.rfind(b"\n") + 1 if block else len(data)
            if block and cut == 0:
                rest = data  # one line longer than a chunk: read on
                continue
            chunk, rest = data[:cut], data[cut:]
            if not chunk:
                break
            if not chunk.endswith(b"\n"):
                chunk += b"\n"
            c = _Lines(chunk)
            if _HANDS_OVER[c.bytes].any() or (_SPACE[c.first[0]] & (c.tokens > 0)).any():
                return None  # non-ASCII, or an indented statement
            normal_count += int(c.keyword(b"vn").sum())
            for key, skip, dtype in ((b"v", 1, np.float64), (b"vt", 2, np.float64), (b"f", 1, np.int64)):
                lines = c.keyword(key)
                if not lines.any():
                    continue
                words = c.tokens[lines]
                if words.min() != words.max():
                    return None
                if key == b"v":
                    if int(words[0]) not in (4, 7) or v_words not in (None, int(words[0])):
                        return None
                    v_words = int(words[0])
                elif key == b"vt":
                    if int(words[0]) not in (3, 4) or vt_words not in (None, int(words[0])):
                        return None
                    vt_words = int(words[0])
                else:
                    found = c.corner_format(lines)
                    if int(words[0]) != 4 or found not in _CORNERS or corner not in (None, found):
                        return None
                    corner = found
                values = c.numbers(lines, skip, dtype)
                per_line = 3 * _CORNERS[corner][0] if key == b"f" and corner else int(words[0]) - 1
                if values is None or len(values) != per_line * int(lines.sum()):
                    return None
                parts[key.decode()].append(values.reshape(-1, per_line))
            if b"mtllib" in chunk:
                mtllibs += [m.strip().decode("utf-8", "replace") for m in _MTLLIB.findall(chunk)]
            for name in _USEMTL.findall(chunk) if b"usemtl" in chunk else []:
                if name.decode("utf-8", "replace") not in used:
                    used.append(name.decode("utf-8", "replace"))
    positions = np.concatenate(parts["v"]) if parts["v"] else np.zeros((0, 3))
    uvs = np.concatenate(parts["vt"])[:, :2] if parts["vt"] else np.zeros((0, 2))
    if corner is None:
        faces = np.zeros((0, 3), np.int64)
        face_uvs = np.zeros((0, 3), np.int64)
    else:
        k, has_uv = _CORNERS[corner]
        corners = np.concatenate(parts["f"]).reshape(-1, 3, k)
        if corners.min(initial=1) < 1:
            return None  # index 0 or negative: the line reader reads or names it
        faces = corners[:, :, 0] - 1
        face_uvs = corners[:, :, 1] - 1 if has_uv else np.full(faces.shape, -1, np.int64)
    return ObjContents(
        positions=np.ascontiguousarray(positions[:, :3]),
        colors=np.ascontiguousarray(positions[:, 3:]) if v_words == 7 and len(positions) else None,
        uvs=np.ascontiguousarray(uvs),
        faces=np.ascontiguousarray(faces),
        face_uvs=np.ascontiguousarray(face_uvs),
        mtllibs=mtllibs,
        materials_used=used,
        normal_count=normal_count,
    )


def _parse_obj_lines(path: Path) -> ObjContents:
    """:func:`parse_obj` one line at a time: every OBJ this reader accepts, and the line an error is on."""
    positions: list[list[float]] = []
    colors: list[list[float]] = []
    uvs: list[list[float]] = []
    faces: list[tuple[int, int, int]] = []
    face_uvs: list[tuple[int, int, int]] = []
    mtllibs: list[str] = []
    used: list[str] = []
    normal_count = 0
    with path.open("r", encoding="utf-8", errors="replace") as fh:
        for number, line in enumerate(fh, start=1):
            words = line.split()
            if not words or words[0].startswith("#"):
                continue
            key = words[0]
            try:
                if key == "v":
                    values = [float(w) for w in words[1:7]]
                    positions.append(values[:3])
                    if len(values) == 6:
                        colors.append(values[3:])
                    if len(values) < 3:
                        raise ValueError
                elif key == "vt":
                    values = [float(w) for w in words[1:3]]
                    if not values:
                        raise ValueError("a texture coordinate needs a value")
                    uvs.append(values if len(values) == 2 else [*values, 0.0])
                elif key == "vn":
                    normal_count += 1
                elif key == "f":
                    _add_polygon(words[1:], len(positions), len(uvs), faces, face_uvs)
                elif key == "mtllib":
                    mtllibs.append(line.strip()[len("mtllib") :].strip())
                elif key == "usemtl" and len(words) > 1 and words[1] not in used:
                    used.append(words[1])
            except (ValueError, IndexError):
                raise InputError(f"OBJ line {number} is malformed: {line.strip()[:80]!r}", path) from None
    return ObjContents(
        positions=np.asarray(positions, dtype=np.float64).reshape(-1, 3),
        colors=np.asarray(colors, dtype=np.float64) if colors and len(colors) == len(positions) else None,
        uvs=np.asarray(uvs, dtype=np.float64).reshape(-1, 2),
        faces=np.asarray(faces, dtype=np.int64).reshape(-1, 3),
        face_uvs=np.asarray(face_uvs, dtype=np.int64).reshape(-1, 3),
        mtllibs=mtllibs,
        materials_used=used,
        normal_count=normal_count,
    )


def _add_polygon(
    corners: list[str],
    n_positions: int,
    n_uvs: int,
    faces: list[tuple[int, int, int]],
    face_uvs: list[tuple[int, int, int]],
) -> None:
    """Fan-triangulate one ``f`` statement into 0-based position and uv index triples."""
    if len(corners) < 3:
        raise ValueError("a face needs at least three corners")
    v_idx: list[int] = []
    t_idx: list[int] = []
    for corner in corners:
        parts = corner.split("/")
        v_idx.append(obj_index(int(parts[0]), n_positions))
        t_idx.append(obj_index(int(parts[1]), n_uvs) if len(parts) > 1 and parts[1] else -1)
    for i in range(1, len(corners) - 1):
        faces.append((v_idx[0], v_idx[i], v_idx[i + 1]))
        face_uvs.append((t_idx[0], t_idx[i], t_idx[i + 1]))


def obj_index(index: int, count: int) -> int:
    """An OBJ index (1-based, or negative = relative to the end so far) as 0-based; 0 is invalid.

    ``count`` is how many elements of that kind (``v`` or ``vt``) the file has declared so far.
    """
    if index > 0:
        return index - 1
    if index < 0:
        return count + index
    raise ValueError("OBJ indices start at 1")


def parse_mtl_textures(path: Path) -> dict[str, str]:
    """``map_Kd`` file name of each material in an MTL file (materials without one are left out)."""
    textures: dict[str, str] = {}
    current: str | None = None
    with path.open("r", encoding="utf-8", errors="replace") as fh:
        for line in fh:
            words = line.split()
            if not words:
                continue
            if words[0] == "newmtl" and len(words) > 1:
                current = words[1]
            elif words[0].lower() == "map_kd" and current is not None:
                name = _map_file_name(words[1:])
                if name:
                    textures[current] = name
    return textures


def _map_file_name(args: list[str]) -> str:
    """The file name in the arguments of a ``map_*`` statement, skipping its options."""
    i = 0
    while i < len(args) and args[i] in _MAP_OPTION_ARGS:
        most = _MAP_OPTION_ARGS[args[i]]
        i += 1
        taken = 0
        while taken < most and i < len(args) - 1 and (_is_number(args[i]) or args[i] in ("on", "off")):
            i += 1
            taken += 1
    return " ".join(args[i:]).replace("\\", "/")


def _is_number(word: str) -> bool:
    try:
        float(word)
    except ValueError:
        return False
    return True


def read_obj(path: Path) -> ParsedFile:
    """Read an OBJ mesh with indexed UVs and its ``map_Kd`` texture path.

    Parameters
    ----------
    path
        A Wavefront OBJ file.

    Returns
    -------
    ParsedFile
        Positions as given (``float32``), triangulated faces, ``uvs (k, 2)`` and
        ``face_uvs (m, 3)`` when the faces have ``vt`` indices, ``v x y z r g b``
        colours if present, and the texture of the first material used that has one.

    Raises
    ------
    InputError
        For malformed lines or face indices out of range.
    """
    obj = parse_obj(path)
    notes: list[str] = []
    n = len(obj.positions)
    if len(obj.faces) and (obj.faces.min() < 0 or obj.faces.max() >= n):
        bad = int(((obj.faces < 0) | (obj.faces >= n)).any(axis=1).sum())
        raise InputError(
            f"{bad} of {len(obj.faces)} faces refer to vertices that do not exist (the file has {n})", path
        )
    uvs, face_uvs = _indexed_uvs(obj, path, notes)
    colors = None
    if obj.colors is not None:
        colors = obj.colors.astype(np.float32)
        if colors.max(initial=0.0) > 1.0:
            notes.append("OBJ vertex colours exceed 1.0: read them as 0-255 values")
            colors = colors / 255.0
        colors = np.clip(colors, 0.0, 1.0).astype(np.float32)
    if obj.normal_count:
        notes.append("OBJ normals (vn) are not read; they are recomputed from the geometry")
    mesh = TriMesh(
        vertices=obj.positions.astype(np.float32),
        faces=obj.faces.astype(np.int32),
        vertex_colors=colors,
        uvs=uvs,
        face_uvs=face_uvs,
    )
    return ParsedFile(mesh=mesh, texture_path=_texture_path(obj, path, notes), notes=notes)


def _indexed_uvs(
    obj: ObjContents, path: Path, notes: list[str]
) -> tuple[NDArray[np.float32] | None, NDArray[np.int32] | None]:
    """``uvs (k, 2) float32`` and ``face_uvs (m, 3) int32``, or (None, None) without ``vt`` on faces."""
    if len(obj.faces) == 0 or not (obj.face_uvs >= 0).any():
        return None, None
    face_uvs = obj.face_uvs.copy()
    uvs = obj.uvs
    if face_uvs.max() >= len(uvs) or face_uvs.min() < -1:
        raise InputError(f"faces refer to texture coordinates that do not exist (the file has {len(uvs)})", path)
    missing = face_uvs < 0
    if missing.any():
        partial = int(missing.any(axis=1).sum())
        notes.append(f"{partial} faces have no texture coordinates: they were mapped to uv (0, 0)")
        uvs = np.concatenate([uvs, np.zeros((1, 2))])
        face_uvs[missing] = len(uvs) - 1
    return uvs.astype(np.float32), face_uvs.astype(np.int32)


def _texture_path(obj: ObjContents, path: Path, notes: list[str]) -> Path | None:
    """The colour texture the OBJ's materials name, resolved relative to the MTL file."""
    textures: dict[str, Path] = {}
    for lib in obj.mtllibs:
        mtl = path.parent / lib
        if not mtl.is_file():
            notes.append(f"material library {lib!r} was not found next to the OBJ; no texture read from it")
            continue
        for material, name in parse_mtl_textures(mtl).items():
            textures.setdefault(material, _locate(mtl.parent, name))
    if not textures:
        return None
    order = [m for m in obj.materials_used if m in textures] or list(textures)
    chosen = textures[order[0]]
    distinct = {textures[m] for m in order}
    if len(distinct) > 1:
        notes.append(
            f"the OBJ uses {len(distinct)} colour textures; only {chosen.name} (material {order[0]!r}) is read"
        )
    return chosen


def _locate(folder: Path, name: str) -> Path:
    """``name`` relative to ``folder``, else its base name in ``folder`` (exports often keep absolute paths)."""
    direct = folder / name
    if direct.exists():
        return direct
    fallback = folder / Path(name).name
    return fallback if fallback.exists() else direct

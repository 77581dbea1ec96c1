"""Wavefront OBJ reader that keeps UVs indexed separately from positions.

trimesh and open3d split a vertex wherever a UV seam passes through it; this
reader keeps the file's positions as given and its per-corner ``vt`` indices
as ``face_uvs``, which is what :class:`lifecast.mesh.TriMesh` stores. Quads and
n-gons are fan-triangulated. ``mtllib`` / ``usemtl`` / ``map_Kd`` are followed
to find the colour texture, resolved relative to the MTL file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

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

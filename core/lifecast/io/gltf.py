"""glTF 2.0 reader (``.gltf`` + buffers, or binary ``.glb``) via trimesh.

Every mesh node of the default scene is placed by its world transform and the
results are concatenated. glTF stores UVs per vertex, so ``face_uvs`` equals
``faces``. By specification glTF is in metres with Y up, and ``COLOR_0`` is
linear: it is converted to sRGB here to match :class:`lifecast.mesh.TriMesh`.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Any

import numpy as np
import trimesh
from numpy.typing import NDArray

from lifecast.color import linear_to_srgb
from lifecast.errors import InputError
from lifecast.io.images import image_header_problem
from lifecast.io.parsed import ParsedFile
from lifecast.io.ply import one_line
from lifecast.mesh import TriMesh, empty_faces

_GLB_MAGIC = b"glTF"
_GLB_JSON_CHUNK = 0x4E4F534A


#: Bytes per component of each accessor ``componentType``, and components per accessor ``type``.
_COMPONENT_BYTES = {5120: 1, 5121: 1, 5122: 2, 5123: 2, 5125: 4, 5126: 4}
_TYPE_COMPONENTS = {"SCALAR": 1, "VEC2": 2, "VEC3": 3, "VEC4": 4, "MAT2": 4, "MAT3": 9, "MAT4": 16}


def read_gltf_json(path: Path) -> dict[str, Any]:
    """The JSON document of a ``.gltf`` or ``.glb`` file.

    Raises
    ------
    InputError
        When the GLB container or the JSON is malformed.
    """
    doc, _ = _read_container(path)
    return doc


def _read_container(path: Path) -> tuple[dict[str, Any], int | None]:
    """The JSON document and, for a GLB, the length of its BIN chunk (``0`` when it has none)."""
    data = path.read_bytes()
    bin_length: int | None = None
    try:
        if data[:4] == _GLB_MAGIC:
            length, chunk_type = struct.unpack("<II", data[12:20])
            if chunk_type != _GLB_JSON_CHUNK or 20 + length > len(data):
                raise ValueError("bad JSON chunk")
            _check_chunks(data, path)
            doc = json.loads(data[20 : 20 + length])
            rest = data[20 + length :]
            bin_length = struct.unpack("<I", rest[:4])[0] if len(rest) >= 8 else 0
        else:
            doc = json.loads(data)
    except (ValueError, struct.error) as exc:
        raise InputError(f"the glTF file is truncated or corrupt ({' '.join(str(exc).split())})", path) from None
    except RecursionError:
        raise InputError("the glTF JSON is nested too deeply to be a glTF file", path) from None
    if not isinstance(doc, dict) or "asset" not in doc:
        raise InputError("the file is JSON but not glTF (it has no 'asset' entry)", path)
    return doc, bin_length


def _check_chunks(data: bytes, path: Path) -> None:
    """Refuse a GLB whose declared length or chunk lengths run past the end of the file.

    trimesh reads each chunk with ``read(length)``, which allocates ``length`` bytes before reading.
    """
    declared = struct.unpack("<I", data[8:12])[0]
    if declared > len(data):
        raise InputError(f"the GLB header declares {declared} bytes but the file has {len(data)}", path)
    pos = 12
    while pos + 8 <= len(data):  # to the end of the file: trimesh reads past a declared length that is too short
        length = struct.unpack("<I", data[pos : pos + 4])[0]
        if pos + 8 + length > len(data):
            raise InputError(
                f"a GLB chunk at byte {pos} claims {length} bytes but only {len(data) - pos - 8} follow "
                "(the file is truncated or corrupt)",
                path,
            )
        pos += 8 + length


def _check_external_files(doc: dict[str, Any], path: Path) -> None:
    """Refuse a glTF whose external buffers or images are missing."""
    for kind in ("buffers", "images"):
        for entry in _table(doc, kind, path):
            uri = entry.get("uri")
            if uri is not None and not isinstance(uri, str):
                raise InputError(f"the glTF {kind} entry has a 'uri' that is not a string: {uri!r:.60}", path)
            if uri and not uri.startswith("data:") and not (path.parent / uri).is_file():
                raise InputError(f"the glTF refers to a file that does not exist: {uri}", path)


def _table(doc: dict[str, Any], name: str, path: Path) -> list[dict[str, Any]]:
    """A top-level glTF array of objects (``buffers``, ``accessors``, ...), checked for its type."""
    table = doc.get(name, [])
    if not isinstance(table, list) or not all(isinstance(e, dict) for e in table):
        raise InputError(f"the glTF '{name}' entry is not a list of objects", path)
    return table


def _natural(entry: dict[str, Any], key: str, default: int | None = None) -> int | None:
    """``entry[key]`` when it is a non-negative integer (``default`` when absent); raises ValueError otherwise."""
    value = entry.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(f"{key} = {value!r:.40}")
    return value


def _check_layout(doc: dict[str, Any], bin_length: int | None, path: Path) -> None:
    """Refuse buffers, views and accessors that point past the data they claim, before anything is decoded.

    trimesh trusts these numbers: an accessor ``count`` of 10**9 would allocate gigabytes for a small file.
    """
    buffers, views, accessors = (_table(doc, k, path) for k in ("buffers", "bufferViews", "accessors"))
    buffer_bytes: list[int] = []
    try:
        for i, buffer in enumerate(buffers):
            declared = _natural(buffer, "byteLength", 0) or 0
            uri = buffer.get("uri")
            if uri is None:
                available = bin_length if (i == 0 and bin_length is not None) else 0
            elif uri.startswith("data:"):
                available = len(uri.partition(",")[2]) * 3 // 4
            else:
                available = (path.parent / uri).stat().st_size
            if declared > available:
                raise InputError(f"glTF buffer {i} declares {declared} bytes but holds {available}", path)
            buffer_bytes.append(declared)
        view_bytes: list[int] = []
        for i, view in enumerate(views):
            b = _natural(view, "buffer")
            offset, length = _natural(view, "byteOffset", 0) or 0, _natural(view, "byteLength") or 0
            if b is None or b >= len(buffer_bytes) or offset + length > buffer_bytes[b]:
                raise InputError(f"glTF bufferView {i} lies outside its buffer", path)
            view_bytes.append(length)
        for i, accessor in enumerate(accessors):
            count = _natural(accessor, "count") or 0
            size = _COMPONENT_BYTES.get(accessor.get("componentType"))  # type: ignore[arg-type]
            components = _TYPE_COMPONENTS.get(accessor.get("type"))  # type: ignore[arg-type]
            if size is None or components is None:
                raise InputError(f"glTF accessor {i} has an unknown componentType or type", path)
            v = _natural(accessor, "bufferView")
            needed = (_natural(accessor, "byteOffset", 0) or 0) + count * size * components
            stride = _natural(views[v], "byteStride", 0) if v is not None and v < len(views) else 0
            if stride and count:
                needed = (_natural(accessor, "byteOffset", 0) or 0) + (count - 1) * stride + size * components
            available = view_bytes[v] if v is not None and v < len(view_bytes) else 0
            if v is not None and v >= len(view_bytes):
                raise InputError(f"glTF accessor {i} names bufferView {v}, which does not exist", path)
            if needed > available and (v is not None or count > sum(buffer_bytes) + 1024):
                raise InputError(
                    f"glTF accessor {i} claims {count} elements ({needed} bytes) but its data has {available} bytes",
                    path,
                )
    except (ValueError, TypeError, AttributeError, OSError) as exc:
        raise InputError(
            f"the glTF buffers, views or accessors are malformed ({' '.join(str(exc).split())})", path
        ) from None
    _check_images(doc, path)


def _check_images(doc: dict[str, Any], path: Path) -> None:
    """Refuse an embedded or external image whose header claims more pixels than lifecast reads or its data holds."""
    import io

    data = path.read_bytes() if path.suffix.lower() == ".glb" else b""
    for i, image in enumerate(_table(doc, "images", path)):
        blob: bytes | None = None
        uri = image.get("uri")
        try:
            if isinstance(uri, str) and not uri.startswith("data:"):
                blob = (path.parent / uri).read_bytes()
            elif isinstance(image.get("bufferView"), int) and data:
                blob = _glb_view_bytes(doc, image["bufferView"], data)
        except (OSError, KeyError, TypeError, AttributeError):
            continue  # an unreadable image is trimesh's to report (it skips it)
        problem = image_header_problem(io.BytesIO(blob), len(blob)) if blob else None
        if problem is not None:
            raise InputError(f"glTF image {i}: {problem}", path)


def _glb_view_bytes(doc: dict[str, Any], view_index: int, data: bytes) -> bytes:
    """The bytes of a bufferView of a GLB's BIN chunk (layout already checked)."""
    length = struct.unpack("<I", data[12:16])[0]
    start = 20 + length + 8
    view = doc["bufferViews"][view_index]
    offset = start + view.get("byteOffset", 0)
    return data[offset : offset + view.get("byteLength", 0)]


def read_gltf(path: Path) -> ParsedFile:
    """Read the meshes of a glTF / GLB file, in metres, Y up.

    Returns
    -------
    ParsedFile
        Concatenated ``(n, 3) float32`` world-space vertices and ``(m, 3) int32``
        faces; per-vertex UVs (``face_uvs = faces``) when every mesh has them;
        sRGB vertex colours; the base-colour texture when exactly one is used.

    Raises
    ------
    InputError
        For corrupt files, missing external buffers or images, or no meshes.
    """
    doc, bin_length = _read_container(path)
    _check_external_files(doc, path)
    _check_layout(doc, bin_length, path)
    try:
        scene: trimesh.Scene = trimesh.load(str(path), force="scene", process=False)  # type: ignore[assignment]
        parts = [_placed(scene, node) for node in scene.graph.nodes_geometry]
    except Exception as exc:  # trimesh raises many types for bad data
        raise InputError(f"the glTF data could not be decoded ({one_line(exc)})", path) from exc
    meshes = [p for p in parts if p is not None]
    if not meshes:
        raise InputError("the glTF file contains no meshes or points", path)
    for m in meshes:
        shape = np.shape(m.vertices)
        if len(shape) != 2 or shape[1] != 3:
            raise InputError(f"a glTF mesh has positions of shape {shape}, not (n, 3) (POSITION is not VEC3)", path)
    notes = ["glTF is in metres with Y up by specification"]
    if len(meshes) > 1:
        notes.append(f"{len(meshes)} glTF mesh nodes were merged into one mesh")
    try:
        mesh = _concatenate(meshes, notes)
    except (ValueError, TypeError, IndexError) as exc:  # attribute arrays of the wrong shape
        raise InputError(f"the glTF mesh data is malformed ({one_line(exc)})", path) from None
    return ParsedFile(mesh=mesh, units="m", up="y", notes=notes)


def _placed(scene: trimesh.Scene, node: str) -> trimesh.Trimesh | trimesh.PointCloud | None:
    """The geometry at ``node`` moved by its world transform (a copy)."""
    transform, name = scene.graph[node]
    geometry = scene.geometry.get(name)
    if not isinstance(geometry, trimesh.Trimesh | trimesh.PointCloud):
        return None
    placed = geometry.copy()
    placed.apply_transform(transform)
    return placed


def _concatenate(meshes: list[trimesh.Trimesh | trimesh.PointCloud], notes: list[str]) -> TriMesh:
    vertices, faces, uvs, colors, textures = [], [], [], [], []
    offset = 0
    for m in meshes:
        v = np.asarray(m.vertices, dtype=np.float32)
        vertices.append(v)
        f = np.asarray(m.faces, dtype=np.int64) if isinstance(m, trimesh.Trimesh) else empty_faces()
        faces.append(f + offset)
        offset += len(v)
        uvs.append(_uv(m))
        colors.append(_colors(m))
        textures.append(_texture(m))
    all_faces = np.concatenate(faces).astype(np.int32)
    has_uvs = len(all_faces) > 0 and all(u is not None for u in uvs)
    has_colors = all(c is not None for c in colors)
    distinct = {id(t): t for t in textures if t is not None}
    texture = None
    if has_uvs and len(distinct) == 1:
        texture = next(iter(distinct.values()))
    elif len(distinct) > 1:
        notes.append(f"the glTF uses {len(distinct)} base-colour textures; none was kept (one texture is supported)")
    if has_colors:
        notes.append("glTF vertex colours (linear) were converted to sRGB")
    return TriMesh(
        vertices=np.concatenate(vertices),
        faces=all_faces,
        vertex_colors=np.concatenate([c for c in colors if c is not None]) if has_colors else None,
        uvs=np.concatenate([u for u in uvs if u is not None]) if has_uvs else None,
        face_uvs=all_faces.copy() if has_uvs else None,
        texture=texture,
    )


def _uv(m: trimesh.Trimesh | trimesh.PointCloud) -> NDArray[np.float32] | None:
    uv = getattr(getattr(m, "visual", None), "uv", None)
    if uv is None or len(uv) != len(m.vertices):
        return None
    return np.asarray(uv, dtype=np.float32)


def _colors(m: trimesh.Trimesh | trimesh.PointCloud) -> NDArray[np.float32] | None:
    if isinstance(m, trimesh.PointCloud):
        rgba = m.colors if len(m.colors) == len(m.vertices) else None
    else:
        visual: Any = m.visual
        rgba = visual.vertex_colors if getattr(visual, "kind", None) == "vertex" else None
    if rgba is None:
        return None
    return linear_to_srgb(np.asarray(rgba, dtype=np.float32)[:, :3] / 255.0)


def _texture(m: trimesh.Trimesh | trimesh.PointCloud) -> NDArray[np.uint8] | None:
    material = getattr(getattr(m, "visual", None), "material", None)
    image = getattr(material, "baseColorTexture", None) or getattr(material, "image", None)
    if image is None:
        return None
    return np.asarray(image.convert("RGB"), dtype=np.uint8)

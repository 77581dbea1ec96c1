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
from lifecast.io.parsed import ParsedFile
from lifecast.mesh import TriMesh, empty_faces

_GLB_MAGIC = b"glTF"
_GLB_JSON_CHUNK = 0x4E4F534A


def read_gltf_json(path: Path) -> dict[str, Any]:
    """The JSON document of a ``.gltf`` or ``.glb`` file.

    Raises
    ------
    InputError
        When the GLB container or the JSON is malformed.
    """
    data = path.read_bytes()
    try:
        if data[:4] == _GLB_MAGIC:
            length, chunk_type = struct.unpack("<II", data[12:20])
            if chunk_type != _GLB_JSON_CHUNK or 20 + length > len(data):
                raise ValueError("bad JSON chunk")
            doc = json.loads(data[20 : 20 + length])
        else:
            doc = json.loads(data)
    except (ValueError, struct.error) as exc:
        raise InputError(f"the glTF file is truncated or corrupt ({exc})", path) from None
    if not isinstance(doc, dict) or "asset" not in doc:
        raise InputError("the file is JSON but not glTF (it has no 'asset' entry)", path)
    return doc


def _check_external_files(doc: dict[str, Any], path: Path) -> None:
    """Refuse a glTF whose external buffers or images are missing."""
    for kind in ("buffers", "images"):
        for entry in doc.get(kind, []):
            uri = entry.get("uri")
            if uri and not uri.startswith("data:") and not (path.parent / uri).is_file():
                raise InputError(f"the glTF refers to a file that does not exist: {uri}", path)


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
    doc = read_gltf_json(path)
    _check_external_files(doc, path)
    try:
        scene: trimesh.Scene = trimesh.load(str(path), force="scene", process=False)  # type: ignore[assignment]
    except Exception as exc:  # trimesh raises many types for bad data
        raise InputError(f"the glTF data could not be decoded ({exc})", path) from exc
    parts = [_placed(scene, node) for node in scene.graph.nodes_geometry]
    meshes = [p for p in parts if p is not None]
    if not meshes:
        raise InputError("the glTF file contains no meshes or points", path)
    notes = ["glTF is in metres with Y up by specification"]
    if len(meshes) > 1:
        notes.append(f"{len(meshes)} glTF mesh nodes were merged into one mesh")
    return ParsedFile(mesh=_concatenate(meshes, notes), units="m", up="y", notes=notes)


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

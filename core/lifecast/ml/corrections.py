"""The correction store: an artist's fix of a delit albedo, recorded against the scanned person with everything
needed to learn from it later (:mod:`lifecast.ml.adapt`).

``lifecast correct submit ASSET_DIR FIXED --subject S`` records one correction in
``SHOW/subjects/<S>/corrections/<id>/`` (without a show registry: ``ASSET_DIR/.lifecast/corrections/<id>/``, where
it waits to be submitted to a show; adapters need a show)::

    correction.json           who and when, the asset's provenance and file hashes, the weights' hash, per-tile
                              changed fractions, the geometry maps' parameters, every stored file's SHA-256
    lit.<UDIM>.png            the model's colour input: the asset's raw bake (``<name>_lod0_albedo_raw``), as is
    output.<UDIM>.png         the model's output as published (``<name>_lod0_albedo``: delit, then inpainted)
    fix.<UDIM>.<ext>          the artist's file, as is (PNG/TIFF 8/16-bit sRGB, or EXR linear)
    changed.<UDIM>.png        255 where the fix differs from the output by more than :data:`CHANGE_THRESHOLD`
    holes.<UDIM>.png          the texels the scan did not reach (filled by the inpainting, not by the model)
    geometry.<UDIM>.npz       the model's geometry input at its working size: covered, normal, ao, cavity

The geometry maps are measured from the asset's LOD0 mesh (``asset.usda``) as the delight stage measures them
(:func:`lifecast.ml.geometry_maps.geometry_maps`), so training never needs the asset again. The folder is written
beside its final name and renamed into place, then the audit row is appended; a refused input records nothing.
"""

from __future__ import annotations

import json
import re
import shutil
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lifecast.errors import InputError
from lifecast.ml.geometry_maps import GeometryTile
from lifecast.pipeline.hashing import hash_file

#: A texel counts as changed when a channel of the fix differs from the output by more than this, in 8-bit sRGB
#: codes over 255 (an untouched texel re-saved as 8-bit PNG differs by 0; as half-float EXR by under 0.5 / 255).
CHANGE_THRESHOLD = 2.0 / 255.0
#: The subject folder corrections live in.
CORRECTIONS_DIR = "corrections"
#: Where an asset keeps corrections recorded without a show.
LOCAL_DIR = ".lifecast"
#: The working size the delight stage predicts the shading at, unless the asset's provenance says otherwise.
DEFAULT_WORK_SIZE = 1024
#: Ambient-occlusion rays per texel of the geometry maps (as the delight stage).
AO_SAMPLES = 16
META = "correction.json"
FORMAT = "lifecast-correction/1"
_FIX_SUFFIXES = (".png", ".exr", ".tif", ".tiff")
_ALBEDO = re.compile(r"^(?P<name>.+)_lod0_albedo\.(?P<udim>\d{4})\.png$")


@dataclass(frozen=True)
class LifecastAsset:
    """What a correction reads from an asset folder made by ``lifecast process``.

    Attributes
    ----------
    root
        The asset folder.
    name
        The maps' prefix (``<name>_lod0_albedo.<UDIM>.png``).
    provenance
        ``customData["provenance"]`` of the root prim of ``asset.usda``.
    tiles
        The UDIM tiles of the LOD0 albedo.
    albedo, raw
        ``<UDIM>`` patterns of the delit albedo and of the raw bake.
    holes
        ``<UDIM>`` pattern of the bake's holes map, ``None`` when the bake wrote none.
    """

    root: Path
    name: str
    provenance: dict[str, Any]
    tiles: list[int]
    albedo: Path
    raw: Path
    holes: Path | None

    @property
    def subject_id(self) -> str:
        return str(self.provenance.get("subject_id") or "")

    @property
    def weights_sha256(self) -> str:
        delight = self.provenance.get("delight")
        return str(delight.get("weights_sha256") or "") if isinstance(delight, dict) else ""

    @property
    def work_size(self) -> int:
        delight = self.provenance.get("delight")
        size = delight.get("work_size") if isinstance(delight, dict) else None
        return int(size) if size else DEFAULT_WORK_SIZE


def _plain(value: Any) -> Any:
    """USD dictionaries and arrays as JSON-able Python values."""
    if isinstance(value, dict) or hasattr(value, "items"):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, str | bool | int | float) or value is None:
        return value
    try:
        return [_plain(v) for v in value]
    except TypeError:
        return str(value)


def read_asset(asset_dir: Path) -> LifecastAsset:
    """The asset folder's provenance and LOD0 albedo files.

    Raises
    ------
    InputError
        Not a folder with ``asset.usda``, no lifecast provenance (not made by lifecast), or no delit LOD0 albedo.
    """
    usda = asset_dir / "asset.usda"
    if not usda.is_file():
        raise InputError("not a lifecast asset folder (no asset.usda)", asset_dir)
    from pxr import Usd

    try:
        stage = Usd.Stage.Open(str(usda), Usd.Stage.LoadNone)
    except Exception:  # pxr raises Tf.ErrorException for a damaged layer
        stage = None
    root = stage.GetDefaultPrim() if stage is not None else None
    data = root.GetCustomDataByKey("provenance") if root else None
    provenance = _plain(data) if data else {}
    if not provenance.get("lifecast_version"):
        raise InputError("this asset was not made by lifecast (asset.usda holds no lifecast provenance)", asset_dir)
    maps = asset_dir / "maps"
    found: dict[str, list[int]] = {}
    for p in maps.glob("*_lod0_albedo.*.png") if maps.is_dir() else []:
        m = _ALBEDO.match(p.name)
        if m:
            found.setdefault(m["name"], []).append(int(m["udim"]))
    if len(found) != 1:
        raise InputError("the asset has no LOD0 albedo (maps/<name>_lod0_albedo.<UDIM>.png) to correct", asset_dir)
    name, tiles = next(iter(found.items()))
    tiles = sorted(tiles)
    albedo = maps / f"{name}_lod0_albedo.<UDIM>.png"
    raw = maps / f"{name}_lod0_albedo_raw.<UDIM>.png"
    from lifecast.ml.texture_files import tile_path

    missing = [u for u in tiles if not tile_path(raw, u).is_file()]
    if missing:
        raise InputError(
            "the asset's albedo was not delit (no raw bake maps/*_lod0_albedo_raw): nothing a correction can teach",
            asset_dir,
        )
    holes: Path | None = maps / f"{name}_lod0_holes.<UDIM>.png"
    if not all(tile_path(holes, u).is_file() for u in tiles):  # type: ignore[arg-type]
        holes = None
    return LifecastAsset(asset_dir.resolve(), name, dict(provenance), tiles, albedo, raw, holes)


def asset_mesh(asset: LifecastAsset) -> Any:
    """The asset's LOD0 mesh (:class:`lifecast.mesh.TriMesh`, triangles with per-corner UVs) from ``asset.usda``."""
    from lifecast.mesh import TriMesh
    from lifecast.report.asset_files import lod_variants, read_asset_mesh

    usda = asset.root / "asset.usda"
    try:
        lod = "lod0" if "lod0" in lod_variants(usda) else None
        mesh = read_asset_mesh(usda, lod)
    except ValueError as exc:
        raise InputError(f"the asset's mesh cannot be read: {exc}", usda) from None
    if mesh.corner_uvs is None:
        raise InputError("the asset's LOD0 mesh has no UVs (st)", usda)
    m = len(mesh.triangles)
    return TriMesh(
        mesh.vertices,
        mesh.triangles,
        uvs=mesh.corner_uvs.reshape(-1, 2).astype(np.float32),
        face_uvs=np.arange(3 * m, dtype=np.int32).reshape(m, 3),
    )


def fix_tiles(fixed: Path, tiles: Sequence[int]) -> list[Path]:
    """The fix's file for each tile; :class:`InputError` when a tile is missing, the fix has tiles the asset does
    not, or a file type the store does not take."""
    from lifecast.ml.texture_files import UDIM_TOKEN, check_pattern, tile_path

    if fixed.suffix.lower() not in _FIX_SUFFIXES:
        raise InputError(f"the fix must be PNG, EXR or TIFF, not {fixed.suffix or 'a file without extension'}", fixed)
    check_pattern(fixed, tiles, "fix")
    if UDIM_TOKEN in fixed.name:
        head, tail = fixed.name.split(UDIM_TOKEN, 1)
        present = {
            int(p.name[len(head) : len(p.name) - len(tail)])
            for p in fixed.parent.glob(f"{head}*{tail}")
            if p.name[len(head) : len(p.name) - len(tail)].isdigit()
        }
        extra = sorted(present - set(tiles))
        if extra:
            raise InputError(
                f"the fix has UDIM tiles the asset does not ({', '.join(map(str, extra))}; the asset has "
                f"{', '.join(map(str, tiles))})",
                fixed,
            )
    paths = [tile_path(fixed, u) for u in tiles]
    for u, p in zip(tiles, paths, strict=True):
        if not p.is_file():
            raise InputError(f"the fix has no tile {u} (the asset's albedo has it)", p)
    return paths


def changed_mask(fix: NDArray[np.float32], output: NDArray[np.float32]) -> NDArray[np.bool_]:
    """``(h, w) bool``: texels where any channel of ``fix`` and ``output`` (``(h, w, 3)`` linear) differ by more
    than :data:`CHANGE_THRESHOLD` in sRGB."""
    from lifecast.color import linear_to_srgb

    a = linear_to_srgb(np.clip(fix, 0.0, 1.0))
    b = linear_to_srgb(np.clip(output, 0.0, 1.0))
    return np.asarray(np.abs(a - b).max(axis=-1) > CHANGE_THRESHOLD)


# ---------------------------------------------------------------------------------------------------- records


@dataclass(frozen=True)
class Correction:
    """One stored correction.

    Attributes
    ----------
    id
        ``fix-<UTC time>-<hex>``.
    path
        Its folder.
    meta
        ``correction.json``.
    """

    id: str
    path: Path
    meta: dict[str, Any]

    @property
    def created_at(self) -> str:
        return str(self.meta.get("created_at", ""))

    @property
    def tiles(self) -> list[int]:
        return [int(u) for u in self.meta["tiles"]]

    @property
    def project(self) -> str:
        return str(self.meta.get("project") or "")

    def file(self, kind: str, udim: int) -> Path:
        """The stored file of ``kind`` (``lit``, ``output``, ``fix``, ``changed``, ``holes``, ``geometry``)."""
        name = self.meta["files"].get(f"{kind}.{udim}")
        if name is None:
            raise InputError(f"correction {self.id} has no {kind} file for tile {udim}", self.path)
        return self.path / str(name)


def corrections_dir(show: Any, subject_id: str) -> Path:
    """``SHOW/subjects/<id>/corrections``, checked to lie inside the subject's folder."""
    path: Path = show.subject_path(subject_id, CORRECTIONS_DIR)
    return path


def local_corrections_dir(asset_dir: Path) -> Path:
    """``ASSET_DIR/.lifecast/corrections``: corrections recorded without a show."""
    return asset_dir / LOCAL_DIR / CORRECTIONS_DIR


def list_corrections(folder: Path) -> list[Correction]:
    """The corrections in ``folder``, oldest first (by time recorded, then sequence number)."""
    out = []
    for p in sorted(folder.iterdir()) if folder.is_dir() else []:
        meta_path = p / META
        if p.name.startswith(".") or not meta_path.is_file():
            continue
        try:
            meta = json.loads(meta_path.read_text())
        except (OSError, json.JSONDecodeError):
            raise InputError("a correction's record is not readable JSON", meta_path) from None
        out.append(Correction(str(meta.get("id", p.name)), p, meta))
    return sorted(out, key=lambda c: (c.created_at, int(c.meta.get("seq", 0)), c.id))


def _new_id(now: datetime) -> str:
    return f"fix-{now.astimezone(UTC):%Y%m%dT%H%M%S%f}Z-{uuid.uuid4().hex[:6]}"


def _save_geometry(path: Path, g: GeometryTile) -> None:
    with open(path, "wb") as f:
        np.savez_compressed(
            f,
            covered=g.covered,
            normal=g.normal.astype(np.float16),
            ao=g.ao.astype(np.float16),
            cavity=g.cavity.astype(np.float16),
        )


def load_geometry(path: Path, udim: int) -> GeometryTile:
    """A stored geometry tile (positions are not stored: zeros; faces: 0 on the surface, -1 off it)."""
    z = np.load(path)
    covered = np.asarray(z["covered"], bool)
    normal = np.asarray(z["normal"], np.float32)
    norm = np.linalg.norm(normal, axis=-1, keepdims=True)
    normal = np.where(norm > 0, normal / np.maximum(norm, 1e-12), 0.0).astype(np.float32)
    s = covered.shape[0]
    return GeometryTile(
        udim,
        covered,
        np.where(covered, 0, -1).astype(np.int32),
        np.zeros((s, s, 3), np.float32),
        normal,
        np.asarray(z["ao"], np.float32),
        np.asarray(z["cavity"], np.float32),
    )


@dataclass(frozen=True)
class SubmitResult:
    """A recorded correction and where: ``local`` when stored under the asset (no show registry)."""

    correction: Correction
    local: bool
    changed_fraction: float


def find_show(asset_dir: Path, show_arg: Path | None) -> Any:
    """The show named by ``--show`` / ``$LIFECAST_SHOW``, else the show holding the asset folder, else ``None``.

    Raises :class:`InputError` for a named show without a registry.
    """
    from lifecast.consent.show import REGISTRY_NAME, Show, resolve_show

    show = resolve_show(show_arg)
    if show is None:
        for parent in asset_dir.resolve().parents:
            if (parent / REGISTRY_NAME).is_file():
                show = Show(parent)
                break
    if show is not None and not show.has_registry():
        raise InputError("this show has no registry yet (create it with `lifecast subject add`)", show.root)
    return show


def submit_correction(
    asset_dir: Path,
    fixed: Path,
    subject_id: str,
    *,
    show: Any = None,
    clock: Any = None,
    actor: str | None = None,
    device: str = "cpu",
) -> SubmitResult:
    """Record the artist's ``fixed`` albedo of the asset in ``asset_dir`` against ``subject_id``.

    Parameters
    ----------
    asset_dir
        An asset folder made by ``lifecast process`` with the delight on.
    fixed
        The corrected LOD0 albedo: one file (tile 1001) or a ``<UDIM>`` pattern; each tile the size of the asset's.
    subject_id
        The scanned person; must be the one the asset's provenance names.
    show
        A :class:`lifecast.consent.show.Show` with a registry, or ``None`` to store under the asset.
    clock, actor
        "Now" and who is acting (defaults: the local time, :func:`lifecast.consent.registry.default_actor`).
    device
        Where the geometry maps' rays run.

    Raises
    ------
    InputError
        Not a lifecast asset, an asset of another subject, an unknown subject, a fix whose tiles or size differ
        from the asset's, or a fix identical to the output. Nothing is recorded then.
    """
    from lifecast.consent.registry import Registry, default_actor, local_now
    from lifecast.consent.show import check_subject_id
    from lifecast.ml.texture_files import read_linear, tile_path

    check_subject_id(subject_id)
    asset = read_asset(asset_dir)
    if asset.subject_id and asset.subject_id != subject_id:
        raise InputError(f"this asset is of subject {asset.subject_id!r}, not {subject_id!r}", asset_dir)
    registry = None
    if show is not None:
        if not asset.subject_id:
            raise InputError(
                "this asset records no subject: corrections in a show need an asset processed with --subject",
                asset_dir,
            )
        registry = Registry.for_show(show, clock=clock, actor=actor)
    try:
        if registry is not None:
            registry.require_subject(subject_id)
        fix_paths = fix_tiles(fixed, asset.tiles)
        outputs = [read_linear(tile_path(asset.albedo, u), "asset albedo") for u in asset.tiles]
        size = outputs[0].shape[0]
        fixes = []
        for u, p, out in zip(asset.tiles, fix_paths, outputs, strict=True):
            fix = read_linear(p, "fix")
            if fix.shape[:2] != out.shape[:2]:
                raise InputError(
                    f"the fix's tile {u} is {fix.shape[1]}x{fix.shape[0]}, the asset's albedo {out.shape[1]}x"
                    f"{out.shape[0]}: a fix must keep the texture's size",
                    p,
                )
            fixes.append(fix)
        changed = [changed_mask(f, o) for f, o in zip(fixes, outputs, strict=True)]
        total = sum(int(c.sum()) for c in changed)
        if total == 0:
            raise InputError("the fix is the asset's albedo unchanged: nothing to record", fixed)
        from lifecast.ml.geometry_maps import geometry_maps, mesh_tiles

        mesh = asset_mesh(asset)
        if mesh_tiles(mesh) != asset.tiles:
            raise InputError("the asset's mesh and its albedo tiles disagree (a damaged asset)", asset_dir)
        work = min(asset.work_size, size)
        geometry = geometry_maps(mesh, work, udims=asset.tiles, ao_samples=AO_SAMPLES, device=device)

        now = (clock or local_now)()
        folder = corrections_dir(show, subject_id) if show is not None else local_corrections_dir(asset.root)
        seq = len(list_corrections(folder)) + 1
        cid = _new_id(now)
        files: dict[str, str] = {}
        hashes: dict[str, str] = {}
        from lifecast.bake.images import write_png
        from lifecast.pipeline.atomic import atomic_dir

        final = folder / cid
        with atomic_dir(final) as tmp:
            for u, fix_path, ch, g in zip(asset.tiles, fix_paths, changed, geometry, strict=True):
                entries = {
                    f"lit.{u}": (tile_path(asset.raw, u), f"lit.{u}.png"),
                    f"output.{u}": (tile_path(asset.albedo, u), f"output.{u}.png"),
                    f"fix.{u}": (fix_path, f"fix.{u}{fix_path.suffix.lower()}"),
                }
                if asset.holes is not None:
                    entries[f"holes.{u}"] = (tile_path(asset.holes, u), f"holes.{u}.png")
                for key, (src, name) in entries.items():
                    shutil.copyfile(src, tmp / name)
                    files[key] = name
                write_png(tmp / f"changed.{u}.png", ch.astype(np.uint8) * np.uint8(255))
                files[f"changed.{u}"] = f"changed.{u}.png"
                _save_geometry(tmp / f"geometry.{u}.npz", g)
                files[f"geometry.{u}"] = f"geometry.{u}.npz"
            hashes = {key: hash_file(tmp / name) for key, name in files.items()}
            usda = asset.root / "asset.usda"
            manifest = asset.root / "lifecast_manifest.json"
            geo = asset.root / "geo.usdc"
            meta = {
                "format": FORMAT,
                "id": cid,
                "seq": seq,
                "subject_id": subject_id,
                "project": str(asset.provenance.get("project") or ""),
                "consent_id": str(asset.provenance.get("consent_id") or ""),
                "created_at": now.astimezone(UTC).isoformat(timespec="microseconds"),
                "actor": actor or (registry.actor if registry is not None else default_actor()),
                "asset": {
                    "path": str(asset.root),
                    "name": asset.name,
                    "asset_usda_sha256": hash_file(usda),
                    "manifest_sha256": hash_file(manifest) if manifest.is_file() else "",
                    "mesh": {
                        "path": str(geo if geo.is_file() else usda),
                        "sha256": hash_file(geo if geo.is_file() else usda),
                    },
                    "inputs": asset.provenance.get("inputs", {}),
                    "lifecast_version": str(asset.provenance.get("lifecast_version", "")),
                },
                "weights_sha256": asset.weights_sha256,
                "fix_source": str(fixed),
                "tiles": list(asset.tiles),
                "size": size,
                "work_size": work,
                "geometry": {"ao_samples": AO_SAMPLES, "cavity": True, "from": "asset.usda LOD0"},
                "change_threshold": CHANGE_THRESHOLD,
                "changed_fraction": {
                    str(u): round(float(c.mean()), 6) for u, c in zip(asset.tiles, changed, strict=True)
                },
                "files": files,
                "sha256": hashes,
            }
            (tmp / META).write_text(json.dumps(meta, indent=2, sort_keys=True) + "\n")
        fraction = total / float(sum(c.size for c in changed))
        if registry is not None:
            try:
                registry.record(
                    "correction-submit",
                    subject_id,
                    {
                        "correction_id": cid,
                        "asset_usda_sha256": meta["asset"]["asset_usda_sha256"],  # type: ignore[index]
                        "weights_sha256": asset.weights_sha256,
                        "tiles": list(asset.tiles),
                        "changed_fraction": round(fraction, 6),
                        "files_sha256": hashes,
                    },
                )
            except BaseException:
                shutil.rmtree(final, ignore_errors=True)
                raise
    finally:
        if registry is not None:
            registry.close()
    return SubmitResult(Correction(cid, final, meta), show is None, fraction)


# ---------------------------------------------------------------------------------------------------- reading back


@dataclass(frozen=True)
class CorrectionData:
    """A correction's arrays, per tile.

    Attributes
    ----------
    lit, output, fix
        ``(h, h, 3) float32`` linear: the model's colour input, the published output, the artist's fix.
    scored
        ``(h, h) bool``: texels on the surface the scan reached (holes are the inpainting's, not the model's).
    changed
        ``(h, h) bool``: the changed region.
    geometry
        The model's geometry input at the working size.
    """

    correction: Correction
    lit: list[NDArray[np.float32]]
    output: list[NDArray[np.float32]]
    fix: list[NDArray[np.float32]]
    scored: list[NDArray[np.bool_]]
    changed: list[NDArray[np.bool_]]
    geometry: list[GeometryTile]


def load_correction(c: Correction, *, verify: bool = True) -> CorrectionData:
    """Read a correction back (its files checked against the hashes it recorded, with ``verify``)."""
    import cv2

    from lifecast.ml.texture_files import read_linear, read_mask

    if verify:
        for key, name in c.meta["files"].items():
            path = c.path / name
            if not path.is_file() or hash_file(path) != c.meta["sha256"].get(key):
                raise InputError(f"correction {c.id}: {name} is missing or changed since it was recorded", path)
    lit, out, fix, scored, changed, geometry = [], [], [], [], [], []
    for u in c.tiles:
        lt = read_linear(c.file("lit", u))
        size = lt.shape[0]
        g = load_geometry(c.file("geometry", u), u)
        cov = cv2.resize(g.covered.astype(np.uint8), (size, size), interpolation=cv2.INTER_NEAREST) > 0
        if f"holes.{u}" in c.meta["files"]:
            cov &= ~read_mask(c.file("holes", u), size)
        lit.append(lt)
        out.append(read_linear(c.file("output", u)))
        fix.append(read_linear(c.file("fix", u)))
        scored.append(cov)
        changed.append(read_mask(c.file("changed", u), size))
        geometry.append(g)
    return CorrectionData(c, lit, out, fix, scored, changed, geometry)


__all__ = [
    "AO_SAMPLES",
    "CHANGE_THRESHOLD",
    "CORRECTIONS_DIR",
    "Correction",
    "CorrectionData",
    "LifecastAsset",
    "SubmitResult",
    "asset_mesh",
    "changed_mask",
    "corrections_dir",
    "find_show",
    "fix_tiles",
    "list_corrections",
    "load_correction",
    "load_geometry",
    "local_corrections_dir",
    "read_asset",
    "submit_correction",
]

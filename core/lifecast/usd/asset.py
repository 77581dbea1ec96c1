"""Export a scan as a USD component asset in the ASWF USD-WG layout.

Follows the USD Working Group's *Guidelines for Structuring USD Assets*
(https://github.com/usd-wg/assets/blob/main/docs/asset-structure-guidelines.md)::

    out_dir/
        asset.usda     the asset interface (root layer)
        payload.usda   subLayers = [@./mtl.usdc@, @./geo.usdc@]  (materials over geometry)
        geo.usdc       /<name>/geo: the meshes, one per LOD variant
        mtl.usdc       /<name>/mtl: the material (UsdPreviewSurface, and the MaterialX look), its bindings on the meshes
        maps/...       textures (written by the caller before export)

Composed prim hierarchy::

    /<name>                Xform, kind = component, assetInfo, customData.provenance,
                           inherits </__class__/<name>>, payload @./payload.usda@,
                           variantSet "lod" = {lod0, lod1, ...}, extentsHint
        /geo               Scope
            /render        Scope, purpose = render (default when there is no proxy)
                /mesh      Mesh of the selected LOD (triangles, or the polygons they were cut from)
            /proxy         Scope, purpose = proxy (only with two or more LODs)
                /mesh      Mesh of the lowest LOD, for viewports
        /mtl               Scope
            /look          Material: outputs:surface (UsdPreviewSurface network), outputs:mtlx:surface and
                           outputs:mtlx:displacement (the look's MaterialX network, lifecast.usd.materialx)
    /__class__/<name>      class the asset inherits, for broadcast overrides

The ``lod`` variant set is declared (with empty variants) on the root prim in
``asset.usda``, so it is visible and selectable while the payload is unloaded,
as the guidelines ask; the variants' content (one ``mesh`` each) lives in
``geo.usdc`` under a variant set of the same name on ``/<name>``. Pcp applies
one selection to every variant set of that name in the prim index, so the
selection authored in ``asset.usda`` (``lod0``), or by a user in a stronger
layer, picks the mesh behind the payload. The guidelines put material bindings
in the material layer, so ``mtl.usdc`` holds ``over`` specs that apply
``MaterialBindingAPI`` and bind ``look`` to each mesh path, which is the same
in every LOD variant; ``geo.usdc`` stays pure geometry.

Every layer is exported to a temporary file beside its final name and renamed
into place once all are written, ``asset.usda`` last: a reader never finds an
interface pointing at half an asset, and a failed export leaves no new file.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pxr import Kind, Sdf, Usd, UsdGeom, UsdShade

from lifecast import __version__
from lifecast.mesh import TriMesh
from lifecast.usd.geometry import PolygonFaces, define_mesh
from lifecast.usd.looks import DEFAULT_LOOK, MATERIALX_LOOKS, check_look, load_look_document
from lifecast.usd.material import AlbedoColorSpace, define_preview_material, texture_asset_path, texture_files
from lifecast.usd.materialx import define_materialx_network
from lifecast.usd.metadata import check_variant_name, prim_name, to_usd_dictionary

__all__ = [
    "GEOMETRY_FILE",
    "LOD_VARIANT_SET",
    "MATERIAL_FILE",
    "PAYLOAD_FILE",
    "ROOT_FILE",
    "AssetFiles",
    "AssetLayout",
    "LayerMetadata",
    "build_geometry_stage",
    "build_interface_layer",
    "build_material_layer",
    "build_payload_layer",
    "export_asset",
    "write_layers_atomically",
]

ROOT_FILE = "asset.usda"
PAYLOAD_FILE = "payload.usda"
GEOMETRY_FILE = "geo.usdc"
MATERIAL_FILE = "mtl.usdc"
LOD_VARIANT_SET = "lod"
MATERIAL_NAME = "look"
MESH_NAME = "mesh"


@dataclass(frozen=True)
class AssetFiles:
    """The files one :func:`export_asset` call wrote.

    Attributes
    ----------
    root
        ``asset.usda``, the layer to reference or open.
    geometry
        ``geo.usdc``.
    material
        ``mtl.usdc``.
    files
        Every file of the asset: the four layers, then the texture files
        (UDIM tiles expanded), all absolute.
    payload
        ``payload.usda``.
    notes
        One line per input of the look left unconnected because its map was
        not baked (see :func:`lifecast.usd.materialx.define_materialx_network`).
    """

    root: Path
    geometry: Path
    material: Path
    files: list[Path]
    payload: Path
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class AssetLayout:
    """Prim paths of an exported asset, derived from its root prim name."""

    root: Sdf.Path

    @classmethod
    def for_name(cls, name: str) -> AssetLayout:
        return cls(Sdf.Path.absoluteRootPath.AppendChild(prim_name(name)))

    @property
    def class_path(self) -> Sdf.Path:
        return Sdf.Path("/__class__").AppendChild(self.root.name)

    @property
    def geo(self) -> Sdf.Path:
        return self.root.AppendChild("geo")

    @property
    def render_mesh(self) -> Sdf.Path:
        return self.geo.AppendChild("render").AppendChild(MESH_NAME)

    @property
    def proxy_mesh(self) -> Sdf.Path:
        return self.geo.AppendChild("proxy").AppendChild(MESH_NAME)

    @property
    def material(self) -> Sdf.Path:
        return self.root.AppendChild("mtl").AppendChild(MATERIAL_NAME)


def export_asset(
    out_dir: Path,
    name: str,
    lods: Sequence[TriMesh],
    *,
    albedo: str | Sequence[str | None] | None,
    normal: str | Sequence[str | None] | None = None,
    displacement: str | Sequence[str | None] | None = None,
    cavity: str | Sequence[str | None] | None = None,
    meters_per_unit: float = 0.01,
    up_axis: str = "Y",
    provenance: Mapping[str, Any] | None = None,
    version: str = "1",
    lod_names: Sequence[str] | None = None,
    albedo_color_space: AlbedoColorSpace = "srgb",
    polygons: Sequence[PolygonFaces | None] | None = None,
    look: str = DEFAULT_LOOK,
) -> AssetFiles:
    """Write a component asset (see the module docstring for the layout).

    Parameters
    ----------
    out_dir
        The asset directory; created if missing. Existing layers are replaced.
    name
        Asset name; the root prim is this made a valid identifier
        (``"anny head"`` -> ``/anny_head``), ``assetInfo.name`` keeps it as given.
    lods
        Meshes from the highest detail (``lods[0]``) down, already in the
        asset's units and up axis. Each needs faces; ``uvs``/``face_uvs``
        become the ``st`` primvar (required when ``albedo`` is given) and
        ``vertex_colors`` the ``displayColor`` primvar.
    albedo
        The albedo texture path relative to ``out_dir`` (``<UDIM>`` allowed),
        already written, or ``None`` for a material driven by ``displayColor``
        (when the meshes have vertex colours) or a constant grey. A sequence
        gives one path (or ``None``) per LOD, for LODs with UVs of their own:
        each LOD then gets its own material (``look_<variant>``), bound inside
        the ``lod`` variant set of ``mtl.usdc``; the proxy uses the last LOD's.
    normal, displacement
        Tangent-space normal maps (raw PNG) and displacement maps (float EXR),
        given like ``albedo``; they feed ``inputs:normal`` and
        ``inputs:displacement`` of the same materials.
    cavity
        Cavity maps (raw PNG), given like ``albedo``: read by the MaterialX
        look where it uses them (the specular weight), not by UsdPreviewSurface.
    meters_per_unit
        Stage ``metersPerUnit`` (0.01 for centimetres).
    up_axis
        Stage ``upAxis``, ``"Y"`` or ``"Z"``.
    provenance
        Stored as ``customData["provenance"]`` on the root prim; nested
        mappings stay dictionaries, see :func:`lifecast.usd.metadata.to_usd_value`
        for how other values are converted.
    version
        ``assetInfo.version``.
    lod_names
        Variant names, one per LOD; default ``lod0``, ``lod1``, ...
        The first is selected.
    albedo_color_space
        ``"srgb"`` for sRGB PNG albedo maps, ``"acescg"`` for linear ACEScg
        EXRs (read raw, ``colorSpace = "lin_ap1_scene"`` on the file input).
    polygons
        One entry per LOD: the polygons that LOD's triangles were cut from (a
        wrapped template's quads), authored as its faces with their UVs
        per face corner, or ``None`` to author the triangles. ``None``: every
        LOD as triangles. See :func:`lifecast.usd.geometry.define_mesh`.
    look
        ``"openpbr"`` (default) or ``"standard_surface"``: the material carries
        that look's MaterialX network (from ``shaders/``, see
        :mod:`lifecast.usd.looks`) beside the UsdPreviewSurface fallback;
        ``"preview"``: the UsdPreviewSurface network only.

    Returns
    -------
    The paths written.

    Raises
    ------
    ValueError
        On empty ``lods``, bad names, an unknown up axis, a mesh without
        faces or (with ``albedo``) without UVs, or ``polygons`` that are not
        one per LOD or whose fan triangulation is not their LOD.
    InputError
        An unknown ``look``, or a ``shaders/`` document that is missing or does not validate.
    FileNotFoundError
        When ``albedo`` names no file under ``out_dir``.
    """
    out_dir = Path(out_dir).absolute()
    lods = list(lods)
    variant_names = _lod_variant_names(lods, lod_names)
    lod_polygons: list[PolygonFaces | None] = [None] * len(lods) if polygons is None else list(polygons)
    if len(lod_polygons) != len(lods):
        raise ValueError(f"got {len(lod_polygons)} polygon entries for {len(lods)} LODs")
    axis = _up_axis_token(up_axis)
    if not meters_per_unit > 0.0:
        raise ValueError(f"meters_per_unit must be positive, got {meters_per_unit}")
    if albedo_color_space not in ("srgb", "acescg"):
        raise ValueError(f"albedo_color_space must be 'srgb' or 'acescg', got {albedo_color_space!r}")
    check_look(look)
    textures: list[Path] = []
    albedo_paths = _per_lod_textures("albedo", albedo, lods, out_dir, textures)
    normal_paths = _per_lod_textures("normal", normal, lods, out_dir, textures)
    displacement_paths = _per_lod_textures("displacement", displacement, lods, out_dir, textures)
    cavity_paths = _per_lod_textures("cavity", cavity, lods, out_dir, textures)
    looks = [
        LookFiles(*files, albedo_color_space=albedo_color_space, look=look)
        for files in zip(albedo_paths, normal_paths, displacement_paths, cavity_paths, strict=True)
    ]

    layout = AssetLayout.for_name(name)
    stage_metadata = LayerMetadata(layout.root.name, meters_per_unit, axis)
    geo_stage = build_geometry_stage(layout, lods, variant_names, stage_metadata, polygons=lod_polygons)
    material_layer, notes = build_material_layer(
        layout,
        stage_metadata,
        looks=looks,
        variant_names=variant_names,
        use_display_color=all(mesh.vertex_colors is not None for mesh in lods),
        proxy=len(lods) > 1,
    )
    layers = {
        GEOMETRY_FILE: geo_stage.GetRootLayer(),
        MATERIAL_FILE: material_layer,
        PAYLOAD_FILE: build_payload_layer(stage_metadata),
        ROOT_FILE: build_interface_layer(
            layout,
            stage_metadata,
            asset_name=name,
            version=version,
            variant_names=variant_names,
            provenance=provenance,
            extents_hint=_extents_hint(geo_stage, layout),
        ),
    }
    write_layers_atomically(out_dir, layers)
    return AssetFiles(
        root=out_dir / ROOT_FILE,
        geometry=out_dir / GEOMETRY_FILE,
        material=out_dir / MATERIAL_FILE,
        payload=out_dir / PAYLOAD_FILE,
        files=[out_dir / ROOT_FILE, out_dir / PAYLOAD_FILE, out_dir / GEOMETRY_FILE, out_dir / MATERIAL_FILE]
        + [path.absolute() for path in textures],
        notes=notes,
    )


@dataclass(frozen=True)
class LookFiles:
    """One material's texture asset paths (``./maps/...``, ``<UDIM>`` allowed), or ``None`` each."""

    albedo: str | None
    normal: str | None
    displacement: str | None
    cavity: str | None = None
    #: ``"srgb"`` (PNG) or ``"acescg"`` (linear EXR): how the albedo file is encoded.
    albedo_color_space: AlbedoColorSpace = "srgb"
    #: The look authored beside the preview network (:data:`lifecast.usd.looks.LOOK_NAMES`).
    look: str = DEFAULT_LOOK

    def maps(self) -> dict[str, str | None]:
        """Channel -> asset path (or ``None``), for :func:`lifecast.usd.materialx.define_materialx_network`."""
        return {
            "albedo": self.albedo,
            "normal": self.normal,
            "displacement": self.displacement,
            "cavity": self.cavity,
        }


def _per_lod_textures(
    channel: str,
    given: str | Sequence[str | None] | None,
    lods: Sequence[TriMesh],
    out_dir: Path,
    found_files: list[Path],
) -> list[str | None]:
    """One asset path (or ``None``) per LOD for ``channel``; checks the files exist and the LODs have UVs.

    Appends the files found on disk (UDIM tiles expanded) to ``found_files``.
    """
    per_lod = [given] * len(lods) if given is None or isinstance(given, str) else list(given)
    if len(per_lod) != len(lods):
        raise ValueError(f"got {len(per_lod)} {channel} paths for {len(lods)} LODs")
    paths = [texture_asset_path(p) if p is not None else None for p in per_lod]
    for index, (relative, asset_path) in enumerate(zip(per_lod, paths, strict=True)):
        if asset_path is None:
            continue
        found = texture_files(out_dir, asset_path)
        if not found:
            raise FileNotFoundError(f"{channel} texture {relative!r} not found under {out_dir}")
        if not lods[index].has_uvs:
            raise ValueError(f"LOD {index} has no UVs, so it cannot carry the {channel} texture")
        found_files.extend(p for p in found if p not in found_files)
    return paths


@dataclass(frozen=True)
class LayerMetadata:
    """The layer metadata every layer of the asset carries, so each one also opens on its own."""

    default_prim: str
    meters_per_unit: float
    up_axis: str

    def apply(self, layer: Sdf.Layer) -> None:
        """Author defaultPrim, metersPerUnit and upAxis on ``layer``: every layer stands alone."""
        layer.defaultPrim = self.default_prim
        layer.pseudoRoot.SetInfo(UsdGeom.Tokens.metersPerUnit, self.meters_per_unit)
        layer.pseudoRoot.SetInfo(UsdGeom.Tokens.upAxis, self.up_axis)
        layer.documentation = f"Written by lifecast {__version__}."


def build_geometry_stage(
    layout: AssetLayout,
    lods: Sequence[TriMesh],
    variant_names: Sequence[str],
    metadata: LayerMetadata,
    *,
    polygons: Sequence[PolygonFaces | None] | None = None,
) -> Usd.Stage:
    """An in-memory stage whose root layer is ``geo.usdc``: the ``geo`` scope and one mesh per LOD variant.

    ``polygons`` (one entry or ``None`` per LOD) are the faces to author instead of a LOD's triangles.
    """
    lod_polygons: list[PolygonFaces | None] = [None] * len(lods) if polygons is None else list(polygons)
    stage = _stage_on_new_layer("geo.usda", metadata)
    root = stage.OverridePrim(layout.root)
    UsdGeom.Scope.Define(stage, layout.geo)
    render_scope = UsdGeom.Scope.Define(stage, layout.render_mesh.GetParentPath())
    # Without a proxy a render-only purpose would hide the asset in viewports that show proxies.
    render_scope.CreatePurposeAttr(UsdGeom.Tokens.render if len(lods) > 1 else UsdGeom.Tokens.default_)
    if len(lods) > 1:
        proxy_scope = UsdGeom.Scope.Define(stage, layout.proxy_mesh.GetParentPath())
        proxy_scope.CreatePurposeAttr(UsdGeom.Tokens.proxy)
        define_mesh(stage, layout.proxy_mesh, lods[-1], lod_polygons[-1])

    variant_set = root.GetVariantSets().AddVariantSet(LOD_VARIANT_SET)
    for variant, mesh, faces in zip(variant_names, lods, lod_polygons, strict=True):
        variant_set.AddVariant(variant)
        variant_set.SetVariantSelection(variant)
        with variant_set.GetVariantEditContext():
            define_mesh(stage, layout.render_mesh, mesh, faces)
    variant_set.SetVariantSelection(variant_names[0])
    return stage


def build_material_layer(
    layout: AssetLayout,
    metadata: LayerMetadata,
    *,
    looks: Sequence[LookFiles],
    variant_names: Sequence[str],
    use_display_color: bool,
    proxy: bool,
) -> tuple[Sdf.Layer, list[str]]:
    """``mtl.usdc``: the ``mtl`` scope with the material(s), and their bindings on the mesh paths.

    Returns the layer and the notes of the looks (inputs left unconnected
    because a map was not baked), each note once.

    When every LOD shares one set of maps (or none), one ``look`` is bound to the
    mesh paths. When LODs have textures of their own, each gets
    ``look_<variant>``, bound inside the ``lod`` variant set, so switching the
    LOD switches mesh and material together.
    """
    layer = Sdf.Layer.CreateAnonymous("mtl.usda")
    stage = _stage_on_new_layer(layer, metadata)
    root = stage.OverridePrim(layout.root)
    UsdGeom.Scope.Define(stage, layout.material.GetParentPath())
    notes: list[str] = []
    if len(set(looks)) <= 1:
        material = _define_look(stage, layout.material, looks[0], use_display_color, metadata, notes)
        meshes = [layout.render_mesh, layout.proxy_mesh] if proxy else [layout.render_mesh]
        for mesh_path in meshes:
            UsdShade.MaterialBindingAPI.Apply(stage.OverridePrim(mesh_path)).Bind(material)
        return layer, notes
    materials = []
    for variant, files in zip(variant_names, looks, strict=True):
        path = layout.material.GetParentPath().AppendChild(f"{MATERIAL_NAME}_{variant}")
        materials.append(_define_look(stage, path, files, use_display_color, metadata, notes))
    if proxy:
        UsdShade.MaterialBindingAPI.Apply(stage.OverridePrim(layout.proxy_mesh)).Bind(materials[-1])
    variant_set = root.GetVariantSets().AddVariantSet(LOD_VARIANT_SET)
    for variant, look in zip(variant_names, materials, strict=True):
        variant_set.AddVariant(variant)
        variant_set.SetVariantSelection(variant)
        with variant_set.GetVariantEditContext():
            UsdShade.MaterialBindingAPI.Apply(stage.OverridePrim(layout.render_mesh)).Bind(look)
    variant_set.ClearVariantSelection()
    return layer, notes


def _define_look(
    stage: Usd.Stage,
    path: Sdf.Path,
    files: LookFiles,
    use_display_color: bool,
    metadata: LayerMetadata,
    notes: list[str],
) -> UsdShade.Material:
    """The preview material at ``path``, plus the MaterialX look unless it is ``preview``; appends new notes."""
    material = define_preview_material(
        stage,
        path,
        albedo_file=files.albedo,
        normal_file=files.normal,
        displacement_file=files.displacement,
        use_display_color=use_display_color,
        albedo_color_space=files.albedo_color_space,
    )
    if files.look in MATERIALX_LOOKS:
        network = define_materialx_network(
            stage,
            material,
            load_look_document(files.look),
            files.maps(),
            look=files.look,
            albedo_color_space=files.albedo_color_space,
            meters_per_unit=metadata.meters_per_unit,
        )
        notes.extend(note for note in network.notes if note not in notes)
    return material


def build_payload_layer(metadata: LayerMetadata) -> Sdf.Layer:
    """``payload.usda``: sublayers the material layer over the geometry layer."""
    layer = Sdf.Layer.CreateAnonymous("payload.usda")
    metadata.apply(layer)
    layer.subLayerPaths.append(f"./{MATERIAL_FILE}")
    layer.subLayerPaths.append(f"./{GEOMETRY_FILE}")
    return layer


def build_interface_layer(
    layout: AssetLayout,
    metadata: LayerMetadata,
    *,
    asset_name: str,
    version: str,
    variant_names: Sequence[str],
    provenance: Mapping[str, Any] | None,
    extents_hint: Sequence[Any] | None,
) -> Sdf.Layer:
    """``asset.usda``: the component root prim, its class, payload, LOD variant set and metadata."""
    layer = Sdf.Layer.CreateAnonymous("asset.usda")
    # LoadNone: the payload is a relative path that only resolves once the layer is on disk.
    stage = _stage_on_new_layer(layer, metadata, load=Usd.Stage.LoadNone)

    class_parent = stage.CreateClassPrim(layout.class_path.GetParentPath())
    stage.CreateClassPrim(class_parent.GetPath().AppendChild(layout.root.name))

    prim = UsdGeom.Xform.Define(stage, layout.root).GetPrim()
    model = Usd.ModelAPI(prim)
    model.SetKind(Kind.Tokens.component)
    model.SetAssetName(asset_name)
    model.SetAssetIdentifier(Sdf.AssetPath(f"./{ROOT_FILE}"))
    model.SetAssetVersion(version)
    if provenance is not None:
        prim.SetCustomDataByKey("provenance", to_usd_dictionary(provenance))
    prim.GetInherits().AddInherit(layout.class_path)
    prim.GetPayloads().AddPayload(f"./{PAYLOAD_FILE}")

    variant_set = prim.GetVariantSets().AddVariantSet(LOD_VARIANT_SET)
    for variant in variant_names:
        variant_set.AddVariant(variant)
    variant_set.SetVariantSelection(variant_names[0])

    if extents_hint is not None:
        UsdGeom.ModelAPI.Apply(prim).SetExtentsHint(extents_hint)
    return layer


def write_layers_atomically(out_dir: Path, layers: Mapping[str, Sdf.Layer]) -> None:
    """Export every layer to a temp file beside its final name, then rename them all, ``asset.usda`` last.

    If any export fails, every temp file is removed and no final file is
    touched. The temp files are created by the USD writer itself, so the
    layers get the usual ``0o666 & ~umask`` permissions. Layers already open in
    this process at a final path are reloaded, so a re-export is seen by later
    ``Usd.Stage.Open`` calls.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    order = sorted(layers, key=lambda file_name: file_name == ROOT_FILE)
    token = f"{os.getpid()}.{uuid.uuid4().hex[:8]}"
    temps = {name: out_dir / f".{Path(name).stem}.{token}.tmp{Path(name).suffix}" for name in order}
    try:
        for file_name in order:
            _export_layer(layers[file_name], temps[file_name])
        for file_name in order:
            os.replace(temps[file_name], out_dir / file_name)
    except BaseException:
        for temp in temps.values():
            temp.unlink(missing_ok=True)
        raise
    for file_name in order:
        open_layer = Sdf.Layer.Find(str(out_dir / file_name))
        if open_layer is not None:
            open_layer.Reload(force=True)


def _stage_on_new_layer(
    layer: Sdf.Layer | str, metadata: LayerMetadata, load: Usd.Stage.InitialLoadSet = Usd.Stage.LoadAll
) -> Usd.Stage:
    """A stage on an anonymous layer with the asset's stage metadata.

    Pass the layer when the caller returns it: a stage only lends its root layer
    weakly, and an anonymous layer dies with the last strong reference.
    """
    root = Sdf.Layer.CreateAnonymous(layer) if isinstance(layer, str) else layer
    metadata.apply(root)
    return Usd.Stage.Open(root, load=load)


def _export_layer(layer: Sdf.Layer, path: Path) -> None:
    if not layer.Export(str(path)):
        raise OSError(f"could not write USD layer {path}")


def _extents_hint(geo_stage: Usd.Stage, layout: AssetLayout) -> Sequence[Any] | None:
    """The model's extentsHint per purpose, from the geometry stage with its first LOD selected."""
    purposes = UsdGeom.Imageable.GetOrderedPurposeTokens()
    cache = UsdGeom.BBoxCache(Usd.TimeCode.Default(), purposes, useExtentsHint=False)
    hint = UsdGeom.ModelAPI(geo_stage.GetPrimAtPath(layout.root)).ComputeExtentsHint(cache)
    return hint if len(hint) else None


def _lod_variant_names(lods: Sequence[TriMesh], lod_names: Sequence[str] | None) -> list[str]:
    if not lods:
        raise ValueError("export_asset needs at least one mesh in lods")
    names = [f"lod{index}" for index in range(len(lods))] if lod_names is None else list(lod_names)
    if len(names) != len(lods):
        raise ValueError(f"got {len(lod_names or [])} lod_names for {len(lods)} LODs")
    if len(set(names)) != len(names):
        raise ValueError(f"lod_names must be unique, got {names}")
    return [check_variant_name(variant) for variant in names]


def _up_axis_token(up_axis: str) -> str:
    axis = up_axis.upper()
    if axis not in ("Y", "Z"):
        raise ValueError(f"up_axis must be 'Y' or 'Z', got {up_axis!r}")
    return axis

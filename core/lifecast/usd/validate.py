"""Check an exported asset: OpenUSD's validators plus lifecast's structural rules.

:func:`validate_asset_report` opens ``asset.usda`` with its payload loaded and

1. runs every validator registered with ``pxr.UsdValidation`` (core
   composition and stage metadata, UsdGeom, UsdShade (Sdr compliance of the
   shader inputs, binding API, encapsulation), UsdUtils (unresolvable asset
   paths, UDIM aware), UsdSkel, UsdLux, UsdPhysics, UsdMedia). None is
   excluded: the usdz package validators only act on ``.usdz`` layers, and the
   schema-specific ones (physics, skel, lux) only on prims of their schemas.
   ``ValidationErrorType.Error`` becomes an error, ``Warn`` a warning.
2. checks what the lifecast layout promises (see :mod:`lifecast.usd.asset`):
   ``defaultPrim``, ``metersPerUnit`` and ``upAxis`` authored on the root
   layer; the default prim a component model with ``assetInfo`` and a loaded
   payload; a ``lod`` variant set with at least one variant; under every LOD
   variant at least one mesh, each with valid topology, normals, and an
   indexed ``faceVarying`` ``st`` primvar whose indices cover every face
   corner; every ``UsdUVTexture`` file on disk (``<UDIM>`` expanded).
3. checks each material's MaterialX shaders (``info:id`` ``ND_...``) against
   MaterialX's nodedefs (:func:`lifecast.usd.materialx.network_problems`:
   every input's name and type, every connection) and every MaterialX image's
   ``file`` on disk. usd-core has no usdMtlx plug-in, so Sdr does not know the
   ``ND_`` ids: UsdShade's "not found in sdrRegistry" error for them is
   dropped, and this check, which knows the nodedefs, takes its place.

Known noise: with a ``<UDIM>`` texture, UsdUtils' dependency walk prints a
"Failed to resolve reference" Tf warning to stderr before it expands the tiles;
it reports a validation error only when no tile exists.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from pxr import Kind, Sdf, Tf, Usd, UsdGeom, UsdShade, UsdValidation

from lifecast.usd.asset import LOD_VARIANT_SET
from lifecast.usd.material import UDIM_TOKEN, texture_files
from lifecast.usd.materialx import network_problems

__all__ = ["ValidationReport", "validate_asset", "validate_asset_report"]


@dataclass(frozen=True)
class ValidationReport:
    """What :func:`validate_asset_report` found: an asset with no errors is valid."""

    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_dict(self) -> dict[str, list[str]]:
        return {"errors": list(self.errors), "warnings": list(self.warnings)}


def validate_asset(path: Path) -> list[str]:
    """The errors in the asset whose root layer is ``path``; an empty list means valid."""
    return validate_asset_report(path).errors


def validate_asset_report(path: Path) -> ValidationReport:
    """Validate the asset whose root layer is ``path`` (normally ``asset.usda``).

    Returns
    -------
    Errors and warnings as one-line messages. A file that cannot be opened is
    reported as an error, never raised.
    """
    path = Path(path)
    report = ValidationReport()
    if not path.is_file():
        report.errors.append(f"{path}: file not found")
        return report
    try:
        stage = Usd.Stage.Open(str(path), load=Usd.Stage.LoadAll)
    except Tf.ErrorException as exc:
        report.errors.append(f"{path}: cannot open as a USD stage: {exc}")
        return report
    if stage is None:
        report.errors.append(f"{path}: cannot open as a USD stage")
        return report

    _run_usd_validators(stage, report)
    _check_stage_metadata(stage, report)
    root = stage.GetDefaultPrim()
    if not root:
        return report
    _check_model(root, report)
    textured = _check_textures(stage, report)
    for variant in _each_lod_variant(root, report):
        _check_meshes(root, variant, report, require_st=textured)
    return report


def _run_usd_validators(stage: Usd.Stage, report: ValidationReport) -> None:
    validators = UsdValidation.ValidationRegistry().GetOrLoadAllValidators()
    for error in UsdValidation.ValidationContext(validators).Validate(stage):
        if error.HasNoError():
            continue
        message = f"{error.GetIdentifier()}: {error.GetMessage()}"
        if _is_udim_resolve_limitation(message):
            # USD's normal-map validator resolves inputs:file literally and cannot expand <UDIM>;
            # _check_textures checks that the tiles exist, and reports an error if none does.
            report.warnings.append(f"{message} (a <UDIM> path this validator cannot expand)")
        elif _is_materialx_id_unknown_to_sdr(message):
            continue  # usd-core's Sdr has no MaterialX discovery; _check_textures checks these against the nodedefs
        elif error.GetType() == UsdValidation.ValidationErrorType.Error:
            report.errors.append(message)
        elif error.GetType() == UsdValidation.ValidationErrorType.Warn:
            report.warnings.append(message)


def _is_udim_resolve_limitation(message: str) -> bool:
    """True for the normal-map validator's unresolvable-file error on a ``<UDIM>`` path."""
    return "NormalMapTextureValidator.InvalidFile" in message and f"{UDIM_TOKEN}" in message


def _is_materialx_id_unknown_to_sdr(message: str) -> bool:
    """True for UsdShade's Sdr compliance error on a MaterialX nodedef id (``ND_...``)."""
    return "ShaderSdrCompliance.MissingShaderIdInRegistry" in message and "shaderId 'ND_" in message


def _check_stage_metadata(stage: Usd.Stage, report: ValidationReport) -> None:
    layer = stage.GetRootLayer()
    if not layer.HasDefaultPrim():
        report.errors.append(f"{layer.identifier}: no defaultPrim")
    elif not stage.GetDefaultPrim():
        report.errors.append(f"{layer.identifier}: defaultPrim </{layer.defaultPrim}> does not exist")
    for key in (UsdGeom.Tokens.metersPerUnit, UsdGeom.Tokens.upAxis):
        if not layer.pseudoRoot.HasInfo(key):
            report.errors.append(f"{layer.identifier}: {key} not authored")


def _check_model(root: Usd.Prim, report: ValidationReport) -> None:
    model = Usd.ModelAPI(root)
    where = str(root.GetPath())
    if model.GetKind() != Kind.Tokens.component:
        report.errors.append(f"{where}: kind is {model.GetKind()!r}, expected 'component'")
    if not root.IsA(UsdGeom.Xformable):
        report.errors.append(f"{where}: the asset root must be Xformable, is {root.GetTypeName()!r}")
    if not model.GetAssetName():
        report.errors.append(f"{where}: assetInfo has no name")
    if not model.GetAssetIdentifier():
        report.errors.append(f"{where}: assetInfo has no identifier")
    if not model.GetAssetVersion():
        report.warnings.append(f"{where}: assetInfo has no version")
    if not root.HasAuthoredPayloads():
        report.errors.append(f"{where}: no payload: the geometry must be deferrable")
    elif not root.IsLoaded():
        report.errors.append(f"{where}: the payload did not load")


def _each_lod_variant(root: Usd.Prim, report: ValidationReport) -> Iterator[str]:
    """Select each LOD variant in turn (in the session layer) and yield its name."""
    variant_set = root.GetVariantSets().GetVariantSet(LOD_VARIANT_SET)
    names = list(variant_set.GetVariantNames()) if root.GetVariantSets().HasVariantSet(LOD_VARIANT_SET) else []
    if not names:
        report.errors.append(f"{root.GetPath()}: no '{LOD_VARIANT_SET}' variant set with at least one variant")
        yield ""
        return
    if variant_set.GetVariantSelection() not in names:
        report.warnings.append(f"{root.GetPath()}: no valid '{LOD_VARIANT_SET}' variant selected")
    stage = root.GetStage()
    session = stage.GetSessionLayer()
    with Usd.EditContext(stage, session):
        try:
            for name in names:
                variant_set.SetVariantSelection(name)
                yield name
        finally:
            session.Clear()


def _check_meshes(root: Usd.Prim, variant: str, report: ValidationReport, *, require_st: bool) -> None:
    where_variant = f"{LOD_VARIANT_SET}={variant}: " if variant else ""
    meshes = [UsdGeom.Mesh(prim) for prim in Usd.PrimRange(root) if prim.IsA(UsdGeom.Mesh)]
    if not meshes:
        report.errors.append(f"{where_variant}{root.GetPath()}: no meshes")
    for mesh in meshes:
        where = f"{where_variant}{mesh.GetPath()}"
        for problem in _mesh_problems(mesh, require_st=require_st):
            report.errors.append(f"{where}: {problem}")
        if mesh.GetSubdivisionSchemeAttr().Get() != UsdGeom.Tokens.none:
            report.warnings.append(f"{where}: subdivisionScheme is not 'none': a scan is not a subdivision cage")
        material, _ = UsdShade.MaterialBindingAPI(mesh.GetPrim()).ComputeBoundMaterial()
        if not material:
            report.warnings.append(f"{where}: no material bound")


def _mesh_problems(mesh: UsdGeom.Mesh, *, require_st: bool) -> list[str]:
    """Topology, normals and ``st`` problems of one mesh, as messages."""
    points = mesh.GetPointsAttr().Get()
    counts = mesh.GetFaceVertexCountsAttr().Get()
    indices = mesh.GetFaceVertexIndicesAttr().Get()
    if points is None or counts is None or indices is None or len(counts) == 0:
        return ["missing points, faceVertexCounts or faceVertexIndices"]
    ok, reason = UsdGeom.Mesh.ValidateTopology(indices, counts, len(points))
    if not ok:
        return [f"invalid topology: {reason}"]
    problems = []
    corners = len(indices)
    expected = {UsdGeom.Tokens.vertex: len(points), UsdGeom.Tokens.varying: len(points)}
    expected[UsdGeom.Tokens.faceVarying] = corners
    expected[UsdGeom.Tokens.uniform] = len(counts)

    normals = mesh.GetNormalsAttr().Get()
    normals_primvar = UsdGeom.PrimvarsAPI(mesh).GetPrimvar("normals")
    if normals_primvar and normals_primvar.HasAuthoredValue():
        normals = normals_primvar.ComputeFlattened()
        interpolation = normals_primvar.GetInterpolation()
    else:
        interpolation = mesh.GetNormalsInterpolation()
    if normals is None or len(normals) == 0:
        problems.append("no normals")
    elif len(normals) != expected.get(interpolation, -1):
        problems.append(f"{len(normals)} {interpolation} normals, expected {expected.get(interpolation)}")

    st = UsdGeom.PrimvarsAPI(mesh).GetPrimvar("st")
    if not st or not st.HasAuthoredValue():
        if require_st:
            problems.append("no 'st' primvar, but the asset has textures")
    elif st.GetInterpolation() != UsdGeom.Tokens.faceVarying:
        problems.append(f"'st' is {st.GetInterpolation()}, expected faceVarying")
    elif not st.IsIndexed():
        problems.append("'st' is not indexed (primvars:st:indices missing)")
    else:
        st_indices = st.GetIndices()
        st_values = st.Get()
        if len(st_indices) != corners:
            problems.append(f"'st' has {len(st_indices)} indices for {corners} face corners")
        elif len(st_indices) and (min(st_indices) < 0 or max(st_indices) >= len(st_values)):
            problems.append(f"'st' indices out of range for {len(st_values)} values")
    return problems


def _check_textures(stage: Usd.Stage, report: ValidationReport) -> bool:
    """Check every UsdUVTexture's file exists; True when the stage has any texture."""
    textured = False
    for prim in stage.Traverse():
        material = UsdShade.Material(prim)
        if material:
            report.errors.extend(network_problems(material))
        shader = UsdShade.Shader(prim)
        shader_id = shader.GetShaderId() if shader else None
        if shader_id is not None and shader_id.startswith("ND_") and shader.GetInput("file"):
            _check_texture_file(stage, shader, report)
            continue
        if shader_id != "UsdUVTexture":
            continue
        textured = True
        file_input = shader.GetInput("file")
        asset = file_input.Get() if file_input else None
        where = str(prim.GetPath())
        if not isinstance(asset, Sdf.AssetPath) or not asset.path:
            report.errors.append(f"{where}: UsdUVTexture has no inputs:file")
            continue
        specs = file_input.GetAttr().GetPropertyStack(Usd.TimeCode.Default())
        anchor = specs[0].layer if specs else stage.GetRootLayer()
        absolute = Path(anchor.ComputeAbsolutePath(asset.path))
        if Path(asset.path).is_absolute():
            report.warnings.append(f"{where}: texture path {asset.path} is absolute: the asset is not relocatable")
        if not texture_files(absolute.parent, absolute.name):
            report.errors.append(f"{where}: texture {asset.path} (resolved to {absolute}) does not exist")
        color_space = shader.GetInput("sourceColorSpace")
        if not color_space or not color_space.Get():
            report.warnings.append(f"{where}: sourceColorSpace not authored")
    return textured


def _check_texture_file(stage: Usd.Stage, shader: UsdShade.Shader, report: ValidationReport) -> None:
    """A MaterialX image's ``file`` must name files on disk (``<UDIM>`` expanded)."""
    asset = shader.GetInput("file").Get()
    where = str(shader.GetPath())
    if not isinstance(asset, Sdf.AssetPath) or not asset.path:
        report.errors.append(f"{where}: {shader.GetShaderId()} has no inputs:file")
        return
    specs = shader.GetInput("file").GetAttr().GetPropertyStack(Usd.TimeCode.Default())
    anchor = specs[0].layer if specs else stage.GetRootLayer()
    absolute = Path(anchor.ComputeAbsolutePath(asset.path))
    if not texture_files(absolute.parent, absolute.name):
        report.errors.append(f"{where}: texture {asset.path} (resolved to {absolute}) does not exist")

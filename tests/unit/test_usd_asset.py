"""export_asset: the ASWF component layout, read back through a composed stage."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from pxr import Ar, Kind, Sdf, Usd, UsdGeom, UsdShade

import lifecast.usd.asset as asset_module
from lifecast.mesh import TriMesh
from lifecast.usd import export_asset, validate_asset_report
from tests.conftest import icosphere

NAME = "anny head-01"
ROOT = "/anny_head_01"
RENDER_MESH = f"{ROOT}/geo/render/mesh"


def textured_sphere(subdivisions: int, *, colors: bool = True) -> TriMesh:
    """An icosphere with indexed spherical UVs that do not share the vertex indexing.

    The UV array holds every vertex's projection twice (``k = 2 n``); odd faces
    use the second copy, so ``face_uvs`` differs from ``faces``.
    """
    mesh = icosphere(subdivisions)
    v = mesh.vertices
    u = 0.5 + np.arctan2(v[:, 0], v[:, 2]) / (2.0 * np.pi)
    w = 0.5 + np.arcsin(np.clip(v[:, 1], -1.0, 1.0)) / np.pi
    uv = np.stack([u, w], axis=1).astype(np.float32)
    second_tile = uv + np.array([1.0, 0.0], np.float32)  # UDIM 1002
    uvs = np.concatenate([uv, second_tile]).astype(np.float32)
    face_uvs = mesh.faces.copy()
    face_uvs[1::2] += len(uv)
    vertex_colors = np.tile(np.array([[0.5, 0.25, 1.0]], np.float32), (len(v), 1)) if colors else None
    return mesh.with_(uvs=uvs, face_uvs=face_uvs.astype(np.int32), vertex_colors=vertex_colors)


def write_png(path: Path, value: int = 128) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((4, 4, 3), value, np.uint8)).save(path)


def lod_chain() -> list[TriMesh]:
    return [textured_sphere(3), textured_sphere(2), textured_sphere(1)]


PROVENANCE = {
    "lifecast": "0.1.0",
    "subject": "S001",
    "inputs": {"scan.ply": "sha256:abc", "rig.json": "sha256:def"},
    "params": {"target_faces": [20000, 5000, 1250], "smooth": True, "voxel": 0.5, "units": "cm"},
    "tags": ["hero", "head"],
    "source": Path("/scans/s001/scan.ply"),
    "steps": [{"stage": "clean", "ok": True}, {"stage": "wrap"}],
    "note": None,
    "count": np.int64(7),
}


@pytest.fixture
def udim_asset(tmp_path: Path) -> tuple[Path, list[TriMesh]]:
    write_png(tmp_path / "maps" / "head_albedo.1001.png")
    write_png(tmp_path / "maps" / "head_albedo.1002.png")
    lods = lod_chain()
    export_asset(tmp_path, NAME, lods, albedo="maps/head_albedo.<UDIM>.png", provenance=PROVENANCE, version="3")
    return tmp_path / "asset.usda", lods


def open_stage(path: Path, load: Usd.Stage.InitialLoadSet = Usd.Stage.LoadAll) -> Usd.Stage:
    stage = Usd.Stage.Open(str(path), load=load)
    assert stage is not None
    return stage


def test_layout_on_disk(tmp_path: Path) -> None:
    write_png(tmp_path / "maps" / "albedo.png")
    files = export_asset(tmp_path, NAME, lod_chain(), albedo="maps/albedo.png")
    assert files.root == tmp_path / "asset.usda"
    assert files.geometry == tmp_path / "geo.usdc"
    assert files.material == tmp_path / "mtl.usdc"
    assert files.payload == tmp_path / "payload.usda"
    assert files.files[-1] == tmp_path / "maps" / "albedo.png"
    assert all(path.is_file() for path in files.files)
    assert Sdf.Layer.OpenAsAnonymous(str(files.geometry)).GetFileFormat().formatId == "usdc"
    assert Sdf.Layer.OpenAsAnonymous(str(files.root)).GetFileFormat().formatId == "usda"
    assert not [p.name for p in tmp_path.iterdir() if p.name.startswith(".")], "temp files left behind"


def test_root_prim_metadata(udim_asset: tuple[Path, list[TriMesh]]) -> None:
    stage = open_stage(udim_asset[0], Usd.Stage.LoadNone)
    root = stage.GetDefaultPrim()
    assert root.GetPath() == Sdf.Path(ROOT)
    assert root.GetTypeName() == "Xform"
    model = Usd.ModelAPI(root)
    assert model.GetKind() == Kind.Tokens.component
    assert model.GetAssetName() == NAME
    assert model.GetAssetIdentifier().path == "./asset.usda"
    assert model.GetAssetVersion() == "3"
    layer = stage.GetRootLayer()
    assert layer.pseudoRoot.HasInfo("metersPerUnit") and layer.pseudoRoot.HasInfo("upAxis")
    assert UsdGeom.GetStageMetersPerUnit(stage) == pytest.approx(0.01)
    assert UsdGeom.GetStageUpAxis(stage) == UsdGeom.Tokens.y
    class_path = Sdf.Path(f"/__class__{ROOT}")
    assert list(layer.GetPrimAtPath(ROOT).inheritPathList.GetAddedOrExplicitItems()) == [class_path]
    assert stage.GetPrimAtPath(class_path).GetSpecifier() == Sdf.SpecifierClass


def test_stage_units_and_axis_are_authored_as_given(tmp_path: Path) -> None:
    export_asset(tmp_path, "a", [textured_sphere(1)], albedo=None, meters_per_unit=1.0, up_axis="z")
    stage = open_stage(tmp_path / "asset.usda")
    assert UsdGeom.GetStageMetersPerUnit(stage) == 1.0
    assert UsdGeom.GetStageUpAxis(stage) == UsdGeom.Tokens.z


def test_provenance_round_trips_through_custom_data(udim_asset: tuple[Path, list[TriMesh]]) -> None:
    stage = open_stage(udim_asset[0], Usd.Stage.LoadNone)
    stored = stage.GetDefaultPrim().GetCustomDataByKey("provenance")
    assert stored["lifecast"] == "0.1.0"
    assert stored["subject"] == "S001"
    assert stored["inputs"] == {"scan.ply": "sha256:abc", "rig.json": "sha256:def"}
    assert list(stored["params"]["target_faces"]) == [20000, 5000, 1250]
    assert stored["params"]["smooth"] is True
    assert stored["params"]["voxel"] == 0.5
    assert list(stored["tags"]) == ["hero", "head"]
    assert stored["source"] == "/scans/s001/scan.ply"
    assert json.loads(stored["steps"]) == [{"stage": "clean", "ok": True}, {"stage": "wrap"}]
    assert stored["note"] == "None"
    assert stored["count"] == 7


def test_geometry_sits_behind_a_payload(udim_asset: tuple[Path, list[TriMesh]]) -> None:
    path, _ = udim_asset
    layer = Sdf.Layer.FindOrOpen(str(path))
    payloads = layer.GetPrimAtPath(ROOT).payloadList.GetAddedOrExplicitItems()
    assert [p.assetPath for p in payloads] == ["./payload.usda"]

    stage = open_stage(path, Usd.Stage.LoadNone)
    root = stage.GetDefaultPrim()
    assert root.HasAuthoredPayloads() and not root.IsLoaded()
    assert not stage.GetPrimAtPath(f"{ROOT}/geo")
    # The variant set is part of the interface: visible and selectable while unloaded.
    assert list(root.GetVariantSets().GetVariantSet("lod").GetVariantNames()) == ["lod0", "lod1", "lod2"]
    root.Load()
    assert stage.GetPrimAtPath(RENDER_MESH).IsA(UsdGeom.Mesh)
    assert stage.GetPrimAtPath(f"{ROOT}/mtl/look").IsA(UsdShade.Material)
    root.Unload()
    assert not stage.GetPrimAtPath(RENDER_MESH)


def test_lod_variant_selection_switches_the_mesh(udim_asset: tuple[Path, list[TriMesh]]) -> None:
    path, lods = udim_asset
    stage = open_stage(path)
    variant_set = stage.GetDefaultPrim().GetVariantSets().GetVariantSet("lod")
    assert variant_set.GetVariantSelection() == "lod0"
    mesh = UsdGeom.Mesh(stage.GetPrimAtPath(RENDER_MESH))
    counts = []
    for name, lod in zip(["lod0", "lod1", "lod2"], lods, strict=True):
        assert variant_set.SetVariantSelection(name)
        counts.append(len(mesh.GetPointsAttr().Get()))
        assert counts[-1] == len(lod.vertices)
        assert len(mesh.GetFaceVertexCountsAttr().Get()) == len(lod.faces)
    assert counts == [642, 162, 42]


def test_custom_lod_names(tmp_path: Path) -> None:
    export_asset(tmp_path, "a", lod_chain()[:2], albedo=None, lod_names=["hero", "mid-res"])
    stage = open_stage(tmp_path / "asset.usda")
    variant_set = stage.GetDefaultPrim().GetVariantSets().GetVariantSet("lod")
    assert list(variant_set.GetVariantNames()) == ["hero", "mid-res"]
    assert variant_set.GetVariantSelection() == "hero"


def test_mesh_attributes(udim_asset: tuple[Path, list[TriMesh]]) -> None:
    path, lods = udim_asset
    stage = open_stage(path)
    mesh = UsdGeom.Mesh(stage.GetPrimAtPath(RENDER_MESH))
    lod0 = lods[0]
    assert lod0.uvs is not None and lod0.face_uvs is not None
    n, m = len(lod0.vertices), len(lod0.faces)
    np.testing.assert_array_equal(np.asarray(mesh.GetPointsAttr().Get()), lod0.vertices)
    np.testing.assert_array_equal(np.asarray(mesh.GetFaceVertexIndicesAttr().Get()), lod0.faces.ravel())
    assert set(mesh.GetFaceVertexCountsAttr().Get()) == {3}
    assert mesh.GetSubdivisionSchemeAttr().Get() == UsdGeom.Tokens.none
    assert UsdGeom.Imageable(mesh).ComputePurpose() == UsdGeom.Tokens.render
    extent = np.asarray(mesh.GetExtentAttr().Get())
    np.testing.assert_allclose(extent, [lod0.vertices.min(0), lod0.vertices.max(0)], atol=1e-6)

    st = UsdGeom.PrimvarsAPI(mesh).GetPrimvar("st")
    assert st.GetTypeName() == Sdf.ValueTypeNames.TexCoord2fArray
    assert st.GetInterpolation() == UsdGeom.Tokens.faceVarying
    assert st.IsIndexed()
    assert len(st.Get()) == len(lod0.uvs) == 2 * n
    np.testing.assert_array_equal(np.asarray(st.GetIndices()), lod0.face_uvs.ravel())
    assert len(st.ComputeFlattened()) == 3 * m

    normals = np.asarray(mesh.GetNormalsAttr().Get())
    assert mesh.GetNormalsInterpolation() == UsdGeom.Tokens.vertex
    assert normals.shape == (n, 3)
    np.testing.assert_allclose(np.linalg.norm(normals, axis=1), 1.0, atol=1e-5)
    assert np.all(np.sum(normals * lod0.vertices, axis=1) > 0.99)  # a sphere's normals point outward

    color = UsdGeom.PrimvarsAPI(mesh).GetPrimvar("displayColor")
    assert color.GetInterpolation() == UsdGeom.Tokens.vertex
    # sRGB 0.5 decodes to linear 0.214.
    np.testing.assert_allclose(np.asarray(color.Get())[0], [0.21404, 0.05087, 1.0], atol=1e-4)

    proxy = UsdGeom.Mesh(stage.GetPrimAtPath(f"{ROOT}/geo/proxy/mesh"))
    assert UsdGeom.Imageable(proxy).ComputePurpose() == UsdGeom.Tokens.proxy
    assert len(proxy.GetPointsAttr().Get()) == len(lods[-1].vertices)


def test_material_network_and_binding(udim_asset: tuple[Path, list[TriMesh]]) -> None:
    path, _ = udim_asset
    stage = open_stage(path)
    mesh_prim = stage.GetPrimAtPath(RENDER_MESH)
    assert mesh_prim.HasAPI(UsdShade.MaterialBindingAPI)
    material, _ = UsdShade.MaterialBindingAPI(mesh_prim).ComputeBoundMaterial()
    assert material.GetPath() == Sdf.Path(f"{ROOT}/mtl/look")
    surface = material.ComputeSurfaceSource()[0]
    assert surface.GetShaderId() == "UsdPreviewSurface"
    assert surface.GetInput("roughness").Get() == pytest.approx(0.5)
    assert surface.GetInput("metallic").Get() == 0.0
    texture = UsdShade.Shader(surface.GetInput("diffuseColor").GetConnectedSources()[0][0].source.GetPrim())
    assert texture.GetShaderId() == "UsdUVTexture"
    assert texture.GetInput("sourceColorSpace").Get() == "sRGB"
    assert texture.GetInput("wrapS").Get() in ("repeat", "clamp")
    reader = UsdShade.Shader(texture.GetInput("st").GetConnectedSources()[0][0].source.GetPrim())
    assert reader.GetShaderId() == "UsdPrimvarReader_float2"
    assert reader.GetInput("varname").Get() == "st"

    file_attr = texture.GetInput("file").GetAttr()
    asset = file_attr.Get()
    assert asset.path == "./maps/head_albedo.<UDIM>.png"
    anchor = file_attr.GetPropertyStack(Usd.TimeCode.Default())[0].layer
    absolute = Path(anchor.ComputeAbsolutePath(asset.path))
    tiles = sorted(absolute.parent.glob(absolute.name.replace("<UDIM>", "*")))
    assert [t.name for t in tiles] == ["head_albedo.1001.png", "head_albedo.1002.png"]
    assert absolute.parent == path.parent / "maps"


def test_each_lod_can_carry_its_own_albedo(tmp_path: Path) -> None:
    lods = lod_chain()
    for i in range(3):
        write_png(tmp_path / "maps" / f"head_lod{i}_albedo.1001.png", value=60 * i)
    paths = [f"maps/head_lod{i}_albedo.1001.png" for i in range(3)]
    export_asset(tmp_path, NAME, lods, albedo=paths)
    assert validate_asset_report(tmp_path / "asset.usda").errors == []
    stage = open_stage(tmp_path / "asset.usda")
    lod_set = stage.GetPrimAtPath(ROOT).GetVariantSets().GetVariantSet("lod")
    for i in range(3):
        assert lod_set.SetVariantSelection(f"lod{i}")
        mesh_prim = stage.GetPrimAtPath(RENDER_MESH)
        material, _ = UsdShade.MaterialBindingAPI(mesh_prim).ComputeBoundMaterial()
        assert material.GetPath() == Sdf.Path(f"{ROOT}/mtl/look_lod{i}")
        surface = material.ComputeSurfaceSource()[0]
        texture = UsdShade.Shader(surface.GetInput("diffuseColor").GetConnectedSources()[0][0].source.GetPrim())
        assert texture.GetInput("file").Get().path == f"./{paths[i]}"
        assert len(UsdGeom.Mesh(mesh_prim).GetPointsAttr().Get()) == len(lods[i].vertices)
    proxy, _ = UsdShade.MaterialBindingAPI(stage.GetPrimAtPath(f"{ROOT}/geo/proxy/mesh")).ComputeBoundMaterial()
    assert proxy.GetPath() == Sdf.Path(f"{ROOT}/mtl/look_lod2")
    with pytest.raises(ValueError, match="2 albedo paths for 3 LODs"):
        export_asset(tmp_path, NAME, lods, albedo=paths[:2])


def test_plain_texture_path_resolves_to_the_file(tmp_path: Path) -> None:
    write_png(tmp_path / "maps" / "albedo.png")
    export_asset(tmp_path, "a", [textured_sphere(1)], albedo="maps/albedo.png")
    stage = open_stage(tmp_path / "asset.usda")
    texture = UsdShade.Shader(stage.GetPrimAtPath("/a/mtl/look/albedoTexture"))
    resolved = texture.GetInput("file").Get().resolvedPath
    assert Path(resolved) == tmp_path / "maps" / "albedo.png"
    assert Path(str(Ar.GetResolver().Resolve(str(tmp_path / "maps" / "albedo.png")))) == Path(resolved)


@pytest.mark.parametrize("colors", [True, False])
def test_untextured_material(tmp_path: Path, colors: bool) -> None:
    export_asset(tmp_path, "a", [textured_sphere(1, colors=colors)], albedo=None)
    stage = open_stage(tmp_path / "asset.usda")
    material = UsdShade.Material(stage.GetPrimAtPath("/a/mtl/look"))
    diffuse = material.ComputeSurfaceSource()[0].GetInput("diffuseColor")
    if colors:
        reader = UsdShade.Shader(diffuse.GetConnectedSources()[0][0].source.GetPrim())
        assert reader.GetShaderId() == "UsdPrimvarReader_float3"
        assert reader.GetInput("varname").Get() == "displayColor"
    else:
        assert not diffuse.HasConnectedSource()
        assert tuple(diffuse.Get()) == pytest.approx((0.18, 0.18, 0.18))
    assert not [p for p in stage.Traverse() if UsdShade.Shader(p).GetShaderId() == "UsdUVTexture"]


def test_single_lod_has_no_proxy_and_default_purpose(tmp_path: Path) -> None:
    export_asset(tmp_path, "a", [textured_sphere(1)], albedo=None)
    stage = open_stage(tmp_path / "asset.usda")
    assert not stage.GetPrimAtPath("/a/geo/proxy")
    assert UsdGeom.Imageable(stage.GetPrimAtPath("/a/geo/render/mesh")).ComputePurpose() == UsdGeom.Tokens.default_


def test_failed_export_leaves_no_partial_asset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real_export = asset_module._export_layer
    calls = []

    def export_then_fail(layer: Sdf.Layer, path: Path) -> None:
        calls.append(path)
        if len(calls) == 3:
            raise OSError("disk full")
        real_export(layer, path)

    monkeypatch.setattr(asset_module, "_export_layer", export_then_fail)
    with pytest.raises(OSError, match="disk full"):
        export_asset(tmp_path, "a", lod_chain(), albedo=None)
    assert len(calls) == 3
    assert list(tmp_path.iterdir()) == []


def test_failed_reexport_keeps_the_previous_asset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    export_asset(tmp_path, "a", lod_chain(), albedo=None)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}

    def fail(layer: Sdf.Layer, path: Path) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(asset_module, "_export_layer", fail)
    with pytest.raises(OSError):
        export_asset(tmp_path, "a", [textured_sphere(1)], albedo=None)
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_reexport_is_seen_by_a_process_holding_the_old_layers(tmp_path: Path) -> None:
    export_asset(tmp_path, "a", [textured_sphere(2)], albedo=None)
    held = open_stage(tmp_path / "asset.usda")
    assert len(UsdGeom.Mesh(held.GetPrimAtPath("/a/geo/render/mesh")).GetPointsAttr().Get()) == 162
    export_asset(tmp_path, "a", [textured_sphere(1)], albedo=None)
    fresh = open_stage(tmp_path / "asset.usda")
    assert len(UsdGeom.Mesh(fresh.GetPrimAtPath("/a/geo/render/mesh")).GetPointsAttr().Get()) == 42
    assert validate_asset_report(tmp_path / "asset.usda").ok


def test_bad_arguments(tmp_path: Path) -> None:
    sphere = textured_sphere(1)
    with pytest.raises(ValueError, match="at least one"):
        export_asset(tmp_path, "a", [], albedo=None)
    with pytest.raises(ValueError, match="lod_names"):
        export_asset(tmp_path, "a", [sphere], albedo=None, lod_names=["x", "y"])
    with pytest.raises(ValueError, match="variant name"):
        export_asset(tmp_path, "a", [sphere], albedo=None, lod_names=["a b"])
    with pytest.raises(ValueError, match="up_axis"):
        export_asset(tmp_path, "a", [sphere], albedo=None, up_axis="X")
    with pytest.raises(ValueError, match="empty"):
        export_asset(tmp_path, " ", [sphere], albedo=None)
    with pytest.raises(FileNotFoundError):
        export_asset(tmp_path, "a", [sphere], albedo="maps/missing.<UDIM>.png")
    with pytest.raises(ValueError, match="relative"):
        export_asset(tmp_path, "a", [sphere], albedo=str(tmp_path / "maps" / "x.png"))
    with pytest.raises(ValueError, match="inside"):
        export_asset(tmp_path, "a", [sphere], albedo="../x.png")
    write_png(tmp_path / "maps" / "x.png")
    with pytest.raises(ValueError, match="no UVs"):
        export_asset(tmp_path, "a", [icosphere(1)], albedo="maps/x.png")
    assert not (tmp_path / "asset.usda").exists()


def test_normal_and_displacement_maps_feed_the_preview_surface(tmp_path: Path) -> None:
    from lifecast.bake import write_exr

    lods = lod_chain()
    write_png(tmp_path / "maps" / "head_albedo.1001.png")
    write_png(tmp_path / "maps" / "head_normal.1001.png", value=128)
    write_exr(tmp_path / "maps" / "head_displacement.1001.exr", np.zeros((4, 4), np.float32))
    export_asset(
        tmp_path,
        NAME,
        lods,
        albedo="maps/head_albedo.<UDIM>.png",
        normal="maps/head_normal.<UDIM>.png",
        displacement="maps/head_displacement.<UDIM>.exr",
    )
    report = validate_asset_report(tmp_path / "asset.usda")
    assert report.errors == [], report.errors
    assert any("cannot expand" in w for w in report.warnings), "USD's normal-map validator and <UDIM>"
    stage = open_stage(tmp_path / "asset.usda")
    material, _ = UsdShade.MaterialBindingAPI(stage.GetPrimAtPath(RENDER_MESH)).ComputeBoundMaterial()
    surface = material.ComputeSurfaceSource()[0]

    def source_of(input_name: str) -> UsdShade.Shader:
        return UsdShade.Shader(surface.GetInput(input_name).GetConnectedSources()[0][0].source.GetPrim())

    normal = source_of("normal")
    assert normal.GetInput("sourceColorSpace").Get() == "raw"
    assert tuple(normal.GetInput("scale").Get()) == (2.0, 2.0, 2.0, 1.0)
    assert tuple(normal.GetInput("bias").Get()) == (-1.0, -1.0, -1.0, 0.0)
    assert normal.GetInput("file").Get().path == "./maps/head_normal.<UDIM>.png"
    height = source_of("displacement")
    assert height.GetInput("sourceColorSpace").Get() == "raw"
    assert height.GetInput("file").Get().path == "./maps/head_displacement.<UDIM>.exr"
    assert material.GetDisplacementOutput().HasConnectedSource()
    assert source_of("diffuseColor").GetInput("sourceColorSpace").Get() == "sRGB"
    # The <UDIM> leniency never hides a missing map: with its only tile gone the asset fails.
    (tmp_path / "maps" / "head_normal.1001.png").unlink()
    assert any("head_normal" in e for e in validate_asset_report(tmp_path / "asset.usda").errors)


def test_acescg_albedo_is_read_raw_with_its_color_space(tmp_path: Path) -> None:
    from lifecast.bake.images import write_exr

    write_exr(tmp_path / "maps" / "albedo.exr", np.full((4, 4, 3), 0.18, np.float32), half=True)
    export_asset(tmp_path, "a", [textured_sphere(1)], albedo="maps/albedo.exr", albedo_color_space="acescg")
    stage = open_stage(tmp_path / "asset.usda")
    texture = UsdShade.Shader(stage.GetPrimAtPath("/a/mtl/look/albedoTexture"))
    assert texture.GetInput("sourceColorSpace").Get() == "raw"
    assert texture.GetInput("file").GetAttr().GetColorSpace() == "lin_ap1_scene"
    report = validate_asset_report(tmp_path / "asset.usda")
    assert not report.errors, report.errors


def test_srgb_albedo_keeps_the_srgb_source_color_space(tmp_path: Path) -> None:
    write_png(tmp_path / "maps" / "albedo.png")
    export_asset(tmp_path, "a", [textured_sphere(1)], albedo="maps/albedo.png")
    stage = open_stage(tmp_path / "asset.usda")
    texture = UsdShade.Shader(stage.GetPrimAtPath("/a/mtl/look/albedoTexture"))
    assert texture.GetInput("sourceColorSpace").Get() == "sRGB"
    assert not texture.GetInput("file").GetAttr().HasColorSpace()
    with pytest.raises(ValueError, match="albedo_color_space"):
        export_asset(tmp_path / "b", "b", [textured_sphere(1)], albedo=None, albedo_color_space="xyz")  # type: ignore[arg-type]

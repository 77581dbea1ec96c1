"""The look's MaterialX network in the USD asset: authored from shaders/, checked against MaterialX's nodedefs."""

from __future__ import annotations

from pathlib import Path

import MaterialX
import pytest
from pxr import Sdf, Usd, UsdShade

from lifecast.errors import InputError
from lifecast.usd import export_asset, validate_asset
from lifecast.usd.looks import standard_libraries
from lifecast.usd.materialx import network_problems, usd_type
from tests.cli_helpers import events_of, run_cli
from tests.unit.test_usd_asset import lod_chain, textured_sphere, write_png

MATERIAL = "/head/mtl/look"
MAPS = {
    "albedo": "maps/head_albedo.<UDIM>.png",
    "normal": "maps/head_normal.<UDIM>.png",
    "displacement": "maps/head_displacement.<UDIM>.exr",
    "cavity": "maps/head_cavity.<UDIM>.png",
}


def export(out_dir: Path, *, maps: tuple[str, ...] = tuple(MAPS), **kwargs: object) -> Path:
    """A one-LOD asset with the given maps on UDIM tiles 1001 and 1002 (the displacement 'EXR' is a stand-in file)."""
    for channel in maps:
        for tile in (1001, 1002):
            path = out_dir / MAPS[channel].replace("<UDIM>", str(tile))
            write_png(path) if path.suffix == ".png" else path.write_bytes(b"stand-in")
    export_asset(out_dir, "head", [textured_sphere(2)], **{c: MAPS[c] for c in maps}, **kwargs)  # type: ignore[arg-type]
    return out_dir / "asset.usda"


#: Stages opened by material_of: a Material does not keep its stage alive.
_OPEN_STAGES: list[Usd.Stage] = []


def material_of(path: Path) -> UsdShade.Material:
    stage = Usd.Stage.Open(str(path), load=Usd.Stage.LoadAll)
    _OPEN_STAGES.append(stage)
    material = UsdShade.Material(stage.GetPrimAtPath(stage.GetDefaultPrim().GetPath().AppendPath("mtl/look")))
    assert material
    return material


def shader(material: UsdShade.Material, name: str) -> UsdShade.Shader:
    result = UsdShade.Shader(material.GetPrim().GetChild(name))
    assert result, f"no shader {name}"
    return result


def source_of(port: UsdShade.Input | UsdShade.Output) -> tuple[str, str]:
    """(prim name, output name) that ``port`` connects to."""
    sources = port.GetConnectedSources()[0]
    assert len(sources) == 1, port
    return sources[0].source.GetPrim().GetName(), sources[0].sourceName


def mtlx_shaders(material: UsdShade.Material) -> list[UsdShade.Shader]:
    return [
        UsdShade.Shader(p)
        for p in material.GetPrim().GetChildren()
        if UsdShade.Shader(p).GetShaderId().startswith("ND_")
    ]


def assert_matches_nodedefs(material: UsdShade.Material) -> None:
    """The test's own walk: every input name/type on the nodedef named by info:id, every connection to a real output."""
    libraries = standard_libraries()
    shaders = mtlx_shaders(material)
    assert shaders
    for prim_shader in shaders:
        nodedef = libraries.getNodeDef(prim_shader.GetShaderId())
        assert nodedef is not None, prim_shader.GetShaderId()
        for usd_input in prim_shader.GetInputs():
            definition = nodedef.getActiveInput(usd_input.GetBaseName())
            assert definition is not None, f"{prim_shader.GetPath()}: {usd_input.GetBaseName()}"
            assert usd_input.GetTypeName() == usd_type(definition.getType()), usd_input.GetAttr().GetPath()
            for source in usd_input.GetConnectedSources()[0]:
                upstream = UsdShade.Shader(source.source.GetPrim())
                output = libraries.getNodeDef(upstream.GetShaderId()).getActiveOutput(source.sourceName)
                assert output is not None and output.getType() == definition.getType(), usd_input.GetAttr().GetPath()
                assert upstream.GetOutput(source.sourceName), "the connection reaches an authored output"
    assert network_problems(material) == []


def test_openpbr_look_is_authored_beside_the_preview_surface(tmp_path: Path) -> None:
    path = export(tmp_path)
    material = material_of(path)
    assert source_of(material.GetSurfaceOutput()) == ("previewSurface", "surface")
    assert source_of(material.GetSurfaceOutput("mtlx")) == ("skin_surface", "out")
    assert source_of(material.GetDisplacementOutput("mtlx")) == ("skin_displacement", "out")
    surface = shader(material, "skin_surface")
    assert surface.GetShaderId() == "ND_open_pbr_surface_surfaceshader"
    assert source_of(surface.GetInput("base_color")) == ("albedo_map", "out")
    assert source_of(surface.GetInput("subsurface_color")) == ("albedo_map", "out")
    assert source_of(surface.GetInput("geometry_normal")) == ("skin_normal", "out")
    assert source_of(surface.GetInput("specular_weight")) == ("skin_specular_weight", "out")
    assert surface.GetInput("coat_weight").Get() == 0.0
    assert surface.GetInput("subsurface_weight").Get() == 1.0
    # 3.67 mm in a centimetre asset.
    assert surface.GetInput("subsurface_radius").Get() == pytest.approx(0.367)
    assert shader(material, "albedo_map").GetShaderId() == "ND_image_color3"
    assert shader(material, "skin_normal").GetShaderId() == "ND_normalmap_float"
    assert shader(material, "skin_displacement").GetShaderId() == "ND_displacement_float"
    assert_matches_nodedefs(material)
    assert validate_asset(path) == []


def test_texture_files_keep_udim_and_colour_spaces(tmp_path: Path) -> None:
    material = material_of(export(tmp_path))
    expected = {
        "albedo_map": ("./maps/head_albedo.<UDIM>.png", "srgb_texture"),
        "normal_map": ("./maps/head_normal.<UDIM>.png", "raw"),
        "displacement_map": ("./maps/head_displacement.<UDIM>.exr", "raw"),
        "cavity_map": ("./maps/head_cavity.<UDIM>.png", "raw"),
    }
    for name, (file, color_space) in expected.items():
        file_input = shader(material, name).GetInput("file")
        assert file_input.GetTypeName() == Sdf.ValueTypeNames.Asset
        assert file_input.Get().path == file
        assert file_input.GetAttr().GetColorSpace() == color_space
    assert source_of(shader(material, "albedo_map").GetInput("texcoord")) == ("st_coords", "out")
    assert shader(material, "st_coords").GetInput("geomprop").Get() == "st"


def test_acescg_albedo_is_read_as_lin_ap1(tmp_path: Path) -> None:
    material = material_of(export(tmp_path, albedo_color_space="acescg"))
    assert shader(material, "albedo_map").GetInput("file").GetAttr().GetColorSpace() == "lin_ap1"
    assert shader(material, "normal_map").GetInput("file").GetAttr().GetColorSpace() == "raw"


@pytest.mark.parametrize(("meters_per_unit", "radius"), [(0.001, 3.67), (0.01, 0.367), (1.0, 0.00367)])
def test_standard_surface_look_and_lengths_in_asset_units(
    tmp_path: Path, meters_per_unit: float, radius: float
) -> None:
    path = export(tmp_path, look="standard_surface", meters_per_unit=meters_per_unit)
    material = material_of(path)
    surface = shader(material, "skin_surface")
    assert surface.GetShaderId() == "ND_standard_surface_surfaceshader"
    assert surface.GetInput("subsurface_scale").Get() == pytest.approx(radius)
    assert source_of(surface.GetInput("normal")) == ("skin_normal", "out")
    assert source_of(material.GetSurfaceOutput("mtlx")) == ("skin_surface", "out")
    assert_matches_nodedefs(material)
    assert validate_asset(path) == []


def test_preview_look_has_no_materialx(tmp_path: Path) -> None:
    path = export(tmp_path, look="preview")
    material = material_of(path)
    assert source_of(material.GetSurfaceOutput()) == ("previewSurface", "surface")
    assert not material.GetSurfaceOutput("mtlx")
    assert not material.GetDisplacementOutput("mtlx")
    assert mtlx_shaders(material) == []
    assert validate_asset(path) == []


def test_unknown_look_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="unknown look 'marble'"):
        export(tmp_path, look="marble")
    assert not (tmp_path / "asset.usda").exists()


def test_a_map_not_baked_leaves_its_inputs_unconnected_with_a_note(tmp_path: Path) -> None:
    for channel in ("albedo", "normal"):
        for tile in (1001, 1002):
            write_png(tmp_path / MAPS[channel].replace("<UDIM>", str(tile)))
    files = export_asset(tmp_path, "head", [textured_sphere(2)], albedo=MAPS["albedo"], normal=MAPS["normal"])
    material = material_of(files.root)
    names = {p.GetName() for p in material.GetPrim().GetChildren()}
    assert {"displacement_map", "skin_displacement", "cavity_map", "skin_specular_weight"}.isdisjoint(names)
    assert not material.GetDisplacementOutput("mtlx"), "no displacement map: no MaterialX displacement"
    surface = shader(material, "skin_surface")
    assert not surface.GetInput("specular_weight"), "cavity not baked: the nodedef's default specular weight"
    assert source_of(surface.GetInput("geometry_normal")) == ("skin_normal", "out")
    # The displacement is required by the look: one note; the cavity is optional: none.
    assert files.notes == ["look openpbr: no displacement map was baked, so outputs:mtlx:displacement left unconnected"]
    assert_matches_nodedefs(material)
    assert validate_asset(files.root) == []


def test_no_albedo_leaves_the_colours_at_their_defaults(tmp_path: Path) -> None:
    files = export_asset(tmp_path, "head", [textured_sphere(2)], albedo=None)
    material = material_of(files.root)
    surface = shader(material, "skin_surface")
    assert not surface.GetInput("base_color") and not surface.GetInput("subsurface_color")
    assert any("no albedo map" in note and "skin_surface.base_color" in note for note in files.notes)
    assert validate_asset(files.root) == []


def test_each_lod_material_gets_its_own_network(tmp_path: Path) -> None:
    per_lod = []
    for index in range(3):
        path = tmp_path / f"maps/head_lod{index}_albedo.png"
        write_png(path)
        per_lod.append(f"maps/{path.name}")
    export_asset(tmp_path, "head", lod_chain(), albedo=per_lod)
    stage = Usd.Stage.Open(str(tmp_path / "asset.usda"), load=Usd.Stage.LoadAll)
    for index in range(3):
        material = UsdShade.Material(stage.GetPrimAtPath(f"/head/mtl/look_lod{index}"))
        assert shader(material, "albedo_map").GetInput("file").Get().path == f"./maps/head_lod{index}_albedo.png"
        assert_matches_nodedefs(material)


def test_network_problems_catches_a_bad_input_type_and_connection(tmp_path: Path) -> None:
    export(tmp_path)
    stage = Usd.Stage.Open(str(tmp_path / "mtl.usdc"))  # the material layer on its own, edited in place
    material = UsdShade.Material(stage.GetPrimAtPath(MATERIAL))
    surface = shader(material, "skin_surface")
    surface.CreateInput("subsurface_glow", Sdf.ValueTypeNames.Float).Set(1.0)
    surface.GetPrim().RemoveProperty("inputs:coat_weight")
    surface.CreateInput("coat_weight", Sdf.ValueTypeNames.Color3f)
    surface.GetInput("base_weight").ConnectToSource(shader(material, "normal_map").ConnectableAPI(), "out")
    problems = network_problems(material)
    assert any("subsurface_glow is not on ND_open_pbr_surface_surfaceshader" in p for p in problems)
    assert any("coat_weight is color3f" in p for p in problems)
    assert any("base_weight (float) connects to" in p and "(vector3)" in p for p in problems)


def test_validate_asset_reports_a_missing_materialx_texture(tmp_path: Path) -> None:
    path = export(tmp_path)
    for tile in (1001, 1002):
        (tmp_path / MAPS["cavity"].replace("<UDIM>", str(tile))).unlink()
    errors = validate_asset(path)
    assert any("cavity_map" in e and "does not exist" in e for e in errors), errors


def test_mtlx_type_mapping_matches_usdmtlx() -> None:
    assert usd_type("color3") == Sdf.ValueTypeNames.Color3f
    assert usd_type("vector3") == Sdf.ValueTypeNames.Float3
    assert usd_type("filename") == Sdf.ValueTypeNames.Asset
    assert usd_type("surfaceshader") == Sdf.ValueTypeNames.Token
    with pytest.raises(ValueError, match="no USD equivalent"):
        usd_type("floatarray")
    assert MaterialX.getVersionString() == "1.39.5"


def test_process_with_a_bad_look_exits_2_with_one_line(tmp_path: Path, sample_scan: Path) -> None:
    proc = run_cli("process", sample_scan, "-o", tmp_path / "out", "--look", "marble")
    assert proc.returncode == 2, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("lifecast: error:")]
    assert len(errors) == 1 and "unknown look 'marble'" in errors[0], proc.stderr
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_process_warns_when_the_look_needs_a_map_not_baked(tmp_path: Path, sample_scan: Path) -> None:
    out = tmp_path / "out"
    args = ("--lods", "2000", "--texture-size", "256", "--maps", "albedo,normal", "--look", "standard_surface")
    proc = run_cli("process", sample_scan, "-o", out, "--json", *args, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    warnings = [e for e in events_of(proc.stdout) if e.type == "warning"]
    assert any("no displacement map" in str(e.data.get("message")) for e in warnings), warnings
    material = material_of(out / "asset.usda")
    assert shader(material, "skin_surface").GetShaderId() == "ND_standard_surface_surfaceshader"
    assert not material.GetDisplacementOutput("mtlx")
    assert validate_asset(out / "asset.usda") == []


def test_worker_job_and_options_carry_the_look(tmp_path: Path, sample_scan: Path) -> None:
    from lifecast.pipeline.options import check_options
    from lifecast.worker.jobs import process_options

    opts = process_options({"scan": str(sample_scan), "out": str(tmp_path / "out"), "look": "standard_surface"})
    assert opts.look == "standard_surface"
    check_options(opts)
    with pytest.raises(InputError, match="unknown look 'wax'"):
        check_options(process_options({"scan": str(sample_scan), "out": str(tmp_path / "out"), "look": "wax"}))

"""shaders/: every MaterialX document validates and generates GLSL, OSL and MDL source (no GPU, no rendering)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import MaterialX
import pytest
from MaterialX import PyMaterialXGenGlsl, PyMaterialXGenMdl, PyMaterialXGenOsl, PyMaterialXGenShader
from pxr import Gf, Usd

from lifecast.errors import InputError
from lifecast.farm.manifest import _CHOICES
from lifecast.usd.looks import (
    LOOK_DOCUMENTS,
    LOOK_NAMES,
    SHADERS_ENV,
    load_look_document,
    shaders_dir,
    standard_libraries,
)
from lifecast.usd.material import define_preview_material

SHADERS = Path(__file__).resolve().parents[2] / "shaders"
DOCUMENTS = sorted(SHADERS.rglob("*.mtlx"))
#: Folder -> the shading model's file prefix, as MaterialX's resources/Materials/Examples names them.
MODEL_FOLDERS = {
    "OpenPbr": "open_pbr_",
    "StandardSurface": "standard_surface_",
    "UsdPreviewSurface": "usd_preview_surface_",
}
GENERATORS = {
    "glsl": PyMaterialXGenGlsl.GlslShaderGenerator,
    "osl": PyMaterialXGenOsl.OslShaderGenerator,
    "mdl": PyMaterialXGenMdl.MdlShaderGenerator,
}


def read(path: Path) -> MaterialX.Document:
    document = MaterialX.createDocument()
    MaterialX.readFromXmlFile(document, str(path))
    document.setDataLibrary(standard_libraries())
    return document


def test_the_package_finds_this_shaders_folder() -> None:
    assert shaders_dir() == SHADERS
    assert len(DOCUMENTS) == 3


def test_layout_follows_materialx_examples() -> None:
    for path in DOCUMENTS:
        folder = path.parent.name
        assert folder in MODEL_FOLDERS, path
        assert path.name.startswith(MODEL_FOLDERS[folder]), path
    assert {str(p.relative_to(SHADERS)) for p in DOCUMENTS} == set(LOOK_DOCUMENTS.values())
    assert (SHADERS / "README.md").is_file()


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.name)
def test_every_document_validates_against_the_standard_libraries(path: Path) -> None:
    document = read(path)
    valid, message = document.validate()
    assert valid, message
    assert document.getVersionString() == "1.39"
    for node in document.getNodes():
        assert node.getNodeDef() is not None, f"{path.name}: {node.getName()} resolves to no nodedef"
    assert len(document.getMaterialNodes()) == 1


def _pixel_source(document: Any, generator_class: Any) -> str:
    """The pixel-stage source ``generator_class`` generates for the document's material (nothing is compiled)."""
    generator = generator_class.create()
    context = PyMaterialXGenShader.GenContext(generator)
    context.registerSourceCodeSearchPath(MaterialX.getDefaultDataSearchPath())
    color_management = PyMaterialXGenShader.DefaultColorManagementSystem.create(generator.getTarget())
    color_management.loadLibrary(standard_libraries())
    generator.setColorManagementSystem(color_management)
    material = document.getMaterialNodes()[0]
    shader = generator.generate(material.getName(), material, context)
    return str(shader.getSourceCode(PyMaterialXGenShader.PIXEL_STAGE))


@pytest.mark.parametrize("target", sorted(GENERATORS))
@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.name)
def test_each_look_generates_shader_source(path: Path, target: str) -> None:
    source = _pixel_source(read(path), GENERATORS[target])
    assert len(source) > 5000
    # The albedo texture is a shader parameter of the generated code, whatever the language.
    assert "albedo_map_file" in source


def test_srgb_albedo_is_converted_to_linear_in_generated_glsl() -> None:
    document = read(SHADERS / LOOK_DOCUMENTS["openpbr"])
    assert "srgb_texture_to_lin_rec709" in _pixel_source(document, PyMaterialXGenGlsl.GlslShaderGenerator)
    document.getNode("albedo_map").getInput("file").setColorSpace("lin_ap1")
    assert "acescg_to_lin_rec709" in _pixel_source(document, PyMaterialXGenGlsl.GlslShaderGenerator)


def test_skin_parameters_in_both_models_agree() -> None:
    documents = [read(SHADERS / LOOK_DOCUMENTS[look]) for look in ("openpbr", "standard_surface")]
    open_pbr, standard = (document.getNode("skin_surface") for document in documents)
    assert open_pbr.getInputValue("specular_roughness") == standard.getInputValue("specular_roughness")
    assert open_pbr.getInputValue("specular_roughness") == pytest.approx(0.55)
    assert open_pbr.getInputValue("specular_ior") == standard.getInputValue("specular_IOR") == pytest.approx(1.4)
    assert open_pbr.getInputValue("subsurface_radius_scale") == standard.getInputValue("subsurface_radius")
    radius, scale = open_pbr.getInput("subsurface_radius"), standard.getInput("subsurface_scale")
    assert (
        (radius.getValueString(), radius.getUnit())
        == (scale.getValueString(), scale.getUnit())
        == ("3.67", "millimeter")
    )
    assert open_pbr.getInputValue("coat_weight") == standard.getInputValue("coat") == 0.0
    assert open_pbr.getInputValue("subsurface_weight") == standard.getInputValue("subsurface") == 1.0


def test_preview_document_matches_the_network_lifecast_authors() -> None:
    """usd_preview_surface_skin.mtlx documents lifecast.usd.material's network: the values must not drift."""
    document = read(SHADERS / LOOK_DOCUMENTS["preview"])
    stage = Usd.Stage.CreateInMemory()
    define_preview_material(
        stage,
        "/look",
        albedo_file="./maps/a.<UDIM>.png",
        normal_file="./maps/n.<UDIM>.png",
        displacement_file="./maps/d.<UDIM>.exr",
    )
    authored = stage.GetPrimAtPath("/look/previewSurface")
    surface = document.getNode("preview_surface")
    for name in ("roughness", "metallic", "useSpecularWorkflow"):
        assert authored.GetAttribute(f"inputs:{name}").Get() == pytest.approx(surface.getInputValue(name)), name
    normal = document.getNode("normal_map")
    usd_normal = stage.GetPrimAtPath("/look/normalTexture")
    for name in ("scale", "bias"):
        assert Gf.Vec4f(*normal.getInputValue(name).asTuple()) == usd_normal.GetAttribute(f"inputs:{name}").Get()
    for texture, node in (("albedoTexture", "albedo_map"), ("normalTexture", "normal_map")):
        for wrap in ("wrapS", "wrapT"):
            usd_wrap = stage.GetPrimAtPath(f"/look/{texture}").GetAttribute(f"inputs:{wrap}").Get()
            assert usd_wrap == document.getNode(node).getInputValue(wrap)
    assert document.getNode("st_reader").getInputValue("geomprop") == "st"
    assert stage.GetPrimAtPath("/look/stReader").GetAttribute("inputs:varname").Get() == "st"


def test_look_names_in_the_farm_manifest_match() -> None:
    assert _CHOICES["look"] == LOOK_NAMES


def test_a_document_that_fails_validation_is_an_input_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    copy = tmp_path / "shaders"
    shutil.copytree(SHADERS, copy)
    document_path = copy / LOOK_DOCUMENTS["openpbr"]
    text = document_path.read_text()
    document_path.write_text(
        text.replace('<input name="coat_weight" type="float"', '<input name="coat_weight" type="color3"')
    )
    monkeypatch.setenv(SHADERS_ENV, str(copy))
    with pytest.raises(InputError, match="does not validate") as caught:
        load_look_document("openpbr")
    assert "\n" not in str(caught.value)
    assert load_look_document("standard_surface").getMaterialNodes()  # the others still load


def test_a_missing_shaders_folder_and_an_unknown_look(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(InputError, match="unknown look 'marble'"):
        load_look_document("marble")
    monkeypatch.setenv(SHADERS_ENV, str(tmp_path / "nowhere"))
    with pytest.raises(InputError, match="shaders folder is missing"):
        load_look_document("openpbr")

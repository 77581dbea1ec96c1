"""validate_asset: clean exports pass, and each kind of breakage is reported."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from pxr import Kind, Sdf

from lifecast.usd import export_asset, validate_asset, validate_asset_report
from tests.unit.test_usd_asset import lod_chain, textured_sphere, write_png


def export_textured(out_dir: Path, *, udim: bool = True) -> Path:
    if udim:
        write_png(out_dir / "maps" / "albedo.1001.png")
        write_png(out_dir / "maps" / "albedo.1002.png")
        albedo = "maps/albedo.<UDIM>.png"
    else:
        write_png(out_dir / "maps" / "albedo.png")
        albedo = "maps/albedo.png"
    export_asset(out_dir, "head", lod_chain(), albedo=albedo, provenance={"subject": "S001"})
    return out_dir / "asset.usda"


def edit_layer(path: Path, edit: Callable[[Sdf.Layer], None]) -> None:
    layer = Sdf.Layer.FindOrOpen(str(path))
    edit(layer)
    assert layer.Save()


@pytest.mark.parametrize("udim", [True, False])
def test_textured_export_is_valid(tmp_path: Path, udim: bool) -> None:
    report = validate_asset_report(export_textured(tmp_path, udim=udim))
    assert report.errors == []
    assert report.warnings == []
    assert report.to_dict() == {"errors": [], "warnings": []}


@pytest.mark.parametrize("colors", [True, False])
def test_untextured_export_is_valid(tmp_path: Path, colors: bool) -> None:
    export_asset(tmp_path, "head", [textured_sphere(2, colors=colors)], albedo=None)
    assert validate_asset(tmp_path / "asset.usda") == []


def test_missing_texture_is_an_error(tmp_path: Path) -> None:
    path = export_textured(tmp_path, udim=False)
    (tmp_path / "maps" / "albedo.png").unlink()
    errors = validate_asset(path)
    assert any("albedoTexture" in e and "does not exist" in e for e in errors)
    assert any("MissingReferenceValidator" in e for e in errors)


def test_all_udim_tiles_missing_is_an_error(tmp_path: Path) -> None:
    path = export_textured(tmp_path, udim=True)
    for tile in (tmp_path / "maps").iterdir():
        tile.unlink()
    assert any("does not exist" in e for e in validate_asset(path))


def test_missing_default_prim_is_an_error(tmp_path: Path) -> None:
    path = export_textured(tmp_path)
    edit_layer(path, lambda layer: layer.ClearDefaultPrim())
    assert any("defaultPrim" in e for e in validate_asset(path))


def test_deleted_geometry_layer_is_an_error(tmp_path: Path) -> None:
    path = export_textured(tmp_path)
    (tmp_path / "geo.usdc").unlink()
    errors = validate_asset(path)
    assert any("CompositionError" in e for e in errors), errors
    assert any("no meshes" in e for e in errors)


def test_missing_payload_and_wrong_kind_are_errors(tmp_path: Path) -> None:
    path = export_textured(tmp_path)

    def strip(layer: Sdf.Layer) -> None:
        prim = layer.GetPrimAtPath("/head")
        prim.payloadList.ClearEdits()
        prim.kind = Kind.Tokens.assembly

    edit_layer(path, strip)
    errors = validate_asset(path)
    assert any("no payload" in e for e in errors)
    assert any("kind is 'assembly'" in e for e in errors)


def test_missing_stage_metadata_is_an_error(tmp_path: Path) -> None:
    path = export_textured(tmp_path)
    edit_layer(path, lambda layer: layer.pseudoRoot.ClearInfo("metersPerUnit"))
    assert any("metersPerUnit not authored" in e for e in validate_asset(path))


def test_unindexed_st_in_one_lod_is_an_error(tmp_path: Path) -> None:
    path = export_textured(tmp_path)

    def drop_indices(layer: Sdf.Layer) -> None:
        mesh = layer.GetPrimAtPath("/head{lod=lod1}geo/render/mesh")
        del mesh.properties["primvars:st:indices"]

    edit_layer(tmp_path / "geo.usdc", drop_indices)
    errors = validate_asset(path)
    assert errors == ["lod=lod1: /head/geo/render/mesh: 'st' is not indexed (primvars:st:indices missing)"]


def test_missing_lod_variant_set_is_an_error(tmp_path: Path) -> None:
    export_asset(tmp_path, "head", [textured_sphere(1)], albedo=None)
    path = tmp_path / "asset.usda"

    def drop_variants(layer: Sdf.Layer) -> None:
        prim = layer.GetPrimAtPath("/head")
        prim.variantSetNameList.ClearEdits()
        del prim.variantSets["lod"]

    edit_layer(path, drop_variants)
    edit_layer(tmp_path / "geo.usdc", drop_variants)
    assert any("'lod' variant set" in e for e in validate_asset(path))


def test_unreadable_files_are_reported_not_raised(tmp_path: Path) -> None:
    assert validate_asset(tmp_path / "nope.usda") == [f"{tmp_path / 'nope.usda'}: file not found"]
    junk = tmp_path / "junk.usda"
    junk.write_text("this is not usda")
    errors = validate_asset(junk)
    assert len(errors) == 1 and "cannot open" in errors[0]

"""The asset's look: one ``UsdPreviewSurface`` material.

Three flavours, picked by what the scan has:

- an albedo texture: ``UsdPrimvarReader_float2`` (``st``) -> ``UsdUVTexture``
  (``sourceColorSpace = "sRGB"``, clamped wrap, UDIM paths allowed) ->
  ``diffuseColor``;
- vertex colours only: ``UsdPrimvarReader_float3`` (``displayColor``) ->
  ``diffuseColor``;
- neither: a constant mid-grey ``diffuseColor``.

Every flavour sets ``roughness = 0.5`` and ``metallic = 0`` (skin is a rough
dielectric) and ``useSpecularWorkflow = 0``.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Literal

from pxr import Gf, Sdf, Usd, UsdShade

__all__ = [
    "ALBEDO_FALLBACK",
    "UDIM_TOKEN",
    "define_preview_material",
    "texture_asset_path",
    "texture_files",
]

#: Diffuse colour used when the asset has neither a texture nor vertex colours (linear 18% grey).
ALBEDO_FALLBACK = (0.18, 0.18, 0.18)


#: How the albedo texture is encoded: sRGB PNG, or linear ACEScg EXR (see :mod:`lifecast.color`).
AlbedoColorSpace = Literal["srgb", "acescg"]
#: OpenUSD's colour space name (the colour interop ID) for linear ACEScg.
ACESCG_COLOR_SPACE = "lin_ap1_scene"


def define_preview_material(
    stage: Usd.Stage,
    path: str | Sdf.Path,
    *,
    albedo_file: str | None,
    normal_file: str | None = None,
    displacement_file: str | None = None,
    use_display_color: bool = False,
    uv_set: str = "st",
    albedo_color_space: AlbedoColorSpace = "srgb",
) -> UsdShade.Material:
    """Define a ``UsdPreviewSurface`` material and its shader network at ``path``.

    Parameters
    ----------
    stage
        The stage to author on.
    path
        Prim path of the ``Material``; the shaders become its children.
    albedo_file
        Asset path of the albedo texture as it should be written into the
        layer (relative, e.g. ``"./maps/head_albedo.<UDIM>.png"``), or ``None``.
    normal_file
        Asset path of a tangent-space normal map (OpenGL +Y, raw 8/16-bit PNG),
        or ``None``: read raw with scale ``(2, 2, 2, 1)`` and bias
        ``(-1, -1, -1, 0)`` into ``inputs:normal``.
    displacement_file
        Asset path of a displacement map (float EXR, signed distance along the
        normal in scene units, 0 on the surface), or ``None``: its red channel,
        raw, drives ``inputs:displacement``.
    use_display_color
        With no ``albedo_file``: read the ``displayColor`` primvar as the
        diffuse colour instead of using :data:`ALBEDO_FALLBACK`.
    uv_set
        Name of the texture coordinate primvar the texture reader samples.
    albedo_color_space
        ``"srgb"``: an sRGB-encoded albedo (``sourceColorSpace = sRGB``).
        ``"acescg"``: a linear ACEScg EXR; read ``raw`` and its ``file``
        attribute carries ``colorSpace = "lin_ap1_scene"`` so colour-managed
        renderers convert from AP1 primaries.

    Returns
    -------
    The material, with ``outputs:surface`` connected.
    """
    material = UsdShade.Material.Define(stage, path)
    material_path = material.GetPath()

    surface = UsdShade.Shader.Define(stage, material_path.AppendChild("previewSurface"))
    surface.CreateIdAttr("UsdPreviewSurface")
    surface.CreateInput("roughness", Sdf.ValueTypeNames.Float).Set(0.5)
    surface.CreateInput("metallic", Sdf.ValueTypeNames.Float).Set(0.0)
    surface.CreateInput("useSpecularWorkflow", Sdf.ValueTypeNames.Int).Set(0)
    diffuse = surface.CreateInput("diffuseColor", Sdf.ValueTypeNames.Color3f)
    material.CreateSurfaceOutput().ConnectToSource(surface.ConnectableAPI(), "surface")

    textured = albedo_file is not None or normal_file is not None or displacement_file is not None
    st_reader = None
    if textured:
        st_reader = UsdShade.Shader.Define(stage, material_path.AppendChild("stReader"))
        st_reader.CreateIdAttr("UsdPrimvarReader_float2")
        st_reader.CreateInput("varname", Sdf.ValueTypeNames.String).Set(uv_set)
        st_reader.CreateOutput("result", Sdf.ValueTypeNames.Float2)
    if normal_file is not None and st_reader is not None:
        normal = _uv_texture(stage, material_path.AppendChild("normalTexture"), normal_file, "raw", st_reader)
        normal.CreateInput("scale", Sdf.ValueTypeNames.Float4).Set(Gf.Vec4f(2.0, 2.0, 2.0, 1.0))
        normal.CreateInput("bias", Sdf.ValueTypeNames.Float4).Set(Gf.Vec4f(-1.0, -1.0, -1.0, 0.0))
        normal.CreateOutput("rgb", Sdf.ValueTypeNames.Float3)
        surface.CreateInput("normal", Sdf.ValueTypeNames.Normal3f).ConnectToSource(normal.ConnectableAPI(), "rgb")
    if displacement_file is not None and st_reader is not None:
        height = _uv_texture(
            stage, material_path.AppendChild("displacementTexture"), displacement_file, "raw", st_reader
        )
        height.CreateOutput("r", Sdf.ValueTypeNames.Float)
        surface.CreateInput("displacement", Sdf.ValueTypeNames.Float).ConnectToSource(height.ConnectableAPI(), "r")
        material.CreateDisplacementOutput().ConnectToSource(surface.ConnectableAPI(), "displacement")
    if albedo_file is not None and st_reader is not None:
        source_space = "sRGB" if albedo_color_space == "srgb" else "raw"
        texture = _uv_texture(stage, material_path.AppendChild("albedoTexture"), albedo_file, source_space, st_reader)
        if albedo_color_space == "acescg":
            texture.GetInput("file").GetAttr().SetColorSpace(ACESCG_COLOR_SPACE)
        elif albedo_color_space != "srgb":
            raise ValueError(f"albedo_color_space must be 'srgb' or 'acescg', got {albedo_color_space!r}")
        texture.CreateOutput("rgb", Sdf.ValueTypeNames.Float3)
        diffuse.ConnectToSource(texture.ConnectableAPI(), "rgb")
    elif use_display_color:
        color_reader = UsdShade.Shader.Define(stage, material_path.AppendChild("displayColorReader"))
        color_reader.CreateIdAttr("UsdPrimvarReader_float3")
        color_reader.CreateInput("varname", Sdf.ValueTypeNames.String).Set("displayColor")
        color_reader.CreateInput("fallback", Sdf.ValueTypeNames.Float3).Set(Gf.Vec3f(*ALBEDO_FALLBACK))
        color_reader.CreateOutput("result", Sdf.ValueTypeNames.Float3)
        diffuse.ConnectToSource(color_reader.ConnectableAPI(), "result")
    else:
        diffuse.Set(Gf.Vec3f(*ALBEDO_FALLBACK))
    return material


def _uv_texture(
    stage: Usd.Stage, path: Sdf.Path, file: str, color_space: str, st_reader: UsdShade.Shader
) -> UsdShade.Shader:
    """A ``UsdUVTexture`` reading ``file`` through the ``st`` reader, clamped, in ``color_space``."""
    texture = UsdShade.Shader.Define(stage, path)
    texture.CreateIdAttr("UsdUVTexture")
    texture.CreateInput("file", Sdf.ValueTypeNames.Asset).Set(Sdf.AssetPath(file))
    texture.CreateInput("sourceColorSpace", Sdf.ValueTypeNames.Token).Set(color_space)
    texture.CreateInput("wrapS", Sdf.ValueTypeNames.Token).Set("clamp")
    texture.CreateInput("wrapT", Sdf.ValueTypeNames.Token).Set("clamp")
    texture.CreateInput("st", Sdf.ValueTypeNames.Float2).ConnectToSource(st_reader.ConnectableAPI(), "result")
    return texture


#: The UDIM token in texture paths, as Hydra, Karma, RenderMan and Arnold spell it.
UDIM_TOKEN = "<UDIM>"


def texture_asset_path(relative: str) -> str:
    """The asset path to author for a texture given relative to the asset directory.

    ``"maps/a.<UDIM>.png"`` becomes ``"./maps/a.<UDIM>.png"``: the ``./`` makes
    the default resolver anchor it to the layer that authors it (and never
    consult search paths). Backslashes become ``/``. Absolute paths and paths
    that climb out of the asset directory are refused: the asset must stay
    relocatable.
    """
    text = relative.replace("\\", "/")
    parts = PurePosixPath(text).parts
    if PurePosixPath(text).is_absolute() or PureWindowsPath(relative).is_absolute():
        raise ValueError(f"texture path must be relative to the asset directory, got {relative!r}")
    if ".." in parts:
        raise ValueError(f"texture path must stay inside the asset directory, got {relative!r}")
    clean = "/".join(part for part in parts if part != ".")
    if not clean:
        raise ValueError("texture path is empty")
    return f"./{clean}"


def texture_files(anchor_dir: Path, asset_path: str) -> list[Path]:
    """The files on disk a texture asset path names, relative to ``anchor_dir``.

    A path with :data:`UDIM_TOKEN` names every tile that exists
    (``1001``-``9999``); a plain path names itself if it exists. Returns an
    empty list when nothing is there.
    """
    path = Path(asset_path) if Path(asset_path).is_absolute() else anchor_dir / asset_path
    if UDIM_TOKEN not in path.name:
        return [path] if path.is_file() else []
    pattern = path.name.replace("[", "[[]").replace(UDIM_TOKEN, "[1-9][0-9][0-9][0-9]")
    return sorted(p for p in path.parent.glob(pattern) if p.is_file())

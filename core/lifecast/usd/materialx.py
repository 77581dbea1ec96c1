"""A look's MaterialX network, authored natively as UsdShade prims from its ``shaders/`` document.

usd-core has no usdMtlx plug-in, so the asset cannot reference the ``.mtlx``
file: :func:`define_materialx_network` reads the document (see
:mod:`lifecast.usd.looks`) and authors what usdMtlx would:

- every node upstream of the document's ``surfacematerial`` becomes a
  ``Shader`` child of the ``Material``, named as in the document, with
  ``info:id`` = the node's resolved nodedef (``ND_open_pbr_surface_surfaceshader``,
  ``ND_image_color3``, ``ND_normalmap_float``...);
- each input the document sets is authored with the USD type of its nodedef
  input (``color3`` -> ``color3f``, ``vector3`` -> ``float3``, ``filename`` ->
  ``asset``, shader types -> ``token``...), as a value or as a connection to the
  upstream shader's output; an input's ``colorspace`` becomes the attribute's
  ``colorSpace`` metadata; a length with ``unittype="distance"`` is converted
  to the asset's units (``metersPerUnit``);
- the material's ``surfaceshader`` / ``displacementshader`` inputs become
  ``outputs:mtlx:surface`` / ``outputs:mtlx:displacement``.

Lifecast's maps enter through the image nodes named ``<channel>_map``
(``albedo_map``, ``normal_map``, ``displacement_map``, ``cavity_map``): their
``file`` is set to the asset's texture path (``<UDIM>`` kept) and the albedo's
colour space follows ``--albedo-colorspace`` (``srgb_texture`` or
``lin_ap1``). A map the asset does not have is never pointed at: its image
node, and every node that depends on it up to the surface shader, is left out,
the surface shader's input stays unconnected (the nodedef default applies),
and a note says so. ``displacement`` gone means no ``outputs:mtlx:displacement``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import MaterialX
from pxr import Gf, Sdf, Usd, UsdShade

from lifecast.bake.engine import MAP_CHANNELS
from lifecast.usd.looks import standard_libraries

__all__ = [
    "ACESCG_MTLX_COLOR_SPACE",
    "MAP_NODE_SUFFIX",
    "OPTIONAL_MAPS",
    "MaterialXNetwork",
    "define_materialx_network",
    "network_problems",
    "usd_type",
]

#: Suffix of the image nodes lifecast fills with a baked map: ``<channel>_map``.
MAP_NODE_SUFFIX = "_map"
#: Maps a look uses where they were baked and does without silently (not baked by default).
OPTIONAL_MAPS = frozenset({"cavity", "ao"})
#: MaterialX's name for linear ACEScg (AP1 primaries), the albedo's space with ``--albedo-colorspace acescg``.
ACESCG_MTLX_COLOR_SPACE = "lin_ap1"

#: MaterialX type -> USD value type, as usdMtlx maps them.
_USD_TYPES: dict[str, Sdf.ValueTypeName] = {
    "boolean": Sdf.ValueTypeNames.Bool,
    "integer": Sdf.ValueTypeNames.Int,
    "float": Sdf.ValueTypeNames.Float,
    "string": Sdf.ValueTypeNames.String,
    "filename": Sdf.ValueTypeNames.Asset,
    "color3": Sdf.ValueTypeNames.Color3f,
    "color4": Sdf.ValueTypeNames.Color4f,
    "vector2": Sdf.ValueTypeNames.Float2,
    "vector3": Sdf.ValueTypeNames.Float3,
    "vector4": Sdf.ValueTypeNames.Float4,
    "matrix33": Sdf.ValueTypeNames.Matrix3d,
    "matrix44": Sdf.ValueTypeNames.Matrix4d,
}
#: Closure and shader types: authored as ``token`` outputs/inputs, as usdMtlx does.
_SHADER_TYPES = frozenset({"surfaceshader", "displacementshader", "volumeshader", "lightshader", "material"})
_CLOSURE_TYPES = frozenset({"BSDF", "EDF", "VDF"})


def usd_type(mtlx_type: str) -> Sdf.ValueTypeName:
    """The USD value type authored for a MaterialX type (``ValueError`` for one lifecast does not author)."""
    if mtlx_type in _USD_TYPES:
        return _USD_TYPES[mtlx_type]
    if mtlx_type in _SHADER_TYPES or mtlx_type in _CLOSURE_TYPES:
        return Sdf.ValueTypeNames.Token
    raise ValueError(f"MaterialX type {mtlx_type!r} has no USD equivalent here")


@dataclass
class MaterialXNetwork:
    """What :func:`define_materialx_network` authored.

    Attributes
    ----------
    shaders
        Node name -> its ``UsdShade.Shader``.
    surface, displacement
        Whether ``outputs:mtlx:surface`` / ``outputs:mtlx:displacement`` were connected.
    missing_maps
        Channels the look reads that the asset does not have (optional ones included).
    notes
        One line per required map that was missing: which inputs were left unconnected.
    """

    shaders: dict[str, UsdShade.Shader] = field(default_factory=dict)
    surface: bool = False
    displacement: bool = False
    missing_maps: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def define_materialx_network(
    stage: Usd.Stage,
    material: UsdShade.Material,
    document: MaterialX.Document,
    maps: Mapping[str, str | None],
    *,
    look: str,
    albedo_color_space: str = "srgb",
    meters_per_unit: float = 0.01,
) -> MaterialXNetwork:
    """Author ``document``'s material as UsdShade prims under ``material``.

    Parameters
    ----------
    stage
        The stage to author on.
    material
        The ``Material`` to add the network to; it may already hold the
        UsdPreviewSurface network (the node names must not clash with it).
    document
        A validated look document with its data library set
        (:func:`lifecast.usd.looks.load_look_document`).
    maps
        Channel (``albedo``, ``normal``, ``displacement``, ``cavity``...) ->
        texture asset path as authored in the layer (``./maps/...``, ``<UDIM>``
        allowed), or ``None`` / absent when the asset has no such map.
    look
        The look's name, for the notes.
    albedo_color_space
        ``"srgb"`` keeps the document's ``srgb_texture``; ``"acescg"`` reads
        the albedo as ``lin_ap1``.
    meters_per_unit
        The asset's units: inputs with ``unittype="distance"`` are converted to them.

    Returns
    -------
    What was authored, and a note for each required map that was missing.

    Raises
    ------
    ValueError
        A node without a nodedef, a ``<channel>_map`` node for a channel
        lifecast does not bake, a name clash with an existing prim, or a type
        with no USD equivalent.
    """
    material_node = document.getMaterialNodes()[0]
    nodes = _upstream_nodes(material_node)
    missing_by_node = _missing_channels(nodes, maps)
    result = MaterialXNetwork()
    result.missing_maps = sorted(c for c in _map_channels(nodes) if not maps.get(c))
    unconnected: dict[str, list[str]] = {}
    for node in nodes:
        if node.getName() in missing_by_node:
            continue
        shader = _define_shader(stage, material.GetPath(), node)
        result.shaders[node.getName()] = shader
        channel = _map_channel(node)
        for node_input in node.getInputs():
            source = node_input.getConnectedNode()
            if source is not None and source.getName() in missing_by_node:
                for missing in missing_by_node[source.getName()]:
                    unconnected.setdefault(missing, []).append(f"{node.getName()}.{node_input.getName()}")
                continue
            _author_input(shader, node, node_input, result.shaders, meters_per_unit)
        if channel is not None:
            _set_map_file(shader, node, maps[channel] or "", channel, albedo_color_space)
    for terminal, output_name in (("surfaceshader", "surface"), ("displacementshader", "displacement")):
        connected = material_node.getInput(terminal)
        source = connected.getConnectedNode() if connected is not None else None
        if source is None:
            continue
        if source.getName() in missing_by_node:
            for missing in missing_by_node[source.getName()]:
                unconnected.setdefault(missing, []).append(f"outputs:mtlx:{output_name}")
            continue
        output = material.CreateOutput(f"mtlx:{output_name}", Sdf.ValueTypeNames.Token)
        output.ConnectToSource(result.shaders[source.getName()].ConnectableAPI(), _output_name(connected))
        setattr(result, output_name, True)
    for channel in sorted(unconnected):
        if channel in OPTIONAL_MAPS:
            continue
        targets = ", ".join(unconnected[channel])
        result.notes.append(f"look {look}: no {channel} map was baked, so {targets} left unconnected")
    return result


def network_problems(material: UsdShade.Material) -> list[str]:
    """Check ``material``'s MaterialX shaders against the standard libraries' nodedefs.

    Every ``Shader`` child whose ``info:id`` starts with ``ND_`` must name a
    nodedef; each authored input must exist on it with the USD type of its
    MaterialX type; each connection must reach a shader output that exists on
    that shader's nodedef with the same type; ``outputs:mtlx:surface`` and
    ``outputs:mtlx:displacement`` must reach a ``surfaceshader`` /
    ``displacementshader`` output. Returns one message per problem.
    """
    libraries = standard_libraries()
    problems: list[str] = []
    for prim in material.GetPrim().GetChildren():
        shader = UsdShade.Shader(prim)
        shader_id = shader.GetShaderId() if shader else None
        if not shader_id or not shader_id.startswith("ND_"):
            continue
        where = str(prim.GetPath())
        nodedef = libraries.getNodeDef(shader_id)
        if nodedef is None:
            problems.append(f"{where}: info:id {shader_id} is not a MaterialX nodedef")
            continue
        for usd_input in shader.GetInputs():
            name = usd_input.GetBaseName()
            definition = nodedef.getActiveInput(name)
            if definition is None:
                problems.append(f"{where}: input {name} is not on {shader_id}")
                continue
            expected = usd_type(definition.getType())
            if usd_input.GetTypeName() != expected:
                problems.append(f"{where}: input {name} is {usd_input.GetTypeName()}, {shader_id} says {expected}")
            problems.extend(_connection_problems(where, name, definition.getType(), usd_input, libraries))
        for usd_output in shader.GetOutputs():
            if nodedef.getActiveOutput(usd_output.GetBaseName()) is None:
                problems.append(f"{where}: output {usd_output.GetBaseName()} is not on {shader_id}")
    for output_name, mtlx_type in (("surface", "surfaceshader"), ("displacement", "displacementshader")):
        output = material.GetOutput(f"mtlx:{output_name}")
        if output and output.HasConnectedSource():
            where = f"{material.GetPath()}.outputs:mtlx:{output_name}"
            problems.extend(_connection_problems(where, output_name, mtlx_type, output, libraries))
    return problems


def _connection_problems(
    where: str, name: str, mtlx_type: str, port: UsdShade.Input | UsdShade.Output, libraries: MaterialX.Document
) -> list[str]:
    """Where ``port`` connects that is wrong: not a MaterialX shader, an output its nodedef lacks, another type."""
    problems = []
    for source in port.GetConnectedSources()[0]:
        target = f"{source.source.GetPath()}.outputs:{source.sourceName}"
        source_shader = UsdShade.Shader(source.source.GetPrim())
        source_id = source_shader.GetShaderId() if source_shader else None
        source_def = libraries.getNodeDef(source_id) if source_id else None
        if source_def is None:
            problems.append(f"{where}: {name} connects to {target}, which is not a MaterialX shader")
            continue
        output = source_def.getActiveOutput(source.sourceName)
        if output is None:
            problems.append(f"{where}: {name} connects to {target}, an output {source_id} does not have")
        elif output.getType() != mtlx_type:
            problems.append(f"{where}: {name} ({mtlx_type}) connects to {target} ({output.getType()})")
    return problems


def _upstream_nodes(material_node: MaterialX.Node) -> list[MaterialX.Node]:
    """The nodes the material depends on, each after every node it reads (depth-first post-order)."""
    ordered: list[MaterialX.Node] = []
    seen: set[str] = set()

    def visit(node: MaterialX.Node) -> None:
        if node.getName() in seen:
            return
        seen.add(node.getName())
        for node_input in node.getInputs():
            source = node_input.getConnectedNode()
            if source is not None:
                visit(source)
        ordered.append(node)

    for node_input in material_node.getInputs():
        source = node_input.getConnectedNode()
        if source is not None:
            visit(source)
    return ordered


def _map_channel(node: MaterialX.Node) -> str | None:
    """The baked map a ``<channel>_map`` image node reads, or ``None`` for any other node."""
    name = node.getName()
    if not name.endswith(MAP_NODE_SUFFIX) or node.getInput("file") is None:
        return None
    channel = name[: -len(MAP_NODE_SUFFIX)]
    if channel not in MAP_CHANNELS:
        raise ValueError(f"image node {name!r} names no lifecast map: {channel!r} is not one of {MAP_CHANNELS}")
    return channel


def _map_channels(nodes: list[MaterialX.Node]) -> set[str]:
    return {channel for node in nodes if (channel := _map_channel(node)) is not None}


def _missing_channels(nodes: list[MaterialX.Node], maps: Mapping[str, str | None]) -> dict[str, set[str]]:
    """Node name -> the missing maps it depends on, for every node to leave out.

    A map node whose channel has no file is left out, and so is every node
    reading a left-out node, except surface shaders: they are authored with
    that input unconnected. ``nodes`` is in dependency order.
    """
    missing: dict[str, set[str]] = {}
    for node in nodes:
        channel = _map_channel(node)
        if channel is not None and not maps.get(channel):
            missing[node.getName()] = {channel}
            continue
        if node.getType() == "surfaceshader":
            continue
        inherited: set[str] = set()
        for node_input in node.getInputs():
            source = node_input.getConnectedNode()
            if source is not None and source.getName() in missing:
                inherited |= missing[source.getName()]
        if inherited:
            missing[node.getName()] = inherited
    return missing


def _define_shader(stage: Usd.Stage, material_path: Sdf.Path, node: MaterialX.Node) -> UsdShade.Shader:
    nodedef = node.getNodeDef()
    if nodedef is None:
        raise ValueError(f"MaterialX node {node.getName()!r} ({node.getCategory()}) has no nodedef")
    path = material_path.AppendChild(node.getName())
    if stage.GetPrimAtPath(path):
        raise ValueError(f"MaterialX node {node.getName()!r} clashes with the existing prim {path}")
    shader = UsdShade.Shader.Define(stage, path)
    shader.CreateIdAttr(nodedef.getName())
    return shader


def _author_input(
    shader: UsdShade.Shader,
    node: MaterialX.Node,
    node_input: MaterialX.Input,
    authored: Mapping[str, UsdShade.Shader],
    meters_per_unit: float,
) -> None:
    """One input of ``node`` on ``shader``: a connection to an authored shader, or a value."""
    nodedef = node.getNodeDef()
    definition = nodedef.getActiveInput(node_input.getName())
    if definition is None:
        raise ValueError(f"{node.getName()}.{node_input.getName()} is not an input of {nodedef.getName()}")
    usd_input = shader.CreateInput(node_input.getName(), usd_type(definition.getType()))
    source = node_input.getConnectedNode()
    if source is not None:
        output_name = _output_name(node_input)
        upstream = authored[source.getName()]
        source_def = source.getNodeDef()
        output_def = source_def.getActiveOutput(output_name)
        upstream.CreateOutput(output_name, usd_type(output_def.getType()))
        usd_input.ConnectToSource(upstream.ConnectableAPI(), output_name)
        return
    if not node_input.hasValueString():
        return
    usd_input.Set(_usd_value(node_input, meters_per_unit))
    if node_input.getColorSpace():
        usd_input.GetAttr().SetColorSpace(node_input.getColorSpace())


def _output_name(node_input: MaterialX.Input) -> str:
    """The upstream output an input reads: its ``output`` attribute, else ``out``."""
    return node_input.getOutputString() or "out"


def _set_map_file(
    shader: UsdShade.Shader, node: MaterialX.Node, asset_path: str, channel: str, albedo_space: str
) -> None:
    """Point a ``<channel>_map`` node's ``file`` at the asset's map, in the right colour space."""
    file_input = shader.GetInput("file") or shader.CreateInput("file", Sdf.ValueTypeNames.Asset)
    file_input.Set(Sdf.AssetPath(asset_path))
    document_space = node.getInput("file").getColorSpace() or node.getActiveColorSpace()
    space = ACESCG_MTLX_COLOR_SPACE if channel == "albedo" and albedo_space == "acescg" else document_space
    if space:
        file_input.GetAttr().SetColorSpace(space)


def _usd_value(node_input: MaterialX.Input, meters_per_unit: float) -> Any:
    """The input's value as USD takes it; distances in the asset's units."""
    value = node_input.getValue()
    mtlx_type = node_input.getType()
    if mtlx_type == "filename":
        return Sdf.AssetPath(str(value))
    if mtlx_type == "float" and node_input.getUnitType() == "distance" and node_input.getUnit():
        scales = MaterialX.LinearUnitConverter.create(standard_libraries().getUnitTypeDef("distance")).getUnitScale()
        # MaterialX stores the scales as 32-bit floats (0.0010000000474974513): 7 digits are the exact ones.
        scale = float(f"{scales[node_input.getUnit()]:.7g}")
        return float(node_input.getValueString()) * scale / meters_per_unit
    if mtlx_type in ("color3", "vector3"):
        return Gf.Vec3f(*value.asTuple())
    if mtlx_type in ("color4", "vector4"):
        return Gf.Vec4f(*value.asTuple())
    if mtlx_type == "vector2":
        return Gf.Vec2f(*value.asTuple())
    return value

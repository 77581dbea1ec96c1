"""Baking: UV-space rasterizers, the map baking engine, albedo transfer, edge padding, colour and image writing.

The torch rasterizer (:mod:`lifecast.bake.raster_torch`) and the Warp kernels are not imported here, so
``import lifecast.bake`` stays light.
"""

from lifecast.bake.engine import MAP_CHANNELS, BakeResult, bake_maps
from lifecast.bake.images import read_exr, read_exr_header, write_exr, write_png
from lifecast.bake.padding import pad_edges
from lifecast.bake.rasterize import rasterize_uv
from lifecast.bake.sampling import SurfaceLocator, sample_bilinear, surface_colors
from lifecast.bake.transfer import AlbedoTile, transfer_albedo
from lifecast.color import ALBEDO_COLORSPACES, srgb_to_acescg

__all__ = [
    "ALBEDO_COLORSPACES",
    "MAP_CHANNELS",
    "AlbedoTile",
    "BakeResult",
    "SurfaceLocator",
    "bake_maps",
    "pad_edges",
    "rasterize_uv",
    "read_exr",
    "read_exr_header",
    "sample_bilinear",
    "srgb_to_acescg",
    "surface_colors",
    "transfer_albedo",
    "write_exr",
    "write_png",
]

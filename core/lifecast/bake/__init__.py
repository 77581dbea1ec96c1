"""Baking: UV-space rasterizers, the map baking engine, albedo transfer, edge padding and image writing (colour
conversions are in :mod:`lifecast.color`).

The torch rasterizer (:mod:`lifecast.bake.raster_torch`) and the Warp kernels are not imported here, so
``import lifecast.bake`` stays light.
"""

from lifecast.bake.engine import MAP_CHANNELS, BakeResult, bake_maps
from lifecast.bake.images import read_exr, read_exr_header, write_exr, write_png
from lifecast.bake.padding import pad_edges
from lifecast.bake.rasterize import rasterize_uv
from lifecast.bake.sampling import SurfaceLocator, sample_bilinear, surface_colors
from lifecast.bake.transfer import AlbedoTile, transfer_albedo

__all__ = [
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
    "surface_colors",
    "transfer_albedo",
    "write_exr",
    "write_png",
]

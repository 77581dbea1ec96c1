"""Baking: the UV-space rasterizer, albedo transfer, edge padding and image writing."""

from lifecast.bake.images import write_png
from lifecast.bake.padding import pad_edges
from lifecast.bake.rasterize import rasterize_uv
from lifecast.bake.sampling import SurfaceLocator, sample_bilinear, surface_colors
from lifecast.bake.transfer import AlbedoTile, transfer_albedo

__all__ = [
    "AlbedoTile",
    "SurfaceLocator",
    "pad_edges",
    "rasterize_uv",
    "sample_bilinear",
    "surface_colors",
    "transfer_albedo",
    "write_png",
]

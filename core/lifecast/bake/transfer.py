"""Albedo transfer: bake a source surface's colour into a target mesh's UV tiles.

For every texel a target triangle covers, the texel's point on the target
surface is found by barycentric interpolation, then the closest point on the
source surface, and the source's colour there. Uncovered texels are then
edge-padded so mip-maps never pull in background.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from lifecast.bake.padding import pad_edges
from lifecast.bake.rasterize import rasterize_uv
from lifecast.bake.sampling import SurfaceLocator, interpolate_corners, surface_colors
from lifecast.errors import InputError
from lifecast.mesh import TriMesh
from lifecast.pipeline.stage import ProgressFn, no_progress
from lifecast.uv.udim import face_udims, tile_origin


@dataclass(frozen=True)
class AlbedoTile:
    """One baked UDIM tile.

    Attributes
    ----------
    udim
        UDIM number (1001, 1002, ...).
    image
        ``(size, size, 3) uint8`` sRGB albedo, edge-padded.
    coverage
        ``(size, size) bool``: True where a target triangle covers the texel.
    """

    udim: int
    image: NDArray[np.uint8]
    coverage: NDArray[np.bool_]


def transfer_albedo(
    source: TriMesh,
    target: TriMesh,
    *,
    size: int = 4096,
    progress: ProgressFn = no_progress,
) -> dict[int, AlbedoTile]:
    """Bake the source's colour into the target's UV layout, one image per UDIM tile.

    Parameters
    ----------
    source
        The surface the colour comes from: with ``vertex_colors``, or with
        ``uvs`` / ``face_uvs`` and a ``texture``.
    target
        The mesh to texture; must have ``uvs`` / ``face_uvs``.
    size
        Texels along each side of every tile.
    progress
        Called with a fraction in ``[0, 1]``.

    Returns
    -------
    dict[int, AlbedoTile]
        The tiles the target's UVs use, by UDIM number.
    """
    if target.uvs is None or target.face_uvs is None:
        raise InputError("the target mesh has no UVs to bake into: unwrap it first")
    if source.is_point_cloud:
        raise InputError("the source has no faces: albedo transfer needs a source surface")
    has_texture = source.texture is not None and source.uvs is not None
    if source.vertex_colors is None and not has_texture:
        raise InputError("the source mesh has neither vertex colours nor a UV-mapped texture to transfer")
    if size < 1:
        raise InputError(f"texture size must be positive, got {size}")

    locator = SurfaceLocator(source.vertices, source.faces)
    udim_of_face = face_udims(target.uvs, target.face_uvs)
    udims = [int(u) for u in np.unique(udim_of_face)]
    tiles: dict[int, AlbedoTile] = {}
    for i, udim in enumerate(udims):

        def tile_progress(fraction: float, message: str, i: int = i) -> None:
            progress((i + fraction) / len(udims), message)

        faces = np.flatnonzero(udim_of_face == udim)
        tiles[udim] = bake_tile(source, target, faces, udim, size, locator, tile_progress)
    progress(1.0, f"baked {len(tiles)} albedo tile(s) at {size}px")
    return tiles


def bake_tile(
    source: TriMesh,
    target: TriMesh,
    faces: NDArray[np.integer],
    udim: int,
    size: int,
    locator: SurfaceLocator,
    progress: ProgressFn = no_progress,
) -> AlbedoTile:
    """Bake one UDIM tile from the target ``faces`` (indices into ``target.faces``) that lie in it."""
    assert target.uvs is not None and target.face_uvs is not None
    origin = np.array(tile_origin(udim), np.float32)
    progress(0.0, f"rasterizing UDIM {udim}")
    uv_corners = target.uvs[target.face_uvs[faces]] - origin
    local_face, bary = rasterize_uv(uv_corners, size)
    coverage = local_face >= 0
    texel_face = faces[local_face[coverage]]
    points = interpolate_corners(target.vertices, target.faces, texel_face, bary[coverage])
    del bary

    def on_chunk(done: int, total: int) -> None:
        progress(0.1 + 0.8 * done / max(total, 1), f"sampling source colour for UDIM {udim}")

    src_face, src_bary = locator.closest(points, on_chunk=on_chunk)
    image = np.zeros((size, size, 3), np.uint8)
    image[coverage] = surface_colors(source, src_face, src_bary)
    progress(0.95, f"padding UDIM {udim}")
    image = pad_edges(image, coverage).astype(np.uint8)
    return AlbedoTile(udim=udim, image=image, coverage=coverage)

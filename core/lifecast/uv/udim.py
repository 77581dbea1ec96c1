"""UDIM layout: spread UV charts over several texture tiles.

Tile ``t`` (0-based) covers ``u in [t % 10, t % 10 + 1)`` and
``v in [t // 10, t // 10 + 1)``; its UDIM number is ``1001 + u_tile + 10 * v_tile``.
"""

from __future__ import annotations

import heapq

import numpy as np
from numpy.typing import NDArray

from lifecast.errors import InputError
from lifecast.geometry.measure import face_areas
from lifecast.mesh import TriMesh
from lifecast.pipeline.stage import ProgressFn, no_progress
from lifecast.uv.charts import uv_charts
from lifecast.uv.unwrap import check_face_order, pack_options

#: UDIM tiles lifecast lays out at most (ten rows of ten).
MAX_TILES = 100


def udim_number(tile_u: NDArray[np.integer], tile_v: NDArray[np.integer]) -> NDArray[np.int64]:
    """UDIM numbers of integer tile coordinates: ``1001 + u + 10 * v``."""
    return 1001 + np.asarray(tile_u, np.int64) + 10 * np.asarray(tile_v, np.int64)


def tile_origin(udim: int) -> tuple[int, int]:
    """``(u, v)`` of the lower-left corner of a UDIM tile."""
    index = udim - 1001
    return index % 10, index // 10


def face_udims(uvs: NDArray[np.floating], face_uvs: NDArray[np.integer]) -> NDArray[np.int64]:
    """``(m,)`` UDIM number of each face: the tile holding its UV centroid.

    Parameters
    ----------
    uvs
        ``(k, 2)`` UVs.
    face_uvs
        ``(m, 3)`` indices into ``uvs``.
    """
    centroid = np.asarray(uvs, np.float64)[np.asarray(face_uvs)].mean(axis=1)
    tile = np.floor(centroid).astype(np.int64)
    return udim_number(tile[:, 0], tile[:, 1])


def udim_tiles(uvs: NDArray[np.float32], face_uvs: NDArray[np.integer] | None = None) -> list[int]:
    """Sorted UDIM numbers that UVs fall in.

    Parameters
    ----------
    uvs
        ``(k, 2)`` UVs.
    face_uvs
        Optional ``(m, 3)`` face indices into ``uvs``. With them, each face
        counts in the tile of its UV centroid (exact). Without them, each UV
        counts on its own, and a coordinate exactly on a tile border belongs to
        the tile below / left of it (``u = 1.0`` is the right edge of 1001),
        except 0, which belongs to the first tile.
    """
    uvs = np.asarray(uvs, np.float64)
    if face_uvs is not None:
        return sorted(int(u) for u in np.unique(face_udims(uvs, face_uvs)))
    if len(uvs) == 0:
        return []
    tile = np.maximum(np.ceil(uvs) - 1, 0).astype(np.int64)
    return sorted(int(u) for u in np.unique(udim_number(tile[:, 0], tile[:, 1])))


def udim_layout(
    mesh: TriMesh,
    tiles: int,
    *,
    texture_size: int = 4096,
    padding_px: int | None = None,
    progress: ProgressFn = no_progress,
) -> TriMesh:
    """Distribute a mesh's UV charts over ``tiles`` UDIM tiles of about equal surface area.

    Charts are grouped by surface area (largest first into the lightest tile),
    then each group is re-packed with xatlas into its own tile, so every chart
    lies wholly inside one tile. Charts keep their shape (they may be rotated
    and rescaled; each tile gets its own scale, so texel density differs a
    little between tiles, see :func:`lifecast.uv.texel_density`).

    Parameters
    ----------
    mesh
        A mesh with ``uvs`` / ``face_uvs`` (e.g. from :func:`lifecast.uv.unwrap`).
    tiles
        Number of UDIM tiles, 1 to :data:`MAX_TILES`; 1 returns ``mesh`` as it is.
        Fewer tiles are used when there are fewer charts than tiles.
    texture_size, padding_px
        Per-tile texture size and gutter, as in :func:`lifecast.uv.unwrap`.
    progress
        Called with a fraction in ``[0, 1]``.

    Returns
    -------
    TriMesh
        Same vertices and faces; new ``uvs`` ``(k, 2) float32`` spread over the
        tiles and ``face_uvs`` ``(m, 3) int32``.
    """
    if mesh.uvs is None or mesh.face_uvs is None:
        raise InputError("UDIM layout needs a mesh with UVs: unwrap it first")
    if not 1 <= tiles <= MAX_TILES:
        raise InputError(f"UDIM tile count must be between 1 and {MAX_TILES}, got {tiles}")
    if tiles == 1:
        return mesh
    uvs, face_uvs = layout_arrays(
        mesh.vertices,
        mesh.faces,
        mesh.uvs,
        mesh.face_uvs,
        tiles,
        texture_size=texture_size,
        padding_px=padding_px,
        progress=progress,
    )
    return mesh.with_(uvs=uvs, face_uvs=face_uvs)


def layout_arrays(
    vertices: NDArray[np.floating],
    faces: NDArray[np.integer],
    uvs: NDArray[np.floating],
    face_uvs: NDArray[np.integer],
    tiles: int,
    *,
    texture_size: int = 4096,
    padding_px: int | None = None,
    progress: ProgressFn = no_progress,
) -> tuple[NDArray[np.float32], NDArray[np.int32]]:
    """Array form of :func:`udim_layout`: returns ``(uvs (k, 2) float32, face_uvs (m, 3) int32)``."""
    import xatlas

    face_uvs = np.asarray(face_uvs)
    chart = uv_charts(face_uvs, len(uvs))
    chart_area = np.bincount(chart, weights=face_areas(vertices, faces)).astype(np.float64)
    group_of_chart = balance_groups(chart_area, tiles)
    face_group = group_of_chart[chart]
    n_groups = int(group_of_chart.max()) + 1

    out_uvs: list[NDArray[np.float32]] = []
    out_face_uvs = np.empty_like(face_uvs, dtype=np.int32)
    offset = 0
    for group in range(n_groups):
        progress(group / n_groups, f"packing UDIM tile {1001 + group}")
        members = np.flatnonzero(face_group == group)
        used, local = np.unique(face_uvs[members], return_inverse=True)
        local = local.reshape(-1, 3).astype(np.uint32)
        atlas = xatlas.Atlas()
        atlas.add_uv_mesh(np.ascontiguousarray(uvs[used], np.float32), local)
        atlas.generate(pack_options=pack_options(texture_size, padding_px))
        if atlas.atlas_count != 1:
            raise RuntimeError(f"xatlas packed UDIM tile {1001 + group} into {atlas.atlas_count} atlases")
        vmapping, indices, tile_uvs = atlas[0]
        check_face_order(vmapping, indices, local)
        tile_u, tile_v = tile_origin(1001 + group)
        out_uvs.append((tile_uvs + np.array([tile_u, tile_v], np.float32)).astype(np.float32))
        out_face_uvs[members] = indices.astype(np.int32) + offset
        offset += len(tile_uvs)
    progress(1.0, f"laid out {len(chart_area)} charts over {n_groups} UDIM tiles")
    return np.concatenate(out_uvs), out_face_uvs


def balance_groups(weights: NDArray[np.floating], groups: int) -> NDArray[np.int64]:
    """Split items into at most ``groups`` groups of about equal total weight.

    Greedy longest-processing-time: heaviest item first, each into the
    currently lightest group. Groups are numbered by decreasing total weight.

    Parameters
    ----------
    weights
        ``(n,)`` non-negative item weights.
    groups
        Number of groups wanted.

    Returns
    -------
    NDArray[np.int64]
        ``(n,)`` group of each item, ``0 .. min(groups, n) - 1``.
    """
    weights = np.asarray(weights, np.float64)
    n_groups = max(1, min(groups, len(weights)))
    heap = [(0.0, g) for g in range(n_groups)]
    assignment = np.zeros(len(weights), np.int64)
    for item in np.argsort(-weights, kind="stable"):
        total, g = heapq.heappop(heap)
        assignment[item] = g
        heapq.heappush(heap, (total + float(weights[item]), g))
    totals = np.bincount(assignment, weights=weights, minlength=n_groups)
    rank = np.empty(n_groups, np.int64)
    rank[np.argsort(-totals, kind="stable")] = np.arange(n_groups)
    return rank[assignment]

"""Automatic UV unwrapping with xatlas, keeping the mesh's vertices and face order.

xatlas splits vertices along the seams it cuts; lifecast keeps UVs indexed
separately from positions (see :mod:`lifecast.mesh`), so the split mesh's
``indices`` become ``face_uvs`` and the mesh's own ``vertices`` and ``faces``
are returned untouched.

Gutter width
------------
``padding_px`` is the empty border xatlas keeps around *each* chart, so two
charts end up at least ``2 * padding_px`` texels apart (measured: 11 texel
centres apart for a 4.8 px gutter). ``PackOptions.padding`` is in atlas texels. With ``texels_per_unit`` left at 0,
xatlas treats ``resolution`` as a target and the atlas it packs usually comes
out 20-30 % larger, then the UVs are normalised to ``[0, 1]``, which narrows
the gutter by the same factor. :func:`unwrap_arrays` therefore asks xatlas for
a gutter :data:`GUTTER_SAFETY` times wider and reports the width it really got
(:attr:`UnwrapResult.padding_px`, in texels of the requested ``texture_size``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from lifecast.errors import InputError
from lifecast.geometry.measure import face_areas
from lifecast.mesh import TriMesh
from lifecast.pipeline.stage import ProgressFn, no_progress

#: Taubin iterations applied to the copy of the mesh xatlas cuts charts on (see :func:`unwrap`).
DEFAULT_SMOOTH_ITERATIONS = 10

#: Longest chart boundary xatlas may grow, in units of the square root of the mesh's surface area (0: no limit).
#: xatlas checks a growing chart's parameterization after every face it adds (``isChartParameterizationValid``,
#: a grid over the chart's boundary: about a third of the profile on the sample scan), so big charts on scan noise
#: cost most of the unwrap. Measured with ``benchmarks/bm_uv_charts.py`` on four meshes of 17k-100k faces: 1.1-1.9x
#: faster, stretch as low or lower, charts -41 to +10 %, UV area used -4 to +2 %, seam length -7 to +18 %.
DEFAULT_MAX_CHART_BOUNDARY = 1.6

#: How much wider than asked the gutter is requested, to survive xatlas growing the atlas.
GUTTER_SAFETY = 1.3

#: xatlas packs on a grid of at most this many texels a side (packing time grows with it);
#: larger textures scale the grid up, so chart positions snap to 2 texels at 4K, 4 at 8K.
MAX_PACK_RESOLUTION = 2048


@dataclass(frozen=True)
class UnwrapResult:
    """What :func:`unwrap_arrays` produced.

    Attributes
    ----------
    uvs
        ``(k, 2) float32`` UVs in ``[0, 1]``.
    face_uvs
        ``(m, 3) int32`` indices into ``uvs``, in the input's face order.
    chart_count
        Number of UV charts (islands).
    atlas_size
        ``(width, height)`` of the atlas xatlas packed, in its texels.
    padding_px
        Gutter around each chart, in texels of ``texture_size``, as packed
        (can come out below the requested one when xatlas grows the atlas by
        more than :data:`GUTTER_SAFETY`).
    """

    uvs: NDArray[np.float32]
    face_uvs: NDArray[np.int32]
    chart_count: int
    atlas_size: tuple[int, int]
    padding_px: float


def default_padding_px(texture_size: int) -> int:
    """Gutter width in texels that keeps charts apart down to mip level ~3.

    4 px up to 2K, then ``texture_size / 512``: 8 px at 4K, 16 px at 8K.
    """
    return max(4, texture_size // 512)


def unwrap(
    mesh: TriMesh,
    *,
    texture_size: int = 4096,
    padding_px: int | None = None,
    chart_iterations: int = 0,
    smooth_iterations: int = DEFAULT_SMOOTH_ITERATIONS,
    max_chart_boundary: float = DEFAULT_MAX_CHART_BOUNDARY,
    progress: ProgressFn = no_progress,
) -> TriMesh:
    """Unwrap a mesh with xatlas into one ``[0, 1]²`` UV atlas.

    Parameters
    ----------
    mesh
        A triangle mesh; its existing UVs, if any, are replaced.
    texture_size
        The texture resolution the atlas is packed for.
    padding_px
        Gutter around each chart in texels of ``texture_size`` (charts end up
        twice that apart); ``None`` uses :func:`default_padding_px`.
    chart_iterations
        xatlas ``ChartOptions.max_iterations``. 0 (lifecast's default) grows
        charts once; 1 (xatlas' default) refines them for ~15 % fewer charts
        but cost 3x (Lee Perry-Smith, 100k faces: 3.75 s vs 11.5 s) to 10x
        (the noisy sample scan, 100k faces: 10 s vs 97 s) on this 2-core CPU.
    smooth_iterations
        Charts are cut on a Taubin-smoothed copy of the mesh (same faces, so
        the UVs index the real mesh) smoothed this many times: scan noise
        otherwise breaks xatlas' normal-deviation metric into thousands of
        tiny charts (the bundled sample's 100k-face LOD0: 8,111 charts raw,
        954 after 10 iterations). 0 charts the mesh as it is.
    max_chart_boundary
        Longest boundary a chart may grow, in units of the square root of the
        mesh's surface area (scale-free: the same in mm and in m); 0 for no
        limit. See :data:`DEFAULT_MAX_CHART_BOUNDARY`.
    progress
        Called with a fraction in ``[0, 1]``.

    Returns
    -------
    TriMesh
        The same vertices and faces (same order) with ``uvs`` ``(k, 2) float32``
        in ``[0, 1]`` and ``face_uvs`` ``(m, 3) int32`` set.
    """
    if mesh.is_point_cloud:
        raise InputError("cannot unwrap a point cloud: it has no faces")
    result = unwrap_arrays(
        mesh.vertices,
        mesh.faces,
        texture_size=texture_size,
        padding_px=padding_px,
        chart_iterations=chart_iterations,
        smooth_iterations=smooth_iterations,
        max_chart_boundary=max_chart_boundary,
        progress=progress,
    )
    return mesh.with_(uvs=result.uvs, face_uvs=result.face_uvs)


def unwrap_arrays(
    vertices: NDArray[np.floating],
    faces: NDArray[np.integer],
    *,
    texture_size: int = 4096,
    padding_px: int | None = None,
    chart_iterations: int = 0,
    smooth_iterations: int = DEFAULT_SMOOTH_ITERATIONS,
    max_chart_boundary: float = DEFAULT_MAX_CHART_BOUNDARY,
    progress: ProgressFn = no_progress,
) -> UnwrapResult:
    """Array form of :func:`unwrap`.

    Parameters
    ----------
    vertices
        ``(n, 3)`` float positions.
    faces
        ``(m, 3)`` int triangle indices.
    texture_size, padding_px, chart_iterations, smooth_iterations, max_chart_boundary, progress
        As in :func:`unwrap`.

    Returns
    -------
    UnwrapResult
        UVs indexed per face corner, in the input's face order.
    """
    import xatlas

    faces = np.asarray(faces)
    if len(faces) == 0:
        raise InputError("cannot unwrap a mesh with no faces")

    if not max_chart_boundary >= 0:
        raise InputError(f"the chart boundary limit must be >= 0 (0: no limit), got {max_chart_boundary}")
    chart_options = xatlas.ChartOptions()
    chart_options.max_iterations = int(chart_iterations)
    packing = pack_options(texture_size, padding_px)

    progress(0.0, "unwrapping UVs (xatlas)")
    atlas = xatlas.Atlas()
    chart_vertices = denoised_for_charting(vertices, faces, smooth_iterations)
    if max_chart_boundary > 0:
        # The real surface's area, as the default was measured with: the denoised copy has less (its noise is gone),
        # and a limit scaled by that cut 22 % more charts on the sample scan and was no faster on Lee Perry-Smith.
        chart_options.max_boundary_length = max_chart_boundary * math.sqrt(face_areas(vertices, faces).sum())
    atlas.add_mesh(np.ascontiguousarray(chart_vertices, np.float32), np.ascontiguousarray(faces, np.uint32))
    atlas.generate(chart_options, packing)
    if atlas.atlas_count != 1:
        raise RuntimeError(f"xatlas packed {atlas.atlas_count} atlases, expected exactly one")
    vmapping, indices, uvs = atlas[0]
    check_face_order(vmapping, indices, faces)
    progress(1.0, f"unwrapped into {atlas.chart_count} charts")

    scale = texture_size / max(atlas.width, atlas.height)  # texture texels per atlas texel
    return UnwrapResult(
        uvs=np.ascontiguousarray(uvs, dtype=np.float32),
        face_uvs=np.ascontiguousarray(indices, dtype=np.int32),
        chart_count=int(atlas.chart_count),
        atlas_size=(int(atlas.width), int(atlas.height)),
        padding_px=packing.padding * scale,
    )


def denoised_for_charting(
    vertices: NDArray[np.floating], faces: NDArray[np.integer], iterations: int
) -> NDArray[np.float32]:
    """``(n, 3) float32`` positions Taubin-smoothed ``iterations`` times (volume-preserving, no shrinking).

    Only chart cutting sees these positions; the caller keeps the real ones.
    """
    v = np.asarray(vertices, np.float32)
    if iterations <= 0 or len(faces) == 0:
        return v
    import trimesh
    import trimesh.smoothing

    proxy = trimesh.Trimesh(v.astype(np.float64), np.asarray(faces, np.int64), process=False)
    trimesh.smoothing.filter_taubin(proxy, iterations=iterations)
    smoothed = np.asarray(proxy.vertices, np.float32)
    finite = np.isfinite(smoothed).all(axis=1)
    smoothed[~finite] = v[~finite]
    return smoothed


def pack_options(texture_size: int, padding_px: int | None = None) -> Any:
    """xatlas ``PackOptions`` for one ``texture_size``² atlas with a ``padding_px`` gutter.

    The gutter is requested :data:`GUTTER_SAFETY` times wider (see the module
    docstring); ``None`` uses :func:`default_padding_px`. Packing runs on a grid
    of at most :data:`MAX_PACK_RESOLUTION` texels, with the gutter scaled to it.
    """
    import xatlas

    if texture_size < 16:
        raise InputError(f"texture size must be at least 16 texels, got {texture_size}")
    padding = default_padding_px(texture_size) if padding_px is None else int(padding_px)
    if padding < 0:
        raise InputError(f"UV padding must be >= 0 texels, got {padding}")
    resolution = min(int(texture_size), MAX_PACK_RESOLUTION)
    options = xatlas.PackOptions()
    options.resolution = resolution
    options.padding = math.ceil(padding * GUTTER_SAFETY * resolution / texture_size)
    options.bruteForce = False
    return options


def check_face_order(vmapping: NDArray[np.integer], indices: NDArray[np.integer], faces: NDArray[np.integer]) -> None:
    """Raise if xatlas' output faces are not the input faces in the input order.

    Parameters
    ----------
    vmapping
        ``(k,)`` input vertex of each output vertex.
    indices
        ``(m, 3)`` output faces (into the output vertices).
    faces
        ``(m, 3)`` input faces.
    """
    if indices.shape != faces.shape or not np.array_equal(vmapping[indices], faces):
        raise RuntimeError("xatlas did not keep the input faces in order; cannot map UVs back to the mesh")

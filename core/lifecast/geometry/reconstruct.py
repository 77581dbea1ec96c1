"""Surface reconstruction: point clouds (range scans, LiDAR, photogrammetry points) to triangle meshes.

Two methods, both from open3d:

- screened Poisson (Kazhdan & Hoppe 2013): a watertight implicit surface fitted
  to oriented points, then trimmed where it strays from the data (vertices
  farther than a few point spacings from every input point);
- ball pivoting (Bernardini et al. 1999): interpolates the points themselves
  with balls of a few radii derived from the mean nearest-neighbour spacing;
  keeps every hole the sampling leaves.

Normals are estimated from local PCA when not given and oriented consistently
(a minimum-spanning-tree propagation on a subsample, then copied to the rest
by nearest neighbour, with the global sign chosen to point away from the centroid).
``benchmarks/bm_reconstruct.py`` measures both methods; Poisson is the default.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import open3d as o3d
from numpy.typing import NDArray
from scipy.spatial import cKDTree

from lifecast.errors import InputError
from lifecast.mesh import TriMesh
from lifecast.pipeline.stage import ProgressFn, no_progress

#: Fewest finite points :func:`mesh_point_cloud` accepts.
MIN_POINTS = 16
#: Points used for spacing estimates and for the MST normal orientation.
SUBSAMPLE = 20_000
#: Neighbours used to fit each normal.
NORMAL_NEIGHBOURS = 30
#: Poisson vertices farther than this many mean spacings from every input point are removed.
POISSON_MAX_DISTANCE = 5.0
#: Fraction of the least dense Poisson vertices removed. 0: a quantile always cuts holes in
#: closed, evenly sampled surfaces, and the distance trim already removes unsupported surface.
POISSON_DENSITY_QUANTILE = 0.0
#: Target Poisson voxel size, in mean spacings (about two triangles per input point).
POISSON_VOXEL_SPACINGS = 1.5
#: Poisson octree depths allowed (depth 9 already gives 1.1M triangles for the 362k merged bunny points).
POISSON_DEPTH_RANGE = (6, 9)
#: Ball radii, in mean spacings.
BALL_RADII = (1.5, 3.0, 6.0)

Method = Literal["poisson", "ball_pivoting"]


def mean_spacing(points: NDArray[np.floating], *, sample: int = SUBSAMPLE, seed: int = 0) -> float:
    """Mean distance from a point to its nearest neighbour.

    Parameters
    ----------
    points
        ``(n, 3)`` finite positions, ``n >= 2``.
    sample
        At most this many random points are used as queries (against all points).
    """
    p = np.asarray(points, dtype=np.float64)
    tree = cKDTree(p)
    rng = np.random.default_rng(seed)
    queries = p if len(p) <= sample else p[rng.choice(len(p), sample, replace=False)]
    dist, _ = tree.query(queries, k=2)
    nonzero = dist[:, 1][dist[:, 1] > 0]
    return float(nonzero.mean()) if len(nonzero) else 0.0


def estimate_normals(
    points: NDArray[np.floating], spacing: float, *, sample: int = SUBSAMPLE, seed: int = 0
) -> NDArray[np.float32]:
    """Unit normals from local PCA, oriented consistently and away from the centroid overall.

    The orientation is propagated over a minimum spanning tree
    (open3d ``orient_normals_consistent_tangent_plane``) on at most ``sample``
    points and copied to the others from their nearest oriented point (the MST
    on all of 360k points takes about 30 s).

    Parameters
    ----------
    points
        ``(n, 3)`` finite positions.
    spacing
        Mean nearest-neighbour spacing (see :func:`mean_spacing`).

    Returns
    -------
    NDArray[np.float32]
        ``(n, 3)`` unit normals.
    """
    p = np.asarray(points, dtype=np.float64)
    cloud = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(p))
    cloud.estimate_normals(o3d.geometry.KDTreeSearchParamHybrid(radius=8.0 * spacing, max_nn=NORMAL_NEIGHBOURS))
    normals = np.asarray(cloud.normals)
    rng = np.random.default_rng(seed)
    pick = np.arange(len(p)) if len(p) <= sample else np.sort(rng.choice(len(p), sample, replace=False))
    sub = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(p[pick]))
    sub.normals = o3d.utility.Vector3dVector(normals[pick])
    if len(pick) > 10:
        sub.orient_normals_consistent_tangent_plane(10)
    sub_normals = np.asarray(sub.normals)
    outward = p[pick] - p.mean(axis=0)
    if np.sum(np.einsum("ij,ij->i", sub_normals, outward)) < 0:
        sub_normals = -sub_normals
    _, nearest = cKDTree(p[pick]).query(p, k=1)
    flip = np.einsum("ij,ij->i", normals, sub_normals[nearest]) < 0
    normals[flip] *= -1.0
    return normals.astype(np.float32)


def poisson_mesh(
    points: NDArray[np.floating],
    normals: NDArray[np.floating],
    colors: NDArray[np.floating] | None,
    spacing: float,
    *,
    max_distance: float | None = POISSON_MAX_DISTANCE,
    density_quantile: float = POISSON_DENSITY_QUANTILE,
) -> o3d.geometry.TriangleMesh:
    """Screened Poisson surface of oriented points, trimmed where the data does not support it.

    Parameters
    ----------
    points, normals
        ``(n, 3)`` positions and unit normals.
    colors
        ``(n, 3)`` colours in [0, 1] (interpolated onto the surface), or None.
    spacing
        Mean nearest-neighbour spacing; sets the octree depth and the distance trim.
    max_distance
        Remove vertices farther than this many spacings from every point; None keeps them.
    density_quantile
        Remove this fraction of the vertices with the lowest Poisson density.
    """
    cloud = _cloud(points, normals, colors)
    extent = float(np.ptp(np.asarray(points, dtype=np.float64), axis=0).max())
    voxel = POISSON_VOXEL_SPACINGS * max(spacing, 1e-12)
    depth = int(np.clip(np.ceil(np.log2(1.1 * extent / voxel)), *POISSON_DEPTH_RANGE))
    with o3d.utility.VerbosityContextManager(o3d.utility.VerbosityLevel.Error):
        mesh, densities = o3d.geometry.TriangleMesh.create_from_point_cloud_poisson(cloud, depth=depth, scale=1.1)
    density = np.asarray(densities)
    remove = np.zeros(len(density), dtype=bool)
    if density_quantile > 0:
        remove |= density < np.quantile(density, density_quantile)
    if max_distance is not None:
        dist, _ = cKDTree(np.asarray(points, dtype=np.float64)).query(np.asarray(mesh.vertices), k=1)
        remove |= dist > max_distance * spacing
    mesh.remove_vertices_by_mask(remove.tolist())
    return mesh


def ball_pivoting_mesh(
    points: NDArray[np.floating],
    normals: NDArray[np.floating],
    colors: NDArray[np.floating] | None,
    spacing: float,
    *,
    radii: tuple[float, ...] = BALL_RADII,
) -> o3d.geometry.TriangleMesh:
    """Ball-pivoting triangulation of the points with balls of ``radii`` x ``spacing``.

    Parameters
    ----------
    points, normals
        ``(n, 3)`` positions and unit normals (they decide which side the ball rolls on).
    colors
        ``(n, 3)`` colours in [0, 1], kept per point, or None.
    spacing
        Mean nearest-neighbour spacing.
    """
    cloud = _cloud(points, normals, colors)
    radii_vector = o3d.utility.DoubleVector([r * spacing for r in radii])
    return o3d.geometry.TriangleMesh.create_from_point_cloud_ball_pivoting(cloud, radii_vector)


def mesh_point_cloud(
    points: NDArray[np.float32],
    *,
    normals: NDArray[np.float32] | None = None,
    colors: NDArray[np.float32] | None = None,
    method: Method = "poisson",
    progress: ProgressFn = no_progress,
) -> TriMesh:
    """Reconstruct a triangle mesh from a point cloud.

    Parameters
    ----------
    points
        ``(n, 3) float32`` positions; rows with NaN or inf are ignored.
    normals
        ``(n, 3) float32`` normals, or None to estimate and orient them.
    colors
        ``(n, 3) float32`` sRGB colours in [0, 1], carried onto the mesh, or None.
    method
        ``"poisson"`` (watertight where sampled, trimmed elsewhere, smooths
        noise) or ``"ball_pivoting"`` (interpolates the points, keeps holes).
    progress
        Called with a fraction in [0, 1] and a message.

    Returns
    -------
    TriMesh
        ``(v, 3) float32`` vertices, ``(f, 3) int32`` faces, unit vertex
        normals, and vertex colours when ``colors`` was given.

    Raises
    ------
    InputError
        Fewer than :data:`MIN_POINTS` finite points, or all points coincide.
    ValueError
        ``normals`` / ``colors`` shapes differ from ``points``, or an unknown method.
    """
    p = np.asarray(points, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] != 3:
        raise ValueError(f"points must be (n, 3), got {p.shape}")
    for name, a in (("normals", normals), ("colors", colors)):
        if a is not None and np.shape(a) != p.shape:
            raise ValueError(f"{name} must be {p.shape}, got {np.shape(a)}")
    if method not in ("poisson", "ball_pivoting"):
        raise ValueError(f"unknown method {method!r}: use 'poisson' or 'ball_pivoting'")
    keep = np.isfinite(p).all(axis=1)
    if normals is not None:
        keep &= np.isfinite(normals).all(axis=1) & (np.linalg.norm(normals, axis=1) > 0)
    p = p[keep]
    if len(p) < MIN_POINTS:
        raise InputError(f"a point cloud needs at least {MIN_POINTS} finite points to mesh, it has {len(p)}")
    c = None if colors is None else np.clip(np.asarray(colors, dtype=np.float64)[keep], 0.0, 1.0)
    progress(0.0, "measuring point spacing")
    spacing = mean_spacing(p)
    if spacing <= 0:
        raise InputError("all points of the point cloud coincide: there is no surface to mesh")
    if normals is None:
        progress(0.1, "estimating normals")
        n = estimate_normals(p, spacing).astype(np.float64)
    else:
        n = np.asarray(normals, dtype=np.float64)[keep]
        n /= np.linalg.norm(n, axis=1, keepdims=True)
    progress(0.3, f"meshing {len(p)} points ({method.replace('_', ' ')})")
    mesh = poisson_mesh(p, n, c, spacing) if method == "poisson" else ball_pivoting_mesh(p, n, c, spacing)
    progress(0.9, "tidying the mesh")
    result = _to_trimesh(mesh, with_colors=c is not None)
    progress(1.0, f"{len(result.faces)} triangles")
    return result


def _cloud(
    points: NDArray[np.floating], normals: NDArray[np.floating], colors: NDArray[np.floating] | None
) -> o3d.geometry.PointCloud:
    cloud = o3d.geometry.PointCloud(o3d.utility.Vector3dVector(np.asarray(points, dtype=np.float64)))
    cloud.normals = o3d.utility.Vector3dVector(np.asarray(normals, dtype=np.float64))
    if colors is not None:
        cloud.colors = o3d.utility.Vector3dVector(np.asarray(colors, dtype=np.float64))
    return cloud


def _to_trimesh(mesh: o3d.geometry.TriangleMesh, *, with_colors: bool) -> TriMesh:
    """An open3d mesh, without degenerate or unreferenced parts, as a :class:`TriMesh`."""
    mesh.remove_degenerate_triangles()
    mesh.remove_duplicated_triangles()
    mesh.remove_unreferenced_vertices()
    mesh.compute_vertex_normals()
    colors = None
    if with_colors and mesh.has_vertex_colors():
        colors = np.clip(np.asarray(mesh.vertex_colors), 0.0, 1.0).astype(np.float32)
    return TriMesh(
        vertices=np.asarray(mesh.vertices, dtype=np.float32),
        faces=np.asarray(mesh.triangles, dtype=np.int32).reshape(-1, 3),
        vertex_colors=colors,
        vertex_normals=np.asarray(mesh.vertex_normals, dtype=np.float32),
    )

"""Texel-to-scan correspondence: where each low-poly surface point lands on the high-poly scan.

From every point ``p`` on the low surface, with unit interpolated normal ``n``,
one ray is cast from the cage, ``p + cage * n``, inwards along ``-n``, up to
``2 * cage``: the first hit is the *outermost* high surface within ``cage`` of
the low one, above or below it, and ``cage - t`` is its signed distance along
``n`` (the displacement). This is Blender's "selected to active" bake with a
cage extrusion (and Marmoset's / xNormal's cage): one ray per texel, and where
the scan has two layers within the cage (a lip over a tooth, an ear fold) the
outer one is baked. Where the ray misses (the cage is too tight, or the scan
has a hole there) the closest point on the scan is used instead and the point
is counted as a cage miss; its displacement is 0 (no surface lies within the
cage along the normal, so a farther closest point says nothing about this
point's height: a hole's rim centimetres away must not become a spike, nor a
plateau at the cage).

Two ray engines: open3d's ``RaycastingScene`` (Embree, CPU) and NVIDIA Warp's
BVH mesh queries (CPU and CUDA). :func:`make_ray_engine` picks by device.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, Protocol

import numpy as np
from numpy.typing import NDArray

from lifecast.threads import available_cpus

RayBackend = Literal["auto", "open3d", "warp"]

#: Rays are cast in chunks of this many (bounds memory).
RAY_CHUNK = 1 << 21


@dataclass(frozen=True)
class RayHits:
    """First hits of a batch of rays.

    Attributes
    ----------
    t
        ``(q,) float32`` distance along the (unit) ray direction; ``inf`` where it missed.
    face
        ``(q,) int64`` hit triangle, -1 where it missed.
    bary
        ``(q, 3) float32`` barycentrics of the hit point on ``face``.
    """

    t: NDArray[np.float32]
    face: NDArray[np.int64]
    bary: NDArray[np.float32]


class RayEngine(Protocol):
    """What the baker needs from a ray tracer over one triangle mesh."""

    def cast(self, origins: NDArray[np.float32], directions: NDArray[np.float32], t_max: float) -> RayHits:
        """First hit of each ray ``origin + t * direction``, ``0 <= t <= t_max`` (directions unit length)."""
        ...

    def cast_packed(self, rays: NDArray[np.float32], t_max: float) -> RayHits:
        """:meth:`cast` of rays packed as ``(q, 6)`` rows ``origin | direction`` (no repacking)."""
        ...

    def occluded(
        self, origins: NDArray[np.float32], directions: NDArray[np.float32], t_max: float
    ) -> NDArray[np.bool_]:
        """``(q,) bool``: the ray hits something within ``t_max``."""
        ...

    def closest(self, points: NDArray[np.float32]) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        """Closest surface point of each query: ``(face (q,) int64, bary (q, 3) float32)``."""
        ...


class Open3DRays:
    """Ray casts, occlusion tests and closest points with open3d's ``RaycastingScene`` (Embree, CPU)."""

    def __init__(self, vertices: NDArray[np.floating], faces: NDArray[np.integer]) -> None:
        import open3d as o3d

        self._o3d = o3d
        self._scene = o3d.t.geometry.RaycastingScene()
        self._scene.add_triangles(
            o3d.core.Tensor.from_numpy(np.ascontiguousarray(vertices, np.float32)),
            o3d.core.Tensor.from_numpy(np.ascontiguousarray(faces, np.uint32)),
        )
        self._threads = available_cpus()

    @staticmethod
    def _pack(origins: NDArray[np.float32], directions: NDArray[np.float32]) -> NDArray[np.float32]:
        rays = np.empty((len(origins), 6), np.float32)
        rays[:, :3] = origins
        rays[:, 3:] = directions
        return rays

    def _rays(self, origins: NDArray[np.float32], directions: NDArray[np.float32]) -> Any:
        return self._o3d.core.Tensor.from_numpy(self._pack(origins, directions))

    def cast(self, origins: NDArray[np.float32], directions: NDArray[np.float32], t_max: float) -> RayHits:
        return self.cast_packed(self._pack(origins, directions), t_max)

    def cast_packed(self, rays: NDArray[np.float32], t_max: float) -> RayHits:
        rays = np.ascontiguousarray(rays, np.float32)
        t = np.empty(len(rays), np.float32)
        face = np.empty(len(rays), np.int64)
        bary = np.empty((len(rays), 3), np.float32)
        for start in range(0, len(rays), RAY_CHUNK):
            stop = min(start + RAY_CHUNK, len(rays))
            query = self._o3d.core.Tensor.from_numpy(rays[start:stop])
            hit = self._scene.cast_rays(query, nthreads=self._threads)
            t_hit = hit["t_hit"].numpy()
            miss = ~(t_hit <= t_max)  # also true for inf and nan
            t_hit[miss] = np.inf
            t[start:stop] = t_hit
            face[start:stop] = hit["primitive_ids"].numpy()
            face[start:stop][miss] = -1
            uv = hit["primitive_uvs"].numpy()
            bary[start:stop, 1:] = uv
            bary[start:stop, 0] = 1.0 - uv[:, 0] - uv[:, 1]
        return RayHits(t, face, bary)

    def occluded(
        self, origins: NDArray[np.float32], directions: NDArray[np.float32], t_max: float
    ) -> NDArray[np.bool_]:
        out = np.empty(len(origins), bool)
        for start in range(0, len(origins), RAY_CHUNK):
            stop = min(start + RAY_CHUNK, len(origins))
            hit = self._scene.test_occlusions(
                self._rays(origins[start:stop], directions[start:stop]), tfar=float(t_max), nthreads=self._threads
            )
            out[start:stop] = hit.numpy()
        return out

    def closest(self, points: NDArray[np.float32]) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        face = np.empty(len(points), np.int64)
        bary = np.empty((len(points), 3), np.float32)
        for start in range(0, len(points), RAY_CHUNK):
            stop = min(start + RAY_CHUNK, len(points))
            query = self._o3d.core.Tensor.from_numpy(np.ascontiguousarray(points[start:stop], np.float32))
            hit = self._scene.compute_closest_points(query, nthreads=self._threads)
            face[start:stop] = hit["primitive_ids"].numpy()
            uv = hit["primitive_uvs"].numpy()
            bary[start:stop, 0] = 1.0 - uv[:, 0] - uv[:, 1]
            bary[start:stop, 1:] = uv
        return face, bary


class WarpRays:
    """The same queries with NVIDIA Warp's mesh BVH, on ``"cpu"`` or ``"cuda"``."""

    def __init__(self, vertices: NDArray[np.floating], faces: NDArray[np.integer], device: str = "cpu") -> None:
        from lifecast.bake import warp_kernels

        self._k = warp_kernels
        self._device = device
        self._mesh = warp_kernels.build_mesh(vertices, faces, device)

    def cast(self, origins: NDArray[np.float32], directions: NDArray[np.float32], t_max: float) -> RayHits:
        t, face, bary = self._k.cast_rays(self._mesh, origins, directions, t_max, self._device)
        return RayHits(t, face, bary)

    def cast_packed(self, rays: NDArray[np.float32], t_max: float) -> RayHits:
        return self.cast(np.ascontiguousarray(rays[:, :3]), np.ascontiguousarray(rays[:, 3:]), t_max)

    def occluded(
        self, origins: NDArray[np.float32], directions: NDArray[np.float32], t_max: float
    ) -> NDArray[np.bool_]:
        t, _, _ = self._k.cast_rays(self._mesh, origins, directions, t_max, self._device)
        return np.isfinite(t)

    def closest(self, points: NDArray[np.float32]) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
        return self._k.closest_points(self._mesh, points, self._device)


def make_ray_engine(
    vertices: NDArray[np.floating], faces: NDArray[np.integer], *, device: str = "cpu", backend: RayBackend = "auto"
) -> RayEngine:
    """A ray engine over one mesh.

    ``"auto"`` picks open3d (Embree) on the CPU, where it measured faster than
    Warp's CPU path (see BENCHMARKS.md), and Warp on CUDA, where open3d has no
    ray tracer.
    """
    if backend == "auto":
        backend = "open3d" if device == "cpu" else "warp"
    if backend == "open3d":
        if device != "cpu":
            raise ValueError("open3d's RaycastingScene runs on the CPU only; use backend='warp' for CUDA")
        return Open3DRays(vertices, faces)
    return WarpRays(vertices, faces, device)


@dataclass(frozen=True)
class Correspondence:
    """Where each low-surface point lands on the high surface.

    Attributes
    ----------
    face
        ``(q,) int64`` high-mesh triangle.
    bary
        ``(q, 3) float32`` barycentrics on it.
    distance
        ``(q,) float32`` signed distance from the low point to the high point along the low normal, within
        ``[-cage, cage]``; 0 for a miss.
    missed
        ``(q,) bool``: both rays missed within the cage; the closest point was used.
    """

    face: NDArray[np.int64]
    bary: NDArray[np.float32]
    distance: NDArray[np.float32]
    missed: NDArray[np.bool_]


def correspond(
    engine: RayEngine,
    points: NDArray[np.floating],
    normals: NDArray[np.floating],
    cage: float,
) -> Correspondence:
    """Project low-surface points onto the outermost high surface within ``cage`` along their normals.

    Parameters
    ----------
    engine
        Ray engine built over the high mesh (:func:`make_ray_engine`).
    points
        ``(q, 3)`` points on the low surface.
    normals
        ``(q, 3)`` unit low-surface normals at those points.
    cage
        Largest distance searched above and below the low surface.
    """
    points = np.asarray(points, np.float32)
    normals = np.asarray(normals, np.float32)
    rays = np.empty((len(points), 6), np.float32)  # origin | direction
    np.multiply(normals, np.float32(cage), out=rays[:, :3])
    rays[:, :3] += points
    np.negative(normals, out=rays[:, 3:])
    hit = engine.cast_packed(rays, 2.0 * cage)
    del rays
    face, bary = hit.face, hit.bary
    distance = np.float32(cage) - hit.t
    missed = face < 0
    if missed.any():
        miss_face, miss_bary = engine.closest(points[missed])
        face[missed] = miss_face
        bary[missed] = miss_bary
        distance[missed] = 0.0
    return Correspondence(face, bary, distance.astype(np.float32, copy=False), missed)

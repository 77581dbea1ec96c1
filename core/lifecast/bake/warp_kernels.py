# Warp kernels are a typed DSL that mypy cannot follow (query structs, wp.array generics).
# mypy: disable-error-code="attr-defined, var-annotated, valid-type"
"""NVIDIA Warp kernels for the baker's ray casts and closest-point queries (CPU and CUDA).

Imported lazily by :class:`lifecast.bake.correspond.WarpRays`: importing this
module imports ``warp`` and JIT-compiles the kernels on first use.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import warp as wp
from numpy.typing import NDArray

wp.config.quiet = True


@wp.kernel
def _cast_kernel(
    mesh: wp.uint64,
    origins: wp.array(dtype=wp.vec3),
    directions: wp.array(dtype=wp.vec3),
    t_max: float,
    t_out: wp.array(dtype=float),
    face_out: wp.array(dtype=int),
    bary_out: wp.array(dtype=wp.vec3),
) -> None:
    i = wp.tid()
    q = wp.mesh_query_ray(mesh, origins[i], directions[i], t_max)
    if q.result:
        t_out[i] = q.t
        face_out[i] = q.face
        bary_out[i] = wp.vec3(q.u, q.v, 1.0 - q.u - q.v)
    else:
        t_out[i] = wp.inf
        face_out[i] = -1
        bary_out[i] = wp.vec3(0.0, 0.0, 0.0)


@wp.kernel
def _closest_kernel(
    mesh: wp.uint64,
    points: wp.array(dtype=wp.vec3),
    face_out: wp.array(dtype=int),
    bary_out: wp.array(dtype=wp.vec3),
) -> None:
    i = wp.tid()
    q = wp.mesh_query_point_no_sign(mesh, points[i], 1.0e30)
    face_out[i] = q.face
    bary_out[i] = wp.vec3(q.u, q.v, 1.0 - q.u - q.v)


def build_mesh(vertices: NDArray[np.floating], faces: NDArray[np.integer], device: str) -> Any:
    """A ``wp.Mesh`` (BVH) over ``(n, 3)`` vertices and ``(m, 3)`` faces on ``device``."""
    wp.init()
    points = wp.array(np.ascontiguousarray(vertices, np.float32), dtype=wp.vec3, device=device)
    indices = wp.array(np.ascontiguousarray(faces, np.int32).ravel(), dtype=int, device=device)
    return wp.Mesh(points=points, indices=indices)


def cast_rays(
    mesh: Any, origins: NDArray[np.float32], directions: NDArray[np.float32], t_max: float, device: str
) -> tuple[NDArray[np.float32], NDArray[np.int64], NDArray[np.float32]]:
    """First hits within ``t_max``: ``t (q,)`` (inf on a miss), ``face (q,)`` (-1), ``bary (q, 3)``."""
    n = len(origins)
    o = wp.array(np.ascontiguousarray(origins, np.float32), dtype=wp.vec3, device=device)
    d = wp.array(np.ascontiguousarray(directions, np.float32), dtype=wp.vec3, device=device)
    t = wp.empty(n, dtype=float, device=device)
    face = wp.empty(n, dtype=int, device=device)
    bary = wp.empty(n, dtype=wp.vec3, device=device)
    wp.launch(_cast_kernel, dim=n, inputs=[mesh.id, o, d, float(t_max), t, face, bary], device=device)
    return t.numpy(), face.numpy().astype(np.int64), bary.numpy().astype(np.float32)


def closest_points(
    mesh: Any, points: NDArray[np.float32], device: str
) -> tuple[NDArray[np.int64], NDArray[np.float32]]:
    """Closest surface point of each query: ``face (q,) int64``, ``bary (q, 3) float32``."""
    n = len(points)
    p = wp.array(np.ascontiguousarray(points, np.float32), dtype=wp.vec3, device=device)
    face = wp.empty(n, dtype=int, device=device)
    bary = wp.empty(n, dtype=wp.vec3, device=device)
    wp.launch(_closest_kernel, dim=n, inputs=[mesh.id, p, face, bary], device=device)
    return face.numpy().astype(np.int64), bary.numpy().astype(np.float32)

"""Small meshes with UVs for the texture model tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from numpy.typing import NDArray

from lifecast.mesh import TriMesh
from lifecast.ml.geometry_maps import GeometryTile


def uv_sphere(segments: int = 48, rings: int = 24, radius: float = 0.1) -> TriMesh:
    """A latitude-longitude sphere (Y up) with one UV chart filling most of tile 1001 and a seam at u = 0/1.

    Vertices along the seam are shared in 3D and split in UV (two UV columns), as an unwrapped mesh has them.
    """
    theta = np.linspace(0.0, np.pi, rings + 1)  # from +Y down
    phi = np.linspace(0.0, 2 * np.pi, segments + 1)
    t, p = np.meshgrid(theta, phi[:-1], indexing="ij")
    verts = np.stack([np.sin(t) * np.cos(p), np.cos(t), np.sin(t) * np.sin(p)], -1).reshape(-1, 3) * radius
    uvs = np.stack(np.meshgrid(phi / (2 * np.pi), 1.0 - theta / np.pi, indexing="xy"), -1).reshape(-1, 2)
    uvs = 0.02 + 0.96 * uvs
    faces, face_uvs = [], []
    for r in range(rings):
        for s in range(segments):
            a, b = r * segments + s, r * segments + (s + 1) % segments
            c, d = (r + 1) * segments + (s + 1) % segments, (r + 1) * segments + s
            ua, ub = r * (segments + 1) + s, r * (segments + 1) + s + 1
            uc, ud = (r + 1) * (segments + 1) + s + 1, (r + 1) * (segments + 1) + s
            faces += [(a, c, d), (a, b, c)]
            face_uvs += [(ua, uc, ud), (ua, ub, uc)]
    return TriMesh(
        verts.astype(np.float32),
        np.array(faces, np.int32),
        uvs=uvs.astype(np.float32),
        face_uvs=np.array(face_uvs, np.int32),
    )


def quad_mesh(quads: list[tuple[NDArray[np.float64], tuple[float, float, float, float]]], *, grid: int = 4) -> TriMesh:
    """Planar patches, each ``(corners (4, 3): origin, +u end, +v end, opposite; uv rect (u0, v0, u1, v1))``,
    split into ``grid x grid`` cells; the triangles face along ``(c1 - c0) x (c2 - c0)``."""
    vertices: list[NDArray[np.float64]] = []
    uvs: list[tuple[float, float]] = []
    faces: list[tuple[int, int, int]] = []
    for corners, (u0, v0, u1, v1) in quads:
        base = len(vertices)
        for j in range(grid + 1):
            for i in range(grid + 1):
                a, b = i / grid, j / grid
                p = (1 - a) * (1 - b) * corners[0] + a * (1 - b) * corners[1] + (1 - a) * b * corners[2]
                p = p + a * b * corners[3]
                vertices.append(p)
                uvs.append((u0 + a * (u1 - u0), v0 + b * (v1 - v0)))
        for j in range(grid):
            for i in range(grid):
                k = base + j * (grid + 1) + i
                faces += [(k, k + 1, k + grid + 2), (k, k + grid + 2, k + grid + 1)]
    f = np.asarray(faces, np.int32)
    return TriMesh(np.asarray(vertices, np.float32), f, uvs=np.asarray(uvs, np.float32), face_uvs=f.copy())


def square(z: float, size: float = 1.0, flip: bool = False, x0: float = 0.0) -> NDArray[np.float64]:
    """The corners of a square in the plane ``z``, facing +z (or -z with ``flip``)."""
    c = np.array([[0, 0, z], [size, 0, z], [0, size, z], [size, size, z]], np.float64)
    c[:, 0] += x0
    return c[[0, 2, 1, 3]] if flip else c


def lit_sphere(
    ambient: float, seed: int, size: int = 256
) -> tuple[GeometryTile, NDArray[np.float32], NDArray[np.float32]]:
    """A UV sphere's geometry maps at ``size`` (no AO), a spotted skin-tone albedo on it ``(size, size, 3)`` and a
    key light's shading ``ambient + max(n . l, 0)`` ``(size, size)``, the light up and to the front."""
    import cv2

    from lifecast.ml.geometry_maps import geometry_maps

    (g,) = geometry_maps(uv_sphere(64, 32, radius=0.1), size, ao_samples=0)
    rng = np.random.default_rng(seed)
    albedo = np.zeros((size, size, 3), np.float32)
    spots = cv2.GaussianBlur(rng.random((size, size)).astype(np.float32), (0, 0), 3)
    albedo[g.covered] = np.array([0.45, 0.3, 0.25], np.float32) * (0.8 + 0.4 * spots[g.covered])[:, None]
    light = np.array([0.3, 0.8, 0.5], np.float32) / np.linalg.norm([0.3, 0.8, 0.5])
    shading = (ambient + np.maximum(g.normal @ light, 0.0)).astype(np.float32)
    return g, albedo, shading


def write_obj(path: Path, mesh: TriMesh) -> Path:
    """Write ``mesh`` with its UVs as a Wavefront OBJ."""
    assert mesh.uvs is not None and mesh.face_uvs is not None
    lines = [f"v {x:.7f} {y:.7f} {z:.7f}" for x, y, z in mesh.vertices]
    lines += [f"vt {u:.7f} {v:.7f}" for u, v in mesh.uvs]
    lines += [
        f"f {a + 1}/{ta + 1} {b + 1}/{tb + 1} {c + 1}/{tc + 1}"
        for (a, b, c), (ta, tb, tc) in zip(mesh.faces, mesh.face_uvs, strict=True)
    ]
    path.write_text("\n".join(lines) + "\n")
    return path

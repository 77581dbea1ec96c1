"""Small meshes with UVs for the texture model tests."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lifecast.mesh import TriMesh


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

"""Per-corner tangent frames for tangent-space normal maps, MikkTSpace-compatible in the common case.

What is done, as in MikkTSpace (Blender, Maya, Houdini, Substance, Unreal):

- each triangle's tangent ``T = dP/du`` and bitangent ``B = dP/dv`` come from
  its UV derivatives; the handedness sign is ``sign(det)`` of the UV map, so
  mirrored charts (xatlas mirrors some) get ``-1``;
- each corner's tangent is T projected onto the plane of the vertex normal,
  normalised and weighted by the corner angle, then summed over the corners
  that share the same position, the same UV and the same handedness: tangents
  split at UV seams and between mirrored and unmirrored charts, and are smooth
  elsewhere;
- the shader rebuilds ``B = sign * cross(N, T)`` from the interpolated ``N`` and
  ``T``; the baker does the same after Gram-Schmidt (:func:`tangent_space`), so
  the green channel is +V (OpenGL, "Y+" in Substance, the default of Blender
  and Maya).

Where this differs from the reference implementation: MikkTSpace also groups
by the *normal* index (meshes with hard edges) and handles degenerate UV
triangles by borrowing from neighbours; here positions share one smooth
normal per vertex and a degenerate-UV triangle contributes nothing (its
corners take the neighbours' tangents, or an arbitrary one perpendicular to
the normal when none). For smooth-shaded meshes with non-degenerate UVs, the
common production case, the frames are the same up to float rounding.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from lifecast.geometry.measure import dot_rows


def corner_angles(corners: NDArray[np.float64]) -> NDArray[np.float64]:
    """``(m, 3)`` interior angle at each corner of ``(m, 3, 3)`` triangle corners."""
    angles = np.empty(corners.shape[:2])
    for k in range(3):
        a = _normalize(corners[:, (k + 1) % 3] - corners[:, k])
        b = _normalize(corners[:, (k + 2) % 3] - corners[:, k])
        angles[:, k] = np.arccos(np.clip(np.einsum("ij,ij->i", a, b), -1.0, 1.0))
    return angles


def corner_tangents(
    vertices: NDArray[np.floating],
    faces: NDArray[np.integer],
    normals: NDArray[np.floating],
    uvs: NDArray[np.floating],
    face_uvs: NDArray[np.integer],
) -> tuple[NDArray[np.float32], NDArray[np.float32]]:
    """Smooth per-corner tangents and handedness signs.

    Parameters
    ----------
    vertices
        ``(n, 3)`` positions.
    faces
        ``(m, 3)`` triangles.
    normals
        ``(n, 3)`` unit vertex normals (the shading normals the map is baked against).
    uvs
        ``(k, 2)`` UVs.
    face_uvs
        ``(m, 3)`` UV index of each corner.

    Returns
    -------
    tangent
        ``(m, 3, 3) float32`` unit tangent at each triangle corner, perpendicular to the vertex normal.
    sign
        ``(m, 3) float32`` handedness (+1, or -1 for mirrored UVs): ``B = sign * cross(N, T)``.
    """
    v = np.asarray(vertices, np.float64)
    f = np.asarray(faces, np.int64)
    fu = np.asarray(face_uvs, np.int64)
    n = np.asarray(normals, np.float64)
    p = v[f]
    t = np.asarray(uvs, np.float64)[fu]
    e1, e2 = p[:, 1] - p[:, 0], p[:, 2] - p[:, 0]
    d1, d2 = t[:, 1] - t[:, 0], t[:, 2] - t[:, 0]
    det = d1[:, 0] * d2[:, 1] - d2[:, 0] * d1[:, 1]
    valid = np.abs(det) > 1e-20
    inv = np.where(valid, 1.0 / np.where(valid, det, 1.0), 0.0)[:, None]
    face_t = (e1 * d2[:, 1:2] - e2 * d1[:, 1:2]) * inv
    sign = np.where(det < 0, -1.0, 1.0)

    # Corner tangent: face tangent projected onto the vertex normal's plane, angle weighted.
    weight = corner_angles(p) * valid[:, None]
    contrib = np.empty((len(f), 3, 3))
    for k in range(3):
        nk = n[f[:, k]]
        proj = face_t - nk * np.einsum("ij,ij->i", face_t, nk)[:, None]
        contrib[:, k] = _normalize(proj) * weight[:, k : k + 1]

    # Group corners by (position, uv, handedness) and sum.
    group = _corner_groups(f.ravel(), fu.ravel(), np.repeat(sign, 3) > 0)
    summed = np.zeros((int(group.max()) + 1 if len(group) else 0, 3))
    np.add.at(summed, group, contrib.reshape(-1, 3))
    tangent = summed[group].reshape(-1, 3, 3)

    # Re-orthogonalise against each corner's normal; fall back to any perpendicular where empty.
    corner_n = n[f]
    tangent -= corner_n * np.einsum("ijk,ijk->ij", tangent, corner_n)[..., None]
    length = np.linalg.norm(tangent, axis=2)
    empty = length < 1e-12
    if empty.any():
        tangent[empty] = any_perpendicular(corner_n[empty])
    tangent = _normalize(tangent)
    return tangent.astype(np.float32), np.repeat(sign[:, None], 3, axis=1).astype(np.float32)


def _corner_groups(
    vertex: NDArray[np.int64], uv: NDArray[np.int64], right_handed: NDArray[np.bool_]
) -> NDArray[np.int64]:
    """``(c,)`` group id of each corner: corners sharing the vertex, the UV and the handedness share an id.

    One int64 key per corner and a 1-D ``unique`` (several times faster than ``unique`` over rows); rows
    are the fallback when the key would not fit in 62 bits.
    """
    if len(vertex) == 0:
        return np.zeros(0, np.int64)
    n_uv = int(uv.max()) + 1
    if (int(vertex.max()) + 1) * n_uv * 2 < 1 << 62:
        key = vertex * n_uv
        key += uv
        key *= 2
        key += right_handed
        _, group = np.unique(key, return_inverse=True)
    else:
        _, group = np.unique(np.stack([vertex, uv, right_handed], axis=1), axis=0, return_inverse=True)
    return np.asarray(group, np.int64).ravel()


def any_perpendicular(normals: NDArray[np.floating]) -> NDArray[np.float64]:
    """``(q, 3)`` unit vectors perpendicular to each of ``(q, 3)`` unit normals."""
    axis = np.where(np.abs(normals[:, 0:1]) < 0.9, [[1.0, 0.0, 0.0]], [[0.0, 1.0, 0.0]])
    return _normalize(np.cross(normals, axis))


def _normalize(a: NDArray[np.float64]) -> NDArray[np.float64]:
    return a / np.maximum(np.linalg.norm(a, axis=-1, keepdims=True), 1e-30)


def tangent_space(
    high_normals: NDArray[np.float32],
    low_normals: NDArray[np.float32],
    tangents: NDArray[np.float32],
    sign: NDArray[np.float32],
) -> NDArray[np.float32]:
    """``(3, q)`` high normals in the low surface's tangent frame ``(T, B, N)``, OpenGL (+Y = +V), as rows.

    Every vector argument is given as rows ``(3, q)`` (x, y, z).

    Parameters
    ----------
    high_normals
        ``(3, q)`` unit normals of the high surface.
    low_normals
        ``(3, q)`` unit interpolated low normals ``N``.
    tangents
        ``(3, q)`` barycentric mix of the corner tangents; Gram-Schmidt
        orthogonalised against ``N`` here to give ``T``.
    sign
        ``(q,)`` handedness; ``B = sign * N x T``.
    """
    # With t' = T - N (T.N) and T = t' / |t'|:  H.T = (H.T - (H.N)(T.N)) / |t'|,  H.B = sign H.(N x T) / |t'|
    # (N x N = 0), so neither the orthogonalised tangent nor the bitangent is ever formed.
    h, n, t = high_normals, low_normals, tangents
    h_n = dot_rows(h, n)
    t_n = dot_rows(t, n)
    inv_length = dot_rows(t, t)
    inv_length -= t_n * t_n
    np.maximum(inv_length, np.float32(1e-24), out=inv_length)
    np.sqrt(inv_length, out=inv_length)
    np.reciprocal(inv_length, out=inv_length)
    out = np.empty((3, len(h_n)), np.float32)
    x = dot_rows(h, t)
    x -= h_n * t_n
    np.multiply(x, inv_length, out=out[0])
    # H.(N x T), the triple product, expanded over the rows.
    y = h[0] * (n[1] * t[2] - n[2] * t[1])
    y += h[1] * (n[2] * t[0] - n[0] * t[2])
    y += h[2] * (n[0] * t[1] - n[1] * t[0])
    y *= sign
    np.multiply(y, inv_length, out=out[1])
    out[2] = h_n
    return out

"""Author a :class:`~lifecast.mesh.TriMesh` as a ``UsdGeom.Mesh``.

The arrays go into USD unchanged apart from the attributes USD wants and the
mesh does not carry:

- ``normals``: area-weighted vertex normals (``vertex`` interpolation), unless
  the mesh brings its own ``vertex_normals``;
- ``primvars:st``: the indexed UVs as a ``faceVarying`` ``texCoord2f[]`` with
  ``primvars:st:indices`` from ``face_uvs``, so UV seams never split a vertex;
- ``primvars:displayColor``: the vertex colours, converted from sRGB to linear
  Rec.709 (USD and Hydra read ``displayColor`` as linear);
- ``subdivisionScheme = "none"`` (a scan is a polygonal mesh, not a cage) and
  ``extent``.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from pxr import Sdf, Usd, UsdGeom, Vt

from lifecast.mesh import TriMesh

__all__ = ["area_weighted_vertex_normals", "define_mesh", "srgb_to_linear"]


def area_weighted_vertex_normals(vertices: NDArray[np.floating], faces: NDArray[np.integer]) -> NDArray[np.float32]:
    """Vertex normals as the area-weighted mean of the adjacent face normals.

    Parameters
    ----------
    vertices
        ``(n, 3)`` float positions.
    faces
        ``(m, 3)`` int triangle corner indices into ``vertices``.

    Returns
    -------
    ``(n, 3) float32`` unit normals. A vertex with no non-degenerate adjacent
    face gets ``(0, 1, 0)`` so the array never holds NaN.
    """
    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    # The unnormalised cross product has length 2 * area: summing it weights by area.
    face_normals = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
    corners = f.ravel()
    normals = np.stack(
        [np.bincount(corners, weights=np.repeat(face_normals[:, k], 3), minlength=len(v)) for k in range(3)], axis=1
    )
    length = np.linalg.norm(normals, axis=1)
    ok = length > 0.0
    normals[ok] /= length[ok, None]
    normals[~ok] = (0.0, 1.0, 0.0)
    return normals.astype(np.float32)


def srgb_to_linear(colors: NDArray[np.floating]) -> NDArray[np.float32]:
    """Decode sRGB-encoded values in [0, 1] to linear (IEC 61966-2-1 transfer function).

    Parameters
    ----------
    colors
        ``(..., c)`` float sRGB values; clipped to [0, 1] first.

    Returns
    -------
    Linear values, same shape, ``float32``.
    """
    c = np.clip(np.asarray(colors, dtype=np.float64), 0.0, 1.0)
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    return linear.astype(np.float32)


def define_mesh(stage: Usd.Stage, path: str | Sdf.Path, mesh: TriMesh) -> UsdGeom.Mesh:
    """Define a ``UsdGeom.Mesh`` at ``path`` on the stage's current edit target.

    Parameters
    ----------
    stage
        The stage to author on (its edit target may be a variant).
    path
        Prim path of the mesh.
    mesh
        A triangle mesh with at least one face. ``uvs``/``face_uvs`` become
        ``primvars:st``; ``vertex_colors`` become ``primvars:displayColor``.

    Returns
    -------
    The authored mesh schema object.
    """
    if mesh.is_point_cloud:
        raise ValueError("a USD asset mesh needs faces; got a point cloud")
    vertices = np.ascontiguousarray(mesh.vertices, dtype=np.float32)
    faces = np.ascontiguousarray(mesh.faces, dtype=np.int32)

    usd_mesh = UsdGeom.Mesh.Define(stage, path)
    points = Vt.Vec3fArray.FromNumpy(vertices)
    usd_mesh.CreatePointsAttr(points)
    usd_mesh.CreateFaceVertexCountsAttr(Vt.IntArray.FromNumpy(np.full(len(faces), 3, dtype=np.int32)))
    usd_mesh.CreateFaceVertexIndicesAttr(Vt.IntArray.FromNumpy(faces.ravel()))
    usd_mesh.CreateSubdivisionSchemeAttr(UsdGeom.Tokens.none)
    usd_mesh.CreateOrientationAttr(UsdGeom.Tokens.rightHanded)
    usd_mesh.CreateDoubleSidedAttr(False)
    usd_mesh.CreateExtentAttr(UsdGeom.PointBased.ComputeExtent(points))

    normals = mesh.vertex_normals
    if normals is None or not np.all(np.isfinite(normals)):
        normals = area_weighted_vertex_normals(vertices, faces)
    usd_mesh.CreateNormalsAttr(Vt.Vec3fArray.FromNumpy(np.ascontiguousarray(normals, dtype=np.float32)))
    usd_mesh.SetNormalsInterpolation(UsdGeom.Tokens.vertex)

    primvars = UsdGeom.PrimvarsAPI(usd_mesh)
    if mesh.uvs is not None and mesh.face_uvs is not None:
        st = primvars.CreatePrimvar("st", Sdf.ValueTypeNames.TexCoord2fArray, UsdGeom.Tokens.faceVarying)
        st.Set(Vt.Vec2fArray.FromNumpy(np.ascontiguousarray(mesh.uvs, dtype=np.float32)))
        st.SetIndices(Vt.IntArray.FromNumpy(np.ascontiguousarray(mesh.face_uvs, dtype=np.int32).ravel()))
    if mesh.vertex_colors is not None:
        linear = np.ascontiguousarray(srgb_to_linear(mesh.vertex_colors))
        usd_mesh.CreateDisplayColorPrimvar(UsdGeom.Tokens.vertex).Set(Vt.Vec3fArray.FromNumpy(linear))
    return usd_mesh

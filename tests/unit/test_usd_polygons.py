"""A mesh cut from polygons (a wrapped template's quads) is authored in USD with those polygons.

The small mesh: a 3 x 2 grid of quads, one pentagon and one triangle, with a UV seam (the
right column's UVs are separate from the rest), bent so that its quads are not planar.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from pxr import Usd, UsdGeom

from lifecast.mesh import TriMesh
from lifecast.pipeline.store import load_values, save_values
from lifecast.usd import PolygonFaces, export_asset, validate_asset_report
from lifecast.usd.geometry import baked_vertex_normals, define_mesh
from tests.conftest import icosphere


def polygon_mesh() -> tuple[PolygonFaces, TriMesh]:
    """Polygons (quads, a pentagon, a triangle) and the triangle mesh that is their fan triangulation."""
    xs, ys = np.meshgrid(np.arange(4.0), np.arange(3.0))
    grid = np.stack([xs.ravel(), ys.ravel(), 0.1 * xs.ravel() ** 2 * ys.ravel()], axis=1)  # (12, 3), bent
    extra = np.array([[4.0, 0.5, 0.0], [4.5, 1.5, 0.2], [4.0, 2.5, 0.0], [1.5, 3.5, 0.3]])
    vertices = np.concatenate([grid, extra]).astype(np.float32)  # 16 vertices
    polygons: list[list[int]] = []
    for r in range(2):
        for c in range(3):
            a = r * 4 + c
            polygons.append([a, a + 1, a + 5, a + 4])
    polygons.append([3, 12, 13, 14, 11])  # pentagon
    polygons.append([9, 10, 15])  # triangle
    counts = np.array([len(p) for p in polygons], np.int32)
    corner_vertices = np.concatenate(polygons).astype(np.int32)
    # UVs: one per vertex, except that the corners of the right column of quads get their own (a seam).
    uvs = list(vertices[:, :2] / 5.0)
    corner_uvs = corner_vertices.copy()
    seam = {}
    for j in (2, 5):
        for k in range(4 * j, 4 * j + 4):
            v = int(corner_vertices[k])
            if v not in seam:
                seam[v] = len(uvs)
                uvs.append(vertices[v, :2] / 5.0 + 0.5)
            corner_uvs[k] = seam[v]
    faces = PolygonFaces(counts, corner_vertices, corner_uvs)
    tri, tri_uvs = faces.fan_triangles()
    assert tri_uvs is not None
    mesh = TriMesh(vertices=vertices, faces=tri, uvs=np.asarray(uvs, np.float32), face_uvs=tri_uvs)
    return faces, mesh


def test_fan_triangles_cut_each_polygon_from_its_first_corner() -> None:
    faces = PolygonFaces(np.array([4, 3, 5], np.int32), np.arange(12, dtype=np.int32), None)
    tri, tri_uvs = faces.fan_triangles()
    assert tri_uvs is None
    expected = [[0, 1, 2], [0, 2, 3], [4, 5, 6], [7, 8, 9], [7, 9, 10], [7, 10, 11]]
    np.testing.assert_array_equal(tri, expected)


def test_fan_triangles_match_the_wrap_triangulation() -> None:
    """A wrapped template's triangles (``PolygonMesh.triangles``) are what ``define_mesh`` expects, n-gons too."""
    from lifecast.wrap.polygon_obj import PolygonMesh

    faces, mesh = polygon_mesh()
    assert faces.uv_indices is not None and mesh.uvs is not None
    template = PolygonMesh(
        vertices=mesh.vertices.astype(np.float64),
        polygon_starts=np.concatenate([[0], np.cumsum(faces.counts)]).astype(np.int64),
        corner_vertices=faces.vertex_indices.astype(np.int64),
        uvs=mesh.uvs.astype(np.float64),
        corner_uvs=faces.uv_indices.astype(np.int64),
    )
    tri, tri_uvs, _ = template.triangles()
    faces.check_mesh(mesh.with_(faces=tri.astype(np.int32), face_uvs=tri_uvs.astype(np.int32)))


def test_polygon_faces_refuse_bad_shapes() -> None:
    with pytest.raises(ValueError, match="values >= 3"):
        PolygonFaces(np.array([4, 2], np.int32), np.arange(6, dtype=np.int32))
    with pytest.raises(ValueError, match="vertex_indices"):
        PolygonFaces(np.array([4], np.int32), np.arange(5, dtype=np.int32))
    with pytest.raises(ValueError, match="uv_indices"):
        PolygonFaces(np.array([4], np.int32), np.arange(4, dtype=np.int32), np.arange(3, dtype=np.int32))


def test_define_mesh_authors_the_polygons_with_uvs_per_corner() -> None:
    faces, mesh = polygon_mesh()
    stage = Usd.Stage.CreateInMemory()
    usd_mesh = define_mesh(stage, "/m", mesh, faces)
    counts = np.asarray(usd_mesh.GetFaceVertexCountsAttr().Get())
    indices = np.asarray(usd_mesh.GetFaceVertexIndicesAttr().Get())
    np.testing.assert_array_equal(counts, [4, 4, 4, 4, 4, 4, 5, 3])
    np.testing.assert_array_equal(indices, faces.vertex_indices)
    points = np.asarray(usd_mesh.GetPointsAttr().Get())
    np.testing.assert_array_equal(points, mesh.vertices)  # vertex i stays vertex i
    ok, why = UsdGeom.Mesh.ValidateTopology(usd_mesh.GetFaceVertexIndicesAttr().Get(), counts.tolist(), len(points))
    assert ok, why
    st = UsdGeom.PrimvarsAPI(usd_mesh).GetPrimvar("st")
    assert st.GetInterpolation() == UsdGeom.Tokens.faceVarying and st.IsIndexed()
    per_corner = np.asarray(st.ComputeFlattened())
    assert mesh.uvs is not None and faces.uv_indices is not None
    np.testing.assert_array_equal(per_corner, mesh.uvs[faces.uv_indices])
    # The seam: vertex 3 has one UV in the pentagon and another in the quad of the right column.
    at_vertex_3 = {tuple(per_corner[k]) for k in np.flatnonzero(indices == 3)}
    assert len(at_vertex_3) == 2
    # Normals stay per vertex, from the triangles the maps were baked on.
    assert usd_mesh.GetNormalsInterpolation() == UsdGeom.Tokens.vertex
    normals = np.asarray(usd_mesh.GetNormalsAttr().Get())
    np.testing.assert_allclose(normals, baked_vertex_normals(mesh.vertices, mesh.faces), atol=1e-6)


def test_define_mesh_without_polygons_authors_triangles() -> None:
    _, mesh = polygon_mesh()
    stage = Usd.Stage.CreateInMemory()
    usd_mesh = define_mesh(stage, "/m", mesh)
    assert list(usd_mesh.GetFaceVertexCountsAttr().Get()) == [3] * len(mesh.faces)
    np.testing.assert_array_equal(np.asarray(usd_mesh.GetFaceVertexIndicesAttr().Get()), np.ravel(mesh.faces))
    st = UsdGeom.PrimvarsAPI(usd_mesh).GetPrimvar("st")
    np.testing.assert_array_equal(np.asarray(st.GetIndices()), np.ravel(mesh.face_uvs))


def test_polygons_that_are_not_the_mesh_are_refused() -> None:
    faces, mesh = polygon_mesh()
    other_diagonal = np.asarray(mesh.faces).copy()
    a, b, c = other_diagonal[0]
    d = other_diagonal[1, 2]
    other_diagonal[0], other_diagonal[1] = (a, b, d), (b, c, d)  # the first quad cut along b-d
    stage = Usd.Stage.CreateInMemory()
    with pytest.raises(ValueError, match="fan triangulation"):
        define_mesh(stage, "/a", mesh.with_(faces=other_diagonal), faces)
    with pytest.raises(ValueError, match="no uv indices"):
        define_mesh(stage, "/b", mesh, PolygonFaces(faces.counts, faces.vertex_indices))
    shifted = faces.uv_indices
    assert shifted is not None
    with pytest.raises(ValueError, match="face UVs"):
        define_mesh(stage, "/c", mesh, PolygonFaces(faces.counts, faces.vertex_indices, shifted[::-1].copy()))


def test_export_asset_with_polygons_validates(tmp_path: Path) -> None:
    faces, mesh = polygon_mesh()
    lod1 = icosphere(1)
    export_asset(tmp_path, "quads", [mesh, lod1], albedo=None, polygons=[faces, None])
    report = validate_asset_report(tmp_path / "asset.usda")
    assert report.ok, report.errors
    stage = Usd.Stage.Open(str(tmp_path / "asset.usda"))
    render = UsdGeom.Mesh(stage.GetPrimAtPath("/quads/geo/render/mesh"))
    proxy = UsdGeom.Mesh(stage.GetPrimAtPath("/quads/geo/proxy/mesh"))
    np.testing.assert_array_equal(np.asarray(render.GetFaceVertexCountsAttr().Get()), faces.counts)
    assert set(proxy.GetFaceVertexCountsAttr().Get()) == {3}, "the proxy (LOD1) has no polygons: triangles"
    stage.GetPrimAtPath("/quads").GetVariantSets().GetVariantSet("lod").SetVariantSelection("lod1")
    assert set(render.GetFaceVertexCountsAttr().Get()) == {3}
    with pytest.raises(ValueError, match="polygon entries"):
        export_asset(tmp_path / "bad", "quads", [mesh, lod1], albedo=None, polygons=[faces])


def test_polygon_arrays_survive_the_stage_cache(tmp_path: Path) -> None:
    """The wrap stage hands the polygons to the export stage through the cache (npz, no pickle)."""
    faces, _ = polygon_mesh()
    outputs = {
        "lod0_polygon_counts": faces.counts,
        "lod0_polygon_vertices": faces.vertex_indices,
        "lod0_polygon_uvs": faces.uv_indices,
        "no_uvs": None,
    }
    save_values(outputs, tmp_path)
    back = load_values(tmp_path)
    for name in ("lod0_polygon_counts", "lod0_polygon_vertices", "lod0_polygon_uvs"):
        assert back[name].dtype == np.int32
        np.testing.assert_array_equal(back[name], outputs[name])
    assert back["no_uvs"] is None

"""The baking engine against analytic ground truth, a displacement round trip, and bad inputs.

Tolerances (unit-size shapes, displacement amplitude 0.03-0.075):

- height field on a plane, 128 px: displacement within 5e-5 of the analytic
  height on every covered texel (measured 1.0e-5); tangent normal within
  0.05 degree on average, 0.2 at worst (measured 0.004 / 0.009), with plain
  and mirrored UVs;
- displaced sphere onto a coarse sphere, 256 px: displacement mean error
  below 5e-4 and 99th percentile below 1e-3 (measured 1.8e-4 / 3.0e-4, the
  high mesh's own faceting is about 2e-4); object-space normal within 0.2
  degree on average (measured 0.02);
- round trip: the low mesh subdivided twice and displaced by the baked map
  (512 px) lies within 3e-4 of the high surface on average both ways, and
  within 3e-3 Hausdorff distance.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from numpy.typing import NDArray

from lifecast.bake.engine import bake_maps
from lifecast.bake.images import read_exr, write_exr
from lifecast.bake.tangents import corner_tangents
from lifecast.errors import InputError
from lifecast.geometry.measure import vertex_normals_angle_weighted
from lifecast.mesh import TriMesh
from tests.conftest import grid_plane, icosphere

AMPLITUDE = 0.03


def _height(x: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.float64]:
    return AMPLITUDE * np.sin(2 * np.pi * x) * np.cos(np.pi * y)


def _height_normal(x: NDArray[np.float64], y: NDArray[np.float64]) -> NDArray[np.float64]:
    hx = AMPLITUDE * 2 * np.pi * np.cos(2 * np.pi * x) * np.cos(np.pi * y)
    hy = -AMPLITUDE * np.pi * np.sin(2 * np.pi * x) * np.sin(np.pi * y)
    n = np.stack([-hx, -hy, np.ones_like(x)], axis=-1)
    return n / np.linalg.norm(n, axis=-1, keepdims=True)


def _plane_low(mirrored: bool) -> TriMesh:
    low = grid_plane(9, 1.0)
    u = 1.0 - low.vertices[:, 0] if mirrored else low.vertices[:, 0]
    uvs = np.stack([u, low.vertices[:, 1]], axis=1).astype(np.float32)
    return low.with_(uvs=uvs, face_uvs=low.faces.copy())


def _height_field(n: int = 161) -> TriMesh:
    plane = grid_plane(n, 1.2)
    xy = plane.vertices[:, :2].astype(np.float64) - 0.1
    verts = np.column_stack([xy, _height(xy[:, 0], xy[:, 1])]).astype(np.float32)
    return plane.with_(vertices=verts)


def _texel_uv(size: int) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """UV of every texel centre: ``(size, size)`` u and v."""
    idx = (np.arange(size) + 0.5) / size
    return np.meshgrid(idx, 1.0 - idx, indexing="xy")


def _read_png(path: Path) -> NDArray[np.generic]:
    image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
    return image if image.ndim == 2 else image[..., ::-1]


@pytest.mark.parametrize("mirrored", [False, True])
def test_plane_height_field_matches_analytic_displacement_and_normal(tmp_path: Path, mirrored: bool) -> None:
    size = 128
    result = bake_maps(
        _height_field(), _plane_low(mirrored), maps=["normal", "displacement"], size=size, out_dir=tmp_path, name="p"
    )
    assert result.cage_misses == 0
    assert result.coverage[1001] > 0.95
    mask = _read_png(result.paths["mask"][1001]) > 0
    u, v = _texel_uv(size)
    x = 1.0 - u if mirrored else u
    y = v

    displacement = read_exr(result.paths["displacement"][1001])
    assert displacement.dtype == np.float32
    assert np.abs(displacement - _height(x, y))[mask].max() < 5e-5

    encoded = _read_png(result.paths["normal"][1001]).astype(np.float64) / 65535.0 * 2.0 - 1.0
    expected = _height_normal(x, y)
    if mirrored:
        expected[..., 0] *= -1.0  # tangent is -x where u runs along -x; +V (green) stays +y
    cosine = np.clip(np.sum(encoded * expected, axis=-1) / np.linalg.norm(encoded, axis=-1), -1, 1)
    angle = np.degrees(np.arccos(cosine))[mask]
    assert angle.mean() < 0.05
    assert angle.max() < 0.2


def test_green_channel_is_opengl_plus_v(tmp_path: Path) -> None:
    # A ramp rising along +y tilts the normal towards -y: green below mid-grey (OpenGL convention).
    high = grid_plane(40, 1.2)
    verts = high.vertices - np.float32([0.1, 0.1, 0.0])
    verts[:, 2] = 0.1 * verts[:, 1]
    result = bake_maps(high.with_(vertices=verts), _plane_low(False), maps=["normal"], size=32, out_dir=tmp_path)
    normal = _read_png(result.paths["normal"][1001]).astype(np.float64) / 65535.0
    mask = _read_png(result.paths["mask"][1001]) > 0
    assert np.all(normal[..., 1][mask] < 0.5 - 0.03)
    assert np.all(np.abs(normal[..., 0][mask] - 0.5) < 0.01)


def _wavy(d: NDArray[np.float64]) -> NDArray[np.float64]:
    return np.sin(3 * d[:, 0]) * np.cos(2 * d[:, 1]) + 0.5 * d[:, 2] ** 2


def _radius(d: NDArray[np.float64]) -> NDArray[np.float64]:
    return 1.0 + 0.05 * _wavy(d)


@pytest.fixture(scope="module")
def sphere_pair() -> tuple[TriMesh, TriMesh]:
    from lifecast.uv import unwrap

    dense = icosphere(5)
    d = dense.vertices.astype(np.float64)
    d /= np.linalg.norm(d, axis=1, keepdims=True)
    high = dense.with_(
        vertices=(d * _radius(d)[:, None]).astype(np.float32), vertex_colors=(d * 0.5 + 0.5).astype(np.float32)
    )
    unwrapped = unwrap(icosphere(3), texture_size=256)
    low = unwrapped.mesh if hasattr(unwrapped, "mesh") else unwrapped
    return high, low


def _ray_to_analytic_surface(p: NDArray[np.float64], n: NDArray[np.float64]) -> NDArray[np.float64]:
    """Signed t with ``|p + t n| = radius(direction)`` (Newton-like fixed point)."""
    t = np.zeros(len(p))
    for _ in range(30):
        x = p + t[:, None] * n
        r = np.linalg.norm(x, axis=1)
        d = x / r[:, None]
        t += (_radius(d) - r) / np.maximum(np.sum(d * n, axis=1), 0.2)
    return t


def _analytic_normal(x: NDArray[np.float64]) -> NDArray[np.float64]:
    """Gradient of ``|x| - radius(x / |x|)`` by central differences."""

    def implicit(q: NDArray[np.float64]) -> NDArray[np.float64]:
        r = np.linalg.norm(q, axis=1)
        return r - _radius(q / r[:, None])

    eps = 1e-5
    grad = np.stack([(implicit(x + e) - implicit(x - e)) / (2 * eps) for e in np.eye(3) * eps], axis=1)
    return grad / np.linalg.norm(grad, axis=1, keepdims=True)


def _low_texels(low: TriMesh, size: int) -> tuple[NDArray[np.bool_], NDArray[np.float64], NDArray[np.float64]]:
    """Reference low-surface points and unit normals at every texel (numpy rasterizer)."""
    from lifecast.bake.rasterize import rasterize_uv
    from lifecast.bake.sampling import interpolate_corners

    assert low.uvs is not None and low.face_uvs is not None
    face, bary = rasterize_uv(low.uvs[low.face_uvs], size)
    covered = face >= 0
    f, b = face[covered], bary[covered]
    p = interpolate_corners(low.vertices, low.faces, f, b).astype(np.float64)
    normals = vertex_normals_angle_weighted(low.vertices, low.faces)
    n = interpolate_corners(normals, low.faces, f, b).astype(np.float64)
    return covered, p, n / np.linalg.norm(n, axis=1, keepdims=True)


def test_displaced_sphere_matches_analytic_maps(tmp_path: Path, sphere_pair: tuple[TriMesh, TriMesh]) -> None:
    high, low = sphere_pair
    size = 256
    result = bake_maps(
        high, low, maps=["displacement", "object_normal", "albedo", "ao"], size=size, out_dir=tmp_path, ao_samples=4
    )
    assert result.cage_misses == 0
    covered, p, n = _low_texels(low, size)
    assert np.array_equal(covered, _read_png(result.paths["mask"][1001]) > 0)

    expected_t = _ray_to_analytic_surface(p, n)
    error = np.abs(read_exr(result.paths["displacement"][1001])[covered] - expected_t)
    assert error.mean() < 5e-4
    assert np.percentile(error, 99) < 1e-3

    normal = _read_png(result.paths["object_normal"][1001])[covered].astype(np.float64) / 65535.0 * 2 - 1
    expected_n = _analytic_normal(p + expected_t[:, None] * n)
    cosine = np.sum(normal * expected_n, axis=1) / np.linalg.norm(normal, axis=1)
    assert np.degrees(np.arccos(np.clip(cosine, -1, 1))).mean() < 0.2

    albedo = _read_png(result.paths["albedo"][1001])[covered].astype(np.float64) / 255.0
    hit = p + expected_t[:, None] * n
    assert np.abs(albedo - (hit / np.linalg.norm(hit, axis=1, keepdims=True) * 0.5 + 0.5)).mean() < 0.01
    ao = _read_png(result.paths["ao"][1001])[covered]
    assert ao.mean() > 200  # a convex-ish blob is nearly unoccluded


def test_round_trip_subdivided_low_displaced_by_the_map_lands_on_high(
    tmp_path: Path, sphere_pair: tuple[TriMesh, TriMesh]
) -> None:
    import open3d as o3d
    import trimesh

    from lifecast.bake.sampling import sample_bilinear

    high, low = sphere_pair
    assert low.uvs is not None and low.face_uvs is not None
    result = bake_maps(high, low, maps=["displacement"], size=512, out_dir=tmp_path)
    displacement = read_exr(result.paths["displacement"][1001])

    # Split vertices at UV seams so positions, normals and UVs subdivide together.
    corner_keys = np.stack([low.faces.ravel(), low.face_uvs.ravel()], axis=1)
    keys, corner_vertex = np.unique(corner_keys, axis=0, return_inverse=True)
    normals = vertex_normals_angle_weighted(low.vertices, low.faces)
    attributes = {"uv": low.uvs[keys[:, 1]], "normal": normals[keys[:, 0]]}
    verts, faces, attrs = trimesh.remesh.subdivide(
        low.vertices[keys[:, 0]], corner_vertex.reshape(-1, 3), vertex_attributes=attributes
    )
    verts, faces, attrs = trimesh.remesh.subdivide(verts, faces, vertex_attributes=attrs)
    n = attrs["normal"] / np.linalg.norm(attrs["normal"], axis=1, keepdims=True)
    d = sample_bilinear(displacement[..., None], attrs["uv"])[:, 0]
    displaced = (verts + n * d[:, None]).astype(np.float32)

    def distances(points: NDArray[np.float32], vertices: NDArray[np.float32], tris: NDArray[np.int64]) -> NDArray:
        scene = o3d.t.geometry.RaycastingScene()
        scene.add_triangles(o3d.core.Tensor(vertices), o3d.core.Tensor(np.asarray(tris, np.uint32)))
        return scene.compute_distance(o3d.core.Tensor(points)).numpy()

    to_high = distances(displaced, high.vertices, high.faces)
    to_rebuilt = distances(high.vertices, displaced, faces)
    hausdorff = max(to_high.max(), to_rebuilt.max())
    assert to_high.mean() < 3e-4 and to_rebuilt.mean() < 3e-4  # measured 8.6e-5 / 8.3e-5
    assert hausdorff < 3e-3  # measured 1.05e-3, against a displacement range of 0.13


def _layers(*heights: float) -> TriMesh:
    """Flat sheets at the given heights over the plane's UV square (a scan with two layers, like a lip over a tooth)."""
    sheets = []
    for h in heights:
        sheet = grid_plane(11, 1.2)
        sheets.append((sheet.vertices - np.float32([0.1, 0.1, -h]), sheet.faces))
    offsets = np.cumsum([0] + [len(v) for v, _ in sheets[:-1]])
    return TriMesh(
        np.concatenate([v for v, _ in sheets]).astype(np.float32),
        np.concatenate([f + o for (_, f), o in zip(sheets, offsets, strict=True)]).astype(np.int32),
    )


def test_one_ray_from_the_cage_bakes_the_outermost_layer(tmp_path: Path) -> None:
    # Blender's "selected to active" with a cage: the ray starts cage above the low surface and runs
    # inwards, so of two layers within the cage the outer (higher) one is baked, above or below.
    low = _plane_low(False)
    for heights, expected in (((0.02, -0.01), 0.02), ((-0.01, -0.03), -0.01), ((0.01, 0.04, -0.02), 0.04)):
        result = bake_maps(_layers(*heights), low, maps=["displacement"], size=16, out_dir=tmp_path, cage=0.05)
        assert result.cage_misses == 0
        mask = _read_png(result.paths["mask"][1001]) > 0
        np.testing.assert_allclose(read_exr(result.paths["displacement"][1001])[mask], expected, atol=1e-6)
    # A layer beyond the cage is not seen: the one within it is, even though it is farther below.
    result = bake_maps(_layers(0.08, -0.03), low, maps=["displacement"], size=16, out_dir=tmp_path, cage=0.05)
    mask = _read_png(result.paths["mask"][1001]) > 0
    np.testing.assert_allclose(read_exr(result.paths["displacement"][1001])[mask], -0.03, atol=1e-6)


def test_a_cage_miss_gets_no_displacement(tmp_path: Path) -> None:
    # A sheet 0.02 above the plane with a gap (x 0.38-0.62, its faces around x = 0.5 removed) that the rays fall
    # through. The closest point of a texel over the gap is the gap's rim, up to 0.12 away sideways: nothing lies
    # within the cage along its normal, so its height is unknown and baked as 0, not as the distance to the rim.
    low = _plane_low(False)
    near = _layers(0.02)
    keep = ~((near.vertices[:, 0] > 0.4) & (near.vertices[:, 0] < 0.6))
    faces = near.faces[keep[near.faces].all(axis=1)]
    result = bake_maps(near.with_(faces=faces), low, maps=["displacement"], size=32, out_dir=tmp_path, cage=0.05)
    disp = read_exr(result.paths["displacement"][1001])
    mask = _read_png(result.paths["mask"][1001]) > 0
    u, _ = _texel_uv(32)
    gap = mask & (u > 0.4) & (u < 0.6)
    hit = mask & ((u < 0.35) | (u > 0.65))
    assert result.cage_misses == np.count_nonzero(mask & (u > 0.38) & (u < 0.62)) > 0
    np.testing.assert_allclose(disp[gap], 0.0, atol=1e-6)
    np.testing.assert_allclose(disp[hit], 0.02, atol=1e-6)


def test_the_automatic_cage_is_measured_on_the_vertices_on_the_scan(tmp_path: Path) -> None:
    # A low mesh with a flap 0.3 above the scan (a template's mouth bag): measured on every vertex the cage
    # would be about 0.6; measured on the vertices on the scan it is the scan's own few thousandths.
    low = _plane_low(False)
    flap = low.vertices[:, 0] > 0.85
    lifted = low.with_(vertices=low.vertices + np.where(flap[:, None], np.float32([0, 0, 0.3]), 0).astype(np.float32))
    high = _height_field(41)
    every = bake_maps(high, lifted, maps=["displacement"], size=16, out_dir=tmp_path / "a")
    on_scan = bake_maps(high, lifted, maps=["displacement"], size=16, out_dir=tmp_path / "b", on_scan=~flap)
    assert every.cage > 0.5
    assert on_scan.cage < 0.1
    with pytest.raises(InputError, match="on-scan vertex mask"):
        bake_maps(high, lifted, maps=["displacement"], size=16, out_dir=tmp_path / "c", on_scan=flap[:-1])


def test_the_automatic_cage_sees_the_detail_between_the_low_vertices(tmp_path: Path) -> None:
    # A decimated LOD's vertices sit on the scan while its triangles cut through the detail between them. Here the
    # scan is a bump field that is 0 on every grid line of the low plane (spacing 1/8) and up to 0.01 between them:
    # measured at the low vertices alone the cage was 0.1 % of the diagonal (0.0014) and most texels missed.
    low = _plane_low(False)
    high = grid_plane(161, 1.0)
    x, y = high.vertices[:, 0].astype(np.float64), high.vertices[:, 1].astype(np.float64)
    bumps = 0.01 * np.abs(np.sin(8 * np.pi * x) * np.sin(8 * np.pi * y))
    high = high.with_(vertices=np.column_stack([x, y, bumps]).astype(np.float32))
    result = bake_maps(high, low, maps=["displacement"], size=64, out_dir=tmp_path)
    assert 0.01 < result.cage < 0.03  # twice the bumps' p99 (about 0.0098) plus 0.1 % of the diagonal
    assert result.cage_misses == 0
    mask = _read_png(result.paths["mask"][1001]) > 0
    assert float(read_exr(result.paths["displacement"][1001])[mask].max()) > 0.009


def test_vertex_normals_are_angle_weighted() -> None:
    rng = np.random.default_rng(3)
    mesh = icosphere(3)
    v = mesh.vertices.astype(np.float64) * rng.uniform(0.8, 1.2, (len(mesh.vertices), 1))
    corners = v[mesh.faces]
    face_n = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    face_n /= np.linalg.norm(face_n, axis=1, keepdims=True)
    expected = np.zeros_like(v)
    for k in range(3):
        a = corners[:, (k + 1) % 3] - corners[:, k]
        b = corners[:, (k + 2) % 3] - corners[:, k]
        cos = np.sum(a * b, axis=1) / np.linalg.norm(a, axis=1) / np.linalg.norm(b, axis=1)
        np.add.at(expected, mesh.faces[:, k], face_n * np.arccos(cos)[:, None])
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    np.testing.assert_allclose(vertex_normals_angle_weighted(v.astype(np.float32), mesh.faces), expected, atol=1e-5)


def test_tangents_follow_u_and_flip_sign_on_mirrored_charts() -> None:
    for mirrored, expected_t, expected_sign in ((False, [1, 0, 0], 1.0), (True, [-1, 0, 0], -1.0)):
        low = _plane_low(mirrored)
        assert low.uvs is not None and low.face_uvs is not None
        normals = np.tile(np.float32([0, 0, 1]), (len(low.vertices), 1))
        tangent, sign = corner_tangents(low.vertices, low.faces, normals, low.uvs, low.face_uvs)
        np.testing.assert_allclose(tangent.reshape(-1, 3), np.tile(expected_t, (tangent.size // 3, 1)), atol=1e-6)
        assert np.all(sign == expected_sign)


def test_exr_round_trip_is_exact(tmp_path: Path) -> None:
    image = np.random.default_rng(0).normal(size=(17, 23)).astype(np.float32)
    write_exr(tmp_path / "d.exr", image)
    assert np.array_equal(read_exr(tmp_path / "d.exr"), image)


def test_udims_bake_each_tile_with_udim_file_names(tmp_path: Path) -> None:
    low = _plane_low(False)
    assert low.uvs is not None and low.face_uvs is not None
    # Right half of the plane into tile 1002.
    right = low.vertices[:, 0] > 0.5
    uvs = low.uvs.copy()
    face_uvs = low.face_uvs.copy()
    shifted = np.concatenate([uvs, uvs[right] + [1.0 - 0.5, 0.0]])
    new_index = np.full(len(uvs), -1)
    new_index[right] = len(uvs) + np.arange(right.sum())
    faces_right = right[low.faces].all(axis=1)
    face_uvs[faces_right] = new_index[low.faces[faces_right]]
    low = low.with_(uvs=shifted.astype(np.float32), face_uvs=face_uvs.astype(np.int32))
    with pytest.raises(InputError, match=r"outside 0-1.*1002"):
        bake_maps(_height_field(41), low, maps=["displacement"], size=32, out_dir=tmp_path)
    result = bake_maps(_height_field(41), low, maps=["displacement"], size=32, out_dir=tmp_path, udims="auto", name="h")
    assert sorted(result.paths["displacement"]) == [1001, 1002]
    assert (tmp_path / "h_displacement.1002.exr").is_file()
    assert (tmp_path / "h_mask.1001.png").is_file()


def test_bad_inputs_say_what_and_where(tmp_path: Path) -> None:
    high, low = _height_field(41), _plane_low(False)
    with pytest.raises(InputError, match="no UVs"):
        bake_maps(high, grid_plane(5), maps=["normal"], size=16, out_dir=tmp_path)
    with pytest.raises(InputError, match="do not overlap"):
        bake_maps(high.with_(vertices=high.vertices + 10.0), low, maps=["normal"], size=16, out_dir=tmp_path)
    with pytest.raises(InputError, match=r"cage misses.*UDIM 1001"):
        bake_maps(high, low, maps=["normal"], size=16, out_dir=tmp_path, cage=1e-6)
    with pytest.raises(InputError, match="albedo needs"):
        bake_maps(high, low, maps=["albedo"], size=16, out_dir=tmp_path)
    with pytest.raises(InputError, match="unknown map"):
        bake_maps(high, low, maps=["specular"], size=16, out_dir=tmp_path)
    doubled = TriMesh(  # every face twice, both copies on the same UVs
        np.concatenate([low.vertices, low.vertices + np.float32([0, 0, 0.01])]),
        np.concatenate([low.faces, low.faces + len(low.vertices)]).astype(np.int32),
        uvs=low.uvs,
        face_uvs=np.concatenate([low.faces, low.faces]).astype(np.int32),
    )
    with pytest.raises(InputError, match=r"overlapping UVs: [\d,]+ texels of UDIM 1001"):
        bake_maps(high, doubled, maps=["normal"], size=32, out_dir=tmp_path)
    assert not list(tmp_path.glob("*_normal.*"))  # nothing half-baked was written


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here: the CPU/CUDA agreement is not tested")
def test_cuda_bake_matches_cpu(tmp_path: Path) -> None:
    high, low = _height_field(), _plane_low(False)
    cpu = bake_maps(high, low, maps=["normal", "displacement"], size=128, out_dir=tmp_path / "cpu")
    gpu = bake_maps(high, low, maps=["normal", "displacement"], size=128, out_dir=tmp_path / "gpu", device="cuda")
    assert np.allclose(read_exr(cpu.paths["displacement"][1001]), read_exr(gpu.paths["displacement"][1001]), atol=1e-5)
    a = _read_png(cpu.paths["normal"][1001]).astype(np.int64)
    b = _read_png(gpu.paths["normal"][1001]).astype(np.int64)
    assert np.abs(a - b).max() <= 64  # 16-bit: about 0.1 % of the range


def test_raster_feed_serves_the_same_bands_as_the_rasterizer() -> None:
    """The rasterizer thread gives every tile's head, then exactly the non-empty bands of a direct pass."""
    from lifecast.bake.raster_feed import TEXEL_CHUNK, RasterFeed, tile_rasterizer
    from lifecast.bake.validation import select_tiles

    low = _plane_low(False)
    tiles, face_tile = select_tiles(low, None)
    size = 1024  # several bands of TEXEL_CHUNK texels
    feed = RasterFeed(low, tiles, face_tile, size, "cpu")
    try:
        head = feed.next_tile()
        got = []
        while (band := feed.next_band()) is not None:
            got.append(band)
    finally:
        feed.close()
    direct = tile_rasterizer(low, np.arange(len(low.faces)), 1001, size, "cpu")
    want = [b for b in direct.bands(TEXEL_CHUNK) if len(b.texel)]
    assert head.udim == 1001 and head.overlap == direct.overlap_count() == 0
    assert head.interior == direct.interior_texels()
    assert len(got) == len(want) > 1
    for a, b in zip(got, want, strict=True):
        np.testing.assert_array_equal(a.texel, b.texel)
        np.testing.assert_array_equal(a.face, b.face)
        np.testing.assert_array_equal(a.bary, b.bary)
    assert feed.seconds > 0


def test_raster_feed_raises_its_errors_in_the_baker_and_closes_early() -> None:
    from lifecast.bake.raster_feed import RasterFeed

    low = _plane_low(False)
    broken = RasterFeed(low, [1001], np.zeros(len(low.faces), np.int64), -5, "cpu")  # a negative size
    with pytest.raises(ValueError, match="size must be positive"):
        broken.next_tile()
    broken.close()
    # Closed before anything was read: the thread, blocked on a full queue, stops.
    unread = RasterFeed(low, [1001], np.full(len(low.faces), 1001), 4096, "cpu")
    unread.close()
    assert not unread._thread.is_alive()

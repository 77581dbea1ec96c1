"""Chart-aware inpainting (lifecast.ml.inpaint): colour comes from the surface around a hole, never from a chart
that only lies close in UV; seams and UDIM tiles are no obstacle; known texels are kept bit for bit."""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray

from lifecast.bake.padding import pad_edges
from lifecast.errors import InputError
from lifecast.mesh import TriMesh
from lifecast.ml import surface_fill
from lifecast.ml.chart_smooth import chart_links, smooth_texels
from lifecast.ml.coverage_holes import CaptureRig, coverage_holes
from lifecast.ml.geometry_maps import GeometryTile, geometry_bands, geometry_maps
from lifecast.ml.inpaint import Shading, _proxy_picks, inpaint_tiles, pad_gutters, push_pull, telea
from lifecast.ml.run_inpaint import coarse_occlusion, with_coarse_occlusion
from lifecast.ml.sh import FIT_SAMPLES
from lifecast.ml.shading_proxy import fit_proxy
from tests.ml_helpers import quad_mesh, square

RED = np.array([0.8, 0.05, 0.05], np.float32)
BLUE = np.array([0.05, 0.05, 0.8], np.float32)


def tile_maps(mesh: TriMesh, size: int, udims: list[int] | None = None) -> list[GeometryTile]:
    return geometry_maps(mesh, size, udims=udims or "auto", ao_samples=0, cavity=False)


def test_no_colour_crosses_into_a_chart_that_is_only_near_in_uv() -> None:
    # Two squares 10 units apart in 3D, 3 texels apart in UV: red on the left chart, blue on the right.
    mesh = quad_mesh([(square(0.0), (0.05, 0.1, 0.48, 0.9)), (square(10.0), (0.52, 0.1, 0.95, 0.9))])
    (tile,) = tile_maps(mesh, 64)
    left = tile.covered & (np.arange(64)[None, :] < 32)
    texture = np.where(left[..., None], RED, BLUE).astype(np.float32)
    # The hole is the left chart's last 8 columns: it touches the UV gap to the blue chart.
    cols = np.flatnonzero(left.any(axis=0))
    hole = left & (np.arange(64)[None, :] > cols[-1] - 8)
    assert hole.sum() > 100

    (ours,) = inpaint_tiles([texture], [hole], [tile])
    blue_share = ours[hole][:, 2] / ours[hole].sum(axis=1)
    assert blue_share.max() < 0.1  # measured 0.0566: red's own share is 0.0556

    # Telea sees one image: the blue chart across the gap bleeds into the hole (the test bites).
    theirs = telea(texture, hole, tile.covered)
    bled = theirs[hole][:, 2] / theirs[hole].sum(axis=1)
    assert (bled > 0.2).sum() > 100  # measured 207 of the hole's 416 texels, up to 0.89 blue


def test_thin_gap_facing_surfaces_do_not_mix() -> None:
    # Two unit sheets facing each other 1.5 texels apart in 3D (an upper and a lower lip), far apart in UV
    # (each 0.4 x 0.4 of the tile: 25.6 texels a unit).
    mesh = quad_mesh([(square(0.0), (0.05, 0.3, 0.45, 0.7)), (square(1.5 / 25.6, flip=True), (0.55, 0.3, 0.95, 0.7))])
    (tile,) = tile_maps(mesh, 64)
    left = tile.covered & (np.arange(64)[None, :] < 32)
    texture = np.where(left[..., None], RED, BLUE).astype(np.float32)
    ys, xs = np.nonzero(left)
    cy, cx = ys.mean(), xs.mean()
    yy, xx = np.mgrid[:64, :64]
    hole = left & ((yy - cy) ** 2 + (xx - cx) ** 2 <= 4.5**2)

    def blue_share(image: NDArray[np.float32]) -> float:
        return float((image[hole][:, 2] / image[hole].sum(axis=1)).max())

    (ours,) = inpaint_tiles([texture], [hole], [tile])
    assert blue_share(ours) < 0.1  # red's own share is 0.056
    # The 3D fill alone, before the blend from the rim (which hides it in a hole this small).
    (unblended,) = inpaint_tiles([texture], [hole], [tile], smooth_iterations=0)
    assert blue_share(unblended) < 0.1

    # Without the normal buckets the sheet above, nearer than the hole's rim, tints the hole (the test bites).
    original = surface_fill.NORMAL_LEVELS
    try:
        surface_fill.NORMAL_LEVELS = 0
        (blind,) = inpaint_tiles([texture], [hole], [tile], smooth_iterations=0)
    finally:
        surface_fill.NORMAL_LEVELS = original
    assert blue_share(blind) > 0.3  # measured 0.89 (ours 0.0556, red's own share)


def cylinder(segments: int = 48, rings: int = 48) -> TriMesh:
    """A unit-radius open cylinder, height 2 pi (square texels), its UVs cut by one seam at angle 0."""
    theta = 2 * np.pi * np.arange(segments) / segments
    z = np.linspace(-np.pi, np.pi, rings + 1)
    vertices = np.array([(np.cos(t), np.sin(t), h) for h in z for t in theta], np.float32)
    uvs = np.array(
        [(0.05 + 0.9 * i / segments, 0.05 + 0.9 * j / rings) for j in range(rings + 1) for i in range(segments + 1)]
    )
    faces, face_uvs = [], []
    for j in range(rings):
        for i in range(segments):
            a, b = j * segments + i, j * segments + (i + 1) % segments
            c, d = a + segments, b + segments
            ua, ub = j * (segments + 1) + i, j * (segments + 1) + i + 1
            uc, ud = ua + segments + 1, ub + segments + 1
            faces += [(a, b, d), (a, d, c)]
            face_uvs += [(ua, ub, ud), (ua, ud, uc)]
    return TriMesh(
        vertices, np.asarray(faces, np.int32), uvs=uvs.astype(np.float32), face_uvs=np.asarray(face_uvs, np.int32)
    )


def smooth_colour(p: NDArray[np.float32]) -> NDArray[np.float32]:
    """A smooth colour over the cylinder that changes across the seam (angle 0: y changes sign there)."""
    x, y, z = p[..., 0], p[..., 1], p[..., 2]
    return np.stack([0.5 + 0.3 * y, 0.5 - 0.3 * y, 0.4 + 0.1 * x + 0.03 * z], axis=-1).astype(np.float32)


def test_a_hole_across_a_uv_seam_is_filled_continuously() -> None:
    (tile,) = tile_maps(cylinder(), 128)
    truth = np.where(tile.covered[..., None], smooth_colour(tile.position), 0.0).astype(np.float32)
    angle = np.arctan2(tile.position[..., 1], tile.position[..., 0])
    hole = tile.covered & (np.abs(angle) < 0.5) & (np.abs(tile.position[..., 2]) < 1.0)
    # Both sides of the seam: texels at the left and at the right end of the chart.
    cols = np.flatnonzero(hole.any(axis=0))
    assert cols.min() < 20 and cols.max() > 108

    (ours,) = inpaint_tiles([truth], [hole], [tile])
    (padded,) = [push_pull(truth, hole, tile.covered)]
    err = np.abs(ours[hole] - truth[hole]).max(axis=1)
    err_pp = np.abs(padded[hole] - truth[hole]).max(axis=1)
    print(f"seam hole: mean error {err.mean():.4f} (push-pull {err_pp.mean():.4f}), max {err.max():.4f}")
    # Measured: mean 0.0088, max 0.0188; push-pull, each side of the seam filled from its own side: mean 0.116.
    assert err.mean() < 0.018
    assert err.max() < 0.04
    assert err_pp.mean() > 4 * err.mean()
    # The seam itself: the texels either side of it at the same height agree.
    row = int(np.median(np.flatnonzero(hole.any(axis=1))))
    first, last = np.flatnonzero(tile.covered[row])[[0, -1]]
    assert np.abs(ours[row, first] - ours[row, last]).max() < 0.03


def test_a_hole_next_to_a_udim_seam_fills_from_the_other_tile() -> None:
    # A strip along x, [0, 1] in tile 1001 and [1, 2] in tile 1002: one surface, cut between the tiles.
    mesh = quad_mesh(
        [
            (np.array([[0, 0, 0], [1, 0, 0], [0, 1, 0], [1, 1, 0]], np.float64), (0.05, 0.05, 0.95, 0.95)),
            (np.array([[1, 0, 0], [2, 0, 0], [1, 1, 0], [2, 1, 0]], np.float64), (1.05, 0.05, 1.95, 0.95)),
        ]
    )
    tiles = tile_maps(mesh, 64, [1001, 1002])
    assert [t.udim for t in tiles] == [1001, 1002]
    dark, light = np.float32(0.2), np.float32(0.8)
    textures = [
        np.where(t.covered[..., None], np.full(3, dark if t.udim == 1001 else light), 0).astype(np.float32)
        for t in tiles
    ]
    x = tiles[1].position[..., 0]
    hole = tiles[1].covered & (x < 1.4)
    fill = [np.zeros((64, 64), bool), hole]

    out = inpaint_tiles(textures, fill, tiles)
    near_seam = hole & (x < 1.08)
    far_side = hole & (x > 1.32)
    print(f"UDIM hole: {out[1][near_seam].mean():.3f} next to 1001, {out[1][far_side].mean():.3f} at its far side")
    # Measured: 0.256 next to tile 1001 (dark 0.2 there), 0.723 at the far side (light 0.8 beyond it).
    assert out[1][near_seam].mean() < 0.32
    assert out[1][far_side].mean() > 0.65
    # Filled within tile 1002 alone, the hole would only see the light side.
    assert push_pull(textures[1], hole, tiles[1].covered)[near_seam].mean() > 0.7


def random_case(seed: int = 0) -> tuple[list[NDArray[np.float32]], list[NDArray[np.bool_]], list[GeometryTile]]:
    (tile,) = tile_maps(cylinder(24, 24), 64)
    rng = np.random.default_rng(seed)
    texture = rng.random((64, 64, 3), dtype=np.float32)
    fill = rng.random((64, 64)) < 0.2
    return [texture], [fill], [tile]


def test_known_texels_are_unchanged_bit_for_bit() -> None:
    textures, fill, tiles = random_case()
    before = [t.copy() for t in textures]
    (out,) = inpaint_tiles(textures, fill, tiles)
    known = tiles[0].covered & ~fill[0]
    assert np.array_equal(out[known], textures[0][known])
    assert np.array_equal(textures[0], before[0])  # the input is not written to
    assert np.isfinite(out).all()
    filled = ~known
    assert not np.array_equal(out[filled], textures[0][filled])


def test_an_empty_fill_mask_changes_no_surface_texel() -> None:
    textures, _, tiles = random_case(1)
    empty = [np.zeros((64, 64), bool)]
    (out,) = inpaint_tiles(textures, empty, tiles)
    cov = tiles[0].covered
    assert np.array_equal(out[cov], textures[0][cov])
    # The gutter is padded as the baker pads it.
    assert np.array_equal(out, pad_edges(textures[0], cov))


def test_nothing_known_is_an_input_error() -> None:
    textures, _, tiles = random_case(2)
    with pytest.raises(InputError, match="nothing to inpaint from"):
        inpaint_tiles(textures, [np.ones((64, 64), bool)], tiles)
    with pytest.raises(InputError, match="one texture, fill mask and geometry tile per tile"):
        inpaint_tiles(textures, [], tiles)
    with pytest.raises(InputError, match="must be"):
        inpaint_tiles([textures[0][:32]], [np.zeros((32, 64), bool)], tiles)


def test_chart_links_cut_between_charts_packed_side_by_side() -> None:
    # Two charts touching in UV (no gutter), 10 units apart in 3D.
    mesh = quad_mesh([(square(0.0), (0.05, 0.1, 0.5, 0.9)), (square(10.0), (0.5, 0.1, 0.95, 0.9))])
    (tile,) = tile_maps(mesh, 64)
    row = 32
    cols = np.flatnonzero(tile.covered[row])
    texels = row * 64 + cols
    links = chart_links(tile.position, tile.covered, texels, spacing=1.0 / 29)
    right_linked = links[:, 0] >= 0
    # Every texel links to its right neighbour except the last of each chart.
    assert (~right_linked).sum() == 2
    boundary = np.flatnonzero(~right_linked[:-1])
    assert len(boundary) == 1 and tile.position[row, cols[boundary[0]], 2] == 0.0


def sphere(n: int = 24) -> TriMesh:
    """A UV sphere, Y up, with a lat-long unwrap."""
    lat = np.linspace(0, np.pi, n + 1)
    lon = np.linspace(0, 2 * np.pi, n + 1)
    vertices, uvs = [], []
    for i, a in enumerate(lat):
        for j, b in enumerate(lon):
            vertices.append((np.sin(a) * np.cos(b), np.cos(a), np.sin(a) * np.sin(b)))
            uvs.append((0.02 + 0.96 * j / n, 0.98 - 0.96 * i / n))
    faces = []
    for i in range(n):
        for j in range(n):
            k = i * (n + 1) + j
            faces += [(k, k + 1, k + n + 2), (k, k + n + 2, k + n + 1)]
    f = np.asarray(faces, np.int32)
    return TriMesh(np.asarray(vertices, np.float32), f, uvs=np.asarray(uvs, np.float32), face_uvs=f.copy())


def test_coverage_holes_are_where_no_camera_looks() -> None:
    mesh = sphere()
    (tile,) = tile_maps(mesh, 64)
    (holes,) = coverage_holes(mesh, [tile], seed=3)
    y = tile.position[..., 1]
    cov = tile.covered
    # Nothing looks from below: the bottom cap is a hole; the equator (the eye-height ring sees it) is not.
    assert holes[cov & (y < -0.8)].all()
    assert not holes[cov & (np.abs(y) < 0.3)].any()
    assert not (holes & ~cov).any()
    # The same seed gives the same mask; a hair cap adds the top.
    assert np.array_equal(holes, coverage_holes(mesh, [tile], seed=3)[0])
    (capped,) = coverage_holes(mesh, [tile], seed=3, hair_cap=0.2)
    assert capped[cov & (y > 0.95)].all() and (capped | ~holes).all()
    # A rig with cameras below too leaves no hole on a convex sphere.
    (none,) = coverage_holes(mesh, [tile], rig=CaptureRig(ring=12, above=6, above_elevation_deg=-60), seed=3)
    assert none[cov & (y < -0.8)].sum() < holes[cov & (y < -0.8)].sum()


def test_the_shading_proxy_measures_how_much_occlusion_the_texture_shows() -> None:
    rng = np.random.default_rng(5)
    n = rng.normal(size=(4000, 3)).astype(np.float32)
    n /= np.linalg.norm(n, axis=1, keepdims=True)
    ao = rng.uniform(0.2, 1.0, 4000).astype(np.float32)
    albedo = (np.array([0.6, 0.4, 0.3], np.float32) * rng.uniform(0.8, 1.2, (4000, 1))).astype(np.float32)
    shown = fit_proxy(albedo * ao[:, None] ** 0.8, n, ao)
    painted = fit_proxy(albedo, n, ao)
    print(f"occlusion power: shown 0.8 -> {shown.ao_power:.3f}, painted -> {painted.ao_power:.3f}")
    # Measured: 0.80 and 0.00 (clipped from a slightly negative fit).
    assert abs(shown.ao_power - 0.8) < 0.1
    assert painted.ao_power < 0.1
    assert shown.sh_power == 0.0  # the normal's lighting only with lighting=True
    np.testing.assert_allclose(shown.shading(n[:3], ao[:3])[:, 0], ao[:3] ** shown.ao_power, rtol=1e-5)


# The banded path (issue #14: an 8K fill in the memory of a 4K one) against the whole image.


def test_geometry_bands_are_the_whole_maps_row_for_row() -> None:
    mesh = cylinder(24, 24)
    (whole,) = tile_maps(mesh, 64)
    (banded,) = geometry_bands(mesh, 64, band_texels=100)
    assert np.array_equal(banded.covered, whole.covered)
    for y0, y1 in [(0, 2), (10, 17), (31, 32), (60, 64)]:
        band = banded.band(y0, y1)
        assert band.row0 == y0
        assert np.array_equal(band.covered, whole.covered[y0:y1])
        assert np.array_equal(band.position, whole.position[y0:y1])
        assert np.array_equal(band.normal, whole.normal[y0:y1])
        assert np.array_equal(band.ao, np.ones((y1 - y0, 64), np.float32))
    for step in (1, 3):  # 1: kept from the coverage pass; 3: rasterized row by row
        assert np.array_equal(banded.sampled_positions(step), whole.position[::step, ::step])


@pytest.mark.parametrize("shading", ["occlusion", "lighting"])
def test_inpainting_in_bands_of_two_rows_equals_one_band(shading: Shading) -> None:
    # Two UDIM tiles of a bent strip (normals vary, so the "lighting" proxy is fitted), holes at the tiles' seam
    # and inside each tile, occlusion varying: bands of 2 rows against one band of the whole tile.
    mesh = quad_mesh(
        [
            (np.array([[0, 0, 0], [1, 0, 0.3], [0, 1, 0], [1, 1, 0.3]], np.float64), (0.05, 0.05, 0.95, 0.95)),
            (np.array([[1, 0, 0.3], [2, 0, 0], [1, 1, 0.3], [2, 1, 0]], np.float64), (1.05, 0.05, 1.95, 0.95)),
        ]
    )
    tiles = tile_maps(mesh, 64, [1001, 1002])
    rng = np.random.default_rng(5)
    tiles = [replace(t, ao=np.where(t.covered, 0.3 + 0.7 * t.position[..., 1], 1.0).astype(np.float32)) for t in tiles]
    textures = [(rng.random((64, 64, 3), dtype=np.float32) * 0.2 + 0.4 * t.ao[..., None]) for t in tiles]
    fill = [t.covered & (rng.random((64, 64)) < 0.05) for t in tiles]
    fill[1] |= tiles[1].covered & (tiles[1].position[..., 0] < 1.3)
    whole = inpaint_tiles(textures, fill, tiles, shading=shading, band_texels=64 * 64)
    banded = inpaint_tiles(textures, fill, tiles, shading=shading, band_texels=2 * 64)
    for w, b in zip(whole, banded, strict=True):
        assert np.abs(w - b).max() < 1e-6  # the pyramid's sums add up in another order: float rounding only
    changed = [np.abs(w - t).max(axis=-1) > 0 for w, t in zip(whole, textures, strict=True)]
    assert all(c[f].any() for c, f in zip(changed, fill, strict=True))  # the holes were filled


def test_the_rasterized_fill_equals_the_fill_from_full_size_maps() -> None:
    # fill_texture_set's path (maps rasterized per band, occlusion upsampled per band) against the full-size
    # maps with the occlusion upsampled whole (with_coarse_occlusion), occlusion measured at half the size.
    mesh = cylinder(24, 24)
    (tile,) = tile_maps(mesh, 64)
    rng = np.random.default_rng(6)
    texture = rng.random((64, 64, 3), dtype=np.float32)
    fill = rng.random((64, 64)) < 0.1
    (full,) = with_coarse_occlusion(mesh, [tile], [1001], size=32)
    banded = geometry_bands(mesh, 64, ao=coarse_occlusion(mesh, [1001], 64, size=32), band_texels=4 * 64)
    assert np.abs(banded[0].band(0, 64).ao - full.ao).max() < 1e-5  # bilinear, in bands against one resize
    (expected,) = inpaint_tiles([texture], [fill], [full])
    (out,) = inpaint_tiles([texture], [fill], banded, band_texels=4 * 64)
    assert np.abs(out - expected).max() < 1e-4


@pytest.mark.parametrize("shape", [(64, 48), (34, 50)])
def test_gutter_padding_in_bands_equals_pad_edges(shape: tuple[int, int]) -> None:
    rng = np.random.default_rng(7)
    image = rng.random((*shape, 3), dtype=np.float32)
    covered = cv2.GaussianBlur(rng.random(shape).astype(np.float32), (0, 0), 3) > 0.5
    out = image.copy()
    pad_gutters(out, covered, band_texels=2 * shape[1])
    assert np.array_equal(out, pad_edges(image, covered))


def test_the_proxys_texels_are_those_rng_choice_picks() -> None:
    rng = np.random.default_rng(8)
    known = rng.random((300, 400)) < 0.8  # 96,000 texels: more than FIT_SAMPLES, so a subset is drawn
    (picks,) = _proxy_picks([known])  # type: ignore[misc]
    flat = np.flatnonzero(known)
    expected = np.sort(np.random.default_rng(0).choice(flat, FIT_SAMPLES, replace=False))
    assert np.array_equal(picks, expected)


def test_a_pyramid_built_in_parts_and_around_queries_pulls_the_same() -> None:
    rng = np.random.default_rng(9)
    points = rng.random((5000, 3)).astype(np.float32)
    normals = rng.normal(size=(5000, 3)).astype(np.float32)
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    colors = rng.random((5000, 3)).astype(np.float32)
    queries = (rng.random((300, 3)) * 1.2 - 0.1).astype(np.float32)  # some outside the known points' bounds
    q_normals = normals[:300]
    whole = surface_fill.build_pyramid(points, normals, colors, 0.01)
    builder = surface_fill.PyramidBuilder(points.min(0), points.max(0), 0.01, queries=queries)
    for part in np.array_split(np.arange(5000), 3):
        builder.add(points[part], normals[part], colors[part])
    parts = builder.finish()
    assert len(parts.levels) == len(whole.levels)
    assert sum(len(level.keys) for level in parts.levels) < sum(len(level.keys) for level in whole.levels)
    expected = surface_fill.pull(whole, queries, q_normals)
    assert np.abs(surface_fill.pull(parts, queries, q_normals) - expected).max() < 1e-5


def test_the_texels_swept_and_read_are_the_whole_image_dilations() -> None:
    from scipy import ndimage

    from lifecast.ml import chart_smooth

    rng = np.random.default_rng(10)
    covered = cv2.GaussianBlur(rng.random((300, 90)).astype(np.float32), (0, 0), 4) > 0.45
    holes = covered & (cv2.GaussianBlur(rng.random((300, 90)).astype(np.float32), (0, 0), 6) > 0.52)
    original = chart_smooth._MASK_ROWS
    chart_smooth._MASK_ROWS = 7  # many bands, each reaching past the next
    try:
        (move,) = chart_smooth.moving_texels([holes], [covered], band=5)
        (read,) = chart_smooth.texels_read([move], [covered])
    finally:
        chart_smooth._MASK_ROWS = original
    near_fixed = ndimage.binary_dilation(covered & ~holes, structure=np.ones((3, 3), bool), iterations=5)
    expected = np.flatnonzero(holes & near_fixed)
    assert 0 < len(expected) < holes.sum()  # some hole texels are deeper than the band
    assert np.array_equal(move, expected)
    moving = np.zeros(covered.shape, bool)
    moving.reshape(-1)[move] = True
    cross = np.array([[0, 1, 0], [1, 1, 1], [0, 1, 0]], bool)
    border = covered & ~ndimage.binary_erosion(covered, structure=cross, border_value=0)
    assert np.array_equal(read, (ndimage.binary_dilation(moving, structure=cross, iterations=2) & covered) | border)


def test_a_pair_linked_only_across_a_seam_in_one_colour_converges() -> None:
    """Two one-texel charts of the same red-black colour, one surface point: each is the other's only link (across
    the seam) and both move in the same half-sweep. Over-relaxed, their difference doubled every sweep (an atlas of
    tiny charts gave values of 1e4 after 40 sweeps); damped, they meet in the middle."""
    covered = np.zeros((8, 8), bool)
    covered[2, 2] = covered[2, 6] = True  # (2 + 2) and (2 + 6) are both even: one colour
    image = np.zeros((8, 8, 3), np.float32)
    image[2, 6] = 1.0
    position = np.zeros((8, 8, 3), np.float32)
    normal = np.zeros((8, 8, 3), np.float32)
    normal[..., 2] = 1.0
    move = np.array([2 * 8 + 2, 2 * 8 + 6], np.int64)
    smooth_texels([image], [move], [position], [normal], [covered], 1.0, iterations=40)
    assert np.allclose(image[2, 2], 0.5) and np.allclose(image[2, 6], 0.5), image[2]

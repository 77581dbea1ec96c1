"""lifecast.bake.rasterize: UV-space coverage, barycentrics and conservative edges."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lifecast.bake import rasterize_uv
from tests.conftest import grid_plane


def texel_centres(size: int) -> np.ndarray:
    """``(size, size, 2)`` UV of every texel centre (row 0 at v = 1)."""
    c = (np.arange(size) + 0.5) / size
    u, v = np.meshgrid(c, 1.0 - c, indexing="xy")
    return np.stack([u, v], axis=-1)


def plane_uvs(n: int = 9, lo: float = 0.05, hi: float = 0.95) -> np.ndarray:
    """``(m, 3, 2)`` UV triangles of a grid plane laid out in ``[lo, hi]²``."""
    plane = grid_plane(n)
    uv = lo + (hi - lo) * plane.vertices[:, :2].astype(np.float64)
    return uv[plane.faces]


def uv_area(corners: np.ndarray) -> np.ndarray:
    e1, e2 = corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]
    return 0.5 * np.abs(e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0])


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 10_000), size=st.sampled_from([64, 128, 256]))
def test_strict_coverage_matches_uv_area(seed: int, size: int) -> None:
    rng = np.random.default_rng(seed)
    corners = rng.uniform(0.0, 1.0, (1, 3, 2))
    area_px = uv_area(corners).sum() * size * size
    face, _ = rasterize_uv(corners, size, margin_px=0.0)
    covered = np.count_nonzero(face >= 0)
    # Texel-centre sampling miscounts at most the texels the perimeter crosses.
    perimeter_px = np.linalg.norm(corners[0, [1, 2, 0]] - corners[0], axis=1).sum() * size
    assert abs(covered - area_px) <= perimeter_px + 4


def test_mesh_coverage_matches_total_area_and_has_no_cracks() -> None:
    corners = plane_uvs()
    size = 256
    face, _ = rasterize_uv(corners, size, margin_px=0.0)
    area_px = uv_area(corners).sum() * size * size
    assert abs(np.count_nonzero(face >= 0) - area_px) / area_px < 0.01
    # The square [0.05, 0.95]² is tiled without gaps: every texel centre inside it is covered.
    centres = texel_centres(size)
    inside = ((centres > 0.05 + 1e-6) & (centres < 0.95 - 1e-6)).all(axis=-1)
    assert (face[inside] >= 0).all()


def test_barycentrics_reproduce_texel_centres() -> None:
    corners = plane_uvs()
    size = 128
    face, bary = rasterize_uv(corners, size, margin_px=0.0)
    covered = face >= 0
    uv = np.einsum("nk,nkd->nd", bary[covered], corners[face[covered]])
    np.testing.assert_allclose(uv, texel_centres(size)[covered], atol=1e-5)
    np.testing.assert_allclose(bary[covered].sum(axis=1), 1.0, atol=1e-5)
    assert (bary[~covered] == 0).all()


def test_conservative_margin_grows_coverage_with_clamped_barycentrics() -> None:
    corners = np.array([[[0.3, 0.3], [0.7, 0.3], [0.5, 0.7]]])
    size = 64
    strict, _ = rasterize_uv(corners, size, margin_px=0.0)
    loose, bary = rasterize_uv(corners, size, margin_px=0.7)
    assert np.count_nonzero(loose >= 0) > np.count_nonzero(strict >= 0)
    assert ((loose >= 0) | (strict < 0)).all()  # the margin only adds texels
    assert (bary[loose >= 0] >= 0).all()
    np.testing.assert_allclose(bary[loose >= 0].sum(axis=1), 1.0, atol=1e-5)
    # Added texels lie within 0.7 px of an edge line (a bit more beyond sharp corners);
    # their clamped points are on the triangle, about a texel from their centres at most.
    added = (loose >= 0) & (strict < 0)
    uv = np.einsum("nk,kd->nd", bary[added], corners[0])
    assert (np.linalg.norm(uv - texel_centres(size)[added], axis=1) * size <= 1.5).all()


def test_row_zero_is_the_top_of_uv_space() -> None:
    top_triangle = np.array([[[0.1, 0.6], [0.9, 0.6], [0.5, 0.95]]])
    face, _ = rasterize_uv(top_triangle, 32)
    rows = np.nonzero(face >= 0)[0]
    assert rows.max() < 16


def test_inside_texels_win_over_margin_texels() -> None:
    corners = plane_uvs(3, 0.0, 1.0)  # two triangles sharing the diagonal, covering the tile
    size = 32
    face, bary = rasterize_uv(corners, size)
    # Each texel goes to the triangle that contains its centre, so no barycentric was clamped.
    centres = texel_centres(size)
    uv = np.einsum("hwk,hwkd->hwd", bary, corners[face])
    np.testing.assert_allclose(uv, centres, atol=1e-5)


def test_outside_the_tile_is_clipped() -> None:
    corners = np.array([[[-0.5, -0.5], [1.0, -0.5], [-0.5, 1.0]], [[1.2, 1.2], [1.8, 1.2], [1.5, 1.8]]])
    face, _ = rasterize_uv(corners, 16)
    assert set(np.unique(face)) == {-1, 0}


def test_rejects_bad_shapes() -> None:
    with pytest.raises(ValueError):
        rasterize_uv(np.zeros((3, 2)), 16)


def _random_layout(n: int, seed: int) -> np.ndarray:
    """``(n, 3, 2)`` small random triangles over (and a little beyond) the tile, many overlapping."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-0.05, 1.05, (n, 1, 2))
    return centres + rng.normal(0.0, 0.03, (n, 3, 2))


def _reference_raster(corners: np.ndarray, size: int, margin_px: float = 0.6) -> tuple[np.ndarray, np.ndarray, int]:
    """The previous engine's rasterizer, per (triangle, texel) candidate: nearest wins, then overlaps counted."""
    from lifecast.bake.rasterize import OVERLAP_DEPTH_PX, iter_candidates

    n = size * size
    face = np.full(n, -1, np.int64)
    best = np.full(n, np.inf)
    inside = []
    for faces, flat, _, outside in iter_candidates(corners, size, margin_px=margin_px):
        depth = np.maximum(outside, 0.0)
        np.minimum.at(best, flat, depth)
        won = depth <= best[flat]
        face[flat[won]] = faces[won]
        inside.append(flat[outside < -OVERLAP_DEPTH_PX])
    counts = np.bincount(np.concatenate(inside), minlength=n) if inside else np.zeros(n, np.int64)
    return face, best, int(np.count_nonzero(counts > 1))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_row_runs_match_the_candidate_rasterizer(seed: int) -> None:
    from lifecast.bake.rasterize import rasterize_texels

    corners = _random_layout(300, seed)
    size = 128
    face, best, overlap = _reference_raster(corners, size)
    raster = rasterize_texels(corners, size)
    np.testing.assert_array_equal(raster.texel, np.flatnonzero(face >= 0))
    assert raster.overlap == overlap > 0
    # The same triangle, except where two are equally good (centres inside both: any may win).
    same = raster.face == face[raster.texel]
    assert same.mean() > 0.9
    assert (best[raster.texel][~same] == 0).all()  # every disagreement is between two triangles holding the centre


@pytest.mark.parametrize("margin_px", [0.0, 0.6])
def test_bands_give_the_whole_tile(margin_px: float) -> None:
    from lifecast.bake.rasterize import TileRasterizer, rasterize_texels

    corners = _random_layout(200, 7)
    size = 100
    whole = rasterize_texels(corners, size, margin_px=margin_px)
    rasterizer = TileRasterizer(corners, size, margin_px=margin_px)
    bands = list(rasterizer.bands(texels_per_band=7 * size))  # 7 rows per band, the last one shorter
    assert len(bands) == 15
    np.testing.assert_array_equal(np.concatenate([b.texel for b in bands]), whole.texel)
    np.testing.assert_array_equal(np.concatenate([b.face for b in bands]), whole.face)
    np.testing.assert_array_equal(np.concatenate([b.bary for b in bands]), whole.bary)
    assert sum(b.overlap for b in bands) == rasterizer.overlap_count() == whole.overlap
    from lifecast.bake.rasterize import iter_candidates

    # Centres inside a triangle, counted per triangle: the candidates with no distance outside.
    inside = sum(int(np.count_nonzero(out <= 1e-6)) for *_, out in iter_candidates(corners, size, margin_px=0.0))
    assert abs(rasterizer.interior_texels() - inside) <= 2


def test_texel_raster_mask_and_image_form_agree() -> None:
    from lifecast.bake.rasterize import rasterize_texels

    corners = plane_uvs()
    raster = rasterize_texels(corners, 64)
    face, bary = rasterize_uv(corners, 64)
    np.testing.assert_array_equal(raster.mask(), face >= 0)
    np.testing.assert_array_equal(bary.reshape(-1, 3)[raster.texel], raster.bary)

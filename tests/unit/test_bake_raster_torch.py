"""The torch UV rasterizer against the numpy reference, and on CUDA against the CPU."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lifecast.bake.raster_torch import TorchTileRaster, rasterize_uv_torch
from lifecast.bake.rasterize import rasterize_uv


def _random_layout(n: int, seed: int) -> np.ndarray:
    """``(n, 3, 2)`` small random triangles scattered over (and a little beyond) the tile."""
    rng = np.random.default_rng(seed)
    centres = rng.uniform(-0.05, 1.05, (n, 1, 2))
    return (centres + rng.normal(0.0, 0.02, (n, 3, 2))).astype(np.float32)


def _grid_layout(n: int, seed: int = 0) -> np.ndarray:
    """A jittered shared-edge triangulated grid over the tile, as an unwrap would give (no overlaps)."""
    rng = np.random.default_rng(seed)
    xs = np.linspace(0.02, 0.98, n + 1)
    grid = np.stack(np.meshgrid(xs, xs, indexing="ij"), axis=-1)
    grid[1:-1, 1:-1] += rng.uniform(-0.25, 0.25, (n - 1, n - 1, 2)) * (xs[1] - xs[0])
    quads = [(grid[i, j], grid[i + 1, j], grid[i + 1, j + 1], grid[i, j + 1]) for i in range(n) for j in range(n)]
    tris = [[q[0], q[1], q[2]] for q in quads] + [[q[0], q[2], q[3]] for q in quads]
    return np.asarray(tris, np.float32)


@pytest.mark.parametrize("size", [64, 257])
def test_matches_numpy_rasterizer_face_for_face(size: int) -> None:
    corners = _grid_layout(12)
    face_np, bary_np = rasterize_uv(corners, size)
    raster = rasterize_uv_torch(corners, size)
    face_t = raster.face.numpy()
    assert np.array_equal(face_np >= 0, face_t >= 0)
    covered = face_np >= 0
    assert covered.mean() > 0.8
    # A texel centre within 1e-6 texel of a shared edge is a tie that the two may break differently.
    same = face_np[covered] == face_t[covered]
    assert same.mean() > 0.999
    np.testing.assert_allclose(raster.bary.numpy()[covered][same], bary_np[covered][same], atol=1e-5)
    assert not raster.overlap.any()


def test_random_overlapping_triangles_agree_except_ties() -> None:
    corners = _random_layout(400, seed=3)
    face_np, _ = rasterize_uv(corners, 128)
    raster = rasterize_uv_torch(corners, 128)
    face_t = raster.face.numpy()
    assert np.array_equal(face_np >= 0, face_t >= 0)
    covered = face_np >= 0
    # Where triangles overlap both give an inside triangle, but may pick different ones;
    # elsewhere they agree.
    overlap = raster.overlap.numpy()
    assert overlap.any()
    alone = covered & ~overlap
    assert (face_np[alone] == face_t[alone]).mean() > 0.99


def test_conservative_edges_leave_no_cracks_between_charts() -> None:
    corners = _grid_layout(7)
    plain = rasterize_uv_torch(corners, 200, margin_px=0.0).face.numpy()
    conservative = rasterize_uv_torch(corners, 200).face.numpy()
    assert np.count_nonzero(conservative >= 0) >= np.count_nonzero(plain >= 0)
    inner = conservative[10:-10, 10:-10]  # inside the grid's outline every texel is covered
    assert np.all(inner >= 0)


def test_small_batches_give_the_same_result() -> None:
    corners = _grid_layout(9)
    a = rasterize_uv_torch(corners, 150)
    b = rasterize_uv_torch(corners, 150, max_candidates=256)
    assert torch.equal(a.face, b.face)
    assert torch.allclose(a.bary, b.bary)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device here: the CPU/CUDA agreement is not tested")
def test_cuda_matches_cpu() -> None:
    corners = _random_layout(300, seed=5)
    cpu = rasterize_uv_torch(corners, 256)
    gpu = rasterize_uv_torch(corners, 256, device="cuda")
    assert torch.equal(cpu.face, gpu.face.cpu())
    assert torch.allclose(cpu.bary, gpu.bary.cpu(), atol=1e-5)


def test_engine_adapter_serves_the_torch_raster_in_bands_like_the_row_runs() -> None:
    # The CUDA engine path wraps the torch rasterizer's whole-tile result in bands; checked here on the CPU.
    from lifecast.bake.rasterize import TileRasterizer

    corners = _grid_layout(9).astype(np.float64)
    torch_tile = TorchTileRaster(corners, 120, "cpu")
    rows = TileRasterizer(corners, 120)
    a = list(torch_tile.bands(1000))
    b = list(rows.bands(1000))
    assert len(a) > 1
    np.testing.assert_array_equal(np.concatenate([x.texel for x in a]), np.concatenate([x.texel for x in b]))
    same = np.concatenate([x.face for x in a]) == np.concatenate([x.face for x in b])
    assert same.mean() > 0.999
    assert torch_tile.overlap_count() == rows.overlap_count() == 0

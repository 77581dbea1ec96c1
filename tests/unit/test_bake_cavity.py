"""The cavity map: vertex heights above the neighbourhood on known shapes, and the baked map on a plane."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from numpy.typing import NDArray

from lifecast.bake.cavity import DEPTH_PERCENTILE, cavity_values, default_cavity_depth, vertex_heights
from lifecast.bake.engine import bake_maps
from lifecast.errors import InputError
from lifecast.mesh import TriMesh
from tests.conftest import grid_plane, icosphere

PIT, BUMP = (0.2975, 0.5), (0.7025, 0.5)  # on grid vertices (spacing 0.0075 from -0.1)
DEPTH, SIGMA = 0.01, 0.02


def _pitted_plane(n: int = 161) -> TriMesh:
    """A plane over [-0.1, 1.1]^2, a Gaussian pit (depth 0.01) at ``PIT`` and a bump of the same size at ``BUMP``."""
    plane = grid_plane(n, 1.2)
    xy = plane.vertices[:, :2].astype(np.float64) - 0.1

    def gauss(centre: tuple[float, float]) -> NDArray[np.float64]:
        return DEPTH * np.exp(-np.sum((xy - centre) ** 2, axis=1) / (2 * SIGMA**2))

    z = gauss(BUMP) - gauss(PIT)
    return plane.with_(vertices=np.column_stack([xy, z]).astype(np.float32))


def _on_grid(
    values: NDArray[np.floating], x: NDArray[np.float64], y: NDArray[np.float64], n: int = 161
) -> NDArray[np.float64]:
    """Per-vertex ``values`` of :func:`_pitted_plane` interpolated at ``(x, y)`` over the grid's own triangles
    (``grid_plane`` cuts each cell from its (0, 0) to its (1, 1) corner)."""
    step = 1.2 / (n - 1)
    gx, gy = (x + 0.1) / step, (y + 0.1) / step
    i, j = np.floor(gy).astype(int), np.floor(gx).astype(int)
    fx, fy = gx - j, gy - i
    grid = np.asarray(values, np.float64).reshape(n, n)  # row = y, column = x
    v00, v01, v11, v10 = grid[i, j], grid[i, j + 1], grid[i + 1, j + 1], grid[i + 1, j]
    below = fx >= fy  # triangle (0,0) (1,0) (1,1) in (x, y), else (0,0) (1,1) (0,1)
    return np.where(below, v00 + fx * (v01 - v00) + fy * (v11 - v01), v00 + fy * (v10 - v00) + fx * (v11 - v10))


def _nearest(vertices: NDArray[np.floating], point: tuple[float, float]) -> int:
    return int(np.argmin(np.sum((vertices[:, :2] - point) ** 2, axis=1)))


def test_heights_are_negative_in_pits_positive_on_bumps_and_zero_on_flat_ground() -> None:
    high = _pitted_plane()
    h = vertex_heights(high.vertices, high.faces)
    pit, bump, flat = (_nearest(high.vertices, p) for p in (PIT, BUMP, (0.5, 0.9)))
    assert h[pit] < -1e-4 and h[bump] > 1e-4
    assert abs(h[pit]) < DEPTH  # the neighbourhood sinks into the pit with it
    assert h[pit] == pytest.approx(-h[bump], rel=1e-3)  # mirror images
    assert abs(h[flat]) < 1e-9
    # A wider neighbourhood sees more of the pit.
    wide = vertex_heights(high.vertices, high.faces, radius=0.05)
    assert wide[pit] < h[pit]


def test_a_sphere_is_convex_everywhere() -> None:
    sphere = icosphere(4)
    h = vertex_heights(sphere.vertices, sphere.faces)
    assert (h > 0).all()
    assert h.std() < 0.2 * h.mean()  # one curvature everywhere (up to the icosphere's uneven edges)


def test_values_map_depth_to_black_and_flat_or_raised_to_white() -> None:
    h = np.array([-0.02, -0.01, -0.005, 0.0, 0.004], np.float32)
    np.testing.assert_allclose(cavity_values(h, 0.01), [0.0, 0.0, 0.5, 1.0, 1.0])
    pits = -np.linspace(0.0, 1.0, 101)
    assert default_cavity_depth(pits) == pytest.approx(np.percentile(-pits[pits < 0], DEPTH_PERCENTILE))
    assert default_cavity_depth(np.zeros(5)) == 1.0  # no pits: any depth, the map is white
    with pytest.raises(ValueError, match="positive"):
        cavity_values(h, 0.0)
    with pytest.raises(ValueError, match="positive"):
        vertex_heights(icosphere(1).vertices, icosphere(1).faces, radius=-1.0)


def test_baked_cavity_reads_the_high_surface_under_each_texel(tmp_path: Path) -> None:
    high = _pitted_plane()
    low = grid_plane(9, 1.0)
    low = low.with_(uvs=low.vertices[:, :2].copy(), face_uvs=low.faces.copy())
    size = 128
    h = vertex_heights(high.vertices, high.faces)
    # Default depth: the scan's own, the pit dark, the bump and flat ground white.
    result = bake_maps(high, low, maps=["cavity"], size=size, out_dir=tmp_path, name="plane", cage=0.05)
    image = cv2.imread(str(result.paths["cavity"][1001]), cv2.IMREAD_UNCHANGED)
    assert image.dtype == np.uint8 and image.shape == (size, size)
    assert result.color_spaces["cavity"] == "raw"
    assert result.cavity_depth == pytest.approx(default_cavity_depth(h), rel=1e-6)
    row, col = size - 1 - int(PIT[1] * size), int(PIT[0] * size)  # row 0 is the top of the tile (v = 1)
    assert image[row, col] == 0
    assert image[row, int(BUMP[0] * size)] == 255
    assert image[int(0.1 * size), int(0.5 * size)] == 255
    # A given depth is used as it is. Deep enough that no texel saturates, the map is the vertex heights
    # interpolated under each texel centre (the low plane maps uv to xy, so each ray hits the high surface
    # straight above it; the cage reaches the pit, which the automatic cage from the 9 x 9 low grid does not).
    depth = 2.0 * float(-h.min())
    given = bake_maps(
        high, low, maps=["cavity"], size=size, out_dir=tmp_path, name="given", cage=0.05, cavity_depth=depth
    )
    assert given.cavity_depth == depth
    got = cv2.imread(str(given.paths["cavity"][1001]), cv2.IMREAD_UNCHANGED).astype(np.float32) / 255.0
    centres = (np.arange(size) + 0.5) / size
    u, v = np.meshgrid(centres, centres[::-1])
    expected = cavity_values(_on_grid(h, u, v).astype(np.float32), depth)
    assert got.min() < 0.6  # the pit reaches half the range
    assert np.abs(got - expected).max() < 0.6 / 255  # quantisation
    with pytest.raises(InputError, match="cavity radius must be positive"):
        bake_maps(high, low, maps=["cavity"], size=size, out_dir=tmp_path, cavity_radius=0.0)

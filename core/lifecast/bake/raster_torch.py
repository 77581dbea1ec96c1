"""UV-space rasterization in torch: the same conservative rasterizer as :mod:`lifecast.bake.rasterize`, on any device.

Texel ``(row, col)`` of a ``size x size`` tile has its centre at
``u = (col + 0.5) / size``, ``v = 1 - (row + 0.5) / size`` (image row 0 is at
``v = 1``). A texel whose centre lies outside every triangle but within
``margin_px`` of one (measured against its edge lines) is given to that
triangle with barycentrics clamped onto it, so chart seams have no cracks.

Ownership is deterministic: the triangle whose interior holds the centre
wins, otherwise the nearest; exact ties go to the higher triangle index.
Triangles are batched by power-of-two texel bounding box, each batch a dense
``batch x bh x bw`` grid of at most ``max_candidates`` entries, so an 8K tile
rasterizes in bounded memory (the output itself is 16 bytes per texel).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import torch
from numpy.typing import NDArray

from lifecast.bake.rasterize import DEFAULT_MARGIN_PX, OVERLAP_DEPTH_PX, TexelRaster, fill_barycentric_planes

#: Upper bound on the (triangle, texel) candidates evaluated at once.
DEFAULT_MAX_CANDIDATES = 1 << 22


@dataclass(frozen=True)
class UVRaster:
    """The triangle and barycentrics under every texel of one tile.

    Attributes
    ----------
    face
        ``(size, size) int64`` triangle index (into the ``uv_corners`` given), -1 where none.
    bary
        ``(size, size, 3) float32`` barycentrics on that triangle, clamped onto it; 0 where uncovered.
    overlap
        ``(size, size) bool``: the texel centre lies strictly inside two or more triangles.
    """

    face: torch.Tensor
    bary: torch.Tensor
    overlap: torch.Tensor

    @property
    def coverage(self) -> torch.Tensor:
        """``(size, size) bool``: True where a triangle covers the texel."""
        return self.face >= 0


def rasterize_uv_torch(
    uv_corners: NDArray[np.floating] | torch.Tensor,
    size: int,
    *,
    margin_px: float = DEFAULT_MARGIN_PX,
    device: str | torch.device = "cpu",
    max_candidates: int = DEFAULT_MAX_CANDIDATES,
) -> UVRaster:
    """Rasterize triangles given by their corner UVs into one ``size x size`` tile.

    Parameters
    ----------
    uv_corners
        ``(m, 3, 2)`` UVs of each triangle's corners in tile-local coordinates
        (the tile spans ``[0, 1]²``; parts outside are clipped).
    size
        Tile resolution in texels (square).
    margin_px
        Conservative margin in texels; 0 gives plain centre sampling.
    device
        Torch device to run on (``"cpu"``, ``"cuda"``...).
    max_candidates
        Bound on the (triangle, texel) pairs evaluated at once (memory knob).

    Returns
    -------
    UVRaster
        Tensors on ``device``.
    """
    dev = torch.device(device)
    corners = torch.as_tensor(np.asarray(uv_corners) if not isinstance(uv_corners, torch.Tensor) else uv_corners)
    corners = corners.to(dev, torch.float64)
    if corners.ndim != 3 or tuple(corners.shape[1:]) != (3, 2):
        raise ValueError(f"uv_corners must be (m, 3, 2), got {tuple(corners.shape)}")
    if size <= 0:
        raise ValueError(f"size must be positive, got {size}")

    n_texels = size * size
    # Per-texel best candidate as one int64 key: quantised outside depth, then the inverted
    # triangle index, so one scatter-min settles "inside first, then nearest, then higher index".
    best_key = torch.full((n_texels,), _NO_KEY, dtype=torch.int64, device=dev)
    bary = torch.zeros((n_texels, 3), dtype=torch.float32, device=dev)
    inside_count = torch.zeros(n_texels, dtype=torch.int32, device=dev)

    pts = _to_texel_space(corners, size)
    lo, extent, tri_ids = _bounding_boxes(pts, size, margin_px)
    if len(tri_ids) > 0:
        bucket = torch.stack([_next_pow2(extent[tri_ids, 0]), _next_pow2(extent[tri_ids, 1])], dim=1)
        keys, inverse = torch.unique(bucket, dim=0, return_inverse=True)
        for key_index in range(len(keys)):
            bw, bh = int(keys[key_index, 0]), int(keys[key_index, 1])
            members = tri_ids[inverse == key_index]
            per_batch = max(1, max_candidates // (bw * bh))
            for start in range(0, len(members), per_batch):
                ids = members[start : start + per_batch]
                faces, flat, weights, outside = _batch_candidates(
                    ids, pts[ids], lo[ids], extent[ids], bw, bh, size, margin_px
                )
                inside_count.index_add_(0, flat, (outside < -OVERLAP_DEPTH_PX).to(torch.int32))
                key = _candidate_key(outside, faces)
                best_key.scatter_reduce_(0, flat, key, reduce="amin")
                won = key == best_key[flat]
                bary[flat[won]] = weights[won]
    face = torch.where(best_key == _NO_KEY, -1, _FACE_SPAN - 1 - best_key % _FACE_SPAN)
    return UVRaster(face.view(size, size), bary.view(size, size, 3), (inside_count > 1).view(size, size))


class TorchTileRaster:
    """The torch rasterizer's whole-tile result, served in bands like :class:`lifecast.bake.rasterize.TileRasterizer`
    (what the baking engine rasterizes with on devices other than the CPU).

    ``uv_corners`` (``(m, 3, 2)``, tile-local) and ``size`` are those of :func:`rasterize_uv_torch`; ``device`` is
    the torch device it runs on.
    """

    def __init__(self, uv_corners: NDArray[np.float64], size: int, device: str) -> None:
        result = rasterize_uv_torch(uv_corners, size, device=device)
        flat_face = result.face.flatten().cpu().numpy()
        self._texel = np.flatnonzero(flat_face >= 0)
        self._face = flat_face[self._texel].astype(np.int32)
        self._bary = result.bary.reshape(-1, 3).cpu().numpy()[self._texel]
        self._overlap = int(result.overlap.sum().item())
        self._size = size

    def overlap_count(self) -> int:
        """Texels strictly inside two or more triangles, over the whole tile."""
        return self._overlap

    def interior_texels(self) -> int:
        """The covered texels (the torch result does not set apart those claimed only through the margin)."""
        return len(self._texel)

    def bands(self, texels_per_band: int, *, count_overlaps: bool = True) -> Iterator[TexelRaster]:
        """The covered texels in runs of ``texels_per_band`` (``overlap`` 0: see :meth:`overlap_count`)."""
        for start in range(0, len(self._texel), texels_per_band):
            part = slice(start, start + texels_per_band)
            yield TexelRaster(self._size, self._texel[part], self._face[part], self._bary[part], 0)


#: Triangle indices take the low 31 bits of a candidate key; the depth, quantised, the bits above.
_FACE_SPAN = 1 << 31
_DEPTH_STEPS_PER_PX = 1 << 20
_NO_KEY = torch.iinfo(torch.int64).max


def _candidate_key(outside: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
    """``(c,) int64`` ordering key: smaller is better (inside, then nearer, then higher triangle index)."""
    depth = torch.round(outside.clamp_min(0.0).to(torch.float64) * _DEPTH_STEPS_PER_PX).to(torch.int64)
    return depth * _FACE_SPAN + (_FACE_SPAN - 1 - faces)


def _bounding_boxes(pts: torch.Tensor, size: int, margin_px: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Texel bounding boxes ``lo (m, 2)``, ``extent (m, 2)`` and the ids of triangles worth rasterizing."""
    double_area = _cross(pts[:, 1] - pts[:, 0], pts[:, 2] - pts[:, 0])
    pmin, pmax = pts.min(dim=1).values, pts.max(dim=1).values
    lo = torch.ceil(pmin - margin_px).to(torch.int64).clamp(0, size - 1)
    hi = torch.floor(pmax + margin_px).to(torch.int64).clamp(-1, size - 1)
    extent = hi - lo + 1
    keep = (double_area.abs() > 1e-9) & (extent > 0).all(dim=1)
    keep &= (pmax + margin_px >= 0).all(dim=1) & (pmin - margin_px <= size - 1).all(dim=1)
    return lo, extent, torch.nonzero(keep).flatten()


def _batch_candidates(
    ids: torch.Tensor,
    pts: torch.Tensor,
    lo: torch.Tensor,
    extent: torch.Tensor,
    bw: int,
    bh: int,
    size: int,
    margin_px: float,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """Every texel within ``margin_px`` of each triangle of one batch sharing a ``bw x bh`` window.

    Returns triangle ids ``(c,) int64``, flat texel indices ``(c,) int64``,
    clamped barycentrics ``(c, 3) float32`` and the outside distance in texels
    ``(c,) float32`` (<= 0 inside).
    """
    dev = pts.device
    local = pts - lo[:, None, :].to(torch.float64)
    double_area = _cross(local[:, 1] - local[:, 0], local[:, 2] - local[:, 0])
    coef = fill_barycentric_planes(local, double_area, torch.empty((len(ids), 2, 3), dtype=torch.float64, device=dev))
    edge_len = torch.linalg.norm(local[:, [2, 0, 1]] - local[:, [1, 2, 0]], dim=2)
    height = double_area.abs()[:, None] / edge_len.clamp_min(1e-30)  # (n, 3) corner k to its opposite edge

    # Signed distance outside edge k, -height_k * bary_k, is affine in (x, y): split it into a
    # per-column and a per-row term so each full-window evaluation is a single broadcast add.
    # Columns and rows beyond the triangle's own extent get +inf, which rejects them for free.
    full = torch.empty((len(ids), 3, 3), dtype=torch.float64, device=dev)
    full[:, :2] = coef
    full[:, 2] = -coef[:, 0] - coef[:, 1]
    full[:, 2, 2] += 1.0
    dist = -(full * height[:, :, None]).to(torch.float32)  # (n, 3 edges, 3 coefficients)
    x = torch.arange(bw, device=dev, dtype=torch.float32)
    y = torch.arange(bh, device=dev, dtype=torch.float32)
    col_out = torch.where(x[None, :] < extent[:, 0:1], 0.0, float("inf"))  # (n, bw)
    row_out = torch.where(y[None, :] < extent[:, 1:2], 0.0, float("inf"))  # (n, bh)
    outside = None
    for k in range(3):
        col = dist[:, k, 0:1] * x[None, :] + dist[:, k, 2:3] + col_out
        row = dist[:, k, 1:2] * y[None, :] + row_out
        e_k = row[:, :, None] + col[:, None, :]
        outside = e_k if outside is None else torch.maximum(outside, e_k, out=outside)
    assert outside is not None
    cell = torch.nonzero(outside.flatten() <= margin_px).flatten()
    tri = torch.div(cell, bw * bh, rounding_mode="floor")
    within = cell - tri * (bw * bh)
    oy = torch.div(within, bw, rounding_mode="floor")
    ox = within - oy * bw
    out = outside.flatten().index_select(0, cell)

    # Barycentrics in float64 on the candidates only, then clamped onto the triangle where outside.
    cx, cy = ox.to(torch.float64), oy.to(torch.float64)
    c_tri = coef[tri]
    b0 = c_tri[:, 0, 0] * cx + c_tri[:, 0, 1] * cy + c_tri[:, 0, 2]
    b1 = c_tri[:, 1, 0] * cx + c_tri[:, 1, 1] * cy + c_tri[:, 1, 2]
    weights = torch.stack([b0, b1, 1.0 - b0 - b1], dim=1).to(torch.float32)
    clamped = weights.clamp_min(0.0)
    clamped = clamped / clamped.sum(dim=1, keepdim=True).clamp_min(1e-12)
    weights = torch.where((out > 0.0)[:, None], clamped, weights)
    flat = (lo[tri, 1] + oy) * size + (lo[tri, 0] + ox)
    return ids[tri], flat, weights, out


def _to_texel_space(uv_corners: torch.Tensor, size: int) -> torch.Tensor:
    """``(m, 3, 2)`` UVs to texel coordinates ``(x, y)`` where texel centres are integers."""
    x = uv_corners[..., 0] * size - 0.5
    y = (1.0 - uv_corners[..., 1]) * size - 0.5
    return torch.stack([x, y], dim=-1)


def _cross(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """2D cross product of ``(..., 2)`` vectors."""
    return a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]


def _next_pow2(n: torch.Tensor) -> torch.Tensor:
    """Smallest power of two >= each entry of ``n`` (entries >= 1)."""
    return (2 ** torch.ceil(torch.log2(n.clamp_min(1).to(torch.float64)))).to(torch.int64)

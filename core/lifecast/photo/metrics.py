"""How close a projected texture is to the truth, and how visible its seams are.

All comparisons are made on sRGB-encoded values in ``[0, 1]`` (what an 8-bit texture stores and an eye
compares), over the texels a mask allows.

- :func:`psnr`: peak signal-to-noise ratio, in dB.
- :func:`chart_seam_energy`: the mean squared colour step across the mesh's UV seams: for each edge the UV
  layout cuts, points along it are looked up in the texel under them on both sides. A texture whose two
  sides of a cut disagree (a colour offset between charts) has more of it than the truth.
- :func:`view_seam_energy`: the mean squared colour step between neighbouring texels of one chart whose
  best photo differs: where view-selection texturing shows seams.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from lifecast.color import linear_to_srgb
from lifecast.mesh import TriMesh
from lifecast.uv.udim import tile_origin


def psnr(result: NDArray[np.floating], truth: NDArray[np.floating], mask: NDArray[np.bool_]) -> float:
    """PSNR in dB of two linear images (``(h, w, 3)``) over ``mask`` (``(h, w)``), compared sRGB-encoded.

    Returns ``inf`` for identical values and ``nan`` for an empty mask.
    """
    if not mask.any():
        return float("nan")
    a = linear_to_srgb(result[mask])
    b = linear_to_srgb(truth[mask])
    mse = float(np.mean((a - b) ** 2))
    return float("inf") if mse == 0 else float(10.0 * np.log10(1.0 / mse))


def uv_seams(mesh: TriMesh) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """The mesh edges that the UV layout cuts, as seen from each side.

    Returns
    -------
    side_a, side_b
        ``(e, 2, 2) float64``: the UVs of both ends of each cut edge in its first and in its second face,
        ends in the same order (manifold edges only; boundary and non-manifold edges are left out).
    """
    assert mesh.uvs is not None and mesh.face_uvs is not None
    faces = np.asarray(mesh.faces, np.int64)
    face_uvs = np.asarray(mesh.face_uvs, np.int64)
    va = faces.ravel()
    vb = faces[:, [1, 2, 0]].ravel()
    ta = face_uvs.ravel()
    tb = face_uvs[:, [1, 2, 0]].ravel()
    flip = va > vb
    va, vb = np.where(flip, vb, va), np.where(flip, va, vb)
    ta, tb = np.where(flip, tb, ta), np.where(flip, ta, tb)
    order = np.lexsort((vb, va))
    va, vb, ta, tb = va[order], vb[order], ta[order], tb[order]
    same = (va[1:] == va[:-1]) & (vb[1:] == vb[:-1])
    first = np.flatnonzero(same)
    # Only edges shared by exactly two faces.
    lone = np.ones(len(first), bool)
    lone &= np.concatenate([[True], ~same[:-1]])[first]
    lone &= np.concatenate([~same[1:], [True]])[first]
    first = first[lone]
    second = first + 1
    cut = (ta[first] != ta[second]) | (tb[first] != tb[second])
    first, second = first[cut], second[cut]
    uvs = np.asarray(mesh.uvs, np.float64)
    side_a = np.stack([uvs[ta[first]], uvs[tb[first]]], axis=1)
    side_b = np.stack([uvs[ta[second]], uvs[tb[second]]], axis=1)
    return side_a, side_b


def chart_seam_energy(
    image: NDArray[np.floating],
    mask: NDArray[np.bool_],
    mesh: TriMesh,
    udim: int = 1001,
    samples: int = 3,
) -> float:
    """Mean squared sRGB colour difference across the UV seams of one tile (see the module docstring).

    Parameters
    ----------
    image
        ``(s, s, 3)`` linear texture of tile ``udim``.
    mask
        ``(s, s) bool`` texels to trust; seam points with either side outside it are left out.
    mesh
        The mesh whose UVs the texture is in.
    udim
        The tile.
    samples
        Points per cut edge (evenly inside it).
    """
    side_a, side_b = uv_seams(mesh)
    size = image.shape[0]
    origin = np.array(tile_origin(udim), np.float64)
    t = (np.arange(samples) + 0.5) / samples
    values = []
    for side in (side_a, side_b):
        uv = side[:, None, 0] * (1 - t[None, :, None]) + side[:, None, 1] * t[None, :, None] - origin
        col = np.floor(uv[..., 0] * size).astype(np.int64).ravel()
        row = np.floor((1.0 - uv[..., 1]) * size).astype(np.int64).ravel()
        values.append((row, col))
    (ra, ca), (rb, cb) = values
    inside = (ra >= 0) & (ra < size) & (ca >= 0) & (ca < size) & (rb >= 0) & (rb < size) & (cb >= 0) & (cb < size)
    ra, ca, rb, cb = ra[inside], ca[inside], rb[inside], cb[inside]
    keep = mask[ra, ca] & mask[rb, cb]
    if not keep.any():
        return float("nan")
    a = linear_to_srgb(image[ra[keep], ca[keep]])
    b = linear_to_srgb(image[rb[keep], cb[keep]])
    return float(np.mean(np.sum((a - b) ** 2, axis=1)))


def view_seam_energy(
    image: NDArray[np.floating],
    source: NDArray[np.integer],
    chart: NDArray[np.integer],
    mask: NDArray[np.bool_],
) -> float:
    """Mean squared sRGB colour step between 4-neighbour texels of one chart whose best photo differs.

    Parameters
    ----------
    image
        ``(s, s, 3)`` linear texture.
    source
        ``(s, s)`` best photo of each texel (:attr:`lifecast.photo.ProjectionResult.source`).
    chart
        ``(s, s)`` UV chart of each texel (texels of different charts are not neighbours on the surface).
    mask
        ``(s, s) bool`` texels to use.
    """
    srgb = linear_to_srgb(image)
    steps = []
    for axis in (0, 1):
        a = (slice(None, -1), slice(None)) if axis == 0 else (slice(None), slice(None, -1))
        b = (slice(1, None), slice(None)) if axis == 0 else (slice(None), slice(1, None))
        pair = mask[a] & mask[b] & (chart[a] == chart[b]) & (source[a] != source[b])
        steps.append(np.sum((srgb[a][pair] - srgb[b][pair]) ** 2, axis=1))
    step = np.concatenate(steps)
    return float(step.mean()) if len(step) else float("nan")

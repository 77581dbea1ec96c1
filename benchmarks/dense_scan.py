"""Build the benchmarks' real-detail dense scans from the Lee Perry-Smith head.

The GLB in ``../shared/scans/lee_perry_smith_head/glb_1k`` (17,684 triangles,
UVs) has each triangle split ``splits`` times along every edge (8: 1.13M
triangles, the default, the same lattice as three midpoint subdivisions; 24:
10.2M; 41: 29.7M), displaced along its smoothed normals (interpolated from the
source's vertex normals) by the scan's own 4K displacement map and coloured from
its albedo, then written as a binary PLY with vertex colours, like a scanner's
export. ``python dense_scan.py --splits 24`` builds one.

Choices, stated because the source gives no units or displacement scale:

- 1 source unit = 30 mm (the bust becomes about 26 x 24 x 16 cm), written in mm, Y up;
- displacement = (map / 255 - 0.5) * ``DISPLACEMENT_MM`` (4 mm peak to peak);
- vertices that the GLB splits at UV seams are welded before displacement, the
  displacement averaged across the seam, so the result has no cracks.

The file is written once into ``bench_out/`` (git-ignored) and reused.
Never copy it into the repository: the source's licence (CC BY 3.0) differs.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("LIFECAST_SHARED_SCANS", REPO.parent / "shared" / "scans"))
LPS = SHARED / "lee_perry_smith_head" / "glb_1k"
OUT_DIR = REPO / "bench_out"
UNIT_MM = 30.0
DISPLACEMENT_MM = 4.0
SUBDIVISIONS = 3  # the default scan: three midpoint subdivisions (each edge split 8 times)


def _sample(image: NDArray[np.uint8], uv: NDArray[np.float64]) -> NDArray[np.float64]:
    """Bilinear lookup of ``image`` (h, w, c) at ``uv`` (n, 2), v up; returns (n, c) float."""
    h, w = image.shape[:2]
    x = np.clip(uv[:, 0] % 1.0 * w - 0.5, 0, w - 1)
    y = np.clip((1.0 - uv[:, 1] % 1.0) * h - 0.5, 0, h - 1)
    x0, y0 = np.floor(x).astype(int), np.floor(y).astype(int)
    x1, y1 = np.minimum(x0 + 1, w - 1), np.minimum(y0 + 1, h - 1)
    fx, fy = (x - x0)[:, None], (y - y0)[:, None]
    img = image.reshape(h, w, -1).astype(np.float64)
    top = img[y0, x0] * (1 - fx) + img[y0, x1] * fx
    bottom = img[y1, x0] * (1 - fx) + img[y1, x1] * fx
    return np.asarray(top * (1 - fy) + bottom * fy)


def split_template(splits: int) -> tuple[NDArray[np.int64], NDArray[np.int64]]:
    """Barycentric lattice of one triangle split ``splits`` times along each edge.

    Returns ``ijk`` (p, 3): the lattice points' integer barycentric weights (summing to
    ``splits``), p = (splits + 1)(splits + 2) / 2, and ``tris`` (splits**2, 3): the small
    triangles as indices into the lattice, wound like the parent triangle.
    """
    n = splits
    ijk = np.array([(i, j, n - i - j) for i in range(n + 1) for j in range(n + 1 - i)], np.int64)
    index = {(int(i), int(j)): p for p, (i, j, _) in enumerate(ijk)}
    tris = []
    for i in range(n):
        for j in range(n - i):
            tris.append((index[i + 1, j], index[i, j + 1], index[i, j]))
            if i + j < n - 1:
                tris.append((index[i + 1, j], index[i + 1, j + 1], index[i, j + 1]))
    return ijk, np.array(tris, np.int64)


def build_dense_scan(
    splits: int = 2**SUBDIVISIONS,
) -> tuple[NDArray[np.float32], NDArray[np.int32], NDArray[np.uint8]]:
    """The dense scan: vertices (n, 3) float32 in mm, faces (m, 3) int32, colours (n, 3) uint8.

    Every triangle of the source is split ``splits`` times along each edge (m = 17,684 *
    splits**2: 8 -> 1.13M, 16 -> 4.5M, 24 -> 10.2M, 41 -> 29.7M; 2**k is k midpoint
    subdivisions), the source's UV-seam duplicates welded first so the result has no
    cracks. Lattice points shared by two source triangles (their edges) are made once.
    """
    import trimesh
    from PIL import Image

    scene = trimesh.load(LPS / "LeePerrySmith.glb")
    src = next(iter(scene.geometry.values())) if isinstance(scene, trimesh.Scene) else scene
    uv_src = np.asarray(src.visual.uv, np.float64)
    corners_src = np.asarray(src.faces, np.int64)
    # Weld the GLB's seam duplicates: corner ids on the welded base, UVs stay per corner.
    _, weld, inverse = np.unique(np.round(np.asarray(src.vertices), 6), axis=0, return_index=True, return_inverse=True)
    base_v = np.asarray(src.vertices, np.float64)[weld]
    base_f = inverse.ravel()[corners_src]
    base_n = trimesh.Trimesh(base_v, base_f, process=False).vertex_normals
    n_base, n_faces = len(base_v), len(base_f)

    ijk, tris = split_template(splits)
    n = splits
    edges = np.sort(base_f[:, [[1, 2], [2, 0], [0, 1]]].reshape(-1, 2), axis=1)
    unique_edges, edge_of = np.unique(edges, axis=0, return_inverse=True)
    edge_of = edge_of.reshape(n_faces, 3)
    n_edge_pts = len(unique_edges) * (n - 1)
    # Global id of each face's lattice points: corner, edge (shared) or interior (own).
    ids = np.empty((n_faces, len(ijk)), np.int64)
    zero = ijk == 0
    interior = ~zero.any(axis=1)
    ids[:, interior] = n_base + n_edge_pts + np.arange(n_faces)[:, None] * interior.sum() + np.arange(interior.sum())
    for c in range(3):
        ids[:, ijk[:, c] == n] = base_f[:, [c]]
        # Points on the edge opposite corner c (weight c is zero), not at a corner.
        on_edge = zero[:, c] & (ijk.max(axis=1) < n)
        a, b = (c + 1) % 3, (c + 2) % 3
        # Position along the edge measured from its lower-numbered welded end.
        lower_is_a = base_f[:, a] < base_f[:, b]
        t = np.where(lower_is_a[:, None], ijk[on_edge][:, b][None, :], ijk[on_edge][:, a][None, :])
        ids[:, on_edge] = n_base + edge_of[:, [c]] * (n - 1) + (t - 1)
    n_points = n_base + n_edge_pts + n_faces * int(interior.sum())

    w = ijk.astype(np.float64) / n
    local_pos = np.einsum("pc,fcd->fpd", w, base_v[base_f])
    local_nrm = np.einsum("pc,fcd->fpd", w, base_n[base_f])
    local_uv = np.einsum("pc,fcd->fpd", w, uv_src[corners_src]).reshape(-1, 2)
    disp_img = np.asarray(Image.open(LPS / "Infinite-Level_02_Disp_NoSmoothUV-4096.jpg").convert("L"))
    col_img = np.asarray(Image.open(LPS / "Map-COL.jpg").convert("RGB"))
    flat = ids.ravel()
    counts = np.bincount(flat, minlength=n_points).astype(np.float64)
    disp = (_sample(disp_img, local_uv)[:, 0] / 255.0 - 0.5) * (DISPLACEMENT_MM / UNIT_MM)
    disp_w = np.bincount(flat, weights=disp, minlength=n_points) / counts
    colour = _sample(col_img, local_uv)
    colour_w = np.stack([np.bincount(flat, weights=colour[:, c], minlength=n_points) for c in range(3)], 1)
    colour_w /= counts[:, None]
    del disp, colour, local_uv
    verts = np.empty((n_points, 3), np.float64)
    normals = np.empty((n_points, 3), np.float64)
    verts[flat] = local_pos.reshape(-1, 3)
    normals[flat] = local_nrm.reshape(-1, 3)
    del local_pos, local_nrm
    normals /= np.maximum(np.linalg.norm(normals, axis=1, keepdims=True), 1e-12)
    dense = (verts + normals * disp_w[:, None]) * UNIT_MM
    faces = ids[:, tris].reshape(-1, 3)
    return dense.astype(np.float32), faces.astype(np.int32), np.clip(colour_w, 0, 255).astype(np.uint8)


def write_ply(path: Path, vertices: NDArray[np.float32], faces: NDArray[np.int32], colors: NDArray[np.uint8]) -> None:
    """Binary little-endian PLY with uchar colours and ``units``/``up`` header comments."""
    vdt = np.dtype([("x", "<f4"), ("y", "<f4"), ("z", "<f4"), ("red", "u1"), ("green", "u1"), ("blue", "u1")])
    fdt = np.dtype([("n", "u1"), ("i", "<i4", (3,))])
    v = np.empty(len(vertices), vdt)
    v["x"], v["y"], v["z"] = vertices.T
    v["red"], v["green"], v["blue"] = colors.T
    f = np.empty(len(faces), fdt)
    f["n"] = 3
    f["i"] = faces
    header = (
        "ply\nformat binary_little_endian 1.0\ncomment units mm\ncomment up y\n"
        "comment Lee Perry-Smith head (CC BY 3.0) subdivided and displaced by lifecast benchmarks/dense_scan.py\n"
        f"element vertex {len(v)}\nproperty float x\nproperty float y\nproperty float z\n"
        "property uchar red\nproperty uchar green\nproperty uchar blue\n"
        f"element face {len(f)}\nproperty list uchar int vertex_indices\nend_header\n"
    )
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as fh:
        fh.write(header.encode("ascii"))
        fh.write(v.tobytes())
        fh.write(f.tobytes())
    os.replace(tmp, path)


def dense_scan_path(splits: int = 2**SUBDIVISIONS) -> Path:
    """Path of the dense scan PLY with each source edge split ``splits`` times, built on first use."""
    if not (LPS / "LeePerrySmith.glb").is_file():
        sys.exit(f"benchmark input missing: {LPS} (set LIFECAST_SHARED_SCANS)")
    path = OUT_DIR / f"lps_dense_x{splits}.ply"
    if not path.is_file():
        OUT_DIR.mkdir(exist_ok=True)
        v, f, c = build_dense_scan(splits)
        write_ply(path, v, f, c)
    return path


if __name__ == "__main__":
    import argparse

    ap = argparse.ArgumentParser(description="build a dense Lee Perry-Smith scan into bench_out/")
    ap.add_argument(
        "--splits", type=int, default=2**SUBDIVISIONS, help="8: 1.1M, 16: 4.5M, 24: 10.2M, 41: 29.7M triangles"
    )
    p = dense_scan_path(ap.parse_args().splits)
    print(p, f"{p.stat().st_size / 1e6:.1f} MB")

"""Build the benchmarks' ~1M-triangle real-detail scan from the Lee Perry-Smith head.

The GLB in ``../shared/scans/lee_perry_smith_head/glb_1k`` (17,684 triangles,
UVs) is subdivided three times (1.13M triangles), displaced along its smoothed
normals by the scan's own 4K displacement map and coloured from its albedo, then
written as a binary PLY with vertex colours, like a scanner's export.

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
SUBDIVISIONS = 3


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


def build_dense_scan(
    subdivisions: int = SUBDIVISIONS,
) -> tuple[NDArray[np.float32], NDArray[np.int32], NDArray[np.uint8]]:
    """The dense scan: vertices (n, 3) float32 in mm, faces (m, 3) int32, colours (n, 3) uint8."""
    import trimesh
    from PIL import Image

    scene = trimesh.load(LPS / "LeePerrySmith.glb")
    src = next(iter(scene.geometry.values())) if isinstance(scene, trimesh.Scene) else scene
    verts = np.asarray(src.vertices, np.float64)
    faces = np.asarray(src.faces, np.int64)
    uv = np.asarray(src.visual.uv, np.float64)
    for _ in range(subdivisions):
        verts, faces, attrs = trimesh.remesh.subdivide(verts, faces, vertex_attributes={"uv": uv})
        uv = attrs["uv"]
    # Weld the UV-seam duplicates so displacement cannot open cracks.
    _, weld, inverse = np.unique(np.round(verts, 6), axis=0, return_index=True, return_inverse=True)
    inverse = inverse.ravel()
    disp_img = np.asarray(Image.open(LPS / "Infinite-Level_02_Disp_NoSmoothUV-4096.jpg").convert("L"))
    col_img = np.asarray(Image.open(LPS / "Map-COL.jpg").convert("RGB"))
    disp = (_sample(disp_img, uv)[:, 0] / 255.0 - 0.5) * (DISPLACEMENT_MM / UNIT_MM)
    colour = _sample(col_img, uv)
    n_weld = len(weld)
    counts = np.bincount(inverse, minlength=n_weld).astype(np.float64)
    disp_w = np.bincount(inverse, weights=disp, minlength=n_weld) / counts
    colour_w = np.stack([np.bincount(inverse, weights=colour[:, c], minlength=n_weld) for c in range(3)], 1)
    colour_w /= counts[:, None]
    verts_w = verts[weld]
    faces_w = inverse[faces]
    normals = trimesh.Trimesh(verts_w, faces_w, process=False).vertex_normals
    dense = (verts_w + normals * disp_w[:, None]) * UNIT_MM
    return dense.astype(np.float32), faces_w.astype(np.int32), np.clip(colour_w, 0, 255).astype(np.uint8)


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


def dense_scan_path(subdivisions: int = SUBDIVISIONS) -> Path:
    """Path of the dense scan PLY, building it on first use."""
    if not (LPS / "LeePerrySmith.glb").is_file():
        sys.exit(f"benchmark input missing: {LPS} (set LIFECAST_SHARED_SCANS)")
    path = OUT_DIR / f"lps_dense_sub{subdivisions}.ply"
    if not path.is_file():
        OUT_DIR.mkdir(exist_ok=True)
        v, f, c = build_dense_scan(subdivisions)
        write_ply(path, v, f, c)
    return path


if __name__ == "__main__":
    p = dense_scan_path()
    print(p, f"{p.stat().st_size / 1e6:.1f} MB")
